#include "aggregate/aggregator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "aggregate/source_chunk.hpp"

namespace darkscope {
namespace {

constexpr TimestampNs DAY0 = int64_t(20075) * 86400 * NS_PER_SEC;

struct Packet {
    DecodedPacket pkt;
    ClassifiedPacket cp;
    SensorIndex sensor;
};

std::vector<Packet> RandomPackets(size_t n) {
    std::mt19937 rng(42);
    std::vector<Packet> out;
    for (size_t i = 0; i < n; ++i) {
        Packet p;
        p.pkt.ts = DAY0 + TimestampNs(rng() % (2 * 86400)) * NS_PER_SEC;  // two days
        p.pkt.wire_len = 60 + rng() % 40;
        p.pkt.ip_version = 4;
        p.pkt.src = IpAddress::V4(0x0A000000 + rng() % 500);
        p.pkt.dst = IpAddress::V4(0xC6336400 + rng() % 256);
        p.cp.service = ServiceKey::Make(ServiceKind::TCP, uint16_t(rng() % 50));
        p.cp.cls = rng() % 4 ? TrafficClass::SYN_PROBE : TrafficClass::SYNACK_BACKSCATTER;
        if (p.cp.cls == TrafficClass::SYNACK_BACKSCATTER) p.cp.source_port = ServiceKey::Make(ServiceKind::TCP, 80);
        if (rng() % 50 == 0) p.pkt.AddEvent(DecodeEvent::TCP_BAD_OPTIONS);
        p.sensor = SensorIndex(rng() % 3 == 0 ? UNATTRIBUTED : rng() % 2);
        out.push_back(p);
    }
    return out;
}

std::map<std::tuple<int32_t, SensorIndex, int, uint32_t>, std::tuple<uint64_t, uint64_t, std::vector<uint32_t>>>
Flatten(const CounterRows &rows) {
    std::map<std::tuple<int32_t, SensorIndex, int, uint32_t>, std::tuple<uint64_t, uint64_t, std::vector<uint32_t>>> out;
    for (auto &[k, segment] : rows)
        for (const auto r : segment.Rows())
            out[{k.period, k.sensor, int(k.dim), r.key}] = {r.packets, r.bytes, std::vector<uint32_t>(r.v4.begin(), r.v4.end())};
    return out;
}

}  // namespace

// The per-packet path is sharded by source across threads in a later stage: two shards that each saw
// part of the packets must, once merged, give exactly what one shard that saw all of them gives.
TEST(AggregateShard, ShardsBySourceMergeToTheSameCounts) {
    auto packets = RandomPackets(20000);
    AggregateShard whole, left, right;
    for (auto &p : packets) {
        whole.Observe(p.pkt, p.cp, p.sensor);
        (p.pkt.src.V4HostOrder() % 2 ? left : right).Observe(p.pkt, p.cp, p.sensor);
    }
    left.Merge(std::move(right));
    EXPECT_TRUE(right.Empty());

    uint64_t whole_sources = 0, merged_sources = 0;
    whole.Sources().ForEach([&](const SourceDayKey &, const SourceDayStats &s) { whole_sources += s.packets; });
    left.Sources().ForEach([&](const SourceDayKey &, const SourceDayStats &s) { merged_sources += s.packets; });
    EXPECT_EQ(whole.Sources().Size(), left.Sources().Size());
    EXPECT_EQ(whole_sources, merged_sources);
    uint64_t whole_events = 0, merged_events = 0;
    whole.Events().ForEach([&](const EventKey &, uint64_t n) { whole_events += n; });
    left.Events().ForEach([&](const EventKey &, uint64_t n) { merged_events += n; });
    EXPECT_EQ(whole_events, merged_events);
    EXPECT_GT(whole_events, 0u);

    CounterRows whole_hourly, merged_hourly;
    Rollup(whole, whole_hourly);
    Rollup(left, merged_hourly);
    EXPECT_EQ(Flatten(whole_hourly), Flatten(merged_hourly));
    std::set<std::tuple<int64_t, SensorIndex, Dimension>> days;
    for (const auto &[k, segment] : whole_hourly) days.insert({FloorDiv(k.period, 24), k.sensor, k.dim});
    // 2 days x 3 sensors (2 + unattributed) x 5 dimensions (total, service, class, srcport, class-srcport)
    EXPECT_EQ(days.size(), 3u * 2 * 5);
}

// The buffered records are flushed whenever the per-source records are asked for or the buffer is full,
// possibly in the middle of an hour: a flush part-way must merge into exactly what one flush gives.
TEST(AggregateShard, FlushingPartWayGivesTheSameRows) {
    auto packets = RandomPackets(20000);
    AggregateShard once, parts;
    for (size_t i = 0; i < packets.size(); ++i) {
        once.Observe(packets[i].pkt, packets[i].cp, packets[i].sensor);
        parts.Observe(packets[i].pkt, packets[i].cp, packets[i].sensor);
        if (i % 3000 == 0) parts.Flush();
    }
    std::map<std::tuple<int32_t, uint32_t>, std::tuple<uint64_t, uint64_t, TimestampNs, TimestampNs, uint64_t,
                                                       uint64_t, uint64_t>>
        once_sources, parts_sources;
    auto flatten_sources = [](AggregateShard &shard, auto &out) {
        shard.Sources().ForEach([&](const SourceDayKey &k, const SourceDayStats &s) {
            out[{k.day, IpAddress::V4FromBytes(k.src.data()).V4HostOrder()}] = {
                s.packets, s.bytes, s.first_ts, s.last_ts, s.destinations.Cardinality(), s.services.Cardinality(),
                s.sensors.Cardinality()};
        });
    };
    flatten_sources(once, once_sources);
    flatten_sources(parts, parts_sources);
    EXPECT_EQ(once_sources, parts_sources);
    CounterRows once_hourly, parts_hourly;
    Rollup(once, once_hourly);
    Rollup(parts, parts_hourly);
    EXPECT_EQ(Flatten(once_hourly), Flatten(parts_hourly));
    EXPECT_TRUE(once.Sources().Size() > 0 && !once_hourly.empty());
}

// How the store builds a day (Store::BuildDays): one UniteMany over the day's hourly segments must hold
// every key's packets summed and sources united.
TEST(AggregateShard, UniteManyOfADaysHoursIsTheirUnion) {
    auto packets = RandomPackets(5000);
    AggregateShard shard;
    for (auto &p : packets) shard.Observe(p.pkt, p.cp, p.sensor);
    CounterRows hourly;
    Rollup(shard, hourly);
    std::map<std::tuple<int32_t, SensorIndex, int, uint32_t>, std::pair<uint64_t, std::set<uint32_t>>> from_hours;
    std::map<std::tuple<int32_t, SensorIndex, int>, std::vector<Segment>> by_day;
    for (auto &[k, segment] : hourly) {
        const int32_t day = int32_t(FloorDiv(k.period, 24));
        for (const auto r : segment.Rows()) {
            auto &[packets_sum, sources] = from_hours[{day, k.sensor, int(k.dim), r.key}];
            packets_sum += r.packets;
            sources.insert(r.v4.begin(), r.v4.end());
        }
        by_day[{day, k.sensor, int(k.dim)}].push_back(segment);
    }
    size_t rows = 0;
    for (auto &[k, segments] : by_day) {
        EXPECT_GT(segments.size(), 1u);
        const Segment day = Segment::UniteMany(std::move(segments));
        EXPECT_TRUE(day.Packed());
        for (const auto r : day.Rows()) {
            const auto &[packets_sum, sources] = from_hours.at({std::get<0>(k), std::get<1>(k), std::get<2>(k), r.key});
            EXPECT_EQ(r.packets, packets_sum);
            EXPECT_EQ(std::vector<uint32_t>(sources.begin(), sources.end()), std::vector<uint32_t>(r.v4.begin(), r.v4.end()));
            ++rows;
        }
    }
    EXPECT_EQ(rows, from_hours.size());
}

// A scanner sends hundreds of packets an hour: its keys and destinations are grouped through a bitmap of their
// range when that range is small beside their count, and sorted otherwise. Both must count as a plain tally of
// the packets does: per hour, sensor, dimension and key, packets, bytes and sources; per source and day, the
// exact sets of destinations and services.
TEST(AggregateShard, BusySourcesCountAsAPlainTally) {
    std::mt19937 rng(7);
    std::vector<Packet> packets;
    constexpr TrafficClass classes[] = {TrafficClass::SYN_PROBE, TrafficClass::SYNACK_BACKSCATTER,
                                        TrafficClass::RSTACK_BACKSCATTER};
    // The telescope's /22 and a few ports (small ranges), or anywhere and any port of TCP or ICMP (wide ones).
    for (int hour = 0; hour < 3; ++hour) {
        for (uint32_t source = 0; source < 6; ++source) {
            const bool narrow = source % 2 == 0;
            const int count = source < 2 ? 400 : source < 4 ? 40 : 17;
            for (int i = 0; i < count; ++i) {
                Packet p;
                p.pkt.ts = DAY0 + TimestampNs(hour * 3600 + int(rng() % 3600)) * NS_PER_SEC;
                p.pkt.wire_len = 40 + rng() % 1400;
                p.pkt.ip_version = 4;
                p.pkt.src = IpAddress::V4(0xCB007100 + source);
                p.pkt.dst = IpAddress::V4(narrow ? 0xC6336400 + rng() % 1024 : uint32_t(rng()));
                const uint16_t port = uint16_t(narrow ? 20 + rng() % 8 * 1000 : rng());
                p.cp.service = narrow || rng() % 3 ? ServiceKey::Make(ServiceKind::TCP, port)
                                                   : ServiceKey::Make(ServiceKind::ICMP, uint16_t(rng() % 16));
                p.cp.cls = classes[rng() % 3];
                if (p.cp.cls != TrafficClass::SYN_PROBE)
                    p.cp.source_port = ServiceKey::Make(ServiceKind::TCP, uint16_t(narrow ? 80 + rng() % 4 : rng()));
                p.sensor = SensorIndex(rng() % 5 == 0 ? UNATTRIBUTED : rng() % 2);
                packets.push_back(p);
            }
        }
    }
    std::shuffle(packets.begin(), packets.end(), rng);  // the shard sorts them; the tally does not need to

    std::map<std::tuple<int32_t, SensorIndex, int, uint32_t>, std::tuple<uint64_t, uint64_t, std::set<uint32_t>>> tally;
    std::map<uint32_t, std::pair<std::set<uint32_t>, std::set<uint32_t>>> per_source;  // destinations, services
    AggregateShard shard;
    for (const Packet &p : packets) {
        shard.Observe(p.pkt, p.cp, p.sensor);
        const int32_t hour = int32_t(HourOf(p.pkt.ts));
        const uint32_t src = p.pkt.src.V4HostOrder();
        auto count = [&](Dimension dim, uint32_t key) {
            auto &[n, bytes, sources] = tally[{hour, p.sensor, int(dim), key}];
            ++n;
            bytes += p.pkt.wire_len;
            sources.insert(src);
        };
        count(Dimension::TOTAL, 0);
        count(Dimension::SERVICE, p.cp.service.packed);
        count(Dimension::CLASS, uint32_t(p.cp.cls));
        if (p.cp.source_port.packed != 0) {
            count(Dimension::SOURCE_PORT, p.cp.source_port.packed);
            count(Dimension::CLASS_SOURCE_PORT, ClassSourcePortKey(uint8_t(p.cp.cls), p.cp.source_port.packed));
        }
        if (p.sensor != UNATTRIBUTED) {
            per_source[src].first.insert(p.pkt.dst.V4HostOrder());
            per_source[src].second.insert(p.cp.service.packed);
        }
    }

    CounterRows hourly;
    Rollup(shard, hourly);
    std::map<std::tuple<int32_t, SensorIndex, int, uint32_t>, std::tuple<uint64_t, uint64_t, std::vector<uint32_t>>>
        expected;
    for (const auto &[k, v] : tally) {
        const auto &[n, bytes, sources] = v;
        expected[k] = {n, bytes, std::vector<uint32_t>(sources.begin(), sources.end())};
    }
    EXPECT_EQ(Flatten(hourly), expected);

    size_t sources_seen = 0;
    shard.Sources().ForEach([&](const SourceDayKey &k, const SourceDayStats &s) {
        const auto &[destinations, services] = per_source.at(IpAddress::V4FromBytes(k.src.data()).V4HostOrder());
        EXPECT_EQ(s.destinations.SortedValues(), std::vector<uint32_t>(destinations.begin(), destinations.end()));
        EXPECT_EQ(s.services.SortedValues(), std::vector<uint32_t>(services.begin(), services.end()));
        ++sources_seen;
    });
    EXPECT_EQ(sources_seen, per_source.size());
}

// A flush within one hour sorts the buffer bucket by bucket (by the sources' first four bits): sources in every
// bucket, buckets of every size the sort treats apart (one record, up to 32, 33, a single source, sources that
// differ in the low 10, 20 or 28 bits), packets without a source and IPv6 ones: every record is counted once, in
// one flush or in several.
TEST(AggregateShard, EveryBucketOfAnHoursSourcesIsCounted) {
    std::mt19937 rng(11);
    std::vector<uint32_t> sources = {0x01020304};
    for (uint32_t i = 0; i < 32; ++i)
        sources.push_back(0x10000000 + i * 97);
    for (uint32_t i = 0; i < 33; ++i)
        sources.push_back(0x20000000 + i * 7 % 33);
    for (int i = 0; i < 200; ++i)
        sources.push_back(0x30000001);
    for (int i = 0; i < 500; ++i)
        sources.push_back(0x40000000 + rng() % (1u << 20));
    for (int i = 0; i < 2000; ++i)
        sources.push_back(0xC0000000 + rng() % (1u << 28));
    for (int i = 0; i < 40; ++i)
        sources.push_back(i % 2 ? 0xFFFFFFFF : 0xF0000000);
    for (uint32_t b = 5; b < 12; ++b)
        for (int i = 0; i < 60; ++i)
            sources.push_back(b << 28 | (rng() % 4096) << 8);
    std::vector<Packet> packets;
    for (const uint32_t src : sources) {
        Packet p;
        p.pkt.ts = DAY0 + TimestampNs(rng() % 3600) * NS_PER_SEC + TimestampNs(rng() % NS_PER_SEC);
        p.pkt.wire_len = 40 + rng() % 1400;
        p.pkt.ip_version = 4;
        p.pkt.src = IpAddress::V4(src);
        p.pkt.dst = IpAddress::V4(0xC6336400 + rng() % 1024);
        p.cp.service = ServiceKey::Make(ServiceKind::TCP, uint16_t(rng() % 6));
        p.cp.cls = rng() % 4 ? TrafficClass::SYN_PROBE : TrafficClass::SYNACK_BACKSCATTER;
        p.sensor = SensorIndex(rng() % 5 == 0 ? UNATTRIBUTED : rng() % 2);
        packets.push_back(p);
    }
    for (int i = 0; i < 150; ++i) {  // without a source, and from IPv6 sources
        Packet p = packets[rng() % packets.size()];
        p.pkt.src = IpAddress();
        if (i % 3) {
            Ipv6Bytes a{0x20, 0x01, 0x0d, 0xb8};
            a[15] = uint8_t(rng() % 10);
            p.pkt.src = IpAddress::V6FromBytes(a.data());
        }
        packets.push_back(p);
    }
    std::shuffle(packets.begin(), packets.end(), rng);

    std::map<std::tuple<int32_t, SensorIndex, int, uint32_t>, std::tuple<uint64_t, uint64_t, std::set<uint32_t>>> tally;
    std::map<uint32_t, std::tuple<uint64_t, TimestampNs, TimestampNs>> per_source;  // packets, first and last seen
    std::map<uint32_t, std::pair<std::set<uint32_t>, std::set<uint32_t>>> per_source_sets;  // destinations, services
    for (const Packet &p : packets) {
        const int32_t hour = int32_t(HourOf(p.pkt.ts));
        auto count = [&](Dimension dim, uint32_t key) {
            auto &[n, bytes, v4] = tally[{hour, p.sensor, int(dim), key}];
            ++n;
            bytes += p.pkt.wire_len;
            if (p.pkt.src.IsV4()) v4.insert(p.pkt.src.V4HostOrder());
        };
        count(Dimension::TOTAL, 0);
        count(Dimension::SERVICE, p.cp.service.packed);
        count(Dimension::CLASS, uint32_t(p.cp.cls));
        if (!p.pkt.src.IsV4() || p.sensor == UNATTRIBUTED) continue;
        auto [it, fresh] = per_source.try_emplace(p.pkt.src.V4HostOrder(), 0, p.pkt.ts, p.pkt.ts);
        auto &[n, first, last] = it->second;
        ++n;
        first = std::min(first, p.pkt.ts);
        last = std::max(last, p.pkt.ts);
        per_source_sets[p.pkt.src.V4HostOrder()].first.insert(p.pkt.dst.V4HostOrder());
        per_source_sets[p.pkt.src.V4HostOrder()].second.insert(p.cp.service.packed);
    }
    std::map<std::tuple<int32_t, SensorIndex, int, uint32_t>, std::tuple<uint64_t, uint64_t, std::vector<uint32_t>>>
        expected;
    for (const auto &[k, v] : tally) {
        const auto &[n, bytes, v4] = v;
        expected[k] = {n, bytes, std::vector<uint32_t>(v4.begin(), v4.end())};
    }
    for (const size_t flush_limit : {size_t(0), size_t(1024)}) {
        AggregateShard shard;
        if (flush_limit) shard.SetFlushLimit(flush_limit);
        for (const Packet &p : packets)
            shard.Observe(p.pkt, p.cp, p.sensor);
        CounterRows hourly;
        Rollup(shard, hourly);
        std::erase_if(hourly, [](const auto &row) {
            return row.first.dim != Dimension::TOTAL && row.first.dim != Dimension::SERVICE &&
                   row.first.dim != Dimension::CLASS;
        });
        EXPECT_EQ(Flatten(hourly), expected) << "flush limit " << flush_limit;
        size_t v4_sources = 0;
        shard.Sources().ForEach([&](const SourceDayKey &k, const SourceDayStats &s) {
            if (k.family != 4) return;
            ++v4_sources;
            const uint32_t src = IpAddress::V4FromBytes(k.src.data()).V4HostOrder();
            const auto &[n, first, last] = per_source.at(src);
            EXPECT_EQ(std::tuple(s.packets, s.first_ts, s.last_ts), std::tuple(n, first, last));
            // The hour's thousands of sources are applied to the table in chunks, each with its own values.
            const auto &[destinations, services] = per_source_sets.at(src);
            EXPECT_EQ(s.destinations.SortedValues(), std::vector<uint32_t>(destinations.begin(), destinations.end()));
            EXPECT_EQ(s.services.SortedValues(), std::vector<uint32_t>(services.begin(), services.end()));
        });
        EXPECT_EQ(v4_sources, per_source.size()) << "flush limit " << flush_limit;
    }
}

// IPv6 sources first seen in an order other than their addresses', beside IPv4 ones and packets without a
// source, to several sensors: every row lists its IPv6 sources in the bytes' order, once each, and each
// source's record has its packets.
TEST(AggregateShard, Ipv6SourcesComeOutInAddressOrder) {
    std::mt19937 rng(9);
    std::vector<Packet> packets;
    for (int i = 0; i < 3000; ++i) {
        Packet p;
        p.pkt.ts = DAY0 + TimestampNs(rng() % 7200) * NS_PER_SEC;
        p.pkt.wire_len = 60 + rng() % 40;
        const int family = rng() % 5;
        if (family < 3) {
            Ipv6Bytes a{0x20, 0x01, 0x0d, 0xb8};
            a[4] = uint8_t(rng() % 2 ? 0xff : 0x00);  // high bytes that differ, so that byte order matters
            a[15] = uint8_t(rng() % 64);
            p.pkt.ip_version = 6;
            p.pkt.src = IpAddress::V6FromBytes(a.data());
            p.pkt.dst = *IpAddress::Parse("2001:db8:ffff::1");
        } else {
            p.pkt.ip_version = 4;
            if (family == 3) p.pkt.src = IpAddress::V4(0x0A000000 + rng() % 50);
            p.pkt.dst = IpAddress::V4(0xC6336400 + rng() % 256);
        }
        p.cp.service = ServiceKey::Make(ServiceKind::TCP, uint16_t(rng() % 4));
        p.cp.cls = TrafficClass::SYN_PROBE;
        p.sensor = SensorIndex(rng() % 4 == 0 ? UNATTRIBUTED : rng() % 2);
        packets.push_back(p);
    }
    std::map<std::tuple<int32_t, SensorIndex, int, uint32_t>, std::pair<uint64_t, std::set<Ipv6Bytes>>> want;
    std::map<Ipv6Bytes, uint64_t> source_packets;
    AggregateShard shard;
    shard.SetFlushLimit(700);  // several flushes, each with its own first-seen order
    for (const Packet &p : packets) {
        shard.Observe(p.pkt, p.cp, p.sensor);
        if (!p.pkt.src.IsV6()) continue;
        const int32_t hour = int32_t(HourOf(p.pkt.ts));
        for (auto [dim, key] : {std::pair(Dimension::TOTAL, 0u), std::pair(Dimension::SERVICE, p.cp.service.packed)}) {
            auto &[n, sources] = want[{hour, p.sensor, int(dim), key}];
            ++n;
            sources.insert(p.pkt.src.bytes);
        }
        if (p.sensor != UNATTRIBUTED) ++source_packets[p.pkt.src.bytes];
    }
    CounterRows hourly;
    Rollup(shard, hourly);
    size_t rows = 0;
    for (auto &[k, segment] : hourly) {
        if (k.dim != Dimension::TOTAL && k.dim != Dimension::SERVICE) continue;
        for (const auto r : segment.Rows()) {
            const auto it = want.find({k.period, k.sensor, int(k.dim), r.key});
            if (it == want.end()) {
                EXPECT_TRUE(r.v6.empty());
                continue;
            }
            ++rows;
            const std::set<Ipv6Bytes> &sources = it->second.second;
            EXPECT_TRUE(std::equal(r.v6.begin(), r.v6.end(), sources.begin(), sources.end()))
                << "hour " << k.period << " sensor " << k.sensor << " key " << r.key;
        }
    }
    EXPECT_EQ(rows, want.size());
    size_t v6_sources = 0;
    shard.Sources().ForEach([&](const SourceDayKey &k, const SourceDayStats &s) {
        if (k.family != 6) return;
        ++v6_sources;
        EXPECT_EQ(s.packets, source_packets.at(k.src));
    });
    EXPECT_EQ(v6_sources, source_packets.size());
}

// The chunks come straight from the table: each must be, byte for byte, what EncodeSourceChunk makes of its
// bucket's records. IPv4 sources in many /8s, IPv6 ones in several buckets, a day before 1970 and one after,
// sensor ids that sort otherwise than their indexes, and sources with sets in every form.
TEST(ToSourceChunks, EncodesEachBucketAsEncodeSourceChunkDoes) {
    std::mt19937 rng(21);
    AggregateShard shard;
    constexpr TimestampNs DAYS[] = {-TimestampNs(3) * 86400 * NS_PER_SEC + 5, DAY0 + 7};
    for (int i = 0; i < 20000; ++i) {
        Packet p;
        p.pkt.ts = DAYS[rng() % 2] + TimestampNs(rng() % 86000) * NS_PER_SEC;
        p.pkt.wire_len = 60 + rng() % 40;
        const uint32_t busy = rng() % 8;  // a few busy sources (their sets turn into bits or bitmaps)
        if (rng() % 4 == 0) {
            Ipv6Bytes a{0x20, 0x01, 0x0d, 0xb8};
            a[5] = uint8_t(rng() % 7);
            a[15] = uint8_t(busy == 0 ? 1 : rng());
            p.pkt.ip_version = 6;
            p.pkt.src = IpAddress::V6FromBytes(a.data());
            p.pkt.dst = *IpAddress::Parse("2001:db8:ffff::1");
        } else {
            p.pkt.ip_version = 4;
            p.pkt.src = IpAddress::V4(busy == 0 ? 0xC0000201 : uint32_t(rng() % 40) << 24 | rng() % 300);
            p.pkt.dst = IpAddress::V4(0xC6336000 + (busy == 0 ? rng() % 4096 : rng() % 16));
        }
        p.cp.service = ServiceKey::Make(ServiceKind::TCP, uint16_t(rng() % (busy == 0 ? 3000 : 3)));
        p.cp.cls = TrafficClass::SYN_PROBE;
        p.cp.fingerprints = uint8_t(rng() % 4);
        p.sensor = SensorIndex(rng() % 6 == 0 ? UNATTRIBUTED : rng() % 3);
        shard.Observe(p.pkt, p.cp, p.sensor);
    }
    const std::vector<int64_t> ids = {30, 10, 20};
    shard.Flush();
    // The reference: the table's records as SourceDays, by (day, bucket), through EncodeSourceChunk.
    std::map<std::pair<int32_t, uint16_t>, std::vector<SourceDay>> by_chunk;
    size_t busy_forms = 0;
    shard.Sources().ForEach([&](const SourceDayKey &k, const SourceDayStats &v) {
        SourceDay d;
        static_cast<SourceDayCounts &>(d) = SourceDayCountsOf(k, v);
        d.destinations = v.destinations.SortedValues();
        d.services = v.services.SortedValues();
        for (uint32_t index : v.sensors.SortedValues())
            d.sensors.push_back(uint32_t(ids.at(index)));
        std::sort(d.sensors.begin(), d.sensors.end());
        busy_forms +=
            v.destinations.HeldAs() == SmallU32Set::Form::DENSE || v.services.HeldAs() == SmallU32Set::Form::BITMAP;
        by_chunk[{k.day, SourceBucket(d.src)}].push_back(std::move(d));
    });
    EXPECT_GE(busy_forms, 2u);
    EXPECT_GE(by_chunk.size(), 60u);
    const SourceChunks chunks = ToSourceChunks(shard.Sources(), ids);
    ASSERT_EQ(chunks.size(), by_chunk.size());
    for (auto &[key, records] : by_chunk) {
        SCOPED_TRACE(testing::Message() << "day " << key.first << " bucket " << key.second);
        ASSERT_EQ(chunks.count(key), 1u);
        ASSERT_EQ(chunks.at(key).size(), 1u);
        EXPECT_EQ(chunks.at(key)[0], EncodeSourceChunk(records));
    }
}

}  // namespace darkscope
