#pragma once
/// The report as one self-contained HTML file (`darkscope report --format html`): the tables of the
/// Markdown writer, and ECharts charts drawn from the JSON document embedded in the page. It opens
/// offline: the chart library is inlined, and the page names no external URL (no font, no CDN).

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "report/labels.hpp"

namespace darkscope {

/// The whole page, `<html lang="en|ja">`, UTF-8. `echarts_js` is the library's source (echarts.min.js,
/// see EchartsPath), inlined in a <script> with every `</` written `<\/`; empty: the page says that
/// its charts could not be drawn and keeps its tables. Every string from the data is HTML-escaped; the
/// JSON for the charts sits in <script type="application/json"> with < > & U+2028 U+2029 as \u escapes.
/// Charts use the SVG renderer without animation (crisp in print, complete in a headless screenshot);
/// once drawn the page sets `data-charts-expected` and `data-charts-rendered` on <body>, and any script
/// error lands in `data-errors` (tests/e2e/report_render.py reads them).
std::string ReportToHtml(const nlohmann::json &report, ReportLang lang, std::string_view echarts_js);

/// The pinned ECharts (data/web/package.json, installed by scripts/setup.sh with `npm ci`):
/// <root>/node_modules/echarts/dist/echarts.min.js, root being $DARKSCOPE_WEB_DIR, else the source
/// tree's data/web, else ./data/web. nullopt when the file is not there.
std::optional<std::filesystem::path> EchartsPath();
/// The library's source from EchartsPath, to inline; empty when it is not there (the page then keeps its tables).
std::string LoadEcharts();

/// The script a page runs first in <body>: every error (in the chart library too) lands in
/// window.__darkscopeErrors and in <body data-errors>, where a headless browser's --dump-dom shows it.
extern const std::string_view HTML_ERROR_TRAP;

/// & < > " ' as character references.
std::string HtmlEscape(std::string_view text);
/// JSON text safe inside <script type="application/json">: < > & U+2028 U+2029 as \u escapes.
std::string ScriptSafeJson(const nlohmann::json &value);
/// Script source safe inside <script>: every `</` as `<\/` and `<!--` as `<\!--`, so that nothing in it
/// can close the element or enter the parser's escaped states.
std::string ScriptSafeSource(std::string_view js);

}  // namespace darkscope
