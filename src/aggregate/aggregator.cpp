#include "aggregate/aggregator.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <numeric>
#include <span>
#include <tuple>
#include <utility>

#include "enrich/country.hpp"
#include "signature/matcher/matcher.hpp"

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
    if (event == EVENT_SIGNATURE_HITS_TRUNCATED) return "signature.hits_truncated";
    if (event > EVENT_DNS_ERROR_BASE && event < EVENT_DNS_ERROR_BASE + DNS_ERROR_COUNT)
        return DnsErrorEvent(DnsError(event - EVENT_DNS_ERROR_BASE));
    if (event < uint8_t(DecodeEvent::COUNT)) return DecodeEventName(DecodeEvent(event));
    return "unknown";
}

size_t SourceDayKeyHash::operator()(const SourceDayKey &k) const noexcept {
    return size_t(Mix64((uint64_t(uint32_t(k.day)) << 8 | k.family) ^ HashBytes16(k.src)));
}
size_t EventKeyHash::operator()(const EventKey &k) const noexcept {
    return size_t(Mix64(uint64_t(uint32_t(k.hour)) << 32 | uint64_t(k.sensor) << 8 | k.event));
}
size_t AggregateShard::V6Hash::operator()(const std::array<uint8_t, 16> &b) const noexcept {
    return size_t(HashBytes16(b));
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
    syn_packets = uint32_t(std::min<uint64_t>(UINT32_MAX, uint64_t(syn_packets) + other.syn_packets));
    for (size_t i = 0; i < FINGERPRINT_RULES; ++i)
        rule_packets[i] = uint32_t(std::min<uint64_t>(UINT32_MAX, uint64_t(rule_packets[i]) + other.rule_packets[i]));
    if (info.country == 0) info.country = other.info.country;
    if (info.asn == 0) info.asn = other.info.asn;
    if (info.research == 0) info.research = other.info.research;
}

SourceDayCounts SourceDayCountsOf(const SourceDayKey &key, const SourceDayStats &stats) {
    SourceDayCounts r;
    r.src = key.family == 4 ? IpAddress::V4FromBytes(key.src.data()) : IpAddress::V6FromBytes(key.src.data());
    r.packets = stats.packets;
    r.bytes = stats.bytes;
    r.first_ts = stats.first_ts;
    r.last_ts = stats.last_ts;
    r.syn_packets = stats.syn_packets;
    for (size_t i = 0; i < FINGERPRINT_RULES; ++i)
        r.rule_packets[i] = stats.rule_packets[i];
    r.country = stats.info.country;
    r.asn = stats.info.asn;
    r.research = stats.info.research;
    return r;
}

SourceChunks ToSourceChunks(SourceTable &table, const std::vector<int64_t> &sensor_ids) {
    // Each record goes from the table straight into its chunk's encoding, in the chunk's address order. IPv4
    // sources sort by (day, address), whose first octet is their bucket; IPv6 ones by (day, bucket), then address.
    struct Entry {
        uint64_t order;
        const SourceDayKey *key;
        const SourceDayStats *stats;
    };
    std::vector<Entry> v4, v6;
    v4.reserve(table.Size());
    table.ForEach([&](const SourceDayKey &k, const SourceDayStats &v) {
        const uint64_t day = uint32_t(k.day);  // groups days (the chunks are a map: their order is its own)
        if (k.family == 4)
            v4.push_back(Entry{day << 32 | IpAddress::V4FromBytes(k.src.data()).V4HostOrder(), &k, &v});
        else
            v6.push_back(Entry{day << 16 | SourceBucket(IpAddress::V6FromBytes(k.src.data())), &k, &v});
    });
    std::sort(v4.begin(), v4.end(), [](const Entry &a, const Entry &b) { return a.order < b.order; });
    std::sort(v6.begin(), v6.end(), [](const Entry &a, const Entry &b) {
        return a.order != b.order ? a.order < b.order : Ipv6Less{}(a.key->src, b.key->src);
    });
    SourceChunks chunks;
    std::vector<uint32_t> destinations, services, sensor_indexes, sensors;
    auto encode = [&](std::span<const Entry> entries, uint16_t bucket) {
        SourceChunkWriter w(entries.size());
        for (const Entry &e : entries) {
            const SourceDayStats &v = *e.stats;
            sensors.clear();
            for (uint32_t index : v.sensors.Sorted(sensor_indexes))
                sensors.push_back(uint32_t(sensor_ids.at(index)));
            std::sort(sensors.begin(), sensors.end());
            w.Add(SourceDayCountsOf(*e.key, v), v.destinations.Sorted(destinations), v.services.Sorted(services),
                  sensors);
        }
        chunks[{entries.front().key->day, bucket}].push_back(w.Take());
    };
    // `chunk_of`: an entry's (day, bucket) as one number; the bucket is its low `bucket_bits`.
    auto encode_chunks = [&](std::vector<Entry> &entries, auto chunk_of, int bucket_bits) {
        for (size_t i = 0, j; i < entries.size(); i = j) {
            const uint64_t chunk = chunk_of(entries[i]);
            for (j = i + 1; j < entries.size() && chunk_of(entries[j]) == chunk;)
                ++j;
            encode(std::span(entries).subspan(i, j - i), uint16_t(chunk & ((uint64_t(1) << bucket_bits) - 1)));
        }
    };
    encode_chunks(
        v4, [](const Entry &e) { return e.order >> 24; }, 8);  // (day, first octet)
    encode_chunks(
        v6, [](const Entry &e) { return e.order; }, 16);
    std::vector<Entry>().swap(v4);
    std::vector<Entry>().swap(v6);
    table.Clear(16);
    return chunks;
}

SourceTable AggregateShard::TakeSources() {
    Flush();
    return std::exchange(sources_, SourceTable(1 << 14));
}
EventTable AggregateShard::TakeEvents() { return std::exchange(events_, EventTable(64)); }

