#include "aggregate/aggregator.hpp"

#include <algorithm>
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

void AggregateShard::ObserveBatch(std::span<const DecodedPacket> pkts, std::span<const ClassifiedPacket> cps,
                                  std::span<const SensorIndex> sensors) {
    const size_t n = std::min(pkts.size(), MAX_BATCH);
    TupleKey tuple_keys[MAX_BATCH];
    uint64_t tuple_hashes[MAX_BATCH];
    SourceDayKey source_keys[MAX_BATCH];
    uint64_t source_hashes[MAX_BATCH];
    bool per_source[MAX_BATCH];

    for (size_t i = 0; i < n; ++i) {
        const DecodedPacket &pkt = pkts[i];
        const int64_t hour = HourOf(pkt.ts);
        TupleKey &key = tuple_keys[i];
        key.hour = int32_t(hour);
        key.sensor = sensors[i];
        key.cls = uint8_t(cps[i].cls);
        key.family = pkt.src.family;
        key.service = cps[i].service.packed;
        key.source_port = cps[i].source_port.packed;
        key.src = pkt.src.bytes;
        tuple_hashes[i] = tuples_.HashOf(key);
        tuples_.PrefetchSlot(tuple_hashes[i]);
        // Per-source statistics describe darknet traffic: packets to no sensor, or without a source,
        // are left out (they are still in the tuples, under UNATTRIBUTED).
        per_source[i] = sensors[i] != UNATTRIBUTED && pkt.src.Valid();
        if (per_source[i]) {
            source_keys[i] = SourceDayKey{int32_t(FloorDiv(hour, 24)), pkt.src.family, pkt.src.bytes};
            source_hashes[i] = sources_.HashOf(source_keys[i]);
            sources_.PrefetchSlot(source_hashes[i]);
        }
    }
    for (size_t i = 0; i < n; ++i) {
        tuples_.PrefetchEntry(tuple_keys[i], tuple_hashes[i]);
        if (per_source[i]) sources_.PrefetchEntry(source_keys[i], source_hashes[i]);
    }

    for (size_t i = 0; i < n; ++i) {
        const DecodedPacket &pkt = pkts[i];
        const ClassifiedPacket &cp = cps[i];
        const SensorIndex sensor = sensors[i];
        Traffic &t = tuples_.FindOrInsert(tuple_keys[i], tuple_hashes[i]);
        t.packets += 1;
        t.bytes += pkt.wire_len;

        const int32_t hour = tuple_keys[i].hour;
        if (pkt.events != 0) [[unlikely]] {
            uint64_t bits = pkt.events;
            while (bits) {
                int e = __builtin_ctzll(bits);
                bits &= bits - 1;
                events_[EventKey{hour, sensor, uint8_t(e)}] += 1;
            }
        }
        if (cp.dns == DnsVerdict::BY_PORT) [[unlikely]]
            events_[EventKey{hour, sensor, EVENT_DNS_BY_PORT}] += 1;
        if (!per_source[i]) continue;

        const size_t index = sources_.FindOrInsertIndex(source_keys[i], source_hashes[i]);
        SourceDayStats &s = sources_.ValueAt(index);
        if (s.packets == 0 || pkt.ts < s.first_ts) s.first_ts = pkt.ts;
        if (s.packets == 0 || pkt.ts > s.last_ts) s.last_ts = pkt.ts;
        s.packets += 1;
        s.bytes += pkt.wire_len;
        // Most sources stay within a few destinations and services, kept inline in the entry that is
        // already in cache; a scanner's further values are batched (see ApplyDestinations).
        const uint32_t dst_key = DestinationKey(pkt.dst);
        if (!s.destinations.TryAddInline(dst_key)) pending_destinations_.push_back(uint64_t(index) << 32 | dst_key);
        if (!s.services.TryAddInline(cp.service.packed))
            pending_services_.push_back(uint64_t(index) << 32 | cp.service.packed);
        s.sensors.Add(sensor);

        if (track_destinations_) {
            const int32_t day = source_keys[i].day;
            if (day != last_dest_day_ || sensor != last_dest_sensor_) {
                last_dest_set_ = &destinations_[{day, sensor}];
                last_dest_day_ = day;
                last_dest_sensor_ = sensor;
            }
            if (pkt.dst.IsV4()) last_dest_set_->v4[pkt.dst.V4HostOrder()] = 1;
            else last_dest_set_->v6.Add(pkt.dst);
        }
    }
    if (pending_destinations_.size() >= PENDING_LIMIT) [[unlikely]] ApplyDestinations();
}

