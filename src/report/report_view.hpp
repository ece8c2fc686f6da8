#pragma once
/// The report's JSON document (docs/report.md) laid out as headings, sentences and tables of plain text,
/// once, for both the Markdown and the HTML writer: they differ only in markup and escaping, so the two
/// can never show different numbers. Every string here is unescaped: the writer escapes all of it.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/labels.hpp"

namespace darkscope::detail {

struct ViewTable {
    std::string caption;
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> notes;  // under the table (the outside-top mark, rounding)
};

struct ViewBlock {
    enum class Kind { PARAGRAPH, TABLE, LIST, CHART };
    Kind kind = Kind::PARAGRAPH;
    std::string text;                // PARAGRAPH; CHART: its caption
    ViewTable table;                 // TABLE
    std::vector<std::string> items;  // LIST
    std::string chart;               // CHART: the chart's id, drawn by the HTML writer's script
};

struct ViewSection {
    std::string id;  // the JSON field it shows ("services"), an anchor in HTML
    std::string title;
    int level = 2;  // 2: a section of docs/report.md's JSON; 3: a part of one
    std::vector<ViewBlock> blocks;
};

struct ReportView {
    std::string title;
    std::string subtitle;  // the period set beside the previous one
    std::vector<ViewSection> sections;
};

/// Lays out every section of the document, in the order docs/report.md lists them. Fields that are
/// absent or null show as NO_VALUE or leave their table out; nothing is computed but what a cell shows.
ReportView BuildReportView(const nlohmann::json &report, ReportLang lang);

}  // namespace darkscope::detail