void AggregateShard::Observe(const Observation &pkt) {
    const ClassifiedPacket &cp = pkt.cp;
    const SensorIndex sensor = pkt.sensor;
    PacketRecord r;
    const uint8_t family = pkt.src.family;
    if (family == 4) {
        r.src = pkt.src.V4HostOrder();
    } else if (family == 6) [[unlikely]] {
        uint32_t &index = v6_index_[pkt.src.bytes];  // index + 1; 0 = new
        if (index == 0) {
            v6_sources_.push_back(pkt.src.bytes);
            index = uint32_t(v6_sources_.size());
        }
        r.src = index - 1;
    }
    r.dst_key = DestinationKey(pkt.dst);
    r.service = cp.service.packed;
    r.source_port = cp.source_port.packed;
    r.ts = pkt.ts;
    r.wire_len = pkt.wire_len;
    r.sensor = sensor;
    r.Set(cp.cls, family);
    r.fingerprints = cp.fingerprints;
    records_.push_back(r);
    if (!pkt.signatures.Empty()) [[unlikely]] {
        const SignatureHits hits = pkt.signatures.deferred_count ? ResolveDeferred(pkt) : pkt.signatures;
        if (!hits.Empty()) {
            ++signature_packets_;
            signature_matches_ += hits.matches;
            AddSignatureHits(pkt, hits, r);
        }
    }

    if (pkt.events != 0 || cp.dns == DnsVerdict::BY_PORT || cp.dns_error != DnsError::NONE) [[unlikely]] {
        const int32_t hour = int32_t(HourOf(pkt.ts));
        uint64_t bits = pkt.events;
        while (bits) {
            int e = __builtin_ctzll(bits);
            bits &= bits - 1;
            events_[EventKey{hour, sensor, uint8_t(e)}] += 1;
        }
        if (cp.dns == DnsVerdict::BY_PORT) events_[EventKey{hour, sensor, EVENT_DNS_BY_PORT}] += 1;
        if (cp.dns_error != DnsError::NONE)
            events_[EventKey{hour, sensor, uint8_t(EVENT_DNS_ERROR_BASE + uint8_t(cp.dns_error))}] += 1;
    }
    // Only darknet packets (to a sensor, with a source) count as a sensor's destinations, as for
    // the per-source statistics.
    if (track_destinations_ && sensor != UNATTRIBUTED && pkt.src.Valid()) {
        const int32_t day = int32_t(DayOf(pkt.ts));
        if (day != last_dest_day_ || sensor != last_dest_sensor_) {
            last_dest_set_ = &destinations_[{day, sensor}];
            last_dest_day_ = day;
            last_dest_sensor_ = sensor;
        }
        if (pkt.dst.IsV4()) last_dest_set_->v4[pkt.dst.V4HostOrder()] = 1;
        else last_dest_set_->v6.Add(pkt.dst);
    }
    if (records_.size() >= flush_limit_) [[unlikely]] Flush();
}

void AggregateShard::ObserveBatch(std::span<const Observation> batch) {
    if (!thresholds_) {
        for (const Observation &o : batch) Observe(o);
        return;
    }
    constexpr size_t AHEAD = 8;
    const size_t n = batch.size();
    for (size_t i = 0; i < n; ++i) {
        if (i + 2 * AHEAD < n && batch[i + 2 * AHEAD].signatures.deferred_count)
            thresholds_->PrefetchSlot(batch[i + 2 * AHEAD].signatures.deferred[0], batch[i + 2 * AHEAD].src);
        if (i + AHEAD < n && batch[i + AHEAD].signatures.deferred_count)
            thresholds_->PrefetchTrack(batch[i + AHEAD].signatures.deferred[0], batch[i + AHEAD].src);
        Observe(batch[i]);
    }
}

namespace {

// Sorts the n records at `data` by key(record), which has key_bits significant bits, stably: LSD radix with DIGIT-bit
// digits (2048 buckets at 11 keep the scatter's write positions in cache), skipping digits every record shares, the
// passes going back and forth between `data` and `scratch` (n records each). Returns the one that holds the result.
// KEY_BITS, when not 0, is key_bits known at compile time (the passes' loops are then unrolled).
template <int DIGIT, int KEY_BITS = 0, typename KeyFn>
PacketRecord *RadixSortRecordSpan(PacketRecord *data, PacketRecord *scratch, size_t n, int key_bits, KeyFn key) {
    constexpr size_t BUCKETS = size_t(1) << DIGIT;
    const int passes = ((KEY_BITS ? KEY_BITS : key_bits) + DIGIT - 1) / DIGIT;
    if (n < 2 || passes == 0) return data;
    constexpr int MOST_PASSES = ((KEY_BITS ? KEY_BITS : 64) + DIGIT - 1) / DIGIT;
    uint32_t counts[MOST_PASSES * BUCKETS];
    std::fill_n(counts, size_t(passes) * BUCKETS, 0u);
    for (size_t i = 0; i < n; ++i) {
        const uint64_t k = key(data[i]);
        for (int p = 0; p < passes; ++p) ++counts[size_t(p) * BUCKETS + ((k >> (p * DIGIT)) & (BUCKETS - 1))];
    }
    PacketRecord *from = data, *to = scratch;
    for (int p = 0; p < passes; ++p) {
        uint32_t *c = &counts[size_t(p) * BUCKETS];
        const int shift = p * DIGIT;
        if (c[(key(data[0]) >> shift) & (BUCKETS - 1)] == n) continue;
        uint32_t sum = 0;
        for (size_t b = 0; b < BUCKETS; ++b)
            sum += std::exchange(c[b], sum);
        for (size_t i = 0; i < n; ++i)
            to[c[(key(from[i]) >> shift) & (BUCKETS - 1)]++] = from[i];
        std::swap(from, to);
    }
    return from;
}

// RadixSortRecordSpan over a whole buffer: the vectors trade places when the result is in the scratch.
template <typename KeyFn>
void RadixSortRecords(std::vector<PacketRecord> &records, std::vector<PacketRecord> &scratch, int key_bits, KeyFn key) {
    if (scratch.size() < records.size()) scratch.resize(records.size());
    if (RadixSortRecordSpan<11>(records.data(), scratch.data(), records.size(), key_bits, key) != records.data()) {
        scratch.resize(records.size());
        records.swap(scratch);
    }
}

// The distinct values of a run in order, from a bitmap over their range: linear where a comparison sort
// took most of the per-source work. A scanner's hour holds hundreds of packets that repeat a few ports or
// cover a telescope's few thousand addresses, so the range is small beside the count. Reused between runs.
class DenseValues {
public:
    /// Marks get(x) for each x of items; false, with nothing marked, below 16 items or when the range
    /// would take more than eight words per item (the sort is cheaper then).
    template <typename Items, typename Get>
    bool Mark(const Items &items, Get get) {
        const size_t n = std::size(items);
        if (n < 16) return false;
        uint32_t low = get(*std::begin(items)), high = low;
        for (const auto &x : items) {
            low = std::min(low, get(x));
            high = std::max(high, get(x));
        }
        const size_t words = size_t((uint64_t(high) - low) >> 6) + 1;
        if (words > 8 * n) return false;
        low_ = low;
        bits_.assign(words, 0);
        for (const auto &x : items) {
            const uint32_t offset = get(x) - low;
            bits_[offset >> 6] |= uint64_t(1) << (offset & 63);
        }
        ranks_.resize(words);
        uint32_t before = 0;
        for (size_t w = 0; w < words; ++w) {
            ranks_[w] = before;
            before += Popcount(bits_[w]);
        }
        distinct_ = before;
        return true;
    }
    size_t Distinct() const { return distinct_; }
    /// The position of a marked value among the distinct ones.
    uint32_t Rank(uint32_t value) const {
        const uint32_t offset = value - low_;
        const uint64_t below = (uint64_t(1) << (offset & 63)) - 1;
        return ranks_[offset >> 6] + Popcount(bits_[offset >> 6] & below);
    }
    /// f(value) for each distinct value, in order.
    template <typename F>
    void ForEach(F &&f) const {
        for (size_t w = 0; w < bits_.size(); ++w)
            for (uint64_t word = bits_[w]; word != 0; word &= word - 1)
                f(low_ + uint32_t(w << 6) + uint32_t(std::countr_zero(word)));
    }

private:
    // Without -mpopcnt (the portable x86-64 baseline) std::popcount is a call into libgcc, once per packet here.
    static uint32_t Popcount(uint64_t x) {
#if defined(__POPCNT__) || !(defined(__x86_64__) || defined(__i386__))
        return uint32_t(std::popcount(x));
#else
        x -= (x >> 1) & 0x5555555555555555ull;
        x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
        x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
        return uint32_t((x * 0x0101010101010101ull) >> 56);
#endif
    }

