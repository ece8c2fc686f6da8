#pragma once
/// The DNS study (dns/tables.hpp) as a terminal text, Markdown, CSV files and one self-contained HTML page,
/// in English or Japanese (the paper's labels). Every string from the data is escaped for where it goes.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/labels.hpp"

namespace darkscope::dns {

std::string StudyToText(const nlohmann::ordered_json &study, ReportLang lang);
std::string StudyToMarkdown(const nlohmann::ordered_json &study, ReportLang lang);
/// `echarts_js` as for ReportToHtml: inlined; empty, the page keeps its tables and says the charts are missing.
/// Sets data-charts-expected / data-charts-rendered / data-errors on <body> as the report does.
std::string StudyToHtml(const nlohmann::ordered_json &study, ReportLang lang, std::string_view echarts_js);
/// One file per table (table2.csv, table3.csv, table4.csv, sources.csv, zones.csv, scatter.csv) in `dir`.
std::vector<std::filesystem::path> WriteStudyCsv(const nlohmann::ordered_json &study, const std::filesystem::path &dir);

}  // namespace darkscope::dns
