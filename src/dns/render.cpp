#include "dns/render.hpp"

#include <fmt/format.h>

#include <fstream>
#include <stdexcept>

#include "common/terminal.hpp"
#include "report/html.hpp"
#include "report/markdown.hpp"
#include "report/report.hpp"

namespace darkscope::dns {
namespace {

using nlohmann::ordered_json;

struct Table {
    Table(std::string id_, std::string caption_, std::vector<std::string> header_)
        : id(std::move(id_)), caption(std::move(caption_)), header(std::move(header_)) {}
    std::string id;  // CSV file name
    std::string caption;
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
    std::string note;
};

bool Ja(ReportLang lang) { return lang == ReportLang::JA; }

std::string L(ReportLang lang, std::string_view en, std::string_view ja) { return std::string(Ja(lang) ? ja : en); }

std::string Num(const ordered_json &v) {
    if (v.is_null()) return "";
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_float()) return FormatNumber(v.get<double>(), 3);
    return FormatNumber(double(v.get<int64_t>()), 0);
}

std::string Seconds(const ordered_json &v) {
    const double s = v.get<double>();
    return s == 0 ? "-" : s < 10 ? fmt::format("{:.3g}", s) : fmt::format("{:.0f}", s);
}

std::string DeviceLabel(const std::string &c, ReportLang lang) {
    if (!Ja(lang)) return c;
    static const std::map<std::string, std::string> JA = {
        {"server", "サーバ"}, {"router", "ルータ"}, {"printer", "プリンタ"}, {"network-camera", "ネットワークカメラ"},
        {"nas", "NAS"},       {"dvr", "DVR"},       {"load-balancer", "ロードバランサ"}, {"unknown", "判別不能"},
        {"blocked", "Block"}};
    auto it = JA.find(c);
    return it == JA.end() ? c : it->second;
}

std::string Joined(const ordered_json &list, size_t limit) {
    std::string out;
    size_t i = 0;
    for (auto &v : list) {
        if (i == limit) break;
        out += (i++ ? ", " : "") + (v.is_string() ? v.get<std::string>() : v.dump());
    }
    return out;
}

std::string Counted(const ordered_json &list, size_t limit) {
    std::string out;
    size_t i = 0;
    for (auto &v : list) {
        if (i == limit) break;
        out += fmt::format("{}{} {}", i++ ? ", " : "", v["name"].get<std::string>(), Num(v["messages"]));
    }
    return out;
}

std::vector<Table> Tables(const ordered_json &s, ReportLang lang) {
    std::vector<Table> tables;
    {
        Table t{"table3", L(lang, "Table 3: open and non-open resolvers per month", "表3 オープンリゾルバ・非オープンリゾルバ別 (月別)"),
                {"date", "Open total", "Non open total", "Open unique", "Non open unique"}};
        for (auto &r : s["table3"])
            t.rows.push_back({r["month"].get<std::string>(), Num(r["open_total"]), Num(r["non_open_total"]),
                              Num(r["open_unique"]), Num(r["non_open_unique"])});
        const auto &p = s["probes"];
        t.note = L(lang,
                   fmt::format("Open: the latest resolver probe of the source answered the test name. Non open: every "
                               "other source ({} not open, {} no answer, {} never probed).",
                               Num(p["not-open"]), Num(p["no-answer"]), Num(p["not probed"])),
                   fmt::format("Open: 送信元への最新のリゾルバ調査がテスト名に応答したもの。Non open: それ以外の送信元 "
                               "(非オープン {}、応答なし {}、未調査 {})。",
                               Num(p["not-open"]), Num(p["no-answer"]), Num(p["not probed"])));
        tables.push_back(std::move(t));
    }
    {
        Table t{"table4", L(lang, "Table 4: queries (to port 53) and responses (from port 53) per day",
                            "表4 送信・宛先ポート別 (日別)"),
                {L(lang, "day", "日付"), L(lang, "query non-open", "クエリ 非オープン"), L(lang, "query open", "クエリ オープン"),
                 L(lang, "response non-open", "応答 非オープン"), L(lang, "response open", "応答 オープン")}};
        for (auto &r : s["table4"])
            t.rows.push_back({r["day"].get<std::string>(), Num(r["query_non_open"]), Num(r["query_open"]),
                              Num(r["response_non_open"]), Num(r["response_open"])});
        tables.push_back(std::move(t));
    }
    {
        Table t{"table2", L(lang, "Table 2: devices (nmap) among the period's DNS sources", "表2 ポートスキャン結果"),
                {L(lang, "device", "機器"), L(lang, "hosts", "件数")}};
        for (auto &r : s["table2"]) t.rows.push_back({DeviceLabel(r["class"].get<std::string>(), lang), Num(r["hosts"])});
        if (s["devices_classified"].get<uint64_t>() == 0)
            t.note = L(lang, "No source of this period was classified: run `darkscope probe devices`.",
                       "この期間の送信元は機器分類されていない (`darkscope probe devices`)。");
        tables.push_back(std::move(t));
    }
    {
        Table t{"sources", L(lang, "Sources with the most packets", "パケット数上位の送信元"),
                {L(lang, "source", "送信元"), L(lang, "resolver", "リゾルバ"), L(lang, "research", "調査組織"),
                 L(lang, "packets", "パケット数"), L(lang, "queries", "クエリ"), L(lang, "responses", "応答"),
                 L(lang, "mean gap (s)", "平均到着間隔(秒)"), L(lang, "median gap (s)", "到着間隔中央値(秒)"),
                 L(lang, "distinct names", "異なる名前"), L(lang, "qtypes", "qtype"), L(lang, "names", "名前の例")}};
        for (auto &r : s["top_sources"])
            t.rows.push_back({r["address"].get<std::string>(), r["resolver"].get<std::string>(),
                              r["research"].is_null() ? "" : r["research"].get<std::string>(), Num(r["packets"]),
                              Num(r["queries"]), Num(r["responses"]), Seconds(r["mean_interarrival_s"]),
                              Seconds(r["median_interarrival_s"]), r["distinct_names"].get<std::string>(),
                              Counted(r["qtypes"], 3), Joined(r["examples"], 3)});
        t.note = L(lang, "Median gaps are read from logarithmic buckets (within 6.3%); mean gaps are exact.",
                   "到着間隔の中央値は対数ビンによる近似 (誤差 6.3% 以内)、平均は厳密値。");
        tables.push_back(std::move(t));
    }
    {
        Table t{"zones", L(lang, "Zones with the most messages (registrable domain of the question)",
                           "メッセージ数上位のゾーン (質問名の登録可能ドメイン)"),
                {L(lang, "zone", "ゾーン"), L(lang, "queries", "クエリ"), L(lang, "responses", "応答"),
                 L(lang, "distinct names", "異なる名前"), L(lang, "sources", "送信元"), L(lang, "hours", "時間数"),
                 L(lang, "rcodes", "rcode"), L(lang, "names", "名前の例")}};
        for (auto &r : s["top_zones"])
            t.rows.push_back({r["zone"].get<std::string>(), Num(r["queries"]), Num(r["responses"]),
                              r["distinct_names"].get<std::string>(), r["sources"].get<std::string>(), Num(r["hours"]),
                              Counted(r["rcodes"], 3), Joined(r["examples"], 3)});
        tables.push_back(std::move(t));
    }
    {
        Table t{"qtypes", L(lang, "Question types", "質問タイプ"), {"qtype", L(lang, "messages", "メッセージ数")}};
        for (auto &r : s["qtypes"]) t.rows.push_back({r["name"].get<std::string>(), Num(r["messages"])});
        tables.push_back(std::move(t));
    }
    return tables;
}

std::string Summary(const ordered_json &s, ReportLang lang) {
    const auto &t = s["totals"];
    std::string text = Ja(lang)
        ? fmt::format("{} から {} まで: DNS パケット {} (クエリ {}、応答 {})、ユニーク送信元 {}。",
                      s["period"]["from"].get<std::string>(), s["period"]["to"].get<std::string>(), Num(t["packets"]),
                      Num(t["queries"]), Num(t["responses"]), Num(t["sources"]))
        : fmt::format("{} to {}: {} DNS packets ({} queries, {} responses) from {} unique sources.",
                      s["period"]["from"].get<std::string>(), s["period"]["to"].get<std::string>(), Num(t["packets"]),
                      Num(t["queries"]), Num(t["responses"]), Num(t["sources"]));
    const auto &r = s["research"];
    if (r["excluded"].get<bool>())
        text += Ja(lang) ? fmt::format(" 調査組織 {} 件 ({} パケット) を除く。", Num(r["excluded_sources"]), Num(r["excluded_packets"]))
                         : fmt::format(" Research scanners left out: {} sources, {} packets.", Num(r["excluded_sources"]),
                                       Num(r["excluded_packets"]));
    if (t["by_port"].get<uint64_t>())
        text += Ja(lang) ? fmt::format(" DNS として解析できずポート番号で分けたもの {}。", Num(t["by_port"]))
                         : fmt::format(" {} did not parse as DNS and were split by port.", Num(t["by_port"]));
    return text;
}

size_t Width(std::string_view s) {
    size_t w = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        const unsigned char c = s[i];
        if ((c & 0xC0) == 0x80) continue;
        w += c >= 0xE0 ? 2 : 1;  // CJK takes two cells
    }
    return w;
}

}  // namespace