    std::vector<uint64_t> bits_;
    std::vector<uint32_t> ranks_;
    uint32_t low_ = 0;
    size_t distinct_ = 0;
};

// Sorts and deduplicates v[from, end), shrinking v; returns how many values remain after from.
size_t SortUnique(std::vector<uint32_t> &v, size_t from, DenseValues &dense) {
    const std::span<uint32_t> values(v.data() + from, v.size() - from);
    if (dense.Mark(values, [](uint32_t x) { return x; })) {
        size_t out = 0;
        dense.ForEach([&](uint32_t x) { values[out++] = x; });
        v.resize(from + out);
    } else if (values.size() >= 2) {
        std::sort(values.begin(), values.end());
        v.erase(std::unique(v.begin() + long(from), v.end()), v.end());
    }
    return v.size() - from;
}

// Where a record's source sorts, coarsely: none first, then IPv4 by their first four bits, then IPv6.
constexpr int IPV4_BUCKET_BITS = 4;
constexpr size_t RECORD_BUCKETS = 2 + (size_t(1) << IPV4_BUCKET_BITS);
size_t BucketOf(const PacketRecord &r) {
    const uint8_t code = r.Code();
    return code == 1 ? 1 + (r.src >> (32 - IPV4_BUCKET_BITS)) : code == 2 ? RECORD_BUCKETS - 1 : 0;
}

// Sorts the `n` records of one IPv4 bucket at `in` by source, stably, into `out` (both are written): 10-bit digits
// over the bits below the bucket's. A bucket is a sixteenth of the buffer or so, and stays in the caches through the
// passes.
void SortIpv4Bucket(PacketRecord *in, PacketRecord *out, size_t n) {
    if (n <= 32) {  // insertion sort: stable, and cheaper than clearing the counts
        for (size_t i = 1; i < n; ++i) {
            const PacketRecord r = in[i];
            size_t j = i;
            for (; j > 0 && in[j - 1].src > r.src; --j)
                in[j] = in[j - 1];
            in[j] = r;
        }
        std::copy(in, in + n, out);
        return;
    }
    constexpr int KEY_BITS = 32 - IPV4_BUCKET_BITS;
    const PacketRecord *sorted = RadixSortRecordSpan<10, KEY_BITS>(
        in, out, n, KEY_BITS, [](const PacketRecord &r) { return r.src & (~0u >> IPV4_BUCKET_BITS); });
    if (sorted != out) std::copy(sorted, sorted + n, out);
}

// Sorts one hour's records by source, stably, as a sort on the source key would: one pass deals them out by
// bucket into the scratch, then each bucket is sorted within the caches back into `records`. A sort of the whole
// buffer took three passes of scattered 32-byte records through memory, a sixth of a worker's time.
// `counts`: the records of each bucket.
void SortHourBySource(std::vector<PacketRecord> &records, std::vector<PacketRecord> &scratch,
                      const std::array<uint32_t, RECORD_BUCKETS> &counts, const std::vector<uint32_t> &v6_rank) {
    const size_t n = records.size();
    if (scratch.size() < n) scratch.resize(n);
    std::array<uint32_t, RECORD_BUCKETS> start{};
    for (size_t b = 1; b < RECORD_BUCKETS; ++b)
        start[b] = start[b - 1] + counts[b - 1];
    std::array<uint32_t, RECORD_BUCKETS> at = start;
    for (const PacketRecord &r : records)
        scratch[at[BucketOf(r)]++] = r;
    for (size_t b = 0; b < RECORD_BUCKETS; ++b) {
        PacketRecord *in = scratch.data() + start[b], *out = records.data() + start[b];
        const size_t m = counts[b];
        // Records without a source keep their arrival order; IPv6 ones sort by their addresses' rank.
        if (b == RECORD_BUCKETS - 1)
            std::stable_sort(in, in + m, [&](const PacketRecord &x, const PacketRecord &y) {
                return v6_rank[x.src] < v6_rank[y.src];
            });
        if (b == 0 || b == RECORD_BUCKETS - 1)
            std::copy(in, in + m, out);
        else
            SortIpv4Bucket(in, out, m);
    }
}

}  // namespace

