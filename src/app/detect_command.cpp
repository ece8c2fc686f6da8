#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <filesystem>

#include "app/commands.hpp"
#include "detect/series.hpp"
#include "detect/water_torture.hpp"
#include "report/report.hpp"
#include "store/store.hpp"

namespace darkscope::app {
namespace {

struct DetectArgs {
    std::string store = "darkscope.db";
    std::string period;
    std::string from;
    std::string to;
    std::string granularity = "both";
    std::string method;
    double threshold = 0;
    double min_excess = -1;
    double min_source_ratio = -1;
    int window = 0;
    bool no_per_sensor = false;
    bool no_groups = false;
    detect::WaterTortureOptions water_torture;
    bool dry_run = false;
    bool json = false;
};

int Usage(const std::string &message) {
    fmt::print(stderr, "darkscope detect: {}\n", message);
    return EXIT_USAGE;
}

int RunDetect(const DetectArgs &args) {
    if (args.granularity != "hour" && args.granularity != "day" && args.granularity != "both")
        return Usage(fmt::format("--granularity {}: expected hour, day or both", args.granularity));
    std::vector<detect::SeriesOptions> passes;
    if (args.granularity != "day") passes.push_back(detect::SeriesOptions::ForGranularity(Granularity::HOUR));
    if (args.granularity != "hour") passes.push_back(detect::SeriesOptions::ForGranularity(Granularity::DAY));
    for (auto &options : passes) {
        if (!args.method.empty()) {
            bool known = false;
            for (auto m : detect::SERIES_METHODS)
                known |= m == args.method;
            if (!known) return Usage(fmt::format("--method {}: expected ewma or mad", args.method));
            options.method = args.method;
        }
        if (args.threshold > 0) options.threshold = args.threshold;
        if (args.min_excess >= 0) options.min_excess = args.min_excess;
        if (args.min_source_ratio >= 0) options.min_source_ratio = args.min_source_ratio;
        if (args.window > 0) options.window = args.window;
        options.per_sensor = !args.no_per_sensor;
        options.per_group = !args.no_groups;
    }

    if (!std::filesystem::exists(args.store))
        return Usage(fmt::format("{}: no such store (create one with `darkscope ingest --store {} ...`)", args.store,
                                 args.store));
    try {
        auto store = args.dry_run ? Store::OpenSqliteReadOnly(args.store) : Store::OpenSqlite(args.store);
        auto range = store->DayRange();
        if (!range) {
            fmt::print(stderr, "darkscope detect: {} holds no packets yet\n", args.store);
            return EXIT_OK;
        }
        std::string error;
        const auto days = ResolvePeriodDays(args.period, args.from, args.to, range->first, range->second, error);
        if (!days) return Usage(error);
        const auto [from_day, to_day] = *days;
        // The history before the period is read too (the baseline's window), but only events that start
        // inside the period are kept, so that re-running one month never touches the next one's events.
        const TimestampNs from_ns = from_day * SECONDS_PER_DAY * NS_PER_SEC;
        const TimestampNs to_ns = (to_day + 1) * SECONDS_PER_DAY * NS_PER_SEC - 1;
        std::vector<detect::DetectedEvent> found;
        std::vector<std::string> settings;
        for (const auto &options : passes) {
            const bool hours = options.granularity == Granularity::HOUR;
            const int64_t per_day = hours ? 24 : 1;
            auto events =
                detect::DetectSurges(*store, from_day * per_day - options.window, (to_day + 1) * per_day - 1, options);
            // By when the detector fired, not by the onset: a rise that began before the period but was detected
            // inside it belongs to no earlier run (that run could not see it yet).
            std::erase_if(events, [&](const detect::DetectedEvent &e) {
                const TimestampNs at = e.detected ? e.detected : e.start;
                return at < from_ns || at > to_ns;
            });
            // Events are replaced by start (DeleteDetectedEvents), so one whose rise began before the period starts
            // with it here, the onset kept in the evidence: re-running the period replaces it instead of adding it.
            for (auto &e : events)
                if (e.start < from_ns) {
                    e.evidence["onset_before_period"] = FormatTimestamp(e.start);
                    e.start = from_ns;
                }
            detect::FoldDailyIntoHourly(found, std::move(events));
            settings.push_back(fmt::format(
                "{} over {} series, window {}, score >= {}, excess >= {} and >= {} x "
                "baseline, >= {} more sources and >= {} x those before{}{}; twice the score before {} periods "
                "of history; start at the onset",
                options.method, hours ? "hourly" : "daily", options.window, options.threshold, options.min_excess,
                options.min_rise, options.min_source_rise, options.min_source_ratio,
                options.per_sensor ? ", per sensor too" : "",
                options.per_group ? ", per group of sensors (provider, location) too" : "", options.cycle));
        }
        // Top sources for the events kept only: the reflectors from the DNS study's records first, then every series
        // event still without any from its exact source sets (docs/detectors.md#top-sources-of-series-events).
        detect::AddTopReflectors(*store, found);
        detect::AddTopSources(*store, found);
        // Water torture over the DNS study's zone-hours of the period itself (it needs no history).
        auto floods = detect::DetectWaterTorture(*store, from_day * 24, to_day * 24 + 23, args.water_torture);
        found.insert(found.end(), floods.begin(), floods.end());
        std::stable_sort(
            found.begin(), found.end(),
            [](const detect::DetectedEvent &a, const detect::DetectedEvent &b) { return a.start < b.start; });
        settings.push_back(
            fmt::format("water torture: >= {} distinct names under a zone in an hour, >= {} of its "
                        "messages",
                        args.water_torture.min_names, args.water_torture.min_share));
        if (!args.dry_run) {
            store->Begin();
            const uint64_t removed = store->DeleteDetectedEvents("series", from_ns, to_ns);
            store->PutDetectedEvents("series", found);
            store->PutDetectorRun({"series", from_ns, to_ns, fmt::format("surge: {}", fmt::join(settings, "; ")), ""});
            store->Commit();
            if (!args.json)
                fmt::print(stderr, "{} .. {}: {} event{} stored in {}{}\n", FormatDay(from_day), FormatDay(to_day),
                           found.size(), found.size() == 1 ? "" : "s", args.store,
                           removed ? fmt::format(" (replacing {} from an earlier run)", removed) : "");
        }
        if (args.json) {
            nlohmann::ordered_json out = nlohmann::ordered_json::array();
            for (auto &e : found)
                out.push_back(detect::ToJson(e));
            fmt::print("{}\n", out.dump(2));
        } else {
            for (auto &e : found)
                fmt::print("{:<12} {}  {}\n", detect::EventKindName(e.kind), FormatTimestamp(e.start).substr(0, 16),
                           e.sentence_en);
        }
    } catch (const std::exception &e) {
        fmt::print(stderr, "darkscope detect: {}\n", e.what());
        return EXIT_SOME_FAILED;
    }
    return EXIT_OK;
}

}  // namespace

void RegisterDetect(CLI::App &app, int &exit_code) {
    auto args = std::make_shared<DetectArgs>();
    auto *cmd = app.add_subcommand("detect", "Find surges and new services in the stored counters");
    cmd->footer(
        "Scores every series that matters (each destination service, source region, region x service,\n"
        "and the DNS responses from source port 53; all sensors together and each sensor alone)\n"
        "against a baseline drawn from its own past, and stores runs of high scores as events:\n"
        "new-service when the series was near zero before, dns-reflection for the DNS responses,\n"
        "surge otherwise. Only rises are events. It reads the stored counters, not the captures, so\n"
        "it can be re-run with other settings at any time: a run replaces the events an earlier run\n"
        "found in the same period. `darkscope events` lists them; the report shows them.\n\n"
        "Two passes by default (--granularity both): hourly series for sudden changes, found within\n"
        "the hour, and daily series for what rises over days; a daily event on a series that an\n"
        "hourly event already covers is left out. Methods (docs/detectors.md): ewma, the moving\n"
        "average and deviation as Merit's ORION uses them (the hourly default); mad, the median and\n"
        "median absolute deviation of a trailing window, a robust z-score (the daily default).\n"
        "Defaults per hour: a window of 168 hours, score 6, an excess of at least 20 packets and half\n"
        "the baseline, and 3 more sources than before; per day: 28 days, score 10, 200 packets,\n"
        "and twice the sources of the days before. --method, --threshold, --min-excess,\n"
        "--min-source-ratio and --window set both passes.\n\n"
        "Water torture (random-subdomain floods) is found in the DNS study's records per zone and hour:\n"
        "at least 50 distinct names under one zone in an hour, making at least half of its messages.\n\n"
        "Examples:\n"
        "  darkscope detect                               # every day stored, hourly and daily series\n"
        "  darkscope detect --period 2024Q4 --granularity day\n"
        "  darkscope detect --period 2014-02 --method ewma --threshold 8\n"
        "  darkscope detect --from 2024-10-01 --to 2024-10-02 --dry-run --json");
    cmd->add_option("--store", args->store, "Store file")->capture_default_str();
    cmd->add_option("--period", args->period,
                    "2024Q4, 2014-02, 2024-W51, 2024-12-03, 2024 or FIRST..LAST (default: all)");
    cmd->add_option("--from", args->from, "First day (YYYY-MM-DD, UTC)");
    cmd->add_option("--to", args->to, "Last day, inclusive");
    cmd->add_option("--granularity", args->granularity, "Series of hours, of days, or both")->capture_default_str();
    cmd->add_option("--method", args->method, "Baseline: ewma or mad (default: ewma hourly, mad daily)");
    cmd->add_option("--threshold", args->threshold, "Score a period must reach (default 6 hourly, 10 daily)");
    cmd->add_option("--min-excess", args->min_excess,
                    "Packets above the baseline a period needs (default 20 per hour, 200 per day)");
    cmd->add_option("--window", args->window, "Periods of history in the baseline (default 168 hours, 28 days)");
    cmd->add_option("--min-source-ratio", args->min_source_ratio,
                    "Times the sources of the periods before a peak must hold (default 1 per hour, 2 per day)")
        ->check(CLI::Range(0.0, 1000.0));
    cmd->add_flag("--no-per-sensor", args->no_per_sensor, "Score only the sum over all sensors (and the groups)");
    cmd->add_flag("--no-groups", args->no_groups,
                  "Do not score the groups of sensors that share a provider or a location");
    cmd->add_option("--water-torture-names", args->water_torture.min_names,
                    "Distinct names under one zone in an hour that make water torture")
        ->capture_default_str();
    cmd->add_option("--water-torture-share", args->water_torture.min_share,
                    "...and the least share of the zone's messages in that hour they must be (0-1)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    cmd->add_flag("--dry-run", args->dry_run, "Print what would be found; store nothing");
    cmd->add_flag("--json", args->json, "The events found as JSON on stdout");
    cmd->callback([args, &exit_code] { exit_code = RunDetect(*args); });
}

}  // namespace darkscope::app
