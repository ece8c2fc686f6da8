#pragma once
/// Open-resolver verdicts made elsewhere (`darkscope probe import-resolvers`): CSV with the header
/// address,status[,detail], fields quoted as RFC 4180 says.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.hpp"

namespace darkscope::probe {

struct ImportedVerdict {
    IpAddress address;
    std::string status;  // open | not-open | no-answer
    std::string detail;  // escaped (EscapeWireText); "imported" when the file gives none
};

struct CsvImport {
    std::vector<ImportedVerdict> rows;
    std::vector<std::string> errors;  // "file:line: why", in file order; the rows are not to be stored if any
};

/// Splits CSV text into records of fields (RFC 4180: quoted fields may hold commas, doubled quotes and line
/// breaks; CRLF or LF). `line_of` receives the line each record starts on. Returns false with `error` set on a
/// quote left open or text after a closing quote, naming the line.
bool SplitCsv(std::string_view text, std::vector<std::vector<std::string>> &records, std::vector<size_t> &line_of,
              std::string &error);

/// Parses a verdict file already read; `name` is what the errors call it.
CsvImport ParseResolverVerdictsCsv(std::string_view text, const std::string &name);
/// Reads and parses a verdict file; an unreadable file is one error.
CsvImport ReadResolverVerdictsCsv(const std::filesystem::path &path);

}  // namespace darkscope::probe