void AggregateShard::Flush() {
    if (records_.empty()) return;
    int64_t first_hour = INT64_MAX, last_hour = INT64_MIN;
    // Almost every record falls in the hour of the first: only the others pay for a division.
    const TimestampNs hour_ns = NS_PER_SEC * SECONDS_PER_HOUR;
    const TimestampNs usual_begin = HourOf(records_[0].ts) * hour_ns, usual_end = usual_begin + hour_ns;
    std::array<uint32_t, RECORD_BUCKETS> bucket_counts{};
    for (const PacketRecord &r : records_) {
        const int64_t hour = r.ts >= usual_begin && r.ts < usual_end ? usual_begin / hour_ns : HourOf(r.ts);
        first_hour = std::min(first_hour, hour);
        last_hour = std::max(last_hour, hour);
        ++bucket_counts[BucketOf(r)];
    }
    // Sorted by (hour, source): the hour groups what one set of segments holds, the source what one
    // per-source record gets. A source's key fits its family into 33 bits (no source, then IPv4 by address,
    // then IPv6 by address), so that several hours sort in a few radix passes over the 32-byte records, and one
    // hour by buckets of that key (SortHourBySource); a sort by sensor too cost more than grouping the few runs
    // that reach several sensors (FlushHour does).
    // IPv6 sources sort by their addresses' rank among the buffer's, so that the segment builders get them in
    // address order as they get IPv4 ones, and keep them so with a sort on the key alone.
    std::vector<uint32_t> &v6_rank = v6_rank_;
    v6_rank.resize(v6_sources_.size());
    if (!v6_sources_.empty()) {
        std::vector<uint32_t> by_address(v6_sources_.size());
        std::iota(by_address.begin(), by_address.end(), 0u);
        std::sort(by_address.begin(), by_address.end(),
                  [&](uint32_t a, uint32_t b) { return Ipv6Less{}(v6_sources_[a], v6_sources_[b]); });
        for (uint32_t i = 0; i < by_address.size(); ++i)
            v6_rank[by_address[i]] = i;
    }
    auto source_key = [&v6_rank](const PacketRecord &r) -> uint64_t {
        const uint8_t code = r.Code();
        return code == 0 ? 0 : code == 1 ? uint64_t(r.src) + 1 : (uint64_t(1) << 32) + 1 + v6_rank[r.src];
    };
    constexpr int SOURCE_BITS = 33;
    const int hour_bits = std::bit_width(uint64_t(last_hour - first_hour));
    if (hour_bits == 0) {
        SortHourBySource(records_, sort_scratch_, bucket_counts, v6_rank);
    } else if (hour_bits + SOURCE_BITS <= 64) {
        RadixSortRecords(records_, sort_scratch_, hour_bits + SOURCE_BITS, [&](const PacketRecord &r) {
            return uint64_t(HourOf(r.ts) - first_hour) << SOURCE_BITS | source_key(r);
        });
    } else {
        // Hours too far apart to share one integer key with the source (a capture spanning centuries).
        std::stable_sort(records_.begin(), records_.end(), [&](const PacketRecord &a, const PacketRecord &b) {
            return std::pair(HourOf(a.ts), source_key(a)) < std::pair(HourOf(b.ts), source_key(b));
        });
    }
    PacketRecord *begin = records_.data(), *end = begin + records_.size();
    while (begin != end) {
        const int64_t hour = HourOf(begin->ts);
        PacketRecord *stop = first_hour == last_hour ? end : begin + 1;
        while (stop != end && HourOf(stop->ts) == hour) ++stop;
        FlushHour(begin, stop, int32_t(hour));
        begin = stop;
    }
    FlushSignatures();
    records_.clear();
    v6_sources_.clear();
    v6_index_.Clear(16);
}

// What each source of the hour adds to its day record, applied in one batch; the sets' values are
// ranges of the scratch's three arrays, sorted and unique.
struct AggregateShard::SourceUpdate {
    SourceDayKey key;
    uint64_t hash = 0;
    uint64_t packets = 0;
    uint64_t bytes = 0;
    TimestampNs first_ts = 0;
    TimestampNs last_ts = 0;
    uint32_t destinations_begin = 0, destinations_end = 0;
    uint32_t services_begin = 0, services_end = 0;
    uint32_t sensors_begin = 0, sensors_end = 0;
    uint64_t syn_packets = 0;
    std::array<uint64_t, FINGERPRINT_RULES> rule_packets{};
    SourceInfo info;
};

struct AggregateShard::FlushScratch {
    // The builders of each sensor seen in an hour, by sensor slot (UNATTRIBUTED first).
    // Dimensions 0-6 (TOTAL .. ASN), 11 and 12 (CLASS_COUNTRY, CLASS_SOURCE_PORT), then the same nine again
    // for research sources only (RESEARCH_DIMENSION_BASE + dim), which summary --exclude-research subtracts.
    static constexpr int DIMS = 9;
    static constexpr int SlotOf(Dimension d) {
        return d == Dimension::CLASS_COUNTRY ? 7 : d == Dimension::CLASS_SOURCE_PORT ? 8 : int(d);
    }
    static constexpr Dimension DimensionOf(int slot) {
        return slot == 7 ? Dimension::CLASS_COUNTRY : slot == 8 ? Dimension::CLASS_SOURCE_PORT : Dimension(slot);
    }
    struct Builders {
        SegmentBuilder dims[2 * DIMS];
        bool used = false;
    };
    std::vector<std::unique_ptr<Builders>> by_slot;
    std::vector<uint64_t> keyed;  // (key << 32 | wire_len) of one run, to sum per key
    std::vector<SourceUpdate> updates;
    std::vector<uint32_t> destinations, services, sensors;
    DenseValues dense;
    std::vector<std::pair<uint64_t, uint64_t>> sums;  // packets and bytes of each distinct key of a run
    std::vector<SourceInfo> infos;  // enrichment of each source run of the hour, in order
    std::vector<uint64_t> hashes;
    std::vector<uint32_t> run_sources;
    std::vector<PacketRecord> run_copy;  // a source run being grouped by sensor
    std::vector<uint32_t> slot_starts;
};

AggregateShard::AggregateShard() = default;
AggregateShard::~AggregateShard() = default;
AggregateShard::AggregateShard(AggregateShard &&) noexcept = default;
AggregateShard &AggregateShard::operator=(AggregateShard &&) noexcept = default;

