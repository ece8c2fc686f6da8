#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "app/commands.hpp"
#include "common/time.hpp"
#include "report/html.hpp"
#include "report/labels.hpp"
#include "report/markdown.hpp"
#include "report/report.hpp"

namespace darkscope::app {
namespace {

struct ReportArgs {
    std::string store = "darkscope.db";
    std::string period;
    std::string from;
    std::string to;
    std::string compare;
    std::vector<std::string> sensors;
    std::string format = "md";
    std::string lang = "en";
    size_t top = 10;
    bool exclude_research = false;
    std::string output;
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
};

int Usage(const std::string &message) {
    fmt::print(stderr, "darkscope report: {}\n", message);
    return EXIT_USAGE;
}

int RunReport(const ReportArgs &args) {
    ReportOptions options;
    std::string error;
    if (!args.period.empty()) {
        if (!args.from.empty() || !args.to.empty()) return Usage("give --period or --from/--to, not both");
        auto p = ParseReportPeriod(args.period, &error);
        if (!p) return Usage("--period " + error);
        options.period = *p;
    } else if (!args.from.empty() && !args.to.empty()) {
        auto from = ParseDay(args.from), to = ParseDay(args.to);
        if (!from) return Usage(fmt::format("--from {}: expected a date as YYYY-MM-DD", args.from));
        if (!to) return Usage(fmt::format("--to {}: expected a date as YYYY-MM-DD", args.to));
        if (*from > *to) return Usage(fmt::format("--from {} is after --to {}", args.from, args.to));
        options.period = DaysPeriod(*from, *to);
    } else {
        return Usage("which period? --period 2024Q4 | 2014-02 | 2024-W51 | 2024-12-03, or --from DAY --to DAY");
    }
    if (!args.compare.empty()) {
        auto p = ParseReportPeriod(args.compare, &error);
        if (!p) return Usage("--compare " + error);
        options.compare = *p;
    }
    if (args.format != "md" && args.format != "json" && args.format != "csv" && args.format != "html")
        return Usage(fmt::format("--format {}: expected html, md, json or csv", args.format));
    const auto lang = ParseReportLang(args.lang);
    if (!lang) return Usage(fmt::format("--lang {}: expected en or ja", args.lang));
    if (args.format == "csv" && args.output.empty()) return Usage("--format csv writes a folder: give it with -o DIR");
    options.lang = args.lang;
    options.top = args.top;
    options.exclude_research = args.exclude_research;
    options.threads = std::max(1u, args.threads);
    for (const std::string &s : args.sensors)
        if (!s.empty()) options.sensor_group.push_back(s);
    if (!std::filesystem::exists(args.store))
        return Usage(fmt::format("{}: no such store (create one with `darkscope ingest --store {} ...`)", args.store,
                                 args.store));
    try {
        auto store = Store::OpenSqlite(args.store);
        const nlohmann::json report = BuildReport(*store, options);
        if (!options.sensor_group.empty() && report.at("sensors").empty())
            return Usage(fmt::format("--sensors {}: no sensor has that name, location or provider",
                                     fmt::join(options.sensor_group, " ")));
        if (args.format == "csv") {
            const auto files = WriteReportCsv(report, args.output);
            fmt::print(stderr, "darkscope report: {} CSV files in {}\n", files.size(), args.output);
            return EXIT_OK;
        }
        std::string text;
        if (args.format == "json") {
            text = report.dump(2) + "\n";
        } else if (args.format == "md") {
            text = ReportToMarkdown(report, *lang);
        } else {
            // ECharts is inlined so that the file opens offline; without it the tables still stand.
            const std::string echarts = LoadEcharts();
            if (echarts.empty())
                fmt::print(stderr, "darkscope report: warning: no ECharts (data/web/node_modules/echarts, installed by "
                                   "scripts/setup.sh): the HTML has its tables but no charts\n");
            text = ReportToHtml(report, *lang, echarts);
        }
        if (args.output.empty() || args.output == "-") {
            fmt::print("{}", text);
        } else {
            std::ofstream out(args.output, std::ios::binary);
            out << text;
            out.close();
            if (!out) {
                fmt::print(stderr, "darkscope report: {}: cannot write\n", args.output);
                return EXIT_SOME_FAILED;
            }
        }
    } catch (const std::exception &e) {
        fmt::print(stderr, "darkscope report: {}\n", e.what());
        return EXIT_SOME_FAILED;
    }
    return EXIT_OK;
}

}  // namespace

void RegisterReport(CLI::App &app, int &exit_code) {
    auto args = std::make_shared<ReportArgs>();
    auto *cmd = app.add_subcommand("report", "The periodic observation report (NPA / TSUBAME form), against the previous period");
    cmd->footer(
        "The report of a period set beside the previous one, as the National Police Agency and\n"
        "JPCERT/CC publish theirs: packets and unique sources per day per sensor IP and their\n"
        "change; top destination services and source regions with rank, previous rank, change and\n"
        "increase/decrease rank (NPA Tables 2-1, 2-2), the rows outside the top N among the 5\n"
        "largest increases or decreases; daily series of the top 5; ratio charts; the service mix of\n"
        "the top regions; backscatter (SYN/ACK, RST/ACK) by source port and region; DNS queries and\n"
        "responses; signature detections by category and region (Tables 3-1, 3-2); decode events;\n"
        "notable phenomena; the files and data it was made from. Every figure is per day, so periods\n"
        "of different lengths compare fairly. docs/report.md describes every field.\n\n"
        "Periods: 2024Q4 (quarter), 2014-02 (month), 2024-W51 (ISO week), 2024-12-03 (day), 2024\n"
        "(year), 2024-12-01..2024-12-15 (days), or --from DAY --to DAY. The previous period is the\n"
        "quarter, month, week, day or year before, or as many days just before; --compare PERIOD\n"
        "sets another.\n\n"
        "Examples:\n"
        "  darkscope report --period 2024Q4 --format html -o q4.html\n"
        "  darkscope report --period 2014-02 --lang ja --format md -o 2014-02.md\n"
        "  darkscope report --period 2024-W51 --format json\n"
        "  darkscope report --from 2024-12-01 --to 2024-12-15 --compare 2024-11 --format csv -o out/\n"
        "  darkscope report --period 2024Q4 --sensors JP           # the sensors located \"..., JP\"\n"
        "  darkscope report --period 2024Q4 --sensors tokyo-1 osaka-1");
    cmd->add_option("--store", args->store, "Store file")->capture_default_str();
    cmd->add_option("--period", args->period, "2024Q4, 2014-02, 2024-W51, 2024-12-03, 2024 or FIRST..LAST");
    cmd->add_option("--from", args->from, "First day of a custom period (YYYY-MM-DD, UTC)");
    cmd->add_option("--to", args->to, "Last day of a custom period, inclusive");
    cmd->add_option("--compare", args->compare, "The period to compare with (default: the one before)");
    cmd->add_option("--sensors", args->sensors,
                    "Only these sensors: names, locations (\"Tokyo, JP\", or its last part \"JP\") or providers; "
                    "several may follow, ASCII case ignored");
    cmd->add_option("--format", args->format, "html, md, json or csv (a folder of files)")->capture_default_str();
    cmd->add_option("--lang", args->lang, "en or ja")->capture_default_str();
    cmd->add_option("--top", args->top, "Rows of the top-N tables")->capture_default_str();
    cmd->add_flag("--exclude-research", args->exclude_research, "Leave research scanners out of every count");
    cmd->add_option("-o,--output", args->output, "Output file (folder for csv); default: standard output");
    cmd->add_option("--threads", args->threads, "Threads that read the store (long periods are split by days)")
        ->capture_default_str();
    cmd->callback([args, &exit_code] { exit_code = RunReport(*args); });
}

}  // namespace darkscope::app
