#include "probe/import_csv.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "probe/resolver_probe.hpp"
#include "probe/text.hpp"

namespace darkscope::probe {
namespace {

constexpr size_t MAX_ERRORS = 20;  // a file of the wrong kind would otherwise print one line per row

std::string Trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return std::string(s);
}

std::string Lower(std::string s) {
    for (char &c : s)
        c = char(std::tolower(uint8_t(c)));
    return s;
}

}  // namespace

bool SplitCsv(std::string_view text, std::vector<std::vector<std::string>> &records, std::vector<size_t> &line_of,
              std::string &error) {
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // spreadsheet exports start with a BOM
    size_t line = 1, i = 0;
    while (i < text.size()) {
        std::vector<std::string> fields;
        const size_t record_line = line;
        for (;;) {
            std::string field;
            if (i < text.size() && text[i] == '"') {
                const size_t quote_line = line;
                ++i;
                for (;;) {
                    if (i >= text.size()) {
                        error = fmt::format("{}: a quoted field opened here is never closed", quote_line);
                        return false;
                    }
                    const char c = text[i++];
                    if (c == '"') {
                        if (i < text.size() && text[i] == '"') {
                            field += '"';
                            ++i;
                            continue;
                        }
                        break;
                    }
                    if (c == '\n') ++line;
                    field += c;
                }
                size_t j = i;
                while (j < text.size() && (text[j] == ' ' || text[j] == '\t'))
                    ++j;
                if (j < text.size() && text[j] != ',' && text[j] != '\n' && text[j] != '\r') {
                    error = fmt::format("{}: text after the closing quote of a field", line);
                    return false;
                }
                i = j;
            } else {
                while (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
                    field += text[i++];
                if (field.find('"') != std::string::npos) {
                    error = fmt::format(
                        "{}: a quote inside an unquoted field (quote the whole field and double "
                        "the quotes in it)",
                        line);
                    return false;
                }
            }
            fields.push_back(std::move(field));
            if (i < text.size() && text[i] == ',') {
                ++i;
                continue;
            }
            break;
        }
        if (i < text.size() && text[i] == '\r') ++i;
        if (i < text.size() && text[i] == '\n') ++i, ++line;
        records.push_back(std::move(fields));
        line_of.push_back(record_line);
    }
    return true;
}

CsvImport ParseResolverVerdictsCsv(std::string_view text, const std::string &name) {
    CsvImport out;
    const auto fail = [&](size_t line, std::string why) {
        if (out.errors.size() < MAX_ERRORS)
            out.errors.push_back(fmt::format("{}:{}: {}", name, line, std::move(why)));
        else if (out.errors.size() == MAX_ERRORS)
            out.errors.push_back(fmt::format("{}: more errors not shown", name));
    };
    std::vector<std::vector<std::string>> records;
    std::vector<size_t> lines;
    std::string error;
    if (!SplitCsv(text, records, lines, error)) {
        out.errors.push_back(fmt::format("{}:{}", name, error));
        return out;
    }
    size_t first = 0;
    while (first < records.size() && records[first].size() == 1 && Trimmed(records[first][0]).empty())
        ++first;
    if (first == records.size()) {
        out.errors.push_back(fmt::format("{}: empty: expected the header address,status[,detail]", name));
        return out;
    }
    const auto &header = records[first];
    const bool header_ok = (header.size() == 2 || header.size() == 3) && Lower(Trimmed(header[0])) == "address" &&
                           Lower(Trimmed(header[1])) == "status" &&
                           (header.size() == 2 || Lower(Trimmed(header[2])) == "detail");
    if (!header_ok) {
        std::string shown;
        for (auto &f : header)
            shown += (shown.empty() ? "" : ",") + f;
        fail(lines[first],
             fmt::format("header '{}': expected address,status or address,status,detail", EscapeWireText(shown, 100)));
        return out;
    }
    const size_t columns = header.size();
    for (size_t r = first + 1; r < records.size(); ++r) {
        const auto &f = records[r];
        const size_t line = lines[r];
        if (f.size() == 1 && Trimmed(f[0]).empty()) continue;  // a blank line
        if (f.size() != columns) {
            fail(line, fmt::format("{} fields, expected {} (address,status{})", f.size(), columns,
                                   columns == 3 ? ",detail" : ""));
            continue;
        }
        const std::string address_text = Trimmed(f[0]);
        auto address = IpAddress::Parse(address_text);
        if (!address) {
            fail(line, fmt::format("'{}' is not an IPv4 or IPv6 address", EscapeWireText(address_text, 60)));
            continue;
        }
        const std::string status = Lower(Trimmed(f[1]));
        if (!ParseResolverStatus(status)) {
            fail(line, fmt::format("status '{}': expected open, not-open or no-answer", EscapeWireText(f[1], 40)));
            continue;
        }
        std::string detail = columns == 3 ? Trimmed(f[2]) : "";
        out.rows.push_back({*address, status, detail.empty() ? "imported" : EscapeWireText(detail, 1024)});
    }
    return out;
}

CsvImport ReadResolverVerdictsCsv(const std::filesystem::path &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return CsvImport{{}, {fmt::format("{}: cannot open", path.string())}};
    std::stringstream buffer;
    buffer << in.rdbuf();
    return ParseResolverVerdictsCsv(buffer.str(), path.string());
}

}  // namespace darkscope::probe