void AggregateShard::ApplyDestinations() {
    auto apply = [&](std::vector<uint64_t> &p, SmallU32Set SourceDayStats::*set) {
        if (p.empty()) return;
        RadixSort(p);
        p.erase(std::unique(p.begin(), p.end()), p.end());
        std::vector<uint32_t> run;
        for (size_t begin = 0, end = 0; begin < p.size(); begin = end) {
            const uint32_t index = uint32_t(p[begin] >> 32);
            run.clear();
            for (end = begin; end < p.size() && uint32_t(p[end] >> 32) == index; ++end) run.push_back(uint32_t(p[end]));
            (sources_.ValueAt(index).*set).AddSorted(run);
        }
        p.clear();
    };
    apply(pending_destinations_, &SourceDayStats::destinations);
    apply(pending_services_, &SourceDayStats::services);
}

std::map<std::pair<int32_t, SensorIndex>, SourceSet> AggregateShard::TakeDestinations() {
    std::map<std::pair<int32_t, SensorIndex>, SourceSet> out;
    for (auto &[key, set] : destinations_) {
        SourceSet &s = out[key];
        s.Merge(set.v6);
        set.v4.ForEach([&](uint32_t a, uint8_t) { s.Add(IpAddress::V4(a)); });
    }
    destinations_.clear();
    last_dest_set_ = nullptr;
    last_dest_day_ = INT32_MIN;
    return out;
}

void AggregateShard::Merge(AggregateShard &&other) {
    other.ApplyDestinations();
    other.tuples_.ForEach([&](const TupleKey &k, Traffic &v) {
        Traffic &t = tuples_[k];
        t.packets += v.packets;
        t.bytes += v.bytes;
    });
    other.sources_.ForEach([&](const SourceDayKey &k, SourceDayStats &v) { sources_[k].Merge(std::move(v)); });
    other.events_.ForEach([&](const EventKey &k, uint64_t v) { events_[k] += v; });
    for (auto &[k, v] : other.destinations_) {
        DestinationSet &d = destinations_[k];
        d.v6.Merge(v.v6);
        v.v4.ForEach([&](uint32_t a, uint8_t) { d.v4[a] = 1; });
    }
    other.tuples_.Clear();
    other.sources_.Clear();
    other.events_.Clear(64);
    other.destinations_.clear();
    other.last_dest_set_ = nullptr;
    other.last_dest_day_ = INT32_MIN;
}


void Rollup(AggregateShard &shard, CounterRows &hourly, CounterRows &daily) {
    // The builders of the open hour and sensor are cached: tuples arrive in no order, but there are
    // only a few (hour, sensor) pairs per call.
    std::map<CounterKey, SegmentBuilder> builders;
    struct Open {
        int32_t hour = INT32_MIN;
        SensorIndex sensor = 0;
        SegmentBuilder *dims[4] = {};
    } open;
    shard.Tuples().ForEach([&](const TupleKey &t, const Traffic &v) {
        if (t.hour != open.hour || t.sensor != open.sensor) {
            open.hour = t.hour;
            open.sensor = t.sensor;
            for (int d = 0; d < 4; ++d) open.dims[d] = &builders[CounterKey{t.hour, t.sensor, Dimension(d)}];
        }
        open.dims[int(Dimension::TOTAL)]->Add(0, v.packets, v.bytes, t.family, t.src);
        open.dims[int(Dimension::SERVICE)]->Add(t.service, v.packets, v.bytes, t.family, t.src);
        open.dims[int(Dimension::CLASS)]->Add(t.cls, v.packets, v.bytes, t.family, t.src);
        if (t.source_port != 0)
            open.dims[int(Dimension::SOURCE_PORT)]->Add(t.source_port, v.packets, v.bytes, t.family, t.src);
    });
    shard.Tuples().Clear(1 << 14);
    for (auto &[key, builder] : builders) {
        Segment segment = builder.Build();
        if (segment.Empty()) continue;
        daily[CounterKey{int32_t(FloorDiv(key.period, 24)), key.sensor, key.dim}].Merge(segment);
        Segment &slot = hourly[key];
        if (slot.Empty()) slot = std::move(segment);
        else slot.Merge(segment);
    }
}

}  // namespace darkscope
