#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include "app/commands.hpp"
#include "dns/render.hpp"
#include "dns/tables.hpp"
#include "report/html.hpp"
#include "report/report.hpp"
#include "store/store.hpp"

namespace darkscope::app {
namespace {

struct DnsArgs {
    std::string store = "darkscope.db";
    std::string period;
    std::string from;
    std::string to;
    std::string format = "text";
    std::string lang = "en";
    size_t top = 20;
    bool exclude_research = false;
    std::string output;
};

int Usage(const std::string &message) {
    fmt::print(stderr, "darkscope dns: {}\n", message);
    return EXIT_USAGE;
}

int RunDns(const DnsArgs &args) {
    if (args.format != "text" && args.format != "md" && args.format != "json" && args.format != "csv" &&
        args.format != "html")
        return Usage(fmt::format("--format {}: expected text, html, md, json or csv", args.format));
    const auto lang = ParseReportLang(args.lang);
    if (!lang) return Usage(fmt::format("--lang {}: expected en or ja", args.lang));
    if (args.format == "csv" && args.output.empty()) return Usage("--format csv writes a folder: give it with -o DIR");
    if (!std::filesystem::exists(args.store))
        return Usage(fmt::format("{}: no such store (create one with `darkscope ingest --store {} ...`)", args.store,
                                 args.store));
    try {
        auto store = Store::OpenSqliteReadOnly(args.store);
        const auto range = store->DayRange();
        if (!range) {
            fmt::print(stderr, "darkscope dns: {} holds no packets yet\n", args.store);
            return EXIT_OK;
        }
        std::string error;
        // Without a period, every day the store holds.
        const auto days = ResolvePeriodDays(args.period, args.from, args.to, range->first, range->second, error);
        if (!days) return Usage(error);
        if (days->second - days->first > 3660) return Usage("the period is over ten years: give a shorter one");
        dns::StudyOptions options;
        options.from_day = days->first;
        options.to_day = days->second;
        options.exclude_research = args.exclude_research;
        options.top = args.top == 0 ? SIZE_MAX : args.top;
        const auto study = dns::BuildStudy(*store, options);

        if (args.format == "csv") {
            for (auto &p : dns::WriteStudyCsv(study, args.output)) fmt::print(stderr, "wrote {}\n", p.string());
            return EXIT_OK;
        }
        std::string text;
        if (args.format == "json") {
            text = study.dump(2) + "\n";
        } else if (args.format == "md") {
            text = dns::StudyToMarkdown(study, *lang);
        } else if (args.format == "html") {
            const std::string echarts = LoadEcharts();
            if (echarts.empty())
                fmt::print(stderr, "darkscope dns: warning: no ECharts (data/web/node_modules/echarts, installed by "
                                   "scripts/setup.sh): the page has its tables but no charts\n");
            text = dns::StudyToHtml(study, *lang, echarts);
        } else {
            text = dns::StudyToText(study, *lang);
        }
        if (args.output.empty()) {
            fmt::print("{}", text);
            return EXIT_OK;
        }
        std::ofstream out(args.output, std::ios::binary);
        out << text;
        out.close();
        if (!out) {
            fmt::print(stderr, "darkscope dns: {}: cannot write\n", args.output);
            return EXIT_SOME_FAILED;
        }
        fmt::print(stderr, "wrote {}\n", args.output);
    } catch (const std::exception &e) {
        fmt::print(stderr, "darkscope dns: {}\n", e.what());
        return EXIT_SOME_FAILED;
    }
    return EXIT_OK;
}

}  // namespace

void RegisterDns(CLI::App &app, int &exit_code) {
    auto args = std::make_shared<DnsArgs>();
    auto *cmd = app.add_subcommand("dns", "The DNS study: open resolvers, queries and responses, sources (paper 004)");
    cmd->footer(
        "Every 53/UDP packet to a sensor is parsed at ingest (question name, type, rcode, EDNS) and kept per\n"
        "source and day and per zone and hour. This command prints the paper's tables from them:\n"
        "  Table 3  per month: packets and unique sources of open and non-open resolvers;\n"
        "  Table 4  per day: queries (to port 53) and responses (from port 53), open and non-open;\n"
        "  Table 2  device classes of the sources (from `darkscope probe devices`);\n"
        "and the sources and zones with the most messages. HTML adds the per-day charts (unique sources\n"
        "against packets) and the scatter plots (mean inter-arrival time against packets, log-log).\n"
        "\"Open\" is what the latest probe of a source said (`darkscope probe resolvers`, or verdicts from\n"
        "elsewhere with `darkscope probe import-resolvers`); a source never probed counts as non-open and\n"
        "the output says how many there are. Names from packets are shown escaped. docs/dns.md explains it.\n\n"
        "Examples:\n"
        "  darkscope dns --period 2016-11\n"
        "  darkscope dns --period 2016-11 --exclude-research --format html -o dns-2016-11.html\n"
        "  darkscope dns --from 2016-09-01 --to 2017-03-31 --format csv -o dns-tables/\n"
        "  darkscope dns --period 2016-11 --format json --lang ja");
    cmd->add_option("--store", args->store, "Store file")->capture_default_str();
    cmd->add_option("--period", args->period, "2016-11, 2016Q4, 2016-W47, 2016-11-18 or FIRST..LAST (default: all)");
    cmd->add_option("--from", args->from, "First day (YYYY-MM-DD, UTC)");
    cmd->add_option("--to", args->to, "Last day, inclusive");
    cmd->add_option("--format", args->format, "text, html, md, json or csv (a folder of files)")->capture_default_str();
    cmd->add_option("--lang", args->lang, "en or ja")->capture_default_str();
    cmd->add_option("--top", args->top, "Rows of the top-source and top-zone tables (0: all)")->capture_default_str();
    cmd->add_flag("--exclude-research", args->exclude_research,
                  "Leave out sources labelled research scanners (by AS, network or reverse DNS)");
    cmd->add_option("-o,--output", args->output, "Output file (folder for csv); default: standard output");
    cmd->callback([args, &exit_code] { exit_code = RunDns(*args); });
}

}  // namespace darkscope::app
