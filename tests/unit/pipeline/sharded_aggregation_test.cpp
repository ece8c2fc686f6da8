#include "pipeline/sharded_aggregation.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>

#include "../enrich/test_enrichment.hpp"
#include "detect/stream.hpp"

namespace darkscope {
namespace {

constexpr TimestampNs DAY0 = int64_t(20075) * 86400 * NS_PER_SEC;

// Three days in time order (hours close as they would in a capture), IPv4 and IPv6 sources, three
// sensors and unattributed packets, some with decode events.
std::vector<Observation> Packets(size_t n) {
    std::mt19937 rng(7);
    std::vector<Observation> out;
    for (size_t i = 0; i < n; ++i) {
        Observation o;
        o.ts = DAY0 + TimestampNs(i * (3 * 86400) / n) * NS_PER_SEC;
        o.wire_len = 60 + rng() % 100;
        if (rng() % 10 == 0) {
            IpAddress a = *IpAddress::Parse("2001:db8::1");
            a.bytes[15] = uint8_t(rng() % 64);
            o.src = a;
            o.dst = *IpAddress::Parse("2001:db8:ffff::1");
        } else {
            o.src = IpAddress::V4(0x0A000000 + rng() % 3000);
            o.dst = IpAddress::V4(0xC6336400 + rng() % 256);
        }
        o.cp.service = ServiceKey::Make(ServiceKind::TCP, uint16_t(rng() % 300));
        o.cp.cls = rng() % 4 ? TrafficClass::SYN_PROBE : TrafficClass::SYNACK_BACKSCATTER;
        if (o.cp.cls == TrafficClass::SYNACK_BACKSCATTER)
            o.cp.source_port = ServiceKey::Make(ServiceKind::TCP, uint16_t(80 + rng() % 3));
        if (rng() % 40 == 0) o.events = uint64_t(1) << int(DecodeEvent::TCP_BAD_OPTIONS);
        o.sensor = SensorIndex(rng() % 5 == 0 ? UNATTRIBUTED : rng() % 3);
        if (rng() % 20 == 0) {  // signature hits: one or two sids, their categories
            o.signatures.count = uint8_t(1 + rng() % 2);
            for (int k = 0; k < o.signatures.count; ++k) o.signatures.sids[k] = 9200000 + uint32_t(rng() % 5) * 2 + k;
            o.signatures.categories = uint8_t(1u << (1 + rng() % 7));
        }
        out.push_back(o);
    }
    return out;
}

// Observes the packets in order, closing hours (and days) as ingest does, then finishes.
void Feed(ShardedAggregation &aggregation, const std::vector<Observation> &packets, const ShardedAggregation::Sink &sink) {
    int64_t open_hour = HourOf(packets.front().ts);
    for (const Observation &o : packets) {
        const int64_t hour = HourOf(o.ts);
        if (hour > open_hour) {
            aggregation.Close(FloorDiv(hour, 24) != FloorDiv(open_hour, 24), sink);
            open_hour = hour;
        }
        aggregation.Observe(o);
    }
    aggregation.Finish(sink);
}

// Everything the workers handed back, in a form that compares exactly: encoded segments and chunks.
struct Collected {
    std::map<std::tuple<int, int32_t, SensorIndex, int>, std::string> segments;  // (daily?, period, sensor, dim)
    std::map<std::pair<int32_t, uint16_t>, std::string> chunks;
    std::map<std::tuple<int32_t, SensorIndex, uint8_t>, uint64_t> events;
    std::map<std::pair<int32_t, SensorIndex>, uint64_t> destinations;
    int closes = 0, day_closes = 0;
};

Collected Aggregate(unsigned workers, const std::vector<Observation> &packets, const Enrichment *enrichment = nullptr) {
    Collected c;
    auto sink = [&](ClosedInterval &&closed) {
        closed.UniteHourly();
        ++c.closes;
        c.day_closes += closed.day_closed;
        for (auto &[k, segment] : closed.hourly) {
            std::string &slot = c.segments[{0, k.period, k.sensor, int(k.dim)}];
            EXPECT_TRUE(slot.empty()) << "a period handed back twice";
            slot = segment.Encode();
        }
        // However many workers split a bucket, its records joined are the same.
        for (auto &[k, parts] : closed.sources) {
            std::vector<SourceDay> records;
            for (const std::string &p : parts) records = MergeSourceChunks(std::move(records), *DecodeSourceChunk(p));
            c.chunks[k] = EncodeSourceChunk(records);
        }
        closed.events.ForEach([&](const EventKey &k, uint64_t n) { c.events[{k.hour, k.sensor, k.event}] += n; });
        for (auto &[k, set] : closed.destinations) c.destinations[k] += set.Cardinality();
    };
    ShardedAggregation aggregation(workers, /*track_destinations=*/true, {11, 12, 13}, enrichment);
    Feed(aggregation, packets, sink);
    return c;
}

}  // namespace

// Sources are sharded across workers, so the counts must not depend on how many there are.
TEST(ShardedAggregation, CountsDoNotDependOnTheNumberOfWorkers) {
    const auto packets = Packets(60000);
    const Collected inline_run = Aggregate(0, packets);
    EXPECT_EQ(inline_run.day_closes, 3);
    EXPECT_EQ(inline_run.closes, 72);
    EXPECT_EQ(inline_run.segments.size() > 72 * 4, true);
    EXPECT_FALSE(inline_run.chunks.empty());
    EXPECT_FALSE(inline_run.events.empty());
    for (unsigned workers : {1u, 2u, 5u}) {
        SCOPED_TRACE(workers);
        const Collected threaded = Aggregate(workers, packets);
        EXPECT_EQ(threaded.closes, inline_run.closes);
        EXPECT_EQ(threaded.day_closes, inline_run.day_closes);
        EXPECT_TRUE(threaded.segments == inline_run.segments);
        EXPECT_TRUE(threaded.chunks == inline_run.chunks);
        EXPECT_EQ(threaded.events, inline_run.events);
        EXPECT_EQ(threaded.destinations, inline_run.destinations);
    }
}

// Country, AS and research dimensions are derived per source on the workers, each with its own
// cache over one shared enrichment: the counts must still not depend on the number of workers.
TEST(ShardedAggregation, EnrichedCountsDoNotDependOnTheNumberOfWorkers) {
    auto packets = Packets(60000);
    for (Observation &o : packets)  // out of 10/8 (special-purpose: never enriched) into 93.184/16
        if (o.src.IsV4()) o.src = IpAddress::V4(o.src.V4HostOrder() - 0x0A000000 + 0x5DB80000);
    auto enrichment = testing::SmallEnrichment();
    const Collected inline_run = Aggregate(0, packets, enrichment.get());
    std::set<int> dims;
    for (auto &[k, v] : inline_run.segments) dims.insert(std::get<3>(k));
    // 7-10: signature hits (9, 10 by country); 11, 12: class by country and by source port; 32 + d: the research
    // mirrors of all thirteen
    EXPECT_EQ(dims, (std::set<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44}));
    for (unsigned workers : {2u, 5u}) {
        SCOPED_TRACE(workers);
        const Collected threaded = Aggregate(workers, packets, enrichment.get());
        EXPECT_TRUE(threaded.segments == inline_run.segments);
        EXPECT_TRUE(threaded.chunks == inline_run.chunks);
    }
}

