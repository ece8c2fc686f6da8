#pragma once
/// Aggregation of classified packets into hourly and daily counters with exact unique sources,
/// and per-source daily statistics.
///
/// The per-packet path (AggregateShard::Observe) does two hash-table updates and nothing else:
/// one on the (hour, sensor, source, service, class, source port) tuple, one on the (day, source)
/// record. Everything a report needs - per-dimension packets, bytes and unique sources - is derived
/// from the tuples when an interval ends (Rollup), so memory grows with distinct tuples, that is
/// with distinct sources, never with packets. A shard is owned by one thread; shards Merge at
/// interval ends, which is what makes the path shardable by source address without locks.

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "aggregate/dimension.hpp"
#include "aggregate/segment.hpp"
#include "aggregate/source_set.hpp"
#include "classify/classifier.hpp"
#include "classify/sensors.hpp"
#include "common/flat_map.hpp"
#include "decode/decoded_packet.hpp"

namespace darkscope {

struct TupleKey {
    int32_t hour = 0;
    SensorIndex sensor = 0;
    uint8_t cls = 0;
    uint8_t family = 0;
    uint32_t service = 0;
    uint32_t source_port = 0;
    std::array<uint8_t, 16> src{};
    friend bool operator==(const TupleKey &, const TupleKey &) = default;
};
struct TupleKeyHash {
    size_t operator()(const TupleKey &k) const noexcept;
};
struct Traffic {
    uint64_t packets = 0;
    uint64_t bytes = 0;
};

struct SourceDayKey {
    int32_t day = 0;
    uint8_t family = 0;
    std::array<uint8_t, 16> src{};
    friend bool operator==(const SourceDayKey &, const SourceDayKey &) = default;
};
struct SourceDayKeyHash {
    size_t operator()(const SourceDayKey &k) const noexcept;
};

/// What one source did on one day, over every sensor.
struct SourceDayStats {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    TimestampNs first_ts = 0;
    TimestampNs last_ts = 0;
    SmallU32Set destinations;  // IPv4 host order; IPv6 destinations folded to 32 bits (docs/store.md)
    SmallU32Set services;      // ServiceKey::packed
    SmallU32Set sensors;       // SensorIndex

    void Merge(SourceDayStats &&other);
    /// Mean gap between consecutive packets: the gaps telescope to (last - first) / (packets - 1),
    /// which is why this merges exactly across files and shards.
    double MeanInterArrivalSeconds() const {
        return packets > 1 ? double(last_ts - first_ts) / 1e9 / double(packets - 1) : 0.0;
    }
};

/// Event counters share one table: decode events by their DecodeEvent number, and classification
/// events numbered above any decode event.
constexpr uint8_t EVENT_DNS_BY_PORT = 64;
/// "decode.ipv4.truncated", "classify.dns.by_port", ...
std::string_view EventName(uint8_t event);

struct EventKey {
    int32_t hour = 0;
    SensorIndex sensor = 0;
    uint8_t event = 0;
    friend bool operator==(const EventKey &, const EventKey &) = default;
};
struct EventKeyHash {
    size_t operator()(const EventKey &k) const noexcept;
};

/// Per-thread aggregation state.
class AggregateShard {
public:
    void Observe(const DecodedPacket &pkt, const ClassifiedPacket &cp, SensorIndex sensor) {
        ObserveBatch({&pkt, 1}, {&cp, 1}, {&sensor, 1});
    }
    /// Observes up to MAX_BATCH packets at once, prefetching their table entries first.
    static constexpr size_t MAX_BATCH = 16;
    void ObserveBatch(std::span<const DecodedPacket> pkts, std::span<const ClassifiedPacket> cps,
                      std::span<const SensorIndex> sensors);
    void Merge(AggregateShard &&other);
    bool Empty() const { return tuples_.Empty() && sources_.Empty() && events_.Empty(); }

    FlatMap<TupleKey, Traffic, TupleKeyHash> &Tuples() { return tuples_; }
    /// The per-source records, with every destination seen so far applied.
    FlatMap<SourceDayKey, SourceDayStats, SourceDayKeyHash> &Sources() {
        ApplyDestinations();
        return sources_;
    }
    FlatMap<EventKey, uint64_t, EventKeyHash> &Events() { return events_; }
    /// Destinations seen per (day, sensor), kept only for the implicit sensor, whose address count
    /// is the number of distinct destinations; hands them over and forgets them.
    std::map<std::pair<int32_t, SensorIndex>, SourceSet> TakeDestinations();
    void TrackDestinations(bool on) { track_destinations_ = on; }

private:
    FlatMap<TupleKey, Traffic, TupleKeyHash> tuples_{1 << 14};
    FlatMap<SourceDayKey, SourceDayStats, SourceDayKeyHash> sources_{1 << 14};
    FlatMap<EventKey, uint64_t, EventKeyHash> events_{64};
    // A hash set, not a bitmap, while packets arrive: a telescope's few thousand destinations stay
    // in cache, and every packet checks one.
    struct U32Hash {
        size_t operator()(uint32_t v) const noexcept { return size_t(Mix64(v)); }
    };
    struct DestinationSet {
        FlatMap<uint32_t, uint8_t, U32Hash> v4{256};
        SourceSet v6;
    };
    std::map<std::pair<int32_t, SensorIndex>, DestinationSet> destinations_;
    bool track_destinations_ = false;
    // (source entry index << 32 | destination key or service) of every attributed packet since the
    // last apply: appended in order, then sorted and applied per source in bulk. Adding to a source's
    // set per packet was a cache miss per packet once a scanner's set had spilled to a bitmap.
    std::vector<uint64_t> pending_destinations_;
    std::vector<uint64_t> pending_services_;
    static constexpr size_t PENDING_LIMIT = size_t(1) << 21;  // 16 MiB each
    void ApplyDestinations();
    // The last destination set touched: consecutive packets to the same (day, sensor) skip the map.
    int32_t last_dest_day_ = INT32_MIN;
    SensorIndex last_dest_sensor_ = UNATTRIBUTED;
    DestinationSet *last_dest_set_ = nullptr;
};

/// Counter segments by (period, sensor, dimension): the period is an hour or a day number.
struct CounterKey {
    int32_t period = 0;
    SensorIndex sensor = 0;
    Dimension dim = Dimension::TOTAL;
    friend auto operator<=>(const CounterKey &, const CounterKey &) = default;
};
using CounterRows = std::map<CounterKey, Segment>;

/// Derives the hourly segments from the shard's tuples and empties the tuple table. `hourly` is
/// filled afresh; the same rows are also merged into `daily`, which accumulates until a day closes.
void Rollup(AggregateShard &shard, CounterRows &hourly, CounterRows &daily);

}  // namespace darkscope
