#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <type_traits>
#include <variant>

#include "app/commands.hpp"
#include "capture/capture_reader.hpp"
#include "detect/stream.hpp"
#include "enrich/rdns_cache.hpp"
#include "pipeline/ingest.hpp"
#include "signature/matcher/matcher.hpp"
#include "signature/rule_parser.hpp"

namespace darkscope::app {
namespace {

struct IngestArgs {
    std::string store = "darkscope.db";
    std::string sensors;
    std::vector<std::string> inputs;
    bool quiet = false;
    bool no_progress = false;
    int threads = -1;  // -1: one per core
    std::string geoip;
    std::string asn;
    std::string research_list;
    bool no_enrich = false;
    std::vector<std::string> rules;
    bool no_default_rules = false;
    std::string classtype_map;
    bool strict_rules = false;
    bool list_skipped = false;
    std::string rdns_from;
    bool no_detect = false;
    std::vector<std::string> detector_settings;
};

// `--detector-setting NAME=VALUE`: the stream detectors' thresholds (docs/detectors.md). Durations in
// seconds. Returns an error message, or "" when every setting was applied.
std::string ApplyDetectorSettings(const std::vector<std::string> &settings, detect::StreamOptions &o) {
    using Options = detect::StreamOptions;
    struct Setting {
        const char *name;
        std::variant<TimestampNs Options::*, uint64_t Options::*, uint32_t Options::*, double Options::*> field;
    };
    // A TimestampNs field is a duration, given in seconds.
    static const Setting SETTINGS[] = {
        {"scan.gap", &Options::scan_gap},
        {"scan.floor", &Options::scan_floor},
        {"rsdos.timeout", &Options::rsdos_timeout},
        {"rsdos.min_packets", &Options::rsdos_min_packets},
        {"rsdos.min_duration", &Options::rsdos_min_duration},
        {"rsdos.min_peak_per_minute", &Options::rsdos_min_peak_per_minute},
        {"campaign.window", &Options::campaign_window},
        {"campaign.min_sensors", &Options::campaign_min_sensors},
        {"campaign.min_rounds", &Options::campaign_min_rounds},
        {"campaign.min_round_share", &Options::campaign_min_round_share},
        {"campaign.timeout", &Options::campaign_timeout},
    };
    // Every field holds 1e9 (a billion seconds is 31 years); past it the conversions would overflow.
    constexpr double MAX_VALUE = 1e9;
    for (const std::string &setting : settings) {
        const auto eq = setting.find('=');
        if (eq == std::string::npos) return fmt::format("--detector-setting {}: expected NAME=VALUE", setting);
        const std::string name = setting.substr(0, eq), text = setting.substr(eq + 1);
        double v = 0;
        try {
            size_t used = 0;
            v = std::stod(text, &used);
            if (used != text.size() || !(v >= 0)) throw std::invalid_argument(text);  // NaN fails too
        } catch (const std::exception &) {
            return fmt::format("--detector-setting {}: {} is not a number of zero or more", setting, text);
        }
        if (v > MAX_VALUE) return fmt::format("--detector-setting {}: {} is more than {:g}", setting, text, MAX_VALUE);
        const auto *found = std::find_if(std::begin(SETTINGS), std::end(SETTINGS),
                                         [&](const Setting &s) { return name == s.name; });
        if (found == std::end(SETTINGS)) {
            std::vector<std::string> names;
            for (const Setting &s : SETTINGS) names.emplace_back(s.name);
            return fmt::format("--detector-setting {}: unknown setting {} ({})", setting, name, fmt::join(names, ", "));
        }
        std::visit(
            [&](auto field) {
                using T = std::remove_reference_t<decltype(o.*field)>;
                if constexpr (std::is_same_v<T, TimestampNs>) o.*field = TimestampNs(v * double(NS_PER_SEC));
                else o.*field = T(v);
            },
            found->field);
    }
    return "";
}

// Copies another store's reverse-DNS cache into this one before anything is read, so that the research
// labels of `enrich rdns` on an old store apply to the captures ingested here. Throws StoreError.
void CopyRdnsFrom(const IngestArgs &args, Store &store) {
    std::error_code ec;
    if (std::filesystem::equivalent(args.rdns_from, args.store, ec))
        throw StoreError(
            fmt::format("--rdns-from {}: that is the store being ingested into; name the other store", args.rdns_from));
    auto from = Store::OpenSqliteReadOnly(args.rdns_from);
    // The cache came with schema 2 (enrichment); an older store never ran `enrich rdns`.
    if (from->SchemaVersion() < 2)
        throw StoreError(fmt::format("--rdns-from {}: no reverse-DNS cache in this store (schema version {})",
                                     args.rdns_from, from->SchemaVersion()));
    RdnsCopyCounts counts = CopyRdnsCache(*from, store);
    if (!args.quiet)
        fmt::print(stderr, "reverse DNS: {} cached answer{} copied from {}{}\n", counts.copied,
                   counts.copied == 1 ? "" : "s", args.rdns_from,
                   counts.kept_newer
                       ? fmt::format(" ({} left as they were: {} had answers as recent)", counts.kept_newer, args.store)
                       : "");
}

// Loads the rules (the built-in set unless --no-default-rules, then --rules files) and compiles
// them; null when there are none. Bad rules are reported by file:line and left out, unless
// --strict-rules makes them fatal (std::runtime_error).
std::unique_ptr<sig::Matcher> LoadSignatures(const IngestArgs &args) {
    if (args.no_default_rules && args.rules.empty()) return nullptr;
    const auto started = std::chrono::steady_clock::now();
    sig::ParseOptions options;
    if (!args.classtype_map.empty()) sig::LoadClasstypeMap(args.classtype_map, options);
    std::vector<std::filesystem::path> files(args.rules.begin(), args.rules.end());
    sig::RuleSet set = sig::LoadRules(!args.no_default_rules, files, options);
    for (const auto &e : set.errors)
        fmt::print(stderr, "darkscope ingest: rule error: {}\n", e.ToString());
    if (args.list_skipped)
        for (const auto &e : set.skipped)
            fmt::print(stderr, "darkscope ingest: {}\n", e.ToString());
    if (args.strict_rules && !set.errors.empty())
        throw std::runtime_error(
            fmt::format("{} rule error{} (--strict-rules)", set.errors.size(), set.errors.size() == 1 ? "" : "s"));
    const size_t loaded = set.rules.size();
    auto matcher = std::make_unique<sig::Matcher>(std::move(set.rules));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!args.quiet) {
        auto stats = matcher->GetStats();
        fmt::print(stderr,
                   "signatures: {} rules loaded and compiled in {:.2f} s ({} with content, {} patterns; {} by header "
                   "only){}{}\n",
                   loaded, seconds, stats.content_rules, stats.patterns, stats.header_rules,
                   set.errors.empty() ? "" : fmt::format("; {} with errors left out", set.errors.size()),
                   set.skipped.empty() ? ""
                                       : fmt::format("; {} skipped as outside the single-packet subset: {}{}",
                                                     set.skipped.size(), sig::SkippedByKeyword(set),
                                                     args.list_skipped ? "" : " (--list-skipped names them)"));
    }
    return matcher;
}

std::string HumanRate(double per_second) {
    if (per_second >= 1e6) return fmt::format("{:.2f} M", per_second / 1e6);
    if (per_second >= 1e3) return fmt::format("{:.1f} k", per_second / 1e3);
    return fmt::format("{:.0f} ", per_second);
}

// A one-line progress bar on stderr, redrawn at most ten times a second.
class ProgressBar {
public:
    void Update(const IngestProgress &p) {
        auto now = std::chrono::steady_clock::now();
        if (now - last_draw_ < std::chrono::milliseconds(100) && p.disk_bytes_done < p.disk_bytes_total) return;
        last_draw_ = now;
        double elapsed = std::chrono::duration<double>(now - start_).count();
        double fraction = p.disk_bytes_total ? double(p.disk_bytes_done) / double(p.disk_bytes_total) : 0.0;
        fraction = std::min(1.0, fraction);
        constexpr int WIDTH = 24;
        int filled = int(fraction * WIDTH);
        std::string bar(size_t(filled), '#');
        bar.append(size_t(WIDTH - filled), '.');
        std::string eta = "--:--";
        if (fraction > 0.01 && elapsed > 0.5) {
            int secs = int(elapsed / fraction - elapsed);
            eta = fmt::format("{:02d}:{:02d}", secs / 60, secs % 60);
        }
        std::fprintf(stderr, "\r[%s] %3.0f%%  file %zu/%zu  %s packets  %spackets/s  ETA %s   ", bar.c_str(),
                     fraction * 100, p.file_index + 1, p.file_count, fmt::format("{}", p.packets).c_str(),
                     HumanRate(elapsed > 0 ? double(p.packets) / elapsed : 0).c_str(), eta.c_str());
        std::fflush(stderr);
        drawn_ = true;
    }
    void Clear() {
        if (drawn_) std::fprintf(stderr, "\r%*s\r", 110, "");
        drawn_ = false;
    }

private:
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_draw_{};
    bool drawn_ = false;
};

int RunIngest(const IngestArgs &args) {
    // Checked before anything is read or opened: a mistyped threshold must not cost an ingest.
    detect::StreamOptions detect_options;
    if (auto error = ApplyDetectorSettings(args.detector_settings, detect_options); !error.empty()) {
        fmt::print(stderr, "darkscope ingest: {}\n", error);
        return EXIT_USAGE;
    }
    std::vector<std::string> errors;
    std::vector<std::filesystem::path> not_captures;
    auto files = ExpandInputs(args.inputs, errors, &not_captures);
    for (auto &e : errors)
        fmt::print(stderr, "darkscope ingest: {}\n", e);
    if (!not_captures.empty() && !args.quiet) {
        std::string names;
        for (size_t i = 0; i < not_captures.size() && i < 5; ++i)
            names += (i ? ", " : "") + not_captures[i].string();
        if (not_captures.size() > 5) names += fmt::format(" and {} more", not_captures.size() - 5);
        fmt::print(stderr,
                   "darkscope ingest: {} file(s) in the folders or patterns given are not captures (their "
                   "first bytes are not pcap, pcapng, gzip, zstd or xz) and were left out: {}\n",
                   not_captures.size(), names);
    }
    SortByFirstTimestamp(files);

    std::unique_ptr<Store> store;
    SensorMap sensors;
    try {
        store = Store::OpenSqlite(args.store);
        std::string note;
        sensors = ResolveSensors(
            *store, args.sensors.empty() ? std::nullopt : std::optional<std::filesystem::path>(args.sensors), note);
        if (!args.quiet) fmt::print(stderr, "{}\n", note);
        if (!args.rdns_from.empty()) CopyRdnsFrom(args, *store);
    } catch (const std::exception &e) {
        fmt::print(stderr, "darkscope ingest: {}\n", e.what());
        return EXIT_USAGE;
    }
    std::unique_ptr<Enrichment> enrichment;
    if (!args.no_enrich) {
        try {
            EnrichmentOptions eo;
            if (!args.geoip.empty()) eo.geo = args.geoip;
            if (!args.asn.empty()) eo.asn = args.asn;
            if (!args.research_list.empty()) eo.research = args.research_list;
            enrichment = Enrichment::Open(eo);
            if (!args.quiet) fmt::print(stderr, "{}\n", enrichment->Describe());
        } catch (const std::exception &e) {
            fmt::print(stderr, "darkscope ingest: {}\n", e.what());
            return EXIT_USAGE;
        }
    }
    if (files.empty()) {
        fmt::print(stderr, "darkscope ingest: no capture files to read\n");
        return errors.empty() ? EXIT_USAGE : EXIT_SOME_FAILED;
    }

    std::unique_ptr<sig::Matcher> signatures;
    try {
        signatures = LoadSignatures(args);
    } catch (const std::exception &e) {
        fmt::print(stderr, "darkscope ingest: {}\n", e.what());
        return EXIT_USAGE;
    }

    const bool show_progress = !args.no_progress && !args.quiet && isatty(STDERR_FILENO);
    ProgressBar bar;
    IngestOptions options;
    // One reader thread plus one aggregation worker per core: the reader needs far less than a core,
    // and workers that outnumber the cores still keep the reader from waiting.
    options.threads = args.threads >= 0 ? unsigned(args.threads) : std::max(1u, std::thread::hardware_concurrency());
    if (enrichment) {
        try {
            const size_t by_rdns = LabelResearchForStore(*store, *enrichment);
            if (!args.quiet && (by_rdns || !args.rdns_from.empty()))
                fmt::print(stderr, "research scanners: {} source{} labelled by the reverse-DNS names cached in {}\n",
                           by_rdns, by_rdns == 1 ? "" : "s", args.store);
        } catch (const std::exception &e) {
            fmt::print(stderr, "darkscope ingest: {}\n", e.what());
            return EXIT_SOME_FAILED;
        }
    }
    options.enrichment = enrichment.get();
    options.signatures = signatures.get();
    for (auto &sensor : sensors.Sensors())
        detect_options.monitored_addresses += sensor.addresses;
    if (!args.no_detect) options.detectors = &detect_options;
    if (show_progress) options.on_progress = [&](const IngestProgress &p) { bar.Update(p); };
    options.log = [&](const std::string &line) {
        if (show_progress) bar.Clear();
        if (!args.quiet) fmt::print(stderr, "{}\n", line);
    };
    IngestSummary result;
    try {
        result = Ingest(*store, sensors, files, options);
    } catch (const std::exception &e) {
        if (show_progress) bar.Clear();
        fmt::print(stderr,
                   "darkscope ingest: {}\nthe file being read was rolled back; files committed before it are kept\n",
                   e.what());
        return EXIT_SOME_FAILED;
    }
    if (show_progress) bar.Clear();

    size_t ingested = result.Count(FileStatus::INGESTED), partial = result.Count(FileStatus::PARTIAL);
    size_t failed = result.Count(FileStatus::FAILED) + errors.size(), dup = result.Count(FileStatus::DUPLICATE);
    if (!args.quiet)
        fmt::print(stderr, "ingested {} file{} ({} packets, {} to no sensor) in {:.2f} s ({}packets/s) into {}{}{}{}\n",
                   ingested + partial, ingested + partial == 1 ? "" : "s", result.packets, result.unattributed_packets,
                   result.seconds, HumanRate(result.seconds > 0 ? double(result.packets) / result.seconds : 0),
                   args.store, partial ? fmt::format("; {} only partly readable", partial) : "",
                   dup ? fmt::format("; {} already ingested, skipped", dup) : "",
                   failed ? fmt::format("; {} failed", failed) : "");
    if (!args.quiet && signatures)
        fmt::print(stderr, "signatures: {} packets matched a rule ({} matches)\n", result.signature_packets,
                   result.signature_hits);
    if (!args.quiet && !args.no_detect) {
        fmt::print(stderr,
                   "detectors: {} event{} (scans, DoS backscatter, campaigns): `darkscope events`; surges "
                   "and new services: `darkscope detect`\n",
                   result.detected_events, result.detected_events == 1 ? "" : "s");
        // The joins across runs (docs/detectors.md#runs-into-one-store), said where there are any.
        if (result.carried_in > 0)
            fmt::print(stderr,
                       "detectors: went on from {} state{} the previous run left open ({} of its events replaced "
                       "by what they became)\n",
                       result.carried_in, result.carried_in == 1 ? "" : "s", result.merged_events);
        if (result.carried_out > 0)
            fmt::print(stderr, "detectors: {} state{} still open, for the next run into this store to go on from\n",
                       result.carried_out, result.carried_out == 1 ? "" : "s");
    }
    if (failed || partial) return EXIT_SOME_FAILED;
    if (dup) return EXIT_DUPLICATES;
    return EXIT_OK;
}

}  // namespace