std::string StudyToText(const ordered_json &s, ReportLang lang) {
    std::string out = TerminalSafe(Summary(s, lang)) + "\n";
    for (const Table &t : Tables(s, lang)) {
        if (t.id == "table4" && t.rows.size() > 62) continue;  // a quarter's days belong in a file, not a terminal
        out += "\n" + t.caption + "\n";
        std::vector<size_t> widths(t.header.size());
        for (size_t c = 0; c < t.header.size(); ++c) widths[c] = Width(t.header[c]);
        std::vector<std::vector<std::string>> rows;
        for (auto &r : t.rows) {
            std::vector<std::string> cells;
            for (size_t c = 0; c < r.size(); ++c) {
                std::string cell = TerminalSafe(r[c]);
                if (Width(cell) > 40) cell = cell.substr(0, 39) + "~";
                widths[c] = std::max(widths[c], Width(cell));
                cells.push_back(std::move(cell));
            }
            rows.push_back(std::move(cells));
        }
        const auto line = [&](const std::vector<std::string> &cells) {
            std::string l;
            for (size_t c = 0; c < cells.size(); ++c) {
                const size_t pad = widths[c] - Width(cells[c]);
                l += (c ? "  " : "") + (c == 0 ? cells[c] + std::string(pad, ' ') : std::string(pad, ' ') + cells[c]);
            }
            return l + "\n";
        };
        out += line(t.header);
        for (auto &r : rows) out += line(r);
        if (!t.note.empty()) out += t.note + "\n";
    }
    return out;
}