AggregateShard::FlushScratch &AggregateShard::Scratch() {
    if (!flush_scratch_) flush_scratch_ = std::make_unique<FlushScratch>();
    return *flush_scratch_;
}

// Orders a source run by sensor slot, stably: a counting sort through the scratch, since a scanner's run to
// several sensors holds hundreds of records, and a comparison sort allocated for each.
void AggregateShard::GroupBySensor(PacketRecord *begin, PacketRecord *end, FlushScratch &scratch) {
    auto &copy = scratch.run_copy;
    auto &starts = scratch.slot_starts;
    copy.assign(begin, end);
    SensorIndex most = 0;
    for (const PacketRecord &r : copy)
        most = std::max(most, SensorIndex(r.sensor + 1));
    starts.assign(size_t(most) + 2, 0);
    for (const PacketRecord &r : copy)
        ++starts[size_t(SensorIndex(r.sensor + 1)) + 1];
    for (size_t i = 1; i < starts.size(); ++i)
        starts[i] += starts[i - 1];
    for (const PacketRecord &r : copy)
        begin[starts[SensorIndex(r.sensor + 1)]++] = r;
}

void AggregateShard::FlushHour(PacketRecord *begin, PacketRecord *end, int32_t hour) {
    const int32_t day = int32_t(FloorDiv(hour, 24));
    FlushScratch &scratch = Scratch();
    auto &by_slot = scratch.by_slot;
    using Builders = FlushScratch::Builders;
    auto builders_of = [&](SensorIndex sensor) -> Builders & {
        const size_t slot = SensorIndex(sensor + 1);
        if (slot >= by_slot.size()) by_slot.resize(slot + 1);
        if (!by_slot[slot]) by_slot[slot] = std::make_unique<Builders>();
        by_slot[slot]->used = true;
        return *by_slot[slot];
    };
    auto &keyed = scratch.keyed;
    auto &dense = scratch.dense;
    auto &sums = scratch.sums;
    auto &updates = scratch.updates;
    auto &destinations = scratch.destinations, &services = scratch.services, &sensors = scratch.sensors;
    updates.clear();
    destinations.clear();
    services.clear();
    sensors.clear();

    // One table access per source, in chunks of CHUNK sources: the updates, and the destination, service and
    // sensor values they point into, stay in cache between being made and being applied, where a whole hour's
    // (tens of thousands of sources of ~150 bytes each) went out to memory and came back. Each slot is prefetched as
    // its update is made, and each entry some sources ahead: the table is far larger than the caches, and the sources
    // arrive in address order, not table order.
    constexpr size_t AHEAD = 16;
    auto apply_updates = [&] {
        const size_t n = updates.size();
        for (size_t i = 0; i < std::min(AHEAD, n); ++i)
            sources_.PrefetchEntry(updates[i].key, updates[i].hash);
        for (size_t i = 0; i < n; ++i) {
            if (i + AHEAD < n) sources_.PrefetchEntry(updates[i + AHEAD].key, updates[i + AHEAD].hash);
            const SourceUpdate &u = updates[i];
            SourceDayStats &s = sources_.FindOrInsert(u.key, u.hash);
            if (s.packets == 0 || u.first_ts < s.first_ts) s.first_ts = u.first_ts;
            if (s.packets == 0 || u.last_ts > s.last_ts) s.last_ts = u.last_ts;
            s.packets += u.packets;
            s.bytes += u.bytes;
            s.syn_packets = uint32_t(std::min<uint64_t>(UINT32_MAX, s.syn_packets + u.syn_packets));
            for (size_t r = 0; r < FINGERPRINT_RULES; ++r)
                s.rule_packets[r] = uint32_t(std::min<uint64_t>(UINT32_MAX, s.rule_packets[r] + u.rule_packets[r]));
            s.info = u.info;
            auto values = [](const std::vector<uint32_t> &v, uint32_t b, uint32_t e) {
                return std::span<const uint32_t>(v.data() + b, e - b);
            };
            s.destinations.AddSorted(values(destinations, u.destinations_begin, u.destinations_end));
            s.services.AddSorted(values(services, u.services_begin, u.services_end));
            s.sensors.AddSorted(values(sensors, u.sensors_begin, u.sensors_end));
        }
        updates.clear();
        destinations.clear();
        services.clear();
        sensors.clear();
    };
    constexpr size_t CHUNK = 256;

    const bool enriched = enrichment_ != nullptr;
    if (enriched) InfosOf(begin, end);
    size_t run_index = 0;
    for (PacketRecord *run = begin; run != end;) {
        // A source's packets to each sensor are taken together, UNATTRIBUTED (slot 0) first; the sort left
        // them in arrival order, which for most sources is one sensor's.
        PacketRecord *run_end = run + 1;
        bool by_sensor = true;
        for (; run_end != end && run_end->src == run->src && run_end->cls_family >> 4 == run->cls_family >> 4;
             ++run_end)
            by_sensor &= SensorIndex(run_end->sensor + 1) >= SensorIndex(run_end[-1].sensor + 1);
        if (!by_sensor) GroupBySensor(run, run_end, scratch);
        const uint8_t family = run->Family();
        const uint32_t src = run->src;
        // One lookup per source run (the records are sorted by source), through the shard's cache.
        const SourceInfo info = enriched ? scratch.infos[run_index++] : SourceInfo{};
        const bool research = info.research != 0;
        auto add = [&](Builders &builders, Dimension dim, uint32_t key, uint64_t packets, uint64_t bytes) {
            const int slot = FlushScratch::SlotOf(dim);
            AddFromSource(builders.dims[slot], family, src, key, packets, bytes);
            if (research) AddFromSource(builders.dims[FlushScratch::DIMS + slot], family, src, key, packets, bytes);
        };
        // One source's packets to one sensor: what the tuple table held as its (service, class,
        // source port) entries, summed per key of each dimension.
        for (PacketRecord *a = run; a != run_end;) {
            PacketRecord *b = a + 1;
            while (b != run_end && b->sensor == a->sensor) ++b;
            Builders &builders = builders_of(a->sensor);
            uint64_t bytes = 0;
            for (PacketRecord *r = a; r != b; ++r) bytes += r->wire_len;
            add(builders, Dimension::TOTAL, 0, uint64_t(b - a), bytes);
            if (enriched) {
                add(builders, Dimension::COUNTRY, info.country, uint64_t(b - a), bytes);
                add(builders, Dimension::ASN, info.asn, uint64_t(b - a), bytes);
            }
            // The source's country is one for all its packets: each service key it sums is also the
            // country x service key, with no second pass.
            const bool with_country = enriched;
            const uint16_t country = info.country;
            auto emit = [&](Dimension dim, uint32_t key, uint64_t packets, uint64_t key_bytes) {
                if ((dim == Dimension::SOURCE_PORT || dim == Dimension::CLASS_SOURCE_PORT) && key == 0) return;
                add(builders, dim, key, packets, key_bytes);
                if (dim == Dimension::SERVICE && with_country)
                    add(builders, Dimension::COUNTRY_SERVICE, CountryServiceKey(country, ServiceKey{key}), packets,
                        key_bytes);
                if (dim == Dimension::CLASS && with_country)
                    add(builders, Dimension::CLASS_COUNTRY, ClassCountryKey(country, uint8_t(key)), packets, key_bytes);
            };
            auto by_key = [&](Dimension dim, auto field) {
                const uint32_t first = field(*a);
                bool same = true;
                for (PacketRecord *r = a + 1; r != b && same; ++r) same = field(*r) == first;
                if (same) {
                    emit(dim, first, uint64_t(b - a), bytes);
                    return;
                }
                const std::span<const PacketRecord> records(a, b);
                if (dense.Mark(records, field)) {
                    sums.assign(dense.Distinct(), {0, 0});
                    for (const PacketRecord &r : records) {
                        auto &[packets, key_bytes] = sums[dense.Rank(field(r))];
                        ++packets;
                        key_bytes += r.wire_len;
                    }
                    size_t i = 0;
                    dense.ForEach([&](uint32_t key) {
                        emit(dim, key, sums[i].first, sums[i].second);
                        ++i;
                    });
                    return;
                }
                keyed.clear();
                for (PacketRecord *r = a; r != b; ++r) keyed.push_back(uint64_t(field(*r)) << 32 | r->wire_len);
                std::sort(keyed.begin(), keyed.end());
                for (size_t i = 0, j = 0; i < keyed.size(); i = j) {
                    const uint32_t key = uint32_t(keyed[i] >> 32);
                    uint64_t key_bytes = 0;
                    for (j = i; j < keyed.size() && uint32_t(keyed[j] >> 32) == key; ++j)
                        key_bytes += uint32_t(keyed[j]);
                    emit(dim, key, j - i, key_bytes);
                }
            };
            by_key(Dimension::SERVICE, [](const PacketRecord &r) { return r.service; });
            by_key(Dimension::CLASS, [](const PacketRecord &r) { return uint32_t(r.Cls()); });
            by_key(Dimension::SOURCE_PORT, [](const PacketRecord &r) { return r.source_port; });
            by_key(Dimension::CLASS_SOURCE_PORT, [](const PacketRecord &r) {
                return r.source_port ? ClassSourcePortKey(uint8_t(r.Cls()), r.source_port) : 0u;
            });
            a = b;
        }

        // Per-source statistics describe darknet traffic: packets to no sensor, or without a source,
        // are left out (they are still in the segments, under UNATTRIBUTED). UNATTRIBUTED sorts first.
        PacketRecord *attributed = run;
        while (attributed != run_end && attributed->sensor == UNATTRIBUTED) ++attributed;
        if (family != 0 && attributed != run_end) {
            SourceUpdate &u = updates.emplace_back();
            // The key is written into the zeroed update field by field and hashed here, while it is in cache,
            // rather than in a pass of its own over the updates.
            u.key.day = day;
            u.key.family = family;
            if (family == 4) u.key.src = IpAddress::V4(src).bytes;
            else u.key.src = v6_sources_[src];
            u.hash = sources_.HashOf(u.key);
            sources_.PrefetchSlot(u.hash);
            u.first_ts = attributed->ts;
            u.last_ts = attributed->ts;
            u.packets = uint64_t(run_end - attributed);
            u.info = info;
            const size_t destinations_begin = destinations.size(), services_begin = services.size();
            u.sensors_begin = uint32_t(sensors.size());
            for (PacketRecord *r = attributed; r != run_end; ++r) {
                u.bytes += r->wire_len;
                u.first_ts = std::min(u.first_ts, r->ts);
                u.last_ts = std::max(u.last_ts, r->ts);
                destinations.push_back(r->dst_key);
                services.push_back(r->service);
                if (sensors.size() == u.sensors_begin || sensors.back() != r->sensor) sensors.push_back(r->sensor);
                u.syn_packets += r->Cls() == TrafficClass::SYN_PROBE;
                for (uint32_t bits = r->fingerprints; bits != 0; bits &= bits - 1) ++u.rule_packets[size_t(std::countr_zero(bits))];
            }
            u.destinations_begin = uint32_t(destinations_begin);
            u.destinations_end =
                uint32_t(destinations_begin + SortUnique(destinations, destinations_begin, scratch.dense));
            u.services_begin = uint32_t(services_begin);
            u.services_end = uint32_t(services_begin + SortUnique(services, services_begin, scratch.dense));
            u.sensors_end = uint32_t(sensors.size());
            if (updates.size() == CHUNK) apply_updates();
        }
        run = run_end;
    }

    apply_updates();

    for (size_t slot = 0; slot < by_slot.size(); ++slot) {
        if (!by_slot[slot] || !by_slot[slot]->used) continue;
        by_slot[slot]->used = false;
        for (int d = 0; d < 2 * FlushScratch::DIMS; ++d) {
            Segment segment = by_slot[slot]->dims[d].Build();
            if (segment.Empty()) continue;
            const Dimension dim = d < FlushScratch::DIMS ? FlushScratch::DimensionOf(d)
                                                         : ResearchDimension(FlushScratch::DimensionOf(d - FlushScratch::DIMS));
            Segment &into = hourly_[CounterKey{hour, SensorIndex(slot - 1), dim}];
            into.Merge(std::move(segment));
        }
    }
}

