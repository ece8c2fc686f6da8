#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "app/commands.hpp"
#include "common/terminal.hpp"
#include "report/report.hpp"
#include "store/store.hpp"

namespace darkscope::app {
namespace {

struct EventsArgs {
    std::string store = "darkscope.db";
    std::string period;
    std::string from;
    std::string to;
    std::vector<std::string> kinds;
    std::string lang = "en";
    bool json = false;
};

int Usage(const std::string &message) {
    fmt::print(stderr, "darkscope events: {}\n", message);
    return EXIT_USAGE;
}

std::string Magnitude(const detect::DetectedEvent &e) {
    switch (e.kind) {
        case detect::EventKind::SCAN: return fmt::format("{:.0f} dst", e.magnitude);
        case detect::EventKind::BACKSCATTER: return fmt::format("{:.3g} pkt/s", e.magnitude);
        case detect::EventKind::CAMPAIGN: return fmt::format("{:.0f} sensors", e.magnitude);
        default: return fmt::format("score {:.1f}", e.magnitude);
    }
}

std::string Joined(const std::vector<std::string> &items, size_t limit) {
    std::string out;
    for (size_t i = 0; i < items.size() && i < limit; ++i) out += (i ? "," : "") + items[i];
    if (items.size() > limit) out += fmt::format(",+{}", items.size() - limit);
    return out;
}

/// "top sources: 192.0.2.7 CN (1,234), ...", for events whose sources are more than their subject: the series
/// detectors' (a scan's or a victim's one source is its subject, shown already). Their figures are what the event's
/// evidence says (top_sources_rank, top_reflectors); a source the series had before the event is marked.
std::string TopSourcesLine(const detect::DetectedEvent &e) {
    if (e.top_sources.empty() || (e.top_sources.size() == 1 && e.top_sources[0].address == e.subject)) return "";
    std::set<std::string> not_new;
    if (auto it = e.evidence.find("top_sources_not_new"); it != e.evidence.end() && it->is_array())
        for (const auto &address : *it)
            if (address.is_string()) not_new.insert(address.get<std::string>());
    std::string out = "top sources:";
    for (size_t i = 0; i < e.top_sources.size(); ++i) {
        const detect::EventSource &s = e.top_sources[i];
        out += fmt::format("{} {}{} ({}{})", i ? "," : "", s.address, s.country.empty() ? "" : " " + s.country,
                           detect::GroupDigits(s.packets), not_new.count(s.address) ? ", not new" : "");
    }
    return out;
}

int RunEvents(const EventsArgs &args) {
    // Unbounded unless given: the sentinels stay as they are rather than being scaled to nanoseconds.
    std::string error;
    const auto days = ResolvePeriodDays(args.period, args.from, args.to, INT64_MIN, INT64_MAX, error);
    if (!days) return Usage(error);
    const TimestampNs from = days->first == INT64_MIN ? INT64_MIN : days->first * SECONDS_PER_DAY * NS_PER_SEC;
    const TimestampNs to = days->second == INT64_MAX ? INT64_MAX : (days->second + 1) * SECONDS_PER_DAY * NS_PER_SEC - 1;
    std::vector<detect::EventKind> kinds;
    for (auto &k : args.kinds) {
        auto kind = detect::ParseEventKind(k);
        if (!kind) {
            std::string names;
            for (auto n : detect::EVENT_KIND_NAMES) names += (names.empty() ? "" : ", ") + std::string(n);
            return Usage(fmt::format("--kind {}: expected one of {}", k, names));
        }
        kinds.push_back(*kind);
    }
    if (args.lang != "en" && args.lang != "ja") return Usage(fmt::format("--lang {}: expected en or ja", args.lang));
    if (!std::filesystem::exists(args.store))
        return Usage(fmt::format("{}: no such store (create one with `darkscope ingest --store {} ...`)", args.store,
                                 args.store));
    try {
        auto store = Store::OpenSqliteReadOnly(args.store);
        std::vector<StoredEvent> events;
        store->ScanDetectedEvents(from, to, [&](const StoredEvent &e) {
            if (kinds.empty() || std::find(kinds.begin(), kinds.end(), e.event.kind) != kinds.end())
                events.push_back(e);
        });
        if (args.json) {
            nlohmann::ordered_json out = nlohmann::ordered_json::array();
            for (auto &e : events) {
                auto j = detect::ToJson(e.event);
                j["origin"] = e.origin;
                out.push_back(std::move(j));
            }
            fmt::print("{}\n", out.dump(2));
            return EXIT_OK;
        }
        if (events.empty()) {
            fmt::print("No detected events{}. Stream detectors (scans, DoS backscatter, campaigns) run during "
                       "`darkscope ingest`; surges and new services come from `darkscope detect`.\n",
                       args.kinds.empty() ? "" : " of these kinds");
            return EXIT_OK;
        }
        fmt::print("{:<14} {:<20} {:<20} {:<28} {:>14} {:>10}  {}\n", "kind", "start (UTC)", "end", "subject",
                   "magnitude", "packets", "sensors");
        for (auto &se : events) {
            auto &e = se.event;
            fmt::print("{:<14} {:<20} {:<20} {:<28} {:>14} {:>10}  {}\n", detect::EventKindName(e.kind),
                       FormatTimestamp(e.start).substr(0, 19), FormatTimestamp(e.end).substr(0, 19),
                       TerminalSafe(e.subject), Magnitude(e), e.packets, TerminalSafe(Joined(e.sensors, 3)));
            fmt::print("    {}\n", TerminalSafe(args.lang == "ja" ? e.sentence_ja : e.sentence_en));
            if (const std::string top = TopSourcesLine(e); !top.empty()) fmt::print("    {}\n", TerminalSafe(top));
        }
        fmt::print("{} event{}.\n", events.size(), events.size() == 1 ? "" : "s");
    } catch (const std::exception &e) {
        fmt::print(stderr, "darkscope events: {}\n", e.what());
        return EXIT_SOME_FAILED;
    }
    return EXIT_OK;
}

}  // namespace

void RegisterEvents(CLI::App &app, int &exit_code) {
    auto args = std::make_shared<EventsArgs>();
    auto *cmd = app.add_subcommand("events", "Detected events: scans, DoS backscatter, campaigns, surges, new services");
    cmd->footer(
        "Lists what the detectors found, oldest first, with one sentence each (docs/detectors.md).\n"
        "Scans, DoS backscatter and multi-sensor campaigns are found while `darkscope ingest` reads\n"
        "the packets; surges and new services by `darkscope detect` over the stored counters (re-run\n"
        "it with other settings at any time). An event is listed when its window overlaps the period.\n\n"
        "Kinds: surge, new-service, campaign, scan, backscatter, dns-reflection, water-torture.\n\n"
        "Examples:\n"
        "  darkscope events\n"
        "  darkscope events --period 2024Q4 --kind backscatter --kind scan\n"
        "  darkscope events --from 2014-02-01 --to 2014-02-28 --lang ja\n"
        "  darkscope events --period 2024-10 --json");
    cmd->add_option("--store", args->store, "Store file")->capture_default_str();
    cmd->add_option("--period", args->period, "2024Q4, 2014-02, 2024-W51, 2024-12-03, 2024 or FIRST..LAST");
    cmd->add_option("--from", args->from, "First day (YYYY-MM-DD, UTC)");
    cmd->add_option("--to", args->to, "Last day, inclusive");
    cmd->add_option("--kind", args->kinds, "Only these kinds (repeatable)");
    cmd->add_option("--lang", args->lang, "Language of the sentences: en or ja")->capture_default_str();
    cmd->add_flag("--json", args->json, "Every field of every event as JSON on stdout");
    cmd->callback([args, &exit_code] { exit_code = RunEvents(*args); });
}

}  // namespace darkscope::app