std::string StudyToMarkdown(const ordered_json &s, ReportLang lang) {
    std::string out = "# " + L(lang, "DNS study", "DNS 調査") + "\n\n" + MarkdownEscape(Summary(s, lang)) + "\n";
    for (const Table &t : Tables(s, lang)) {
        out += "\n## " + MarkdownEscape(t.caption) + "\n\n|";
        for (auto &h : t.header) out += " " + MarkdownEscape(h) + " |";
        out += "\n|";
        for (size_t c = 0; c < t.header.size(); ++c) out += c == 0 ? "---|" : "---:|";
        out += "\n";
        for (auto &r : t.rows) {
            out += "|";
            for (auto &cell : r) out += " " + MarkdownEscape(cell) + " |";
            out += "\n";
        }
        if (!t.note.empty()) out += "\n" + MarkdownEscape(t.note) + "\n";
    }
    return out;
}

namespace {

constexpr std::string_view STYLE = R"css(
body { font-family: "IPAGothic", "Noto Sans CJK JP", sans-serif; font-size: 10pt; max-width: 190mm; margin: auto; padding: 8px }
table { border-collapse: collapse; margin: 6px 0 4px; font-size: 9pt }
th, td { border: 1px solid #bbb; padding: 2px 6px }
td { text-align: right } td:first-child { text-align: left }
caption { font-weight: bold; text-align: left; padding: 4px 0 }
thead { display: table-header-group } tr { break-inside: avoid }
figure { margin: 8px 0 14px; break-inside: avoid } figcaption { font-weight: bold; font-size: 9.5pt }
.chart-box { width: 100%; height: 320px } .note { font-size: 8.5pt; color: #555 }
@media print { body { padding: 0 } }
)css";


// Figures 5-7 (unique sources against packets per day) and the scatter plots of the paper, from the embedded
// study; names reach ECharts as data only.
constexpr std::string_view CHARTS_JS = R"js(
(function () {
  'use strict';
  var body = document.body;
  function fail(m) { window.__darkscopeErrors.push(String(m)); body.dataset.errors = window.__darkscopeErrors.join('\n'); }
  var boxes = document.querySelectorAll('.chart-box');
  body.dataset.chartsExpected = boxes.length;
  body.dataset.chartsRendered = 0;
  if (typeof echarts === 'undefined') { if (boxes.length) fail('echarts is not loaded'); return; }
  var s, L;
  try {
    s = JSON.parse(document.getElementById('darkscope-dns').textContent);
    L = JSON.parse(document.getElementById('darkscope-labels').textContent);
  } catch (e) { fail(e && e.message || e); return; }
  function base(o) {
    o.animation = false;
    o.tooltip = o.tooltip || { trigger: 'axis', renderMode: 'richText' };
    o.legend = { top: 0, type: 'scroll' };
    o.grid = { left: 60, right: 60, top: 40, bottom: 40 };
    return o;
  }
  function daily(role) {
    var days = s.table4.map(function (r) { return r.day.slice(5); });
    var series = [];
    ['non_open', 'open'].forEach(function (cls) {
      series.push({ type: 'bar', name: L[role + '_' + cls] + ' ' + L.packets, data: s.table4.map(function (r) { return r[role + '_' + cls]; }) });
      series.push({ type: 'line', yAxisIndex: 1, name: L[role + '_' + cls] + ' ' + L.sources, showSymbol: false,
                    data: s.table4.map(function (r) { return r[role + '_' + cls + '_sources']; }) });
    });
    return base({ xAxis: { type: 'category', data: days },
                  yAxis: [{ type: 'value', name: L.packets }, { type: 'value', name: L.sources }], series: series });
  }
  function scatter(by) {
    var groups = {};
    s.scatter.points.forEach(function (p) {
      if (p[2] < 2) return;  // one packet: no inter-arrival time
      var key = by === 'role' ? p[5] : (p[4] ? 'research' : p[3]);
      if (!groups[key]) groups[key] = [];
      groups[key].push([Math.max(p[1], 1e-3), p[2], p[0]]);
    });
    var series = Object.keys(groups).sort().map(function (k) {
      return { type: 'scatter', name: L[k] || k, data: groups[k], symbolSize: 4 };
    });
    return base({ tooltip: { trigger: 'item', renderMode: 'richText',
                             formatter: function (p) { return p.data[2] + '\n' + p.data[0] + ' s, ' + p.data[1]; } },
                  xAxis: { type: 'log', name: L.gap, nameLocation: 'middle', nameGap: 25 },
                  yAxis: { type: 'log', name: L.packets }, series: series });
  }
  var builders = { 'daily-query': function () { return daily('query'); },
                   'daily-response': function () { return daily('response'); },
                   'scatter-class': function () { return scatter('class'); },
                   'scatter-role': function () { return scatter('role'); } };
  var rendered = 0, charts = [];
  Array.prototype.forEach.call(boxes, function (box) {
    var id = box.dataset.chart;
    try {
      if (!builders[id]) throw new Error('no chart named ' + id);
      var chart = echarts.init(box, null, { renderer: 'svg' });
      chart.setOption(builders[id]());
      charts.push(chart);
      if (box.querySelector('svg')) rendered++;
    } catch (e) { fail(id + ': ' + (e && e.message || e)); }
  });
  body.dataset.chartsRendered = rendered;
  window.addEventListener('beforeprint', function () { charts.forEach(function (c) { c.resize(); }); });
})();
)js";

void HtmlTable(std::string &out, const Table &t) {
    out += "<table>\n<caption>" + HtmlEscape(t.caption) + "</caption>\n<thead><tr>";
    for (auto &h : t.header) out += "<th>" + HtmlEscape(h) + "</th>";
    out += "</tr></thead>\n<tbody>\n";
    for (auto &r : t.rows) {
        out += "<tr>";
        for (auto &c : r) out += "<td>" + HtmlEscape(c) + "</td>";
        out += "</tr>\n";
    }
    out += "</tbody></table>\n";
    if (!t.note.empty()) out += "<p class=\"note\">" + HtmlEscape(t.note) + "</p>\n";
}

void Figure(std::string &out, std::string_view id, const std::string &caption) {
    out += fmt::format("<figure><figcaption>{}</figcaption><div class=\"chart-box\" data-chart=\"{}\"></div></figure>\n",
                       HtmlEscape(caption), id);
}

}  // namespace

