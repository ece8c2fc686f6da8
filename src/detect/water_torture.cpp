#include "detect/water_torture.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "dns/study.hpp"
#include "store/store.hpp"

namespace darkscope::detect {

namespace {

constexpr TimestampNs HOUR_NS = TimestampNs(SECONDS_PER_HOUR) * NS_PER_SEC;

bool Qualifies(const dns::ZoneHour &z, const WaterTortureOptions &o) {
    const uint64_t messages = z.queries + z.responses;
    if (messages == 0 || z.names.Count() < o.min_names) return false;
    return z.names.capped || double(z.names.Count()) >= o.min_share * double(messages);
}

DetectedEvent MakeEvent(const std::vector<dns::ZoneHour> &run) {
    DetectedEvent e;
    e.kind = EventKind::WATER_TORTURE;
    e.detector = "water-torture";
    e.subject = run.front().zone;
    e.start = run.front().hour * HOUR_NS;
    e.end = (run.back().hour + 1) * HOUR_NS - 1;
    dns::ZoneHour total;
    const dns::ZoneHour *peak = &run.front();
    for (const auto &z : run) {
        total.Merge(z);
        if (z.names.Count() > peak->names.Count()) peak = &z;
    }
    e.peak = peak->hour * HOUR_NS;
    e.magnitude = double(peak->names.Count());
    e.packets = total.queries + total.responses;
    e.sources = total.sources.Count();
    nlohmann::ordered_json rcodes = nlohmann::ordered_json::object();
    for (auto [code, n] : total.rcodes) rcodes[dns::RcodeName(code)] = n;
    e.evidence = {{"zone", e.subject},
                  {"hours", run.size()},
                  {"queries", total.queries},
                  {"responses", total.responses},
                  {"distinct_names", total.names.Describe()},
                  {"peak_hour_names", peak->names.Describe()},
                  {"sources", total.sources.Describe()},
                  {"rcodes", rcodes},
                  {"examples", total.examples}};
    const std::string names = total.names.Describe();
    const std::string when = FormatTimestamp(e.start).substr(0, 16);
    if (total.queries >= total.responses) {
        e.sentence_en = fmt::format("Water torture on {}: {} queries for {} distinct names under it from {} sources "
                                    "over {} hours from {} UTC (random labels: no resolver cache absorbs them)",
                                    e.subject, GroupDigits(total.queries), names, total.sources.Describe(), run.size(),
                                    when);
        e.sentence_ja = fmt::format("{}（UTC）から{}時間、{}配下のランダムなサブドメイン{}種類への問い合わせ{}件"
                                    "（送信元{}件）が観測されました（DNS水責め攻撃）。",
                                    when, run.size(), e.subject, names, GroupDigits(total.queries),
                                    total.sources.Describe());
    } else {
        e.sentence_en = fmt::format("Water torture on {} seen as backscatter: {} responses for {} distinct names under "
                                    "it from {} resolvers over {} hours from {} UTC (queries spoofed with darknet "
                                    "addresses)",
                                    e.subject, GroupDigits(total.responses), names, total.sources.Describe(),
                                    run.size(), when);
        e.sentence_ja = fmt::format("{}（UTC）から{}時間、{}配下のランダムなサブドメイン{}種類への応答{}件"
                                    "（リゾルバ{}件）が観測されました（送信元を詐称したDNS水責め攻撃の跳ね返り）。",
                                    when, run.size(), e.subject, names, GroupDigits(total.responses),
                                    total.sources.Describe());
    }
    return e;
}

}  // namespace

std::vector<DetectedEvent> DetectWaterTorture(Store &store, int64_t from_hour, int64_t to_hour,
                                              const WaterTortureOptions &options) {
    // Qualifying hours by zone, in hour order (the scan is ordered by hour).
    std::map<std::string, std::vector<dns::ZoneHour>> hours;
    store.ScanDnsZones(from_hour, to_hour, [&](const dns::ZoneHour &z) {
        if (Qualifies(z, options)) hours[z.zone].push_back(z);
    });
    std::vector<DetectedEvent> events;
    for (auto &[zone, list] : hours) {
        std::vector<dns::ZoneHour> run;
        for (auto &z : list) {
            if (!run.empty() && z.hour - run.back().hour > options.gap + 1) {
                events.push_back(MakeEvent(run));
                run.clear();
            }
            run.push_back(std::move(z));
        }
        if (!run.empty()) events.push_back(MakeEvent(run));
    }
    std::sort(events.begin(), events.end(), [](const DetectedEvent &a, const DetectedEvent &b) {
        return a.start != b.start ? a.start < b.start : a.magnitude > b.magnitude;
    });
    return events;
}

}  // namespace darkscope::detect
