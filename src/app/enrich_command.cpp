// darkscope enrich rdns: reverse DNS of a period's sources, cached in the store, research patterns re-applied.

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "app/commands.hpp"
#include "classify/fingerprint.hpp"
#include "common/time.hpp"
#include "enrich/rdns.hpp"
#include "enrich/rdns_cache.hpp"
#include "enrich/research.hpp"
#include "store/store.hpp"

namespace darkscope::app {
namespace {

struct RdnsArgs {
    std::string store = "darkscope.db";
    std::string from, to;
    std::string resolver;
    double rate = 50;
    unsigned concurrency = 64;
    int timeout_ms = 2000;
    int max_age_days = 30;
    std::string research_list;
    bool quiet = false;
};

int RunRdns(const RdnsArgs &args) {
    if (!std::filesystem::exists(args.store)) {
        fmt::print(stderr, "darkscope enrich rdns: {}: no such store\n", args.store);
        return EXIT_USAGE;
    }
    try {
        auto store = Store::OpenSqlite(args.store);
        auto range = store->DayRange();
        if (!range) {
            fmt::print(stderr, "darkscope enrich rdns: {}: no data\n", args.store);
            return EXIT_OK;
        }
        int64_t from = range->first, to = range->second;
        for (auto [flag, text, day] : {std::tuple{"--from", &args.from, &from}, std::tuple{"--to", &args.to, &to}}) {
            if (text->empty()) continue;
            auto d = ParseDay(*text);
            if (!d) {
                fmt::print(stderr, "darkscope enrich rdns: {} {}: expected a date as YYYY-MM-DD\n", flag, *text);
                return EXIT_USAGE;
            }
            *day = *d;
        }
        std::optional<ResearchList> list;
        if (auto p = args.research_list.empty() ? ResearchList::DefaultPath()
                                                : std::optional<std::filesystem::path>(args.research_list))
            list = ResearchList::LoadToml(*p);

        // Cached answers younger than --max-age are kept; special-purpose sources have no public PTR.
        std::map<std::string, Store::RdnsRecord> cached;
        store->ScanRdns([&](const Store::RdnsRecord &r) { cached[r.address] = r; });
        const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        std::set<IpAddress> wanted;
        size_t fresh = 0, bogons = 0;
        store->ScanSources(from, to, [&](const SourceRecord &r) {
            const IpAddress &a = r.record->src;
            if (IsBogon(a)) {
                ++bogons;
                return;
            }
            if (auto it = cached.find(a.ToString()); it != cached.end()) {
                auto day = ParseDay(it->second.resolved_at.substr(0, 10));
                if (day && DayOf(now_ns) - *day < args.max_age_days) {
                    ++fresh;
                    return;
                }
            }
            wanted.insert(a);
        });
        std::vector<IpAddress> addresses(wanted.begin(), wanted.end());
        if (!args.quiet)
            fmt::print(stderr, "resolving {} sources ({} cached within {} days, {} special-purpose skipped) via {} at {}/s\n",
                       addresses.size(), fresh, args.max_age_days, bogons,
                       args.resolver.empty() ? "the system resolver" : args.resolver, args.rate);
        RdnsOptions o;
        o.resolver = args.resolver;
        o.rate = args.rate;
        o.concurrency = args.concurrency;
        o.timeout_ms = args.timeout_ms;
        std::map<std::string, size_t> statuses;
        store->Begin();
        try {
            ResolvePtr(addresses, o, [&](RdnsAnswer &&a) {
                const std::string status_key = a.status.rfind("error", 0) == 0 ? "error" : a.status;
                ++statuses[status_key];
                Store::RdnsRecord r{a.address.ToString(), a.name, a.status, ""};
                store->PutRdns(r);
            });
            store->Commit();
        } catch (...) {
            store->Rollback();
            throw;
        }
        // The patterns are re-applied to every cached name, new or old, as ingest and summary apply them.
        std::map<std::string, size_t> research;
        if (list)
            for (const RdnsResearchSource &r : ResearchByRdns(*store, *list)) ++research[std::string(list->Name(r.entry))];
        if (!args.quiet) {
            std::string s;
            for (auto &[k, n] : statuses) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", n, k);
            fmt::print(stderr, "answers: {}\n", s.empty() ? "none" : s);
            for (auto &[name, n] : research) fmt::print("research by reverse DNS: {:<40} {:>8} sources\n", name, n);
            if (!research.empty())
                fmt::print(stderr, "ingests into {} label these sources from now on; days already ingested still count "
                                   "them (`summary --exclude-research` says how much; `ingest --rdns-from {}` into a "
                                   "fresh store counts them again without)\n",
                           args.store, args.store);
        }
    } catch (const std::exception &e) {
        fmt::print(stderr, "darkscope enrich rdns: {}\n", e.what());
        return EXIT_SOME_FAILED;
    }
    return EXIT_OK;
}

}  // namespace

void RegisterEnrich(CLI::App &app, int &exit_code) {
    auto args = std::make_shared<RdnsArgs>();
    auto *enrich = app.add_subcommand("enrich", "Opt-in enrichment that needs the network: reverse DNS");
    enrich->require_subcommand(1);
    auto *rdns = enrich->add_subcommand("rdns", "Reverse DNS (PTR) of a period's sources, cached in the store");
    rdns->footer(
        "Sends one PTR query per source of the period to the resolver (only to it), at most --rate per\n"
        "second and --concurrency at once, and stores each answer with its time (table rdns). Names\n"
        "younger than --max-age days are not asked again. Special-purpose sources are skipped. The\n"
        "research list's reverse-DNS patterns (data/research_scanners.toml: *.shodan.*, *.edu.*, ...)\n"
        "are then applied to every stored name; `summary --by source` shows the labels.\n\n"
        "Ingest labels these sources research scanners in the days it reads from then on, and\n"
        "`summary --exclude-research` removes them from every count of those days. Days ingested\n"
        "before keep counting them (summary says how many packets); to count a period again without\n"
        "them, re-ingest its captures into a fresh store that takes this store's names:\n"
        "  darkscope ingest --store fresh.db --rdns-from darkscope.db --sensors sensors.toml CAPTURES...\n\n"
        "Examples:\n"
        "  darkscope enrich rdns --from 2024-10-01 --to 2024-10-31 --resolver 127.0.0.53 --rate 20");
    rdns->add_option("--store", args->store, "Store file")->capture_default_str();
    rdns->add_option("--from", args->from, "First day (YYYY-MM-DD); default: first stored");
    rdns->add_option("--to", args->to, "Last day, inclusive; default: last stored");
    rdns->add_option("--resolver", args->resolver, "ADDR or ADDR:PORT of the resolver; default: /etc/resolv.conf");
    rdns->add_option("--rate", args->rate, "Queries per second, at most")->capture_default_str()->check(CLI::Range(0.01, 100000.0));
    rdns->add_option("--concurrency", args->concurrency, "Queries outstanding at once")->capture_default_str()->check(CLI::Range(1, 10000));
    rdns->add_option("--timeout-ms", args->timeout_ms, "Per try")->capture_default_str()->check(CLI::Range(10, 60000));
    rdns->add_option("--max-age", args->max_age_days, "Ask again for names older than this many days")->capture_default_str();
    rdns->add_option("--research-list", args->research_list, "Research scanners (TOML)")->check(CLI::ExistingFile);
    rdns->add_flag("--quiet,-q", args->quiet, "Print nothing but errors");
    rdns->callback([args, &exit_code] { exit_code = RunRdns(*args); });
}

}  // namespace darkscope::app