std::string StudyToHtml(const ordered_json &s, ReportLang lang, std::string_view echarts_js) {
    const nlohmann::json labels = {
        {"lang", std::string(ReportLangCode(lang))},
        {"packets", L(lang, "packets", "パケット数")},
        {"sources", L(lang, "unique sources", "ユニーク送信元")},
        {"query_non_open", L(lang, "query non-open", "クエリ 非オープン")},
        {"query_open", L(lang, "query open", "クエリ オープン")},
        {"response_non_open", L(lang, "response non-open", "応答 非オープン")},
        {"response_open", L(lang, "response open", "応答 オープン")},
        {"open", L(lang, "open resolver", "オープンリゾルバ")},
        {"non-open", L(lang, "non-open", "非オープンリゾルバ")},
        {"research", L(lang, "research organisation", "調査組織")},
        {"query", L(lang, "mostly queries", "主にクエリ")},
        {"response", L(lang, "mostly responses", "主に応答")},
        {"gap", L(lang, "mean inter-arrival time (s)", "平均到着間隔 (秒)")}};
    std::string out = fmt::format("<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n"
                                  "<style>{}</style>\n</head>\n<body>\n<script>{}</script>\n",
                                  ReportLangCode(lang), HtmlEscape(L(lang, "darkscope DNS study", "darkscope DNS 調査")), STYLE,
                                  HTML_ERROR_TRAP);
    out += "<h1>" + HtmlEscape(L(lang, "DNS study", "DNS 調査")) + "</h1>\n<p>" + HtmlEscape(Summary(s, lang)) + "</p>\n";
    if (echarts_js.empty())
        out += "<p class=\"note\">" +
               HtmlEscape(L(lang, "The chart library (ECharts) was not found: charts are missing, tables are complete.",
                            "グラフライブラリ (ECharts) が見つからないためグラフなし。表は完全。")) +
               "</p>\n";
    const auto tables = Tables(s, lang);
    for (const Table &t : tables) {
        HtmlTable(out, t);
        if (t.id == "table4") {
            Figure(out, "daily-query", L(lang, "Queries per day: packets and unique sources (figures 5-7)",
                                         "クエリ: 日別パケット数とユニーク送信元数 (図5-7)"));
            Figure(out, "daily-response", L(lang, "Responses per day: packets and unique sources",
                                            "応答: 日別パケット数とユニーク送信元数"));
            Figure(out, "scatter-class", L(lang, "Sources: mean inter-arrival time against packets, by resolver class "
                                                 "(sources of two packets or more)",
                                           "送信元: 平均到着間隔とパケット数 (リゾルバ種別、2パケット以上の送信元)"));
            Figure(out, "scatter-role", L(lang, "Sources: mean inter-arrival time against packets, queries or responses",
                                          "送信元: 平均到着間隔とパケット数 (クエリ・応答別)"));
        }
    }
    out += "<script type=\"application/json\" id=\"darkscope-dns\">" + ScriptSafeJson(nlohmann::json(s)) + "</script>\n";
    out += "<script type=\"application/json\" id=\"darkscope-labels\">" + ScriptSafeJson(labels) + "</script>\n";
    if (!echarts_js.empty()) out += "<script>" + ScriptSafeSource(echarts_js) + "</script>\n";
    out += "<script>" + std::string(CHARTS_JS) + "</script>\n</body>\n</html>\n";
    return out;
}

