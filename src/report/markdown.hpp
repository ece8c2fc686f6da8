#pragma once
/// The report as Markdown (`darkscope report --format md`), from the JSON document of docs/report.md.

#include <string>

#include <nlohmann/json.hpp>

#include "report/labels.hpp"

namespace darkscope {

/// Every section of the report's JSON, in order, as headings, sentences and GitHub-style tables (the
/// charts are the HTML writer's; their numbers are in the tables). Computes nothing of its own. Every
/// string that came from the data (keys, names, sensor names, file paths, messages) is escaped, so that
/// `a|b` cannot split a table cell and `<script>` cannot become HTML where the Markdown is rendered.
std::string ReportToMarkdown(const nlohmann::json &report, ReportLang lang);

/// Text made literal inside a Markdown line or table cell: `\ | * _ ` [ ]` behind a backslash, `& < >` as
/// entities, line breaks as spaces.
std::string MarkdownEscape(std::string_view text);

}  // namespace darkscope
