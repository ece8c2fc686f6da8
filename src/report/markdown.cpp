#include "report/markdown.hpp"

#include "report/report_view.hpp"

namespace darkscope {

std::string MarkdownEscape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
        case '\\': case '|': case '*': case '_': case '`': case '[': case ']': out += '\\'; out += c; break;
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '\n': case '\r': out += ' '; break;
        default: out += c;
        }
    }
    return out;
}

namespace {

// A paragraph or list item: escaped, and a leading # - + = that would make a heading, a list item or a
// setext underline behind a backslash (inside a table cell they are plain text).
std::string MarkdownLine(std::string_view text) {
    std::string out = MarkdownEscape(text);
    if (!out.empty() && (out[0] == '#' || out[0] == '-' || out[0] == '+' || out[0] == '=')) out.insert(0, "\\");
    return out;
}

void WriteTable(std::string &out, const detail::ViewTable &t) {
    if (!t.caption.empty()) out += "**" + MarkdownEscape(t.caption) + "**\n\n";
    auto row = [&](const std::vector<std::string> &cells) {
        out += '|';
        for (const std::string &cell : cells) out += ' ' + MarkdownEscape(cell) + " |";
        out += '\n';
    };
    row(t.header);
    out += '|';
    for (size_t i = 0; i < t.header.size(); ++i) out += "---|";
    out += '\n';
    for (const auto &cells : t.rows) row(cells);
    out += '\n';
    for (const std::string &note : t.notes) out += MarkdownLine(note) + "\n\n";
}

}  // namespace

std::string ReportToMarkdown(const nlohmann::json &report, ReportLang lang) {
    const detail::ReportView view = detail::BuildReportView(report, lang);
    std::string out = "# " + MarkdownEscape(view.title) + "\n\n" + MarkdownLine(view.subtitle) + "\n\n";
    for (const detail::ViewSection &section : view.sections) {
        out += std::string(size_t(section.level), '#') + ' ' + MarkdownEscape(section.title) + "\n\n";
        for (const detail::ViewBlock &block : section.blocks) {
            switch (block.kind) {
            case detail::ViewBlock::Kind::PARAGRAPH: out += MarkdownLine(block.text) + "\n\n"; break;
            case detail::ViewBlock::Kind::TABLE: WriteTable(out, block.table); break;
            case detail::ViewBlock::Kind::LIST:
                for (const std::string &item : block.items) out += "- " + MarkdownLine(item) + '\n';
                out += '\n';
                break;
            case detail::ViewBlock::Kind::CHART: break;  // the HTML report draws it; the numbers are in the tables
            }
        }
    }
    return out;
}

}  // namespace darkscope