// The enrichment of every source run in [begin, end), in order, into the scratch's infos: one cache access
// per source, IPv4 ones prefetched some sources ahead (the cache is as large as the hour's sources, and they
// arrive in address order, not table order), as for the per-source table.
void AggregateShard::InfosOf(const PacketRecord *begin, const PacketRecord *end) {
    FlushScratch &scratch = Scratch();
    auto &infos = scratch.infos;
    auto &hashes = scratch.hashes;
    auto &run_sources = scratch.run_sources;
    infos.clear();
    hashes.clear();
    run_sources.clear();
    std::vector<uint8_t> families;
    for (const PacketRecord *run = begin; run != end;) {
        const PacketRecord *run_end = run + 1;
        while (run_end != end && run_end->src == run->src && run_end->Code() == run->Code()) ++run_end;
        run_sources.push_back(run->src);
        families.push_back(run->Family());
        hashes.push_back(run->Family() == 4 ? v4_info_.HashOf(run->src) : 0);
        run = run_end;
    }
    if (info_cached_ + run_sources.size() > INFO_CACHE_LIMIT) [[unlikely]] {
        v4_info_.Clear(16);
        v6_info_.Clear(16);
        info_cached_ = 0;
    }
    constexpr size_t AHEAD = 16;
    for (size_t i = 0; i < run_sources.size(); ++i) {
        if (i + 2 * AHEAD < run_sources.size() && families[i + 2 * AHEAD] == 4)
            v4_info_.PrefetchSlot(hashes[i + 2 * AHEAD]);
        if (i + AHEAD < run_sources.size() && families[i + AHEAD] == 4)
            v4_info_.PrefetchEntry(run_sources[i + AHEAD], hashes[i + AHEAD]);
        if (families[i] == 0) {
            infos.push_back(SourceInfo{});
            continue;
        }
        CachedInfo &c = families[i] == 4 ? v4_info_.FindOrInsert(run_sources[i], hashes[i])
                                         : v6_info_[v6_sources_[run_sources[i]]];
        if (!c.known) {
            c.info = enrichment_->Lookup(families[i] == 4 ? IpAddress::V4(run_sources[i])
                                                          : IpAddress::V6FromBytes(v6_sources_[run_sources[i]].data()));
            c.known = true;
            ++info_cached_;
        }
        infos.push_back(c.info);
    }
}

