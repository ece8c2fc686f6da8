// darkscope probe: opt-in active probes of darknet sources (open resolvers, device classes), as the DNS paper's
// method section does them, with an exclusion list that no probe can bypass.

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "app/commands.hpp"
#include "common/time.hpp"
#include "dns/study.hpp"
#include "probe/exclusion.hpp"
#include "probe/import_csv.hpp"
#include "probe/nmap_devices.hpp"
#include "probe/resolver_probe.hpp"
#include "probe/text.hpp"
#include "report/report.hpp"
#include "store/store.hpp"

namespace darkscope::app {
namespace {

using namespace darkscope::probe;

constexpr std::string_view THIRD_PARTY_NOTICE =
    "These probes send packets to hosts that are not yours. They run only when you ask for them, at a bounded\n"
    "rate, and never to the special-purpose ranges (private, loopback, link-local, multicast, documentation,\n"
    "reserved, ...: docs/probes.md#exclusion-list) or to the networks of --exclude FILE; refused targets are\n"
    "counted and listed, never sent anything. Probe only what you are allowed to, and say who you are (a\n"
    "reverse DNS name and a web page on the probing address) so that those probed can reach you.\n\n";

struct TargetArgs {
    std::string store = "darkscope.db";
    std::string targets_file;
    std::vector<std::string> addresses;
    std::string exclude_file;
    bool allow_loopback = false;
    bool json = false;
};

struct ResolversArgs : TargetArgs {
    std::string period, from, to;
    std::string name = "test.openresolver.com";
    std::string type = "TXT";
    std::string expect = "open-resolver-detected";
    int port = 53;
    unsigned concurrency = 64;
    double rate = 100;
    double timeout_s = 2;
    int retries = 1;
    std::string log;
};

struct ImportArgs {
    std::string store = "darkscope.db";
    std::vector<std::string> files;
};

struct DevicesArgs : TargetArgs {
    bool open_resolvers = false;
    std::vector<std::string> nmap_xml;
    std::string nmap = "nmap";
    std::string ports;
    int max_rate = 100;
    int timeout_s = 300;
    bool no_os = false;
    bool no_ping = false;
    std::string save_xml;
};

int Usage(std::string_view command, const std::string &message) {
    fmt::print(stderr, "darkscope probe {}: {}\n", command, message);
    return EXIT_USAGE;
}

// Anything a user typed or a file held, on its way to a terminal.
std::string Shown(std::string_view text) { return EscapeWireText(text, 200); }

std::optional<ExclusionList> MakeExclusion(std::string_view command, const TargetArgs &args, int &rc) {
    ExclusionList list(args.allow_loopback);
    if (!args.exclude_file.empty()) {
        try {
            list.LoadFile(args.exclude_file);
        } catch (const ExclusionFileError &e) {
            rc = Usage(command, e.what());
            return std::nullopt;
        }
    }
    return list;
}

// ADDRESS... and --targets FILE, in the order given, each address once.
std::optional<std::vector<IpAddress>> ExplicitTargets(std::string_view command, const TargetArgs &args, int &rc) {
    std::vector<IpAddress> targets;
    for (const std::string &text : args.addresses) {
        if (text.find('/') != std::string::npos) {
            rc = Usage(command,
                       fmt::format("{}: a network; probes go to single addresses, never across a range", Shown(text)));
            return std::nullopt;
        }
        auto a = IpAddress::Parse(text);
        if (!a) {
            rc = Usage(command, fmt::format("{}: not an IPv4 or IPv6 address", Shown(text)));
            return std::nullopt;
        }
        targets.push_back(*a);
    }
    if (!args.targets_file.empty()) {
        try {
            auto more = ReadTargetsFile(args.targets_file);
            targets.insert(targets.end(), more.begin(), more.end());
        } catch (const ExclusionFileError &e) {
            rc = Usage(command, e.what());
            return std::nullopt;
        }
    }
    return targets;
}

std::string Plural(size_t n, std::string_view one, std::string_view many) {
    return fmt::format("{} {}", n, n == 1 ? one : many);
}

void PrintRefused(const std::vector<RefusedTarget> &refused, std::string_view what = "nothing sent") {
    if (refused.empty()) return;
    fmt::print("\nrefused by the exclusion list ({}):\n", what);
    for (const RefusedTarget &r : refused)
        fmt::print("  {:<39} {}\n", r.address.ToString(), r.reason);
}

nlohmann::ordered_json RefusedJson(const std::vector<RefusedTarget> &refused) {
    auto out = nlohmann::ordered_json::array();
    for (const RefusedTarget &r : refused)
        out.push_back({{"address", r.address.ToString()}, {"reason", r.reason}});
    return out;
}

std::string IsoTime(std::chrono::system_clock::time_point t) {
    return FormatTimestamp(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

// --- probe resolvers -------------------------------------------------------------------------------------------

int RunResolvers(const ResolversArgs &args) {
    constexpr std::string_view CMD = "resolvers";
    auto qtype = ParseQueryType(args.type);
    if (!qtype)
        return Usage(CMD, fmt::format("--type {}: expected TXT, A, AAAA, ANY, ... or TYPEnnn", Shown(args.type)));
    if (args.name.empty() || args.name.size() > 253) return Usage(CMD, "--name: expected a domain name");
    if (args.port < 1 || args.port > 65535) return Usage(CMD, fmt::format("--port {}: expected 1 to 65535", args.port));
    int rc = EXIT_OK;
    auto exclusion = MakeExclusion(CMD, args, rc);
    if (!exclusion) return rc;
    auto targets = ExplicitTargets(CMD, args, rc);
    if (!targets) return rc;
    const bool by_period = !args.period.empty() || !args.from.empty() || !args.to.empty();
    if (targets->empty() && !by_period)
        return Usage(CMD,
                     "which targets? give ADDRESS..., --targets FILE, or --period/--from/--to for the DNS "
                     "sources of a period (see --help)");

    if (by_period && !std::filesystem::exists(args.store))
        return Usage(CMD, fmt::format("{}: no such store to take the period's DNS sources from (ingest first, or give "
                                      "--store)",
                                      Shown(args.store)));
    std::FILE *log = stderr;
    std::unique_ptr<std::FILE, int (*)(std::FILE *)> log_file(nullptr, &std::fclose);
    if (!args.log.empty()) {
        log_file.reset(std::fopen(args.log.c_str(), "a"));
        if (!log_file) return Usage(CMD, fmt::format("--log {}: {}", Shown(args.log), std::strerror(errno)));
        log = log_file.get();
    }
    try {
        auto store = Store::OpenSqlite(args.store);
        std::string period_note;
        if (by_period) {
            auto range = store->DayRange();
            if (!range)
                return Usage(CMD, fmt::format("{} holds no packets: no DNS sources to probe", Shown(args.store)));
            std::string error;
            const auto days = ResolvePeriodDays(args.period, args.from, args.to, range->first, range->second, error);
            if (!days) return Usage(CMD, error);
            size_t from_period = 0;
            store->ScanDnsSources(days->first, days->second, [&](const dns::SourceDay &r) {
                targets->push_back(r.address);
                ++from_period;
            });
            period_note = fmt::format(" ({} DNS source-days of {} .. {})", from_period, FormatDay(days->first),
                                      FormatDay(days->second));
        }
        *targets = Deduplicate(*targets);

        ResolverProbeOptions o;
        o.name = args.name;
        o.qtype = *qtype;
        o.expect = args.expect;
        o.port = uint16_t(args.port);
        o.concurrency = args.concurrency;
        o.rate = args.rate;
        o.timeout_ms = int(args.timeout_s * 1000);
        o.retries = args.retries;
        const TargetPartition preview = exclusion->Partition(*targets);
        fmt::print(stderr,
                   "probing {}{}: one recursive query for {} {} to port {} each, at most {}/s, {} at once, {} s per "
                   "try, {}; {} refused by the exclusion list\n",
                   Plural(preview.allowed.size(), "target", "targets"), period_note, Shown(o.name),
                   QueryTypeName(o.qtype), o.port, o.rate, o.concurrency, args.timeout_s,
                   Plural(size_t(o.retries), "retry", "retries"), preview.refused.size());

        std::map<ResolverStatus, size_t> counts;
        std::vector<ResolverProbeResult> results;
        size_t uncommitted = 0;
        store->Begin();
        TargetPartition partition;
        try {
            partition = ProbeResolvers(*targets, *exclusion, o, [&](ResolverProbeResult &&r) {
                const std::string at = IsoTime(r.finished_at);
                const std::string_view status = ResolverStatusName(r.status);
                fmt::print(log, "{}\t{}\t{}\t{}\t{}\n", at, r.address.ToString(), status, r.detail,
                           Plural(size_t(r.tries), "try", "tries"));
                std::fflush(log);
                store->PutResolverProbe({r.address.ToString(), std::string(status), r.detail, at, "probe"});
                ++counts[r.status];
                // Committed every 100 results: a run killed midway keeps all but its last few.
                if (++uncommitted >= 100) {
                    store->Commit();
                    store->Begin();
                    uncommitted = 0;
                }
                results.push_back(std::move(r));
            });
        } catch (...) {
            store->Commit();
            throw;
        }
        store->Commit();

        if (args.json) {
            nlohmann::ordered_json out;
            out["query"] = {{"name", Shown(o.name)},
                            {"type", QueryTypeName(o.qtype)},
                            {"expect", Shown(o.expect)},
                            {"port", o.port},
                            {"rate", o.rate},
                            {"timeout_s", args.timeout_s},
                            {"retries", o.retries}};
            out["counts"] = {{"open", counts[ResolverStatus::OPEN]},
                             {"not-open", counts[ResolverStatus::NOT_OPEN]},
                             {"no-answer", counts[ResolverStatus::NO_ANSWER]},
                             {"refused", partition.refused.size()}};
            out["results"] = nlohmann::ordered_json::array();
            for (auto &r : results)
                out["results"].push_back({{"address", r.address.ToString()},
                                          {"status", ResolverStatusName(r.status)},
                                          {"detail", r.detail},
                                          {"tries", r.tries},
                                          {"probed_at", IsoTime(r.finished_at)}});
            out["refused"] = RefusedJson(partition.refused);
            out["store"] = args.store;
            fmt::print("{}\n", out.dump(2));
        } else {
            fmt::print("open resolvers ({} {} to port {})\n", Shown(o.name), QueryTypeName(o.qtype), o.port);
            fmt::print("  {:<28} {:>8}\n", "open", counts[ResolverStatus::OPEN]);
            fmt::print("  {:<28} {:>8}\n", "not-open", counts[ResolverStatus::NOT_OPEN]);
            fmt::print("  {:<28} {:>8}\n", "no-answer", counts[ResolverStatus::NO_ANSWER]);
            fmt::print("  {:<28} {:>8}\n", "refused by exclusion list", partition.refused.size());
            PrintRefused(partition.refused);
            fmt::print("\n{} stored in {} (table resolver_probes, origin probe)\n",
                       Plural(results.size(), "result", "results"), args.store);
        }
    } catch (const std::exception &e) {
        fmt::print(stderr, "darkscope probe resolvers: {}\n", e.what());
        return EXIT_SOME_FAILED;
    }
    return EXIT_OK;
}

// --- probe import-resolvers ------------------------------------------------------------------------------------

int RunImport(const ImportArgs &args) {
    // Every file is read and checked before anything is stored, so a file with errors stores nothing.
    struct Parsed {
        std::string origin;
        std::vector<ImportedVerdict> rows;
    };
    std::vector<Parsed> files;
    bool failed = false;
    for (const std::string &file : args.files) {
        auto result = ReadResolverVerdictsCsv(file);
        if (!result.errors.empty()) {
            failed = true;
            for (const std::string &e : result.errors)
                fmt::print(stderr, "{}\n", e);
            fmt::print(stderr, "{}: {}, nothing stored from this file\n", Shown(file),
                       Plural(result.errors.size(), "error", "errors"));
            continue;
        }
        files.push_back({"import:" + std::filesystem::path(file).filename().string(), std::move(result.rows)});
    }
    try {
        if (!files.empty()) {
            auto store = Store::OpenSqlite(args.store);
            for (const Parsed &p : files) {
                std::map<std::string, size_t> counts;
                store->Begin();
                try {
                    for (const ImportedVerdict &v : p.rows) {
                        store->PutResolverProbe({v.address.ToString(), v.status, v.detail, "", p.origin});
                        ++counts[v.status];
                    }
                    store->Commit();
                } catch (...) {
                    store->Rollback();
                    throw;
                }
                fmt::print("{}: {} stored (open {}, not-open {}, no-answer {}) with origin {}\n",
                           Shown(p.origin.substr(7)), Plural(p.rows.size(), "verdict", "verdicts"), counts["open"],
                           counts["not-open"], counts["no-answer"], Shown(p.origin));
            }
        }
    } catch (const std::exception &e) {
        fmt::print(stderr, "darkscope probe import-resolvers: {}\n", e.what());
        return EXIT_SOME_FAILED;
    }
    return failed ? EXIT_SOME_FAILED : EXIT_OK;
}

// --- probe devices ---------------------------------------------------------------------------------------------

int RunDevices(const DevicesArgs &args) {
    constexpr std::string_view CMD = "devices";
    int rc = EXIT_OK;
    auto exclusion = MakeExclusion(CMD, args, rc);
    if (!exclusion) return rc;
    auto targets = ExplicitTargets(CMD, args, rc);
    if (!targets) return rc;
    const bool recorded = !args.nmap_xml.empty();
    if (recorded && (!targets->empty() || args.open_resolvers))
        return Usage(CMD, "--nmap-xml classifies recorded scans: give it without targets or --open-resolvers");
    if (!recorded && targets->empty() && !args.open_resolvers)
        return Usage(CMD,
                     "which targets? give ADDRESS..., --targets FILE, --open-resolvers, or --nmap-xml FILE "
                     "(see --help)");
    try {
        std::vector<NmapRun> runs;
        std::vector<RefusedTarget> refused;
        std::vector<std::string> notes;
        std::string origin = "nmap";
        // Recorded files are read before the store is opened: a bad file leaves no store behind.
        if (recorded) {
            for (const std::string &file : args.nmap_xml) {
                try {
                    runs.push_back(ParseNmapXmlFile(file));
                } catch (const NmapXmlError &e) {
                    fmt::print(stderr, "darkscope probe devices: {}\n", e.what());
                    return EXIT_SOME_FAILED;
                }
                if (!runs.back().finished)
                    notes.push_back(fmt::format("{}: nmap did not report success{}", Shown(file),
                                                runs.back().error.empty() ? "" : ": " + Shown(runs.back().error)));
                else if (!runs.back().error.empty())
                    notes.push_back(fmt::format("{}: {}", Shown(file), Shown(runs.back().error)));
            }
        }
        auto store = Store::OpenSqlite(args.store);
        if (!recorded) {
            if (args.open_resolvers) {
                size_t open = 0;
                for (const auto &p : store->LatestResolverProbes()) {
                    if (p.status != "open") continue;
                    if (auto a = IpAddress::Parse(p.address)) {
                        targets->push_back(*a);
                        ++open;
                    }
                }
                notes.push_back(fmt::format("--open-resolvers: {} whose latest probe in {} says open",
                                            Plural(open, "address", "addresses"), args.store));
            }
            *targets = Deduplicate(*targets);
            NmapOptions o;
            o.binary = args.nmap;
            o.ports = args.ports;
            o.max_rate = args.max_rate;
            o.host_timeout_s = args.timeout_s;
            o.skip_discovery = args.no_ping;
            o.save_xml = args.save_xml;
            o.os_detection = !args.no_os && ::geteuid() == 0;
            if (!args.no_os && ::geteuid() != 0) {
                notes.push_back(
                    "not root: nmap runs without -O (OS detection needs raw sockets), so the OS rules "
                    "have nothing to read; run as root for the paper's -sV -O");
                fmt::print(stderr, "{}\n", notes.back());
            }
            o.on_output = [](std::string_view line) { fmt::print(stderr, "nmap: {}\n", Shown(line)); };
            const TargetPartition preview = exclusion->Partition(*targets);
            fmt::print(stderr, "scanning {} with nmap ({} refused by the exclusion list)\n",
                       Plural(preview.allowed.size(), "target", "targets"), preview.refused.size());
            DeviceScan scan = ScanDevices(*targets, *exclusion, o);
            for (const std::string &command : scan.commands)
                notes.push_back("ran: " + EscapeWireText(command, 4000));
            refused = std::move(scan.partition.refused);
            runs.push_back(std::move(scan.run));
        }

        struct Row {
            std::string address;
            DeviceVerdict verdict;
            std::string origin;
        };
        std::vector<Row> rows;
        std::map<DeviceClass, size_t> counts;
        store->Begin();
        try {
            for (const NmapRun &run : runs) {
                const std::string run_origin =
                    recorded ? "import:" + std::filesystem::path(run.source).filename().string() : origin;
                for (const NmapHost &host : run.hosts) {
                    // Recorded scans may hold anything; what is stored still honours the exclusion list.
                    if (auto why = exclusion->Refusal(host.address)) {
                        refused.push_back({host.address, std::move(*why)});
                        continue;
                    }
                    DeviceVerdict v = ClassifyDevice(host);
                    store->PutDeviceProbe({host.address.ToString(), std::string(DeviceClassName(v.device_class)),
                                           v.reason, v.detail.dump(), "", run_origin});
                    ++counts[v.device_class];
                    rows.push_back({host.address.ToString(), std::move(v), run_origin});
                }
            }
            store->Commit();
        } catch (...) {
            store->Rollback();
            throw;
        }

        if (args.json) {
            nlohmann::ordered_json out;
            out["table2"] = nlohmann::ordered_json::array();
            for (DeviceClass c : DEVICE_CLASSES)
                out["table2"].push_back(
                    {{"class", DeviceClassName(c)}, {"ja", DeviceClassJapanese(c)}, {"count", counts[c]}});
            out["hosts"] = nlohmann::ordered_json::array();
            for (auto &r : rows)
                out["hosts"].push_back({{"address", r.address},
                                        {"class", DeviceClassName(r.verdict.device_class)},
                                        {"rule", r.verdict.rule},
                                        {"reason", r.verdict.reason},
                                        {"origin", r.origin},
                                        {"detail", r.verdict.detail}});
            out["refused"] = RefusedJson(refused);
            out["notes"] = notes;
            out["store"] = args.store;
            fmt::print("{}\n", out.dump(2));
        } else {
            for (const std::string &n : notes)
                fmt::print(stderr, "{}\n", n);
            fmt::print("Table 2: devices by class (the DNS paper's ポートスキャン結果)\n");
            fmt::print("  {:<16} {:<20} {:>7}\n", "class", "", "hosts");
            for (DeviceClass c : DEVICE_CLASSES) {
                // Japanese labels are two columns wide per character: pad by display width, not bytes.
                const std::string_view ja = DeviceClassJapanese(c);
                size_t width = 0;
                for (size_t i = 0; i < ja.size(); ++i)
                    if ((uint8_t(ja[i]) & 0xC0) != 0x80) width += uint8_t(ja[i]) >= 0x80 ? 2 : 1;
                fmt::print("  {:<16} {}{} {:>7}\n", DeviceClassName(c), ja,
                           std::string(width < 20 ? 20 - width : 0, ' '), counts[c]);
            }
            if (!rows.empty()) fmt::print("\n");
            for (auto &r : rows)
                fmt::print("{:<39} {:<14} {}\n", r.address, DeviceClassName(r.verdict.device_class), r.verdict.reason);
            PrintRefused(refused, recorded ? "recorded hosts, not stored" : "nothing sent");
            fmt::print("\n{} stored in {} (table device_probes)\n", Plural(rows.size(), "host", "hosts"), args.store);
        }
    } catch (const std::exception &e) {
        fmt::print(stderr, "darkscope probe devices: {}\n", e.what());
        return EXIT_SOME_FAILED;
    }
    return EXIT_OK;
}

void AddTargetOptions(CLI::App *cmd, TargetArgs &args) {
    cmd->add_option("--store", args.store, "Store file (results are added to it)")->capture_default_str();
    cmd->add_option("addresses", args.addresses, "Target addresses (IPv4 or IPv6; no networks)");
    cmd->add_option("--targets", args.targets_file,
                    "File of target addresses, one per line (# comments; a CSV's first column)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--exclude", args.exclude_file,
                    "File of networks never to probe, one CIDR per line (# comments), on top of the built-in ranges")
        ->check(CLI::ExistingFile);
    cmd->add_flag("--allow-loopback", args.allow_loopback,
                  "Lift the refusal of 127.0.0.0/8 and ::1 only (tests and checks on this machine); every other "
                  "built-in range stays refused");
    cmd->add_flag("--json", args.json, "Results as JSON on stdout");
}

}  // namespace

void RegisterProbe(CLI::App &app, int &exit_code) {
    auto *probe = app.add_subcommand("probe", "Opt-in active probes of sources: open resolvers, device classes (nmap)");
    probe->require_subcommand(1);
    probe->footer(std::string(THIRD_PARTY_NOTICE) +
                  "The DNS paper's method: find which DNS sources are open resolvers (`probe resolvers`, or\n"
                  "`probe import-resolvers` for verdicts from elsewhere), then scan the open ones with nmap and\n"
                  "classify them as server, router, printer, network camera, NAS, DVR, load balancer, unknown or\n"
                  "blocked (`probe devices --open-resolvers`). Results are kept in the store with their time.\n"
                  "docs/probes.md says what each probe sends and how devices are classified.");

    auto r = std::make_shared<ResolversArgs>();
    auto *resolvers = probe->add_subcommand(
        "resolvers", "Which targets answer a recursive query for a name they do not own (open resolvers)");
    resolvers->footer(
        std::string(THIRD_PARTY_NOTICE) +
        "Sends each target one DNS query over UDP with recursion desired, by default for\n"
        "test.openresolver.com TXT (`dig +short test.openresolver.com TXT @target`), and classifies it:\n"
        "  open       an answer record whose data contains --expect (open-resolver-detected)\n"
        "  not-open   any other DNS answer: REFUSED, SERVFAIL, NXDOMAIN, no answer, no recursion (RA=0), ...\n"
        "  no-answer  nothing after --retries more tries of --timeout seconds, or an ICMP port unreachable\n"
        "Queries start at most --rate per second (retries included), evenly spaced, at most --concurrency\n"
        "at once. Every result is logged (time, address, status, what decided it) to stderr or --log, and\n"
        "stored in the store's resolver_probes table (origin probe); a summary table follows.\n"
        "Text from the answers is escaped before it is shown or stored.\n\n"
        "Targets: ADDRESS..., --targets FILE, and/or --period P (or --from/--to) for the sources of DNS\n"
        "packets in that period of the store (the DNS study's sources, `darkscope dns`).\n\n"
        "Examples:\n"
        "  darkscope probe resolvers 203.0.113.53                      # refused: documentation range\n"
        "  darkscope probe resolvers --targets dns-sources.txt --rate 20 --log probes.tsv\n"
        "  darkscope probe resolvers --period 2016-10 --exclude do-not-probe.txt\n"
        "  darkscope probe resolvers --allow-loopback --port 5353 127.0.0.1   # a resolver of your own");
    AddTargetOptions(resolvers, *r);
    resolvers->add_option("--period", r->period,
                          "The DNS sources of this period: 2016Q4, 2016-10, 2016-W42, a day, FIRST..LAST");
    resolvers->add_option("--from", r->from, "First day of the DNS sources (YYYY-MM-DD, UTC)");
    resolvers->add_option("--to", r->to, "Last day, inclusive");
    resolvers->add_option("--name", r->name, "Name queried: one no target is authoritative for")->capture_default_str();
    resolvers->add_option("--type", r->type, "Query type (TXT, A, AAAA, ANY, TYPEnnn)")->capture_default_str();
    resolvers->add_option("--expect", r->expect, "Text an answer must hold for 'open' (empty: any answer of the type)")
        ->capture_default_str();
    resolvers->add_option("--port", r->port, "Destination UDP port")->capture_default_str();
    resolvers->add_option("--concurrency", r->concurrency, "Queries outstanding at once")
        ->capture_default_str()
        ->check(CLI::Range(1u, 4096u));
    resolvers->add_option("--rate", r->rate, "Queries per second, at most (token bucket, no bursts)")
        ->capture_default_str()
        ->check(CLI::Range(0.01, 10000.0));
    resolvers->add_option("--timeout", r->timeout_s, "Seconds to wait for each try's answer")
        ->capture_default_str()
        ->check(CLI::Range(0.01, 60.0));
    resolvers->add_option("--retries", r->retries, "Tries after a timeout (an ICMP port unreachable is final)")
        ->capture_default_str()
        ->check(CLI::Range(0, 10));
    resolvers->add_option("--log", r->log, "Append the per-probe lines (tab-separated) to this file instead of stderr");
    resolvers->callback([r, &exit_code] { exit_code = RunResolvers(*r); });

    auto im = std::make_shared<ImportArgs>();
    auto *import_cmd = probe->add_subcommand("import-resolvers", "Store open-resolver verdicts made elsewhere (CSV)");
    import_cmd->footer(
        "Reads CSV files with the header address,status[,detail] (status: open, not-open or no-answer;\n"
        "fields may be quoted as RFC 4180 says) and stores every row in the resolver_probes table with\n"
        "origin import:<file name>: another team's scan, a published open-resolver list, or the synthetic\n"
        "telescope's ground truth. Sends nothing. A bad line is reported with file:line and why, and a\n"
        "file with any bad line stores nothing (the other files still do; the exit status is then 1).\n"
        "`probe devices --open-resolvers` takes the addresses whose latest verdict, probed or imported,\n"
        "is open.\n\n"
        "Examples:\n"
        "  darkscope probe import-resolvers open-resolvers-2016-10.csv\n"
        "  darkscope probe import-resolvers --store t.db truth-resolvers.csv\n\n"
        "  address,status,detail\n"
        "  192.0.2.53,open,\"answer: \"\"open-resolver-detected\"\"\"\n"
        "  198.51.100.7,not-open,rcode REFUSED");
    import_cmd->add_option("--store", im->store, "Store file")->capture_default_str();
    import_cmd->add_option("files", im->files, "CSV files")->required()->check(CLI::ExistingFile);
    import_cmd->callback([im, &exit_code] { exit_code = RunImport(*im); });

    auto d = std::make_shared<DevicesArgs>();
    auto *devices = probe->add_subcommand(
        "devices", "Scan targets with nmap and classify them (server, router, printer, camera, ...)");
    devices->footer(std::string(THIRD_PARTY_NOTICE) +
                    "Runs `nmap -sV -O --script banner` (version detection, OS detection, banners) with --max-rate\n"
                    "and --host-timeout on the targets, reads its XML, and classifies each host by ordered rules\n"
                    "(docs/probes.md#device-rules): blocked (no open port), DVR, load balancer, nmap's device type,\n"
                    "MikroTik (8728/tcp, RouterOS), printer, camera, NAS and router products, the OS guess, server\n"
                    "(server services on a general-purpose OS), else unknown. Prints the paper's Table 2 (hosts per\n"
                    "class) and one line per host with the rule that decided it; stores each host in the\n"
                    "device_probes table with the rule and what it read (JSON).\n"
                    "-O needs root: without it nmap runs without -O, and the output says so. nmap's default ports\n"
                    "(its top 1000) leave out 8728 (MikroTik API): add --ports to scan it.\n"
                    "--nmap-xml FILE classifies scans recorded earlier (nmap -oX, or --save-xml) without sending\n"
                    "anything; the exclusion list still decides what is stored.\n\n"
                    "Examples:\n"
                    "  darkscope probe devices --open-resolvers --ports 1-1024,8080,8291,8728,9100 --max-rate 50\n"
                    "  darkscope probe devices --targets hosts.txt --save-xml scan.xml --no-ping\n"
                    "  darkscope probe devices --nmap-xml scan-2016-09.xml --nmap-xml scan-2016-10.xml --json");
    AddTargetOptions(devices, *d);
    devices->add_flag("--open-resolvers", d->open_resolvers, "Add the addresses whose latest resolver probe says open");
    devices->add_option("--nmap-xml", d->nmap_xml, "Classify this recorded nmap XML instead of scanning (repeatable)")
        ->check(CLI::ExistingFile);
    devices->add_option("--nmap", d->nmap, "nmap binary (name in PATH or path)")->capture_default_str();
    devices->add_option("--ports", d->ports, "nmap -p LIST (default: nmap's top 1000 TCP ports)");
    devices->add_option("--max-rate", d->max_rate, "nmap --max-rate: packets per second, at most")
        ->capture_default_str()
        ->check(CLI::Range(1, 100000));
    devices->add_option("--timeout", d->timeout_s, "nmap --host-timeout in seconds (0: none)")
        ->capture_default_str()
        ->check(CLI::Range(0, 86400));
    devices->add_flag("--no-os", d->no_os, "Leave out -O even as root");
    devices->add_flag("--no-ping", d->no_ping, "nmap -Pn: scan targets that do not answer host discovery");
    devices->add_option("--save-xml", d->save_xml, "Keep a copy of nmap's XML here (for --nmap-xml later)");
    devices->callback([d, &exit_code] { exit_code = RunDevices(*d); });
}

}  // namespace darkscope::app
