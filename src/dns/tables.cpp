#include "dns/tables.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <unordered_map>

#include "common/time.hpp"
#include "dns/study.hpp"
#include "store/store.hpp"

namespace darkscope::dns {
namespace {

using nlohmann::ordered_json;

enum Cls { NON_OPEN = 0, OPEN = 1 };

// Table 2's rows, in the paper's order.
constexpr std::array<const char *, 9> DEVICE_CLASSES = {"server", "router",  "printer", "network-camera", "nas",
                                                         "dvr",    "load-balancer", "unknown", "blocked"};

// Scatter points kept: every source of a month of a university darknet (tens of thousands); beyond, the
// sources with the most packets, and the JSON says how many were left out.
constexpr size_t MAX_SCATTER = 50000;

struct DayRow {
    std::array<uint64_t, 2> queries{}, responses{};
    std::array<std::set<std::string>, 2> query_sources, response_sources;
};

struct MonthRow {
    std::array<uint64_t, 2> packets{};
    std::array<std::set<std::string>, 2> sources;
};

// A zone over the period: its hours merged (ZoneHour::Merge), and how many there were.
struct ZoneTotal {
    ZoneHour merged;
    uint64_t hours = 0;
};

template <typename Map>
ordered_json Counts(const Map &m, std::string (*name)(uint16_t)) {
    std::vector<std::pair<uint16_t, uint64_t>> v(m.begin(), m.end());
    std::stable_sort(v.begin(), v.end(), [](auto &a, auto &b) { return a.second > b.second; });
    ordered_json out = ordered_json::array();
    for (auto &[k, n] : v) out.push_back({{"code", k}, {"name", name(k)}, {"messages", n}});
    return out;
}

}  // namespace

ordered_json BuildStudy(Store &store, const StudyOptions &options) {
    std::unordered_map<std::string, std::string> probe_status;
    for (auto &p : store.LatestResolverProbes()) probe_status[p.address] = p.status;
    std::unordered_map<std::string, std::string> device_class;
    for (auto &d : store.LatestDeviceProbes()) device_class[d.address] = d.device_class;
    const auto research_names = store.LoadResearchNames();

    std::map<int64_t, DayRow> days;
    std::map<std::string, MonthRow> months;
    std::map<std::string, SourceDay> sources;  // merged over the period, by address
    uint64_t excluded_packets = 0;
    std::set<std::string> excluded_sources;
    std::map<uint16_t, uint64_t> qtypes, rcodes;
    uint64_t by_port = 0, edns = 0, dnssec_ok = 0;

    store.ScanDnsSources(options.from_day, options.to_day, [&](const SourceDay &r) {
        const std::string address = r.address.ToString();
        if (options.exclude_research && r.research) {
            excluded_packets += r.Packets();
            excluded_sources.insert(address);
            return;
        }
        const auto it = probe_status.find(address);
        const int cls = it != probe_status.end() && it->second == "open" ? OPEN : NON_OPEN;
        DayRow &d = days[r.day];
        d.queries[cls] += r.queries;
        d.responses[cls] += r.responses;
        if (r.queries) d.query_sources[cls].insert(address);
        if (r.responses) d.response_sources[cls].insert(address);
        MonthRow &m = months[FormatDay(r.day).substr(0, 7)];
        m.packets[cls] += r.Packets();
        m.sources[cls].insert(address);
        for (auto [k, n] : r.qtypes) qtypes[k] += n;
        for (auto [k, n] : r.rcodes) rcodes[k] += n;
        by_port += r.by_port;
        edns += r.edns;
        dnssec_ok += r.dnssec_ok;
        auto [slot, fresh] = sources.try_emplace(address, r);
        if (!fresh) slot->second.Merge(r);  // days come in order: the gap between them counts
    });

    ordered_json out;
    out["period"] = {{"from", FormatDay(options.from_day)}, {"to", FormatDay(options.to_day)}};
    uint64_t packets = 0, queries = 0, responses = 0;
    for (auto &[a, s] : sources) {
        packets += s.Packets();
        queries += s.queries;
        responses += s.responses;
    }
    out["totals"] = {{"packets", packets},     {"queries", queries}, {"responses", responses},
                     {"sources", sources.size()}, {"by_port", by_port}, {"edns", edns},
                     {"dnssec_ok", dnssec_ok}};
    out["research"] = {{"excluded", options.exclude_research},
                       {"excluded_sources", excluded_sources.size()},
                       {"excluded_packets", excluded_packets}};

    // What the open / non-open split rests on.
    std::map<std::string, uint64_t> coverage{{"open", 0}, {"not-open", 0}, {"no-answer", 0}, {"not probed", 0}};
    for (auto &[a, s] : sources) {
        const auto it = probe_status.find(a);
        ++coverage[it == probe_status.end() ? "not probed" : it->second];
    }
    out["probes"] = coverage;

    ordered_json table3 = ordered_json::array();
    for (auto &[month, m] : months)
        table3.push_back({{"month", month},
                          {"open_total", m.packets[OPEN]},
                          {"non_open_total", m.packets[NON_OPEN]},
                          {"open_unique", m.sources[OPEN].size()},
                          {"non_open_unique", m.sources[NON_OPEN].size()}});
    out["table3"] = table3;

    ordered_json table4 = ordered_json::array();
    for (int64_t day = options.from_day; day <= options.to_day; ++day) {
        const auto it = days.find(day);
        const DayRow empty;
        const DayRow &d = it == days.end() ? empty : it->second;
        table4.push_back({{"day", FormatDay(day)},
                          {"query_non_open", d.queries[NON_OPEN]},
                          {"query_open", d.queries[OPEN]},
                          {"response_non_open", d.responses[NON_OPEN]},
                          {"response_open", d.responses[OPEN]},
                          {"query_non_open_sources", d.query_sources[NON_OPEN].size()},
                          {"query_open_sources", d.query_sources[OPEN].size()},
                          {"response_non_open_sources", d.response_sources[NON_OPEN].size()},
                          {"response_open_sources", d.response_sources[OPEN].size()}});
    }
    out["table4"] = table4;

    std::map<std::string, uint64_t> devices;
    uint64_t classified = 0;
    for (auto &[a, s] : sources) {
        const auto it = device_class.find(a);
        if (it == device_class.end()) continue;
        ++devices[it->second];
        ++classified;
    }
    ordered_json table2 = ordered_json::array();
    for (const char *c : DEVICE_CLASSES) table2.push_back({{"class", c}, {"hosts", devices[c]}});
    // Classes outside the paper's rows (a later rule set's), after them. No structured binding in the lambda:
    // clang 14 (the fuzz build) refuses to capture one.
    for (const auto &entry : devices) {
        const std::string &cls = entry.first;
        if (std::find_if(DEVICE_CLASSES.begin(), DEVICE_CLASSES.end(), [&](const char *k) { return cls == k; }) ==
            DEVICE_CLASSES.end())
            table2.push_back({{"class", cls}, {"hosts", entry.second}});
    }
    out["table2"] = table2;
    out["devices_classified"] = classified;

    out["qtypes"] = Counts(qtypes, QtypeName);
    out["rcodes"] = Counts(rcodes, RcodeName);

    // Per source, largest first (ties: by address, for stable output).
    std::vector<const SourceDay *> order;
    order.reserve(sources.size());
    for (auto &[a, s] : sources) order.push_back(&s);
    std::stable_sort(order.begin(), order.end(),
                     [](const SourceDay *a, const SourceDay *b) { return a->Packets() > b->Packets(); });
    const auto source_json = [&](const SourceDay &s, bool full) {
        const std::string address = s.address.ToString();
        const auto probe = probe_status.find(address);
        const auto research = s.research ? research_names.find(s.research) : research_names.end();
        ordered_json j = {{"address", address},
                          {"resolver", probe == probe_status.end() ? "not probed" : probe->second},
                          {"research", research == research_names.end() ? nullptr : ordered_json(research->second)},
                          {"packets", s.Packets()},
                          {"queries", s.queries},
                          {"responses", s.responses},
                          {"mean_interarrival_s", s.MeanInterArrivalSeconds()},
                          {"median_interarrival_s", s.gaps.MedianSeconds()}};
        if (full) {
            j["first"] = FormatTimestamp(s.first_ts);
            j["last"] = FormatTimestamp(s.last_ts);
            j["distinct_names"] = s.names.Describe();
            j["qtypes"] = Counts(s.qtypes, QtypeName);
            j["examples"] = s.examples;
            const auto device = device_class.find(address);
            j["device"] = device == device_class.end() ? nullptr : ordered_json(device->second);
        }
        return j;
    };
    ordered_json top = ordered_json::array();
    for (size_t i = 0; i < order.size() && i < options.top; ++i) top.push_back(source_json(*order[i], true));
    out["top_sources"] = top;

    ordered_json scatter = ordered_json::array();
    for (size_t i = 0; i < order.size() && i < MAX_SCATTER; ++i) {
        const SourceDay &s = *order[i];
        const auto probe = probe_status.find(s.address.ToString());
        scatter.push_back({s.address.ToString(), s.MeanInterArrivalSeconds(), s.Packets(),
                           probe != probe_status.end() && probe->second == "open" ? "open" : "non-open",
                           s.research != 0, s.queries >= s.responses ? "query" : "response"});
    }
    out["scatter"] = {{"columns", {"address", "mean_interarrival_s", "packets", "resolver", "research", "role"}},
                      {"left_out", order.size() > MAX_SCATTER ? order.size() - MAX_SCATTER : 0},
                      {"points", scatter}};

    std::map<std::string, ZoneTotal> zones;
    const int64_t from_hour = options.from_day * 24, to_hour = options.to_day * 24 + 23;
    store.ScanDnsZones(from_hour, to_hour, [&](const ZoneHour &z) {
        ZoneTotal &t = zones[z.zone];
        t.merged.Merge(z);
        ++t.hours;
    });
    std::vector<std::pair<std::string, const ZoneTotal *>> zone_order;
    for (auto &[name, t] : zones) zone_order.emplace_back(name, &t);
    std::stable_sort(zone_order.begin(), zone_order.end(), [](auto &a, auto &b) {
        return a.second->merged.queries + a.second->merged.responses >
               b.second->merged.queries + b.second->merged.responses;
    });
    ordered_json top_zones = ordered_json::array();
    for (size_t i = 0; i < zone_order.size() && i < options.top; ++i) {
        const ZoneHour &t = zone_order[i].second->merged;
        top_zones.push_back({{"zone", zone_order[i].first},
                             {"queries", t.queries},
                             {"responses", t.responses},
                             {"distinct_names", t.names.Describe()},
                             {"sources", t.sources.Describe()},
                             {"hours", zone_order[i].second->hours},
                             {"rcodes", Counts(t.rcodes, RcodeName)},
                             {"examples", t.examples}});
    }
    out["top_zones"] = top_zones;
    out["zones"] = zones.size();
    return out;
}

}  // namespace darkscope::dns