// The deferred matches that pass their rule's threshold join the packet's other hits. A packet comes
// to the shard that owns its source, in time order, which is what a by-source threshold counts over.
SignatureHits AggregateShard::ResolveDeferred(const Observation &o) {
    SignatureHits hits = o.signatures;
    hits.deferred_count = 0;
    if (!matcher_ || !thresholds_) return hits;
    for (int i = 0; i < o.signatures.deferred_count; ++i) {
        const uint32_t index = o.signatures.deferred[i];
        const sig::Rule &rule = matcher_->Rules()[index];
        if (thresholds_->Pass(rule, index, o.ts, o.src, o.signatures.dport)) hits.Add(rule.sid, uint8_t(rule.category));
    }
    return hits;
}

void AggregateShard::AddSignatureHits(const Observation &o, const SignatureHits &hits, const PacketRecord &r) {
    SignatureRecord s;
    s.src = r.src;
    s.family = r.Family();
    s.hour = int32_t(HourOf(r.ts));
    s.wire_len = r.wire_len;
    s.sensor = r.sensor;
    s.dim = Dimension::SIGNATURE;
    for (int i = 0; i < hits.count; ++i) {
        s.key = hits.sids[i];
        signature_records_.push_back(s);
    }
    s.dim = Dimension::SIGNATURE_CATEGORY;
    s.first_category = true;
    for (uint32_t bits = hits.categories; bits; bits &= bits - 1) {
        s.key = uint32_t(std::countr_zero(bits));
        signature_records_.push_back(s);
        s.first_category = false;
    }
    if (hits.truncated) events_[EventKey{s.hour, o.sensor, EVENT_SIGNATURE_HITS_TRUNCATED}] += 1;
}

SourceInfo AggregateShard::CachedInfoOf(uint8_t family, uint32_t src) {
    if (family != 4 && family != 6) return SourceInfo{};
    CachedInfo &c = family == 4 ? v4_info_[src] : v6_info_[v6_sources_[src]];
    if (!c.known) {
        c.info = enrichment_->Lookup(family == 4 ? IpAddress::V4(src) : IpAddress::V6FromBytes(v6_sources_[src].data()));
        c.known = true;
        ++info_cached_;
    }
    return c.info;
}

// Orders the records by (hour, sensor, dimension), keeping arrival order within each: the groups are few (the
// hours of one flush, times sensors, times a few dimensions), so a counting pass and a scatter do it, where a
// comparison sort of millions of records cost more than building their segments.
void AggregateShard::GroupSignatureRecords() {
    auto key_of = [](const SignatureRecord &s) {
        // The hour's sign bit flipped, so that unsigned order is the hours' order.
        return uint64_t(uint32_t(s.hour) ^ 0x80000000u) << 32 | uint64_t(s.sensor) << 8 | uint8_t(s.dim);
    };
    struct Group {
        uint64_t key;
        size_t count;
    };
    std::vector<Group> groups;
    std::vector<uint32_t> group_of(signature_records_.size());
    size_t last = 0;
    for (size_t i = 0; i < signature_records_.size(); ++i) {
        const uint64_t key = key_of(signature_records_[i]);
        if (groups.empty() || groups[last].key != key) {
            last = 0;
            while (last < groups.size() && groups[last].key != key) ++last;
            if (last == groups.size()) groups.push_back(Group{key, 0});
        }
        ++groups[last].count;
        group_of[i] = uint32_t(last);
    }
    std::vector<uint32_t> rank(groups.size());
    for (uint32_t g = 0; g < groups.size(); ++g) rank[g] = g;
    std::sort(rank.begin(), rank.end(), [&](uint32_t a, uint32_t b) { return groups[a].key < groups[b].key; });
    std::vector<size_t> at(groups.size());
    size_t offset = 0;
    for (uint32_t g : rank) {
        at[g] = offset;
        offset += groups[g].count;
    }
    std::vector<SignatureRecord> ordered(signature_records_.size());
    for (size_t i = 0; i < signature_records_.size(); ++i) ordered[at[group_of[i]]++] = signature_records_[i];
    signature_records_.swap(ordered);
}