std::vector<std::filesystem::path> WriteStudyCsv(const ordered_json &s, const std::filesystem::path &dir) {
    std::filesystem::create_directories(dir);
    std::vector<std::filesystem::path> written;
    const auto write = [&](const std::string &name, const std::vector<std::string> &header,
                           const std::vector<std::vector<nlohmann::json>> &rows) {
        const auto path = dir / (name + ".csv");
        std::ofstream f(path, std::ios::binary);
        std::string line;
        for (size_t c = 0; c < header.size(); ++c) line += (c ? "," : "") + CsvField(header[c]);
        f << line << "\r\n";
        for (auto &r : rows) {
            line.clear();
            for (size_t c = 0; c < r.size(); ++c) line += (c ? "," : "") + CsvField(r[c]);
            f << line << "\r\n";
        }
        if (!f) throw std::runtime_error(fmt::format("{}: cannot write", path.string()));
        written.push_back(path);
    };
    // Numbers stay numbers in the CSV (the JSON's, not the formatted text of the tables).
    const auto rows_of = [&](const char *key, const std::vector<std::string> &fields) {
        std::vector<std::vector<nlohmann::json>> rows;
        for (auto &r : s[key]) {
            std::vector<nlohmann::json> row;
            for (auto &f : fields) {
                const auto &v = r[f];
                row.push_back(v.is_array() ? nlohmann::json(v.is_array() && !v.empty() && v[0].is_object()
                                                                 ? Counted(v, 5) : Joined(v, 5))
                                           : nlohmann::json(v));
            }
            rows.push_back(std::move(row));
        }
        return rows;
    };
    const std::vector<std::string> t3 = {"month", "open_total", "non_open_total", "open_unique", "non_open_unique"};
    write("table3", t3, rows_of("table3", t3));
    const std::vector<std::string> t4 = {"day", "query_non_open", "query_open", "response_non_open", "response_open",
                                         "query_non_open_sources", "query_open_sources", "response_non_open_sources",
                                         "response_open_sources"};
    write("table4", t4, rows_of("table4", t4));
    const std::vector<std::string> t2 = {"class", "hosts"};
    write("table2", t2, rows_of("table2", t2));
    const std::vector<std::string> src = {"address", "resolver", "research", "packets", "queries", "responses",
                                          "mean_interarrival_s", "median_interarrival_s", "distinct_names", "first",
                                          "last", "device", "qtypes", "examples"};
    write("sources", src, rows_of("top_sources", src));
    const std::vector<std::string> zones = {"zone", "queries", "responses", "distinct_names", "sources", "hours",
                                            "rcodes", "examples"};
    write("zones", zones, rows_of("top_zones", zones));
    std::vector<std::vector<nlohmann::json>> points;
    for (auto &p : s["scatter"]["points"]) points.push_back(std::vector<nlohmann::json>(p.begin(), p.end()));
    write("scatter", {"address", "mean_interarrival_s", "packets", "resolver", "research", "role"}, points);
    return written;
}

}  // namespace darkscope::dns
