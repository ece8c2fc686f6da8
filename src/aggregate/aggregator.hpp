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
#include <vector>

#include "aggregate/dimension.hpp"
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
    void Observe(const DecodedPacket &pkt, const ClassifiedPacket &cp, SensorIndex sensor);
    void Merge(AggregateShard &&other);
    bool Empty() const { return tuples_.Empty() && sources_.Empty() && events_.Empty(); }
    size_t MemoryBytes() const;

    FlatMap<TupleKey, Traffic, TupleKeyHash> &Tuples() { return tuples_; }
    FlatMap<SourceDayKey, SourceDayStats, SourceDayKeyHash> &Sources() { return sources_; }
    FlatMap<EventKey, uint64_t, EventKeyHash> &Events() { return events_; }
    /// Destinations seen per (day, sensor), kept only for the implicit sensor, whose address count
    /// is the number of distinct destinations.
    std::map<std::pair<int32_t, SensorIndex>, SourceSet> &Destinations() { return destinations_; }
    void TrackDestinations(bool on) { track_destinations_ = on; }

private:
    FlatMap<TupleKey, Traffic, TupleKeyHash> tuples_{1 << 14};
    FlatMap<SourceDayKey, SourceDayStats, SourceDayKeyHash> sources_{1 << 14};
    FlatMap<EventKey, uint64_t, EventKeyHash> events_{64};
    std::map<std::pair<int32_t, SensorIndex>, SourceSet> destinations_;
    bool track_destinations_ = false;
    // The last destination set touched: consecutive packets to the same (day, sensor) skip the map.
    int32_t last_dest_day_ = INT32_MIN;
    SensorIndex last_dest_sensor_ = UNATTRIBUTED;
    SourceSet *last_dest_set_ = nullptr;
};

/// One counter row: packets, bytes and the exact sources of one (period, sensor, dimension, key).
struct CounterKey {
    int32_t period = 0;
    SensorIndex sensor = 0;
    Dimension dim = Dimension::TOTAL;
    uint32_t key = 0;
    friend bool operator==(const CounterKey &, const CounterKey &) = default;
};
struct CounterKeyHash {
    size_t operator()(const CounterKey &k) const noexcept {
        return size_t(Mix64(uint64_t(uint32_t(k.period)) << 32 | uint64_t(k.sensor) << 8 | uint8_t(k.dim)) ^
                      Mix64(k.key));
    }
};
struct CounterValue {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    SourceSet sources;
};
using CounterRows = FlatMap<CounterKey, CounterValue, CounterKeyHash>;

/// Derives hourly and daily counter rows from the shard's tuples and empties the tuple table.
/// Hourly rows go to `hourly` (fresh each call); daily rows accumulate in `daily` across calls.
void Rollup(AggregateShard &shard, CounterRows &hourly, CounterRows &daily);

}  // namespace darkscope