void RegisterIngest(CLI::App &app, int &exit_code) {
    auto args = std::make_shared<IngestArgs>();
    auto *cmd = app.add_subcommand("ingest", "Read captures, classify every packet and store the aggregates");
    cmd->footer(
        "Inputs are files, directories (searched recursively) and glob patterns, read in the order\n"
        "of their first packet. pcap and pcapng, plain or compressed with gzip, zstd or xz, are told\n"
        "apart by their content, not their names. Each file is committed in one transaction: an\n"
        "interrupted ingest leaves the store as it was before that file. A file whose content was\n"
        "already ingested is skipped, so re-running over a directory only adds new files.\n\n"
        "Sensors file (TOML), one table per sensor:\n"
        "  [[sensor]]\n"
        "  name = \"tokyo-1\"\n"
        "  networks = [\"198.51.100.0/24\", \"2001:db8:1::/48\"]\n"
        "  location = \"Tokyo, JP\"      # optional\n"
        "  provider = \"university\"     # optional\n"
        "Without --sensors, the sensors stored by an earlier ingest are used; with none, one\n"
        "implicit sensor holds every destination.\n\n"
        "Examples:\n"
        "  darkscope ingest --sensors sensors.toml /data/telescope/2024-12/\n"
        "  darkscope ingest --store q4.db 'captures/*.pcap.gz'\n"
        "  darkscope ingest --rules emerging-scan.rules --classtype-map examples/classtypes.toml caps/\n\n"
        "Research scanners (data/research_scanners.toml, or --research-list) are labelled per source by\n"
        "AS and network, and by the reverse-DNS names that `darkscope enrich rdns` cached in the store\n"
        "before this ingest: `summary --exclude-research` then removes them from every count exactly.\n"
        "Days ingested before a name was cached keep counting its source (summary says how much).\n"
        "To count them without it, resolve the old store and re-ingest its captures into a fresh one:\n"
        "  darkscope enrich rdns --store q4.db\n"
        "  darkscope ingest --store fresh.db --rdns-from q4.db --sensors sensors.toml /data/telescope/q4/\n"
        "--rdns-from only reads the other store; the newer answer wins where both have one.\n\n"
        "Signatures: every packet is matched against the built-in rule set (rules/darkscope.rules: one\n"
        "NPA category per rule) and any --rules files; hits are stored per hour and day by sid and\n"
        "category with exact unique sources (`darkscope summary --by signature|category`). Rules that\n"
        "need sessions or application-layer parsing are skipped with a message (docs/signatures.md).\n\n"
        "Detectors: while reading, each source is followed for scans (many darknet addresses on one\n"
        "port), DoS backscatter (a victim's SYN/ACKs, RSTs and ICMP errors, CAIDA's RS-DoS thresholds)\n"
        "and multi-sensor campaigns (one source at several sensors within seconds, round after round);\n"
        "`darkscope events` lists them (docs/detectors.md). What is still open when a run ends goes on\n"
        "in the next run into the same store (with the same settings and sensors), so a scan across two\n"
        "hourly files ingested one at a time is one event. --no-detect turns them off (and leaves that\n"
        "carried state as it was);\n"
        "--detector-setting changes a threshold (seconds for durations):\n"
        "  scan.gap=480 scan.floor=10 rsdos.timeout=300 rsdos.min_packets=25 rsdos.min_duration=60\n"
        "  rsdos.min_peak_per_minute=30 campaign.window=2 campaign.min_sensors=3 campaign.min_rounds=3\n"
        "  campaign.min_round_share=0.5 campaign.timeout=21600\n\n"
        "Exit status: 0 all read; 1 some failed or were only partly read; 2 usage; 3 some skipped\n"
        "as already ingested (nothing failed).");
    cmd->add_option("inputs", args->inputs, "Capture files, directories or glob patterns")->required();
    cmd->add_option("--store", args->store, "Store file (created if absent)")->capture_default_str();
    cmd->add_option("--sensors", args->sensors, "Sensors file (TOML): names, networks, location, provider")
        ->check(CLI::ExistingFile);
    cmd->add_option("--threads", args->threads,
                    "Aggregation worker threads besides the reader (default: one per core; 0: all on one "
                    "thread). Counts do not depend on it")
        ->check(CLI::Range(0, 256));
    cmd->add_option("--geoip", args->geoip,
                    "Country database: any MaxMind-format file (GeoLite2, DB-IP, ip-location-db) or one "
                    "built by `darkscope geo import-rir` (default: the pinned ip-location-db data that "
                    "scripts/setup.sh installs in data/geo)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--asn", args->asn,
                    "AS lookup file built by `darkscope geo import-asn` (default: data/geo/asn.dsrange)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--research-list", args->research_list,
                    "Research scanners (TOML; default: data/research_scanners.toml)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--rdns-from", args->rdns_from,
                    "Copy the reverse-DNS cache of another store (read only) into this one before ingesting, so "
                    "that the sources `enrich rdns` named research scanners there are labelled here")
        ->check(CLI::ExistingFile);
    cmd->add_flag("--no-enrich", args->no_enrich, "No country, AS or research labels (fingerprints are still counted)");
    // One file per --rules, so that the capture inputs after it are not taken for rule files.
    cmd->add_option("--rules", args->rules,
                    "A rule file (Suricata/Snort syntax, single-packet subset) matched besides the built-in set; "
                    "repeat for several")
        ->expected(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->check(CLI::ExistingFile);
    cmd->add_flag("--no-default-rules", args->no_default_rules,
                  "Leave out the built-in rule set (with no --rules: no signature matching)");
    cmd->add_option("--classtype-map", args->classtype_map,
                    "TOML file mapping classtypes to NPA categories ([classtypes] \"trojan-activity\" = \"Worm\")")
        ->check(CLI::ExistingFile);
    cmd->add_flag("--strict-rules", args->strict_rules, "Stop if any rule has an error (default: leave it out)");
    cmd->add_flag("--list-skipped", args->list_skipped,
                  "Name every rule skipped as outside the single-packet subset, with file:line and keyword");
    cmd->add_flag("--no-detect", args->no_detect, "Do not run the scan, DoS-backscatter and campaign detectors");
    cmd->add_option(
        "--detector-setting", args->detector_settings,
        "NAME=VALUE: a stream detector's threshold, e.g. rsdos.min_duration=30 (repeatable; docs/detectors.md)");
    cmd->add_flag("--quiet,-q", args->quiet, "Print nothing but errors");
    cmd->add_flag("--no-progress", args->no_progress, "No progress bar even on a terminal");
    cmd->callback([args, &exit_code] { exit_code = RunIngest(*args); });
}

}  // namespace darkscope::app