// Segments per (hour, sensor, dimension) with exact sources, as FlushHour makes for the other
// dimensions: the records grouped (GroupSignatureRecords), then one builder per dimension.
void AggregateShard::FlushSignatures() {
    if (signature_records_.empty()) return;
    const bool enriched = enrichment_ != nullptr;
    if (enriched) {
        // The source's country into each record, and research sources' records once more under the mirror
        // dimensions (summary --exclude-research subtracts them). A packet's records are adjacent here
        // (arrival order), so one cache access serves all of them.
        const size_t hits = signature_records_.size();
        uint8_t last_family = 0xFF;
        uint32_t last_src = 0;
        SourceInfo info;
        for (size_t i = 0; i < hits; ++i) {
            SignatureRecord &s = signature_records_[i];
            if (s.family != last_family || s.src != last_src) {
                info = CachedInfoOf(s.family, s.src);
                last_family = s.family;
                last_src = s.src;
            }
            s.country = info.country;
            if (info.research != 0) {
                SignatureRecord mirror = s;
                mirror.dim = ResearchDimension(s.dim);
                signature_records_.push_back(mirror);  // may move the records: s is not used after this
            }
        }
    }
    GroupSignatureRecords();
    SegmentBuilder builder, by_country, by_category_country;
    // A scanner's probes all match the same rules: in the benchmark's capture an hour held five records for each
    // (rule or category, source) pair. A small direct-mapped table sums a pair's packets before the builders, which
    // then see each pair about once instead of once per packet (a table lookup and a pair to sort each); an evicted
    // pair is added and counted again later, which the builders' union and sums absorb.
    struct Combined {
        uint32_t key = 0, src = 0;  // src as SignatureRecord::src
        uint8_t family = 0;
        uint16_t country = 0;
        uint64_t packets = 0, bytes = 0;
        uint64_t first_packets = 0, first_bytes = 0;  // of the packets' first category records (by country)
    };
    constexpr size_t COMBINED = 4096;
    std::vector<Combined> combined(COMBINED);
    std::vector<uint32_t> used;
    // `categories`: the group is of category records (see the loop below).
    auto emit = [&](const Combined &c, bool categories) {
        AddFromSource(builder, c.family, c.src, c.key, c.packets, c.bytes);
        if (!categories) return;
        AddFromSource(by_category_country, c.family, c.src, CountryCategoryKey(c.country, uint8_t(c.key)), c.packets,
                      c.bytes);
        if (c.first_packets > 0) AddFromSource(by_country, c.family, c.src, c.country, c.first_packets, c.first_bytes);
    };
    auto combine = [&](const SignatureRecord &s, bool categories) {
        const size_t slot = size_t(Mix64(uint64_t(s.src) << 32 | s.key)) & (COMBINED - 1);
        Combined &c = combined[slot];
        if (c.packets == 0 || c.key != s.key || c.src != s.src || c.family != s.family) {
            if (c.packets > 0)
                emit(c, categories);
            else
                used.push_back(uint32_t(slot));
            c = Combined{s.key, s.src, s.family, s.country};
        }
        ++c.packets;
        c.bytes += s.wire_len;
        if (s.first_category) {
            ++c.first_packets;
            c.first_bytes += s.wire_len;
        }
    };
    auto drain = [&](bool categories) {
        for (const uint32_t slot : used) {
            emit(combined[slot], categories);
            combined[slot].packets = 0;
        }
        used.clear();
    };
    auto merge = [&](SegmentBuilder &b, int32_t hour, SensorIndex sensor, Dimension dim) {
        Segment segment = b.Build();
        if (segment.Empty()) return;
        Segment &into = hourly_[CounterKey{hour, sensor, dim}];
        into.Merge(std::move(segment));
    };
    for (size_t i = 0; i < signature_records_.size();) {
        const SignatureRecord &first = signature_records_[i];
        const int32_t hour = first.hour;
        const SensorIndex sensor = first.sensor;
        const Dimension dim = first.dim;
        const bool research = uint8_t(dim) >= RESEARCH_DIMENSION_BASE;
        // Category records (or their mirrors) also count by category x country, and once per packet by country.
        const bool categories = enriched && (dim == Dimension::SIGNATURE_CATEGORY ||
                                             dim == ResearchDimension(Dimension::SIGNATURE_CATEGORY));
        size_t j = i;
        for (; j < signature_records_.size(); ++j) {
            const SignatureRecord &s = signature_records_[j];
            if (s.hour != hour || s.sensor != sensor || s.dim != dim) break;
            combine(s, categories);
        }
        drain(categories);
        merge(builder, hour, sensor, dim);
        if (categories) {
            auto mirrored = [&](Dimension d) { return research ? ResearchDimension(d) : d; };
            merge(by_category_country, hour, sensor, mirrored(Dimension::SIGNATURE_CATEGORY_COUNTRY));
            merge(by_country, hour, sensor, mirrored(Dimension::SIGNATURE_COUNTRY));
        }
        i = j;
    }
    signature_records_.clear();
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
    // The other shard's records become segments and per-source records first; both merge exactly.
    other.Flush();
    for (auto &[key, segment] : other.hourly_) {
        Segment &into = hourly_[key];
        into.Merge(std::move(segment));
    }
    other.sources_.ForEach([&](const SourceDayKey &k, SourceDayStats &v) { sources_[k].Merge(std::move(v)); });
    other.events_.ForEach([&](const EventKey &k, uint64_t v) { events_[k] += v; });
    for (auto &[k, v] : other.destinations_) {
        DestinationSet &d = destinations_[k];
        d.v6.Merge(v.v6);
        v.v4.ForEach([&](uint32_t a, uint8_t) { d.v4[a] = 1; });
    }
    other.hourly_.clear();
    other.sources_.Clear();
    other.events_.Clear(64);
    other.destinations_.clear();
    other.last_dest_set_ = nullptr;
    other.last_dest_day_ = INT32_MIN;
}

void Rollup(AggregateShard &shard, CounterRows &hourly) {
    CounterRows &rows = shard.HourlySegments();
    for (auto &[key, segment] : rows) {
        if (segment.Empty()) continue;
        Segment &slot = hourly[key];
        slot.Merge(std::move(segment));
    }
    rows.clear();
}

}  // namespace darkscope
