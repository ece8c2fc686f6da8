#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "app/commands.hpp"
#include "report/summary.hpp"

namespace darkscope::app {
namespace {

struct SummaryArgs {
    std::string store = "darkscope.db";
    std::string from;
    std::string to;
    std::string by = "service";
    size_t top = 20;
    bool json = false;
    bool exclude_research = false;
    bool compare = false;
    std::string research_list;
};

int RunSummary(const SummaryArgs &args) {
    SummaryOptions options;
    if (!args.from.empty()) {
        options.from_day = ParseDay(args.from);
        if (!options.from_day) {
            fmt::print(stderr, "darkscope summary: --from {}: expected a date as YYYY-MM-DD\n", args.from);
            return EXIT_USAGE;
        }
    }
    if (!args.to.empty()) {
        options.to_day = ParseDay(args.to);
        if (!options.to_day) {
            fmt::print(stderr, "darkscope summary: --to {}: expected a date as YYYY-MM-DD\n", args.to);
            return EXIT_USAGE;
        }
    }
    if (options.from_day && options.to_day && *options.from_day > *options.to_day) {
        fmt::print(stderr, "darkscope summary: --from {} is after --to {}\n", args.from, args.to);
        return EXIT_USAGE;
    }
    auto by = ParseSummaryBy(args.by);
    if (!by) {
        fmt::print(stderr,
                   "darkscope summary: --by {}: expected service, class, srcport, source, sensor, country, "
                   "country-service, asn, tag, signature, category, signature-country or category-country\n",
                   args.by);
        return EXIT_USAGE;
    }
    options.by = *by;
    if (args.compare && !SummaryComparable(*by)) {
        fmt::print(stderr, "darkscope summary: --compare sets keys beside the previous period; --by {} has none that "
                           "mean the same in two periods (try --by service, country, category, ...)\n",
                   args.by);
        return EXIT_USAGE;
    }
    options.compare = args.compare;
    options.top = args.top;
    options.exclude_research = args.exclude_research;
    if (!args.research_list.empty()) options.research_list = args.research_list;
    if (!std::filesystem::exists(args.store)) {
        fmt::print(stderr, "darkscope summary: {}: no such store (create one with `darkscope ingest --store {} ...`)\n",
                   args.store, args.store);
        return EXIT_USAGE;
    }
    try {
        auto store = Store::OpenSqlite(args.store);
        Summary s = Summarize(*store, options);
        if (args.json) fmt::print("{}\n", SummaryToJson(s).dump(2));
        else fmt::print("{}", SummaryToText(s));
    } catch (const std::exception &e) {
        fmt::print(stderr, "darkscope summary: {}\n", e.what());
        return EXIT_SOME_FAILED;
    }
    return EXIT_OK;
}

}  // namespace

void RegisterSummary(CLI::App &app, int &exit_code) {
    auto args = std::make_shared<SummaryArgs>();
    auto *cmd = app.add_subcommand("summary", "Totals and a top-N breakdown over a period");
    cmd->footer(
        "Columns: packets; packets per day per sensor IP (packets / days in the period / monitored\n"
        "addresses: the NPA reports' unit); exact unique source addresses; share of all packets\n"
        "to the sensors. Packets to no sensor are counted apart as unattributed. Decode events\n"
        "(truncated or malformed layers) are listed below the table: those packets are still\n"
        "counted above.\n\n"
        "--by service   destination service: 445/TCP, 53/UDP, 8/ICMP, proto 47, ?/TCP (no header)\n"
        "--by class     syn-probe, synack-backscatter, rst-backscatter, dns-query, ...\n"
        "--by srcport   source port of backscatter and DNS responses (the attacked or abused service)\n"
        "--by source    per source: packets, mean gap between packets, destinations, services, sensors\n"
        "--by sensor    per sensor, with its own per-day-per-IP figure\n"
        "--by signature rules that matched (msg [sid]); unique sources are exact\n"
        "--by category  signature hits by NPA category: Worm, Scan, Scan(P2P), UDP spam, DoS, DNS,\n"
        "               Others (a packet counts once per category however many rules it hit)\n"
        "--by signature-country   signature hits by source country (the NPA's table 3-2): a packet\n"
        "               that hit any rule counts once\n"
        "--by category-country    signature hits by category and source country: \"CN Worm\"\n"
        "               (the country breakdowns need ingest's enrichment: none with --no-enrich)\n\n"
        "--by country   source country (RIR allocation data), names in English and Japanese\n"
        "--by country-service   country x destination service: \"CN 23/TCP\"\n"
        "--by asn       origin AS of the sources, with the organisation\n"
        "--by tag       scanner fingerprints (zmap-old, masscan, mirai, irregular-syn, bogon): sources\n"
        "               tagged on some day, their packets (docs/enrichment.md#fingerprints)\n\n"
        "--exclude-research leaves out research scanners (data/research_scanners.toml) that ingest\n"
        "labelled by AS, network, or a reverse-DNS name `darkscope enrich rdns` had cached in the store:\n"
        "their packets and sources are subtracted exactly from every count. A source whose name was\n"
        "cached only after some of its days were ingested is still counted in those days (--by source\n"
        "and --by tag leave it out): the summary then says how many packets remain and how to count\n"
        "again without them (re-ingest into a fresh store with `ingest --rdns-from`; JSON:\n"
        "research_not_excluded).\n"
        "The summary ends with the data (and version) that decided countries and AS numbers.\n\n"
        "--compare sets the period beside the one before it, of the same length, as the NPA's tables\n"
        "do: rank and previous rank, per day per IP and its change (absolute and %), increase and\n"
        "decrease rank, and the rows outside the top N that are among the 5 largest increases or\n"
        "decreases (keys gone since, too). With --by category it is the NPA's Table 3-1, with --by\n"
        "signature-country Table 3-2, with --by service and --by country Tables 2-1 and 2-2.\n\n"
        "Examples:\n"
        "  darkscope summary --by service --top 10\n"
        "  darkscope summary --from 2024-10-01 --to 2024-12-31 --by category --compare\n"
        "  darkscope summary --by signature-country --exclude-research\n"
        "  darkscope summary --from 2024-10-01 --to 2024-12-31 --by srcport --json");
    cmd->add_option("--store", args->store, "Store file")->capture_default_str();
    cmd->add_option("--from", args->from, "First day (YYYY-MM-DD, UTC); default: first day stored");
    cmd->add_option("--to", args->to, "Last day, inclusive (YYYY-MM-DD, UTC); default: last day stored");
    cmd->add_option("--by", args->by,
                    "Breakdown: service, class, srcport, source, sensor, country, country-service, asn, tag, signature, "
                    "category, signature-country or category-country")
        ->capture_default_str();
    cmd->add_option("--top", args->top, "Rows to show; 0 for all")->capture_default_str();
    cmd->add_flag("--json", args->json, "Machine-readable JSON on stdout");
    cmd->add_flag("--exclude-research", args->exclude_research, "Leave research scanners out of every count");
    cmd->add_flag("--compare", args->compare,
                  "Beside the previous period of the same length: ranks, change, increase and decrease ranks");
    cmd->add_option("--research-list", args->research_list,
                    "Research scanners (TOML) for their names and reverse-DNS patterns")
        ->check(CLI::ExistingFile);
    cmd->callback([args, &exit_code] { exit_code = RunSummary(*args); });
}

}  // namespace darkscope::app
