#include "aggregate/aggregator.hpp"

#include <cstring>

namespace darkscope {
namespace {

uint64_t HashBytes16(const std::array<uint8_t, 16> &b) {
    uint64_t lo, hi;
    std::memcpy(&lo, b.data(), 8);
    std::memcpy(&hi, b.data() + 8, 8);
    return Mix64(lo ^ Mix64(hi));
}

// IPv6 destinations are folded to 32 bits for the per-source distinct-destination count.
uint32_t DestinationKey(const IpAddress &dst) {
    if (dst.IsV4()) return dst.V4HostOrder();
    return uint32_t(HashBytes16(dst.bytes));
}

}  // namespace

std::string_view EventName(uint8_t event) {
    if (event == EVENT_DNS_BY_PORT) return "classify.dns.by_port";
    if (event < uint8_t(DecodeEvent::COUNT)) return DecodeEventName(DecodeEvent(event));
    return "unknown";
}

size_t TupleKeyHash::operator()(const TupleKey &k) const noexcept {
    uint64_t a = uint64_t(uint32_t(k.hour)) << 32 | uint64_t(k.sensor) << 16 | uint64_t(k.cls) << 8 | k.family;
    uint64_t b = uint64_t(k.service) << 32 | k.source_port;
    return size_t(Mix64(a ^ Mix64(b ^ HashBytes16(k.src))));
}
size_t SourceDayKeyHash::operator()(const SourceDayKey &k) const noexcept {
    return size_t(Mix64((uint64_t(uint32_t(k.day)) << 8 | k.family) ^ HashBytes16(k.src)));
}
size_t EventKeyHash::operator()(const EventKey &k) const noexcept {
    return size_t(Mix64(uint64_t(uint32_t(k.hour)) << 32 | uint64_t(k.sensor) << 8 | k.event));
}

void SourceDayStats::Merge(SourceDayStats &&other) {
    if (other.packets == 0) return;
    if (packets == 0 || other.first_ts < first_ts) first_ts = other.first_ts;
    if (packets == 0 || other.last_ts > last_ts) last_ts = other.last_ts;
    packets += other.packets;
    bytes += other.bytes;
    destinations.Merge(other.destinations);
    services.Merge(other.services);
    sensors.Merge(other.sensors);
}

void AggregateShard::Observe(const DecodedPacket &pkt, const ClassifiedPacket &cp, SensorIndex sensor) {
    const int64_t hour = HourOf(pkt.ts);
    TupleKey key;
    key.hour = int32_t(hour);
    key.sensor = sensor;
    key.cls = uint8_t(cp.cls);
    key.family = pkt.src.family;
    key.service = cp.service.packed;
    key.source_port = cp.source_port.packed;
    key.src = pkt.src.bytes;
    Traffic &t = tuples_[key];
    t.packets += 1;
    t.bytes += pkt.wire_len;

    if (pkt.events != 0) {
        uint64_t bits = pkt.events;
        while (bits) {
            int e = __builtin_ctzll(bits);
            bits &= bits - 1;
            events_[EventKey{int32_t(hour), sensor, uint8_t(e)}] += 1;
        }
    }
    if (cp.dns == DnsVerdict::BY_PORT) events_[EventKey{int32_t(hour), sensor, EVENT_DNS_BY_PORT}] += 1;
    // Per-source statistics describe darknet traffic: packets to no sensor, or without a source,
    // are left out (they are still in the tuples, under UNATTRIBUTED).
    if (sensor == UNATTRIBUTED || !pkt.src.Valid()) return;

    const int32_t day = int32_t(FloorDiv(hour, 24));
    SourceDayStats &s = sources_[SourceDayKey{day, pkt.src.family, pkt.src.bytes}];
    if (s.packets == 0 || pkt.ts < s.first_ts) s.first_ts = pkt.ts;
    if (s.packets == 0 || pkt.ts > s.last_ts) s.last_ts = pkt.ts;
    s.packets += 1;
    s.bytes += pkt.wire_len;
    s.destinations.Add(DestinationKey(pkt.dst));
    s.services.Add(cp.service.packed);
    s.sensors.Add(sensor);

    if (track_destinations_) {
        if (day != last_dest_day_ || sensor != last_dest_sensor_) {
            last_dest_set_ = &destinations_[{day, sensor}];
            last_dest_day_ = day;
            last_dest_sensor_ = sensor;
        }
        last_dest_set_->Add(pkt.dst);
    }
}

void AggregateShard::Merge(AggregateShard &&other) {
    other.tuples_.ForEach([&](const TupleKey &k, Traffic &v) {
        Traffic &t = tuples_[k];
        t.packets += v.packets;
        t.bytes += v.bytes;
    });
    other.sources_.ForEach([&](const SourceDayKey &k, SourceDayStats &v) { sources_[k].Merge(std::move(v)); });
    other.events_.ForEach([&](const EventKey &k, uint64_t v) { events_[k] += v; });
    for (auto &[k, v] : other.destinations_) destinations_[k].Merge(v);
    other.tuples_.Clear();
    other.sources_.Clear();
    other.events_.Clear(64);
    other.destinations_.clear();
    other.last_dest_set_ = nullptr;
    other.last_dest_day_ = INT32_MIN;
}

size_t AggregateShard::MemoryBytes() const {
    return tuples_.MemoryBytes() + sources_.MemoryBytes() + events_.MemoryBytes();
}

void Rollup(AggregateShard &shard, CounterRows &hourly, CounterRows &daily) {
    auto add = [](CounterRows &rows, CounterKey k, const TupleKey &t, const Traffic &v) {
        CounterValue &c = rows[k];
        c.packets += v.packets;
        c.bytes += v.bytes;
        if (t.family == 4) c.sources.Add(IpAddress::V4FromBytes(t.src.data()));
        else if (t.family == 6) c.sources.Add(IpAddress::V6FromBytes(t.src.data()));
    };
    shard.Tuples().ForEach([&](const TupleKey &t, const Traffic &v) {
        const int32_t day = int32_t(FloorDiv(t.hour, 24));
        for (int g = 0; g < 2; ++g) {
            CounterRows &rows = g == 0 ? hourly : daily;
            const int32_t period = g == 0 ? t.hour : day;
            add(rows, {period, t.sensor, Dimension::TOTAL, 0}, t, v);
            add(rows, {period, t.sensor, Dimension::SERVICE, t.service}, t, v);
            add(rows, {period, t.sensor, Dimension::CLASS, t.cls}, t, v);
            if (t.source_port != 0) add(rows, {period, t.sensor, Dimension::SOURCE_PORT, t.source_port}, t, v);
        }
    });
    shard.Tuples().Clear(1 << 14);
}

}  // namespace darkscope
