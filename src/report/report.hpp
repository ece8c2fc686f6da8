#pragma once
/// `darkscope report`: the periodic observation report of the seed documents (docs/report.md), built
/// from the store as one JSON document. The Markdown, HTML and CSV writers render that document and
/// compute nothing of their own, so every format shows the same numbers.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.hpp"

namespace darkscope {

struct ReportPeriod {
    enum class Kind { DAYS, DAY, WEEK, MONTH, QUARTER, YEAR };
    Kind kind = Kind::DAYS;
    std::string label;  // "2024Q4", "2014-02", "2024-W51", "2024-12-03", "2024", "2024-12-01..2024-12-15"
    int64_t from_day = 0;
    int64_t to_day = 0;
    int64_t Days() const { return to_day - from_day + 1; }
};

/// Parses 2024Q4, 2014-02, 2024-W51 (ISO 8601 week), 2024-12-03, 2024 or 2024-12-01..2024-12-15. On failure
/// returns nothing and says why in `error`.
std::optional<ReportPeriod> ParseReportPeriod(std::string_view text, std::string *error = nullptr);
/// The days [from_day, to_day] as a period of their own (--from/--to).
ReportPeriod DaysPeriod(int64_t from_day, int64_t to_day);
/// The days named by --period, or by --from/--to (each may be left out: `first` and `last` stand in for
/// them), for the subcommands that take either. On bad input nothing, and `error` names the argument and why.
std::optional<std::pair<int64_t, int64_t>> ResolvePeriodDays(std::string_view period, std::string_view from,
                                                             std::string_view to, int64_t first, int64_t last,
                                                             std::string &error);
/// The quarter, month, ISO week, day or year before; as many days just before for a custom period.
ReportPeriod PreviousReportPeriod(const ReportPeriod &period);

struct ReportOptions {
    ReportPeriod period;
    std::optional<ReportPeriod> compare;   // default: PreviousReportPeriod(period)
    std::vector<std::string> sensor_group;  // names, locations or providers (--sensors); empty: all
    size_t top = 10;
    bool exclude_research = false;
    std::string lang = "en";  // recorded in the document; the writers take the language they render
    /// Threads the long scans are split over, by days (each opens the store again, read only).
    unsigned threads = 1;
};

/// How many keys the daily series, ratio charts and region service mix follow (the reports' top 5).
constexpr size_t REPORT_SERIES_KEYS = 5;

nlohmann::json BuildReport(Store &store, const ReportOptions &options);

/// One RFC 4180 field: strings quoted where needed, and text a spreadsheet would run as a formula (= + - @ first)
/// written with a leading apostrophe; numbers as numbers.
std::string CsvField(const nlohmann::json &v);
/// One CSV file per table of the report into `dir` (created if needed). Returns the files written.
std::vector<std::filesystem::path> WriteReportCsv(const nlohmann::json &report, const std::filesystem::path &dir);

}  // namespace darkscope