// A close with nothing observed since the previous one hands back an empty interval, not a stale one.
TEST(ShardedAggregation, EmptyIntervalsAreEmpty) {
    for (unsigned workers : {0u, 2u}) {
        ShardedAggregation aggregation(workers, false, {1});
        std::vector<ClosedInterval> got;
        auto sink = [&](ClosedInterval &&c) {
            c.UniteHourly();
            got.push_back(std::move(c));
        };
        Observation o;
        o.ts = DAY0;
        o.src = IpAddress::V4(0x0A000001);
        o.dst = IpAddress::V4(0xC6336401);
        o.sensor = 0;
        o.cp.service = ServiceKey::Make(ServiceKind::TCP, 23);
        aggregation.Observe(o);
        aggregation.Close(false, sink);
        aggregation.Close(true, sink);
        aggregation.Finish(sink);
        ASSERT_EQ(got.size(), 3u);
        EXPECT_FALSE(got[0].hourly.empty());
        EXPECT_TRUE(got[1].hourly.empty());
        EXPECT_TRUE(got[1].day_closed);
        EXPECT_EQ(got[1].sources.size(), 1u);  // the day's one source, handed over at the day close
        EXPECT_FALSE(got[1].end_of_file);
        EXPECT_TRUE(got[2].sources.empty());
        EXPECT_TRUE(got[2].end_of_file);
    }
}

}  // namespace darkscope

