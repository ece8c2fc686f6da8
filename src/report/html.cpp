#include "report/html.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "report/report_view.hpp"

namespace darkscope {

const std::string_view HTML_ERROR_TRAP = R"js(
window.__darkscopeErrors = [];
window.onerror = function (message, source, line, column) {
  window.__darkscopeErrors.push(String(message) + ' (' + line + ':' + column + ')');
  if (document.body) document.body.dataset.errors = window.__darkscopeErrors.join('\n');
};
)js";

namespace {

// Print on A4; charts as wide as the printed page on screen too, so that what prints is what shows.
// Fonts are the reader's own (no web font: the page opens offline).
constexpr std::string_view CSS = R"css(
@page { size: A4; margin: 15mm }
body { font-family: system-ui, "Noto Sans CJK JP", "Hiragino Sans", "Yu Gothic", sans-serif; color: #222;
       max-width: 180mm; margin: 0 auto; padding: 8px; font-size: 10.5pt; line-height: 1.5 }
h1 { font-size: 18pt; margin: 0 0 4px }
h2 { font-size: 14pt; border-bottom: 1px solid #bbb; margin-top: 20px; break-after: avoid }
h3 { font-size: 12pt; break-after: avoid }
.subtitle { color: #555; margin-top: 0 }
table { border-collapse: collapse; margin: 4px 0 10px; font-size: 9pt; width: 100% }
caption { caption-side: top; text-align: left; font-weight: bold; padding: 2px 0 }
th, td { border: 1px solid #bbb; padding: 2px 6px; text-align: left; vertical-align: top; overflow-wrap: break-word }
th { background: #f0f0f0 }
thead { display: table-header-group }
tr { break-inside: avoid }
figure { margin: 8px 0 14px; break-inside: avoid }
figcaption { font-weight: bold; font-size: 9.5pt }
.chart-box { width: 100%; height: 300px }
.note { font-size: 8.5pt; color: #555 }
@media print { body { padding: 0 } h2 { margin-top: 12px } }
)css";



// Draws each .chart-box from the embedded report; maps fields to series and nothing more (every number
// is the report's). Text reaches ECharts as data and the tooltips render as rich text, never as HTML.
constexpr std::string_view CHARTS_JS = R"js(
(function () {
  'use strict';
  var body = document.body;
  function fail(message) {
    window.__darkscopeErrors.push(String(message));
    body.dataset.errors = window.__darkscopeErrors.join('\n');
  }
  var boxes = document.querySelectorAll('.chart-box');
  body.dataset.chartsExpected = boxes.length;
  body.dataset.chartsRendered = 0;
  if (typeof echarts === 'undefined') { if (boxes.length) fail('echarts is not loaded'); return; }
  var report, L;
  try {
    report = JSON.parse(document.getElementById('darkscope-report').textContent);
    L = JSON.parse(document.getElementById('darkscope-labels').textContent);
  } catch (e) { fail(e && e.message || e); return; }
  var ja = L.lang === 'ja';
  function get(o, path) {
    for (var i = 0; i < path.length; i++) { if (o === null || o === undefined) return null; o = o[path[i]]; }
    return o === undefined ? null : o;
  }
  function list(v) { return Array.isArray(v) ? v : (v && Array.isArray(v.rows) ? v.rows : []); }
  function regionName(e) {
    var n = (ja && e.name_ja) || e.name || '';
    return n ? n + ' (' + e.key + ')' : String(e.key);
  }
  function regionKeyName(key) {
    var rows = list(report.regions);
    for (var i = 0; i < rows.length; i++) if (rows[i].key === key) return regionName(rows[i]);
    return String(key);
  }
  function keyOf(e) { return String(e.key); }
  function percent(v) { return v === null || v === undefined ? null : Math.round(v * 1000) / 10; }
  function base(extra) {
    var o = {
      animation: false,
      tooltip: { trigger: 'axis', renderMode: 'richText' },
      legend: { type: 'scroll', top: 0 },
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true }
    };
    for (var k in extra) o[k] = extra[k];
    return o;
  }
  function daysOf(series) { return list(get(series, ['days'])).length ? series.days : list(get(report, ['series', 'days'])); }
  function lines(entries, nameOf) {
    return base({
      xAxis: { type: 'category', data: list(get(report, ['series', 'days'])) },
      yAxis: { type: 'value' },
      series: list(entries).map(function (e) {
        return { type: 'line', name: nameOf(e), data: list(e.values), showSymbol: false };
      })
    });
  }
  function shares(ratio, keyName) {
    ratio = ratio || {};
    var keys = list(ratio.keys), columns = list(ratio.columns), n = keys.length;
    columns.forEach(function (c) { n = Math.max(n, list(c.shares).length); });
    var series = [];
    for (var i = 0; i < n; i++) {
      var key = i < keys.length ? keys[i] : 'others';
      series.push({
        type: 'bar', stack: 'share', name: key === 'others' ? L.others : keyName(key),
        data: columns.map(function (c) { return percent(list(c.shares)[i]); })
      });
    }
    return base({
      xAxis: { type: 'category', data: columns.map(function (c) { return c.label || L.all_sensors; }) },
      yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
      series: series
    });
  }
  function mix(regions) {
    var keys = [];
    regions.forEach(function (r) {
      list(r.services).forEach(function (s) { if (keys.indexOf(s.key) < 0) keys.push(s.key); });
    });
    return base({
      xAxis: { type: 'category', data: regions.map(regionName) },
      yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
      series: keys.map(function (key) {
        return {
          type: 'bar', stack: 'share', name: key === 'others' ? L.others : String(key),
          data: regions.map(function (r) {
            var found = list(r.services).filter(function (s) { return s.key === key; })[0];
            return found ? percent(found.share) : 0;
          })
        };
      })
    });
  }
  function pair(series, fields) {
    series = series || {};
    return base({
      xAxis: { type: 'category', data: daysOf(series) },
      yAxis: [{ type: 'value', name: fields[0][1] }, { type: 'value', name: fields[1][1] }],
      series: fields.map(function (f, i) {
        return { type: 'line', name: f[1], yAxisIndex: i, data: list(series[f[0]]), showSymbol: false };
      })
    });
  }
  var builders = {
    'series-services': function () { return lines(get(report, ['series', 'services']), keyOf); },
    'series-regions': function () { return lines(get(report, ['series', 'regions']), regionName); },
    'ratio-services': function () { return shares(get(report, ['ratios', 'services']), String); },
    'ratio-regions': function () { return shares(get(report, ['ratios', 'regions']), regionKeyName); },
    'series-categories': function () { return lines(get(report, ['series', 'categories']), keyOf); },
    'ratio-categories': function () { return shares(get(report, ['ratios', 'categories']), String); },
    'region-service-mix': function () { return mix(list(report.region_service_mix)); },
    'backscatter-series': function () {
      return pair(get(report, ['backscatter', 'series']), [['packets', L.packets], ['unique_sources', L.unique_sources]]);
    },
    'dns-series': function () {
      return pair(get(report, ['dns', 'series']), [['queries', L.queries], ['responses', L.responses]]);
    },
    'flow': function () { return flowChart(list(report.flow)); }
  };
  // An event's own curve (docs/detectors.md): evidence.series (hours or days of the scored series) or
  // evidence.profile (the stream detectors' packets per step), with the baseline as a line where there is one.
  function flowChart(flow) {
    var names = {}, nodes = [], links = [];
    function node(name) { if (!names[name]) { names[name] = 1; nodes.push({ name: name }); } return name; }
    flow.forEach(function (f) {
      links.push({ source: node(String(f.from || '?') + ' →'), target: node('→ ' + String(f.to)), value: f.packets });
    });
    return { animation: false, tooltip: { renderMode: 'richText' },
             series: [{ type: 'sankey', data: nodes, links: links, left: 8, right: 80, nodeGap: 8 }] };
  }
  function eventChart(n) {
    var e = list(get(report, ['phenomena', 'events']))[n] || {}, ev = e.evidence || {};
    if (e.kind === 'campaign' && list(ev.flow).length) return flowChart(list(ev.flow));
    var c = ev.series || ev.profile || e.context || {};
    var step = ev.series ? (ev.granularity === 'day' ? 86400 : 3600) : (c.step_seconds || 3600);
    var t0 = Date.parse(c.first), values = list(c.packets);
    var labels = values.map(function (_, i) {
      var d = new Date(t0 + i * step * 1000).toISOString();
      return step >= 86400 ? d.slice(0, 10) : d.slice(5, 16).replace('T', ' ');
    });
    var series = [{ type: 'line', name: L.packets, data: values, showSymbol: false }];
    if (ev.series && typeof ev.baseline === 'number')
      series.push({ type: 'line', name: L.baseline, data: values.map(function () { return ev.baseline; }),
                    showSymbol: false, lineStyle: { type: 'dashed' } });
    return base({ xAxis: { type: 'category', data: labels }, yAxis: { type: 'value' }, series: series });
  }
  var charts = [], rendered = 0;
  Array.prototype.forEach.call(boxes, function (box) {
    var id = box.dataset.chart;
    try {
      var m = /^event-(\d+)$/.exec(id);
      if (!m && !builders[id]) throw new Error('no chart named ' + id);
      var chart = echarts.init(box, null, { renderer: 'svg' });
      chart.setOption(m ? eventChart(Number(m[1])) : builders[id]());
      charts.push(chart);
      if (box.querySelector('svg')) rendered++;
    } catch (e) { fail(id + ': ' + (e && e.message || e)); }
  });
  body.dataset.chartsRendered = rendered;
  function resize() { charts.forEach(function (c) { c.resize(); }); }
  window.addEventListener('beforeprint', resize);
  window.addEventListener('resize', resize);
})();
)js";

void WriteTable(std::string &out, const detail::ViewTable &t) {
    out += "<table>\n";
    if (!t.caption.empty()) out += "<caption>" + HtmlEscape(t.caption) + "</caption>\n";
    out += "<thead><tr>";
    for (const std::string &h : t.header) out += "<th>" + HtmlEscape(h) + "</th>";
    out += "</tr></thead>\n<tbody>\n";
    for (const auto &cells : t.rows) {
        out += "<tr>";
        for (const std::string &cell : cells) out += "<td>" + HtmlEscape(cell) + "</td>";
        out += "</tr>\n";
    }
    out += "</tbody>\n</table>\n";
    for (const std::string &note : t.notes) out += "<p class=\"note\">" + HtmlEscape(note) + "</p>\n";
}

std::filesystem::path WebDataDir() {
    if (const char *env = std::getenv("DARKSCOPE_WEB_DIR")) return env;
#ifdef DARKSCOPE_SOURCE_DIR_PATH
    return std::filesystem::path(DARKSCOPE_SOURCE_DIR_PATH) / "data" / "web";
#else
    return "data/web";
#endif
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

std::string ScriptSafeJson(const nlohmann::json &value) {
    // Invalid UTF-8 from a packet becomes U+FFFD instead of an exception.
    const std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '<') out += "\\u003c";
        else if (c == '>') out += "\\u003e";
        else if (c == '&') out += "\\u0026";
        else if (c == '\xE2' && i + 2 < text.size() && text[i + 1] == '\x80' && (text[i + 2] == '\xA8' || text[i + 2] == '\xA9')) {
            out += text[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

std::string ScriptSafeSource(std::string_view js) {
    std::string out;
    out.reserve(js.size() + 64);
    for (size_t i = 0; i < js.size(); ++i) {
        out += js[i];
        if (js[i] != '<' || i + 1 >= js.size()) continue;
        if (js[i + 1] == '/') out += '\\';
        else if (js.substr(i + 1, 3) == "!--") out += '\\';
    }
    return out;
}

std::string ReportToHtml(const nlohmann::json &report, ReportLang lang, std::string_view echarts_js) {
    const detail::ReportView view = detail::BuildReportView(report, lang);
    std::string out;
    out += "<!DOCTYPE html>\n<html lang=\"" + std::string(ReportLangCode(lang)) + "\">\n<head>\n<meta charset=\"utf-8\">\n";
    out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    out += "<title>" + HtmlEscape(view.title) + " — " + HtmlEscape(view.subtitle) + "</title>\n";
    out += "<style>" + std::string(CSS) + "</style>\n</head>\n<body>\n";
    out += "<script>" + std::string(HTML_ERROR_TRAP) + "</script>\n";
    out += "<h1>" + HtmlEscape(view.title) + "</h1>\n<p class=\"subtitle\">" + HtmlEscape(view.subtitle) + "</p>\n";
    if (echarts_js.empty()) out += "<p class=\"note\">" + HtmlEscape(Label("chart_unavailable", lang)) + "</p>\n";
    for (const detail::ViewSection &section : view.sections) {
        const std::string h = section.level == 3 ? "h3" : "h2";
        out += "<section id=\"" + HtmlEscape(section.id) + "\">\n<" + h + ">" + HtmlEscape(section.title) + "</" + h + ">\n";
        for (const detail::ViewBlock &block : section.blocks) {
            switch (block.kind) {
            case detail::ViewBlock::Kind::PARAGRAPH: out += "<p>" + HtmlEscape(block.text) + "</p>\n"; break;
            case detail::ViewBlock::Kind::TABLE: WriteTable(out, block.table); break;
            case detail::ViewBlock::Kind::LIST:
                out += "<ul>\n";
                for (const std::string &item : block.items) out += "<li>" + HtmlEscape(item) + "</li>\n";
                out += "</ul>\n";
                break;
            case detail::ViewBlock::Kind::CHART:
                if (echarts_js.empty()) break;
                out += "<figure class=\"chart\">";
                if (block.text != section.title) out += "<figcaption>" + HtmlEscape(block.text) + "</figcaption>";
                out += "<div class=\"chart-box\" id=\"chart-" + HtmlEscape(block.chart) +
                       "\" data-chart=\"" + HtmlEscape(block.chart) + "\"></div></figure>\n";
                break;
            }
        }
        out += "</section>\n";
    }
    const nlohmann::json labels = {{"lang", ReportLangCode(lang)},
                                   {"others", Label("others", lang)},
                                   {"all_sensors", Label("all_sensors", lang)},
                                   {"packets", Label("packets", lang)},
                                   {"unique_sources", Label("unique_sources", lang)},
                                   {"queries", Label("queries", lang)},
                                   {"responses", Label("responses", lang)},
                                   {"baseline", Label("baseline", lang)}};
    out += "<script type=\"application/json\" id=\"darkscope-report\">" + ScriptSafeJson(report) + "</script>\n";
    out += "<script type=\"application/json\" id=\"darkscope-labels\">" + ScriptSafeJson(labels) + "</script>\n";
    if (!echarts_js.empty()) out += "<script>" + ScriptSafeSource(echarts_js) + "</script>\n";
    out += "<script>" + std::string(CHARTS_JS) + "</script>\n</body>\n</html>\n";
    return out;
}

std::optional<std::filesystem::path> EchartsPath() {
    auto p = WebDataDir() / "node_modules" / "echarts" / "dist" / "echarts.min.js";
    if (std::filesystem::exists(p)) return p;
    return std::nullopt;
}

std::string LoadEcharts() {
    std::string js;
    if (auto path = EchartsPath()) {
        std::ifstream in(*path, std::ios::binary);
        js.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return js;
}

}  // namespace darkscope