namespace darkscope {
namespace {

// Scanners and DoS victims among the background of Packets(): what the stream detectors must find.
std::vector<Observation> PacketsWithEvents() {
    std::vector<Observation> out = Packets(60000);
    std::mt19937 rng(11);
    for (uint32_t scanner = 0; scanner < 5; ++scanner)
        for (int i = 0; i < 300; ++i) {
            Observation o;
            o.ts = DAY0 + TimestampNs(3600 + scanner * 7200 + i) * NS_PER_SEC;
            o.src = IpAddress::V4(0xCB007100 + scanner);
            o.dst = IpAddress::V4(0xC6336400 + rng() % 256);
            o.cp.service = ServiceKey::Make(ServiceKind::TCP, 23);
            o.cp.cls = TrafficClass::SYN_PROBE;
            o.sensor = SensorIndex(rng() % 3);
            o.wire_len = 60;
            out.push_back(o);
        }
    for (uint32_t victim = 0; victim < 2; ++victim)
        for (int i = 0; i < 200; ++i) {
            Observation o;
            o.ts = DAY0 + TimestampNs(50000 + victim * 3600) * NS_PER_SEC + TimestampNs(i) * NS_PER_SEC / 2;
            o.src = IpAddress::V4(0xCB007200 + victim);
            o.dst = IpAddress::V4(0xC6336400 + rng() % 256);
            o.cp.service = ServiceKey::Make(ServiceKind::TCP, uint16_t(40000 + i));
            o.cp.source_port = ServiceKey::Make(ServiceKind::TCP, 6667);
            o.cp.cls = TrafficClass::SYNACK_BACKSCATTER;
            o.sensor = SensorIndex(rng() % 3);
            o.wire_len = 60;
            out.push_back(o);
        }
    std::stable_sort(out.begin(), out.end(), [](const Observation &a, const Observation &b) { return a.ts < b.ts; });
    return out;
}

std::vector<std::string> Detections(unsigned workers, const std::vector<Observation> &packets) {
    std::vector<detect::StreamDetectors> detectors;
    for (unsigned i = 0; i < std::max(1u, workers); ++i)
        detectors.emplace_back(detect::StreamOptions{}, std::vector<std::string>{"a", "b", "c"}, nullptr);
    std::vector<std::string> out;
    auto sink = [&](ClosedInterval &&closed) {
        for (auto &e : closed.detections) out.push_back(detect::ToJson(e).dump());
    };
    {
        ShardedAggregation aggregation(workers, false, {11, 12, 13});
        aggregation.SetDetectors(detectors);
        Feed(aggregation, packets, sink);
    }
    for (auto &d : detectors) {
        d.Finish();
        for (auto &e : d.TakeEvents()) out.push_back(detect::ToJson(e).dump());
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

// Each source's packets reach one worker in order, so the detectors find the same events however many
// workers share the sources.
TEST(ShardedAggregation, DetectionsDoNotDependOnTheNumberOfWorkers) {
    const auto packets = PacketsWithEvents();
    const auto inline_events = Detections(0, packets);
    size_t scans = 0, attacks = 0;
    for (const auto &e : inline_events) {
        scans += e.find("\"kind\":\"scan\"") != std::string::npos && e.find("203.0.113.") != std::string::npos;
        attacks += e.find("\"kind\":\"backscatter\"") != std::string::npos;
    }
    EXPECT_EQ(scans, 5u);
    EXPECT_EQ(attacks, 2u);
    EXPECT_EQ(Detections(1, packets), inline_events);
    EXPECT_EQ(Detections(3, packets), inline_events);
}

}  // namespace darkscope
