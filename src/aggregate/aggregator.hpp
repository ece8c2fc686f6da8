#pragma once
/// Aggregation of classified packets into hourly and daily counters with exact unique sources,
/// and per-source daily statistics.
///
/// The per-packet path (AggregateShard::Observe) appends one 32-byte record to a buffer and nothing
/// else: a sequential write instead of two random hash-table updates, which were the cost of ingest
/// once the tables outgrew the caches. When an hour closes (Rollup), when the per-source records are
/// asked for, or when the buffer reaches its bound, the records are radix-sorted by source and linear
/// passes derive the hourly segments (packets, bytes and exact unique sources per key) and fold the
/// per-source day statistics into their table with one lookup per source instead of per packet. So
/// memory grows with distinct sources and keys, never with packets. A shard is owned by one thread;
/// shards Merge at interval ends, which is what makes the path shardable by source address without locks
/// (pipeline/sharded_aggregation.hpp runs one shard per worker thread).

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "aggregate/dimension.hpp"
#include "aggregate/segment.hpp"
#include "aggregate/source_chunk.hpp"
#include "aggregate/source_set.hpp"
#include "classify/classifier.hpp"
#include "classify/sensors.hpp"
#include "common/flat_map.hpp"
#include "decode/decoded_packet.hpp"
#include "enrich/enrichment.hpp"

namespace darkscope {

namespace sig {
class Matcher;
class ThresholdTracker;
}  // namespace sig

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
    // Fingerprint evidence (classify/fingerprint.hpp): TCP SYN probes, and packets matching each rule.
    // 32 bits, saturating: a day's per-source record stays small, and no source sends 4 billion SYNs a day.
    uint32_t syn_packets = 0;
    std::array<uint32_t, FINGERPRINT_RULES> rule_packets{};
    SourceInfo info;  // country, AS, research label (the same for every packet of the source)

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
/// A packet hit more rules than SignatureHits::MAX: the extra sids are counted by category only.
constexpr uint8_t EVENT_SIGNATURE_HITS_TRUNCATED = 65;
// decode.dns.<reason> of a DNS message malformed past its header: EVENT_DNS_ERROR_BASE + DnsError.
constexpr uint8_t EVENT_DNS_ERROR_BASE = 80;
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

/// Counter segments by (period, sensor, dimension): the period is an hour or a day number.
struct CounterKey {
    int32_t period = 0;
    SensorIndex sensor = 0;
    Dimension dim = Dimension::TOTAL;
    friend auto operator<=>(const CounterKey &, const CounterKey &) = default;
};
using CounterRows = std::map<CounterKey, Segment>;

/// What the per-packet path keeps of a packet until the next flush.
struct PacketRecord {
    uint32_t src = 0;          // IPv4 host order, or an index into the shard's IPv6 sources
    uint32_t dst_key = 0;      // see DestinationKey
    uint32_t service = 0;      // ServiceKey::packed
    uint32_t source_port = 0;  // ServiceKey::packed, 0 for none
    TimestampNs ts = 0;
    uint32_t wire_len = 0;
    SensorIndex sensor = 0;
    uint8_t cls_family = 0;    // TrafficClass in the low 4 bits; the source's family code above (FamilyCode)
    uint8_t fingerprints = 0;  // RuleBit bits (classify/fingerprint.hpp)

    /// 0 (no source), 1 (IPv4) or 2 (IPv6): the order sources sort in.
    static constexpr uint8_t FamilyCode(uint8_t family) { return family == 4 ? 1 : family == 6 ? 2 : 0; }
    void Set(TrafficClass cls, uint8_t family) { cls_family = uint8_t(uint8_t(cls) | FamilyCode(family) << 4); }
    TrafficClass Cls() const { return TrafficClass(cls_family & 0x0F); }
    uint8_t Code() const { return uint8_t(cls_family >> 4); }
    /// Of the source: 0 (none), 4 or 6.
    uint8_t Family() const { return Code() == 1 ? 4 : Code() == 2 ? 6 : 0; }
};
static_assert(sizeof(PacketRecord) == 32);
static_assert(size_t(TrafficClass::COUNT) <= 16, "PacketRecord packs the class into 4 bits");

/// The signature hits of a packet (signature/matcher/), carried to the worker that owns its source.
/// Rare (most darknet packets carry no payload and match nothing), so they travel in the observation
/// rather than in the 32-byte PacketRecord; the shard keeps them in a buffer of their own.
struct SignatureHits {
    static constexpr int MAX = 4;
    static constexpr int MAX_DEFERRED = 2;
    uint8_t count = 0;        // sids kept, at most MAX
    uint8_t categories = 0;   // bit c: a hit in category c (sig::Category, 1..7), over every hit
    bool truncated = false;   // more than MAX rules hit: the others count in categories only
    uint8_t matches = 0;      // rules matched (saturating), for the ingest's message
    // Rules matched whose threshold tracks the source (sig::Matcher::ThresholdBySource): counted and
    // decided by the shard that owns the source (AggregateShard::SetThresholds), then added above.
    uint8_t deferred_count = 0;
    uint16_t dport = 0;       // the packet's destination port, for thresholds unique on it
    uint32_t sids[MAX] = {};
    uint32_t deferred[MAX_DEFERRED] = {};  // rule indexes
    bool Empty() const { return categories == 0 && deferred_count == 0; }
    /// Adds one rule's hit: its category, and its sid unless already kept (or MAX are: truncated).
    void Add(uint32_t sid, uint8_t category) {
        categories |= uint8_t(1u << category);
        if (matches < UINT8_MAX) ++matches;
        for (int i = 0; i < count; ++i)
            if (sids[i] == sid) return;
        if (count == MAX) truncated = true;
        else sids[count++] = sid;
    }
};

/// What aggregation needs of a packet, and nothing that points into the capture buffer: the thread
/// that reads and decodes hands these to the thread that owns the packet's source.
struct Observation {
    TimestampNs ts = 0;
    uint64_t events = 0;  // DecodeEvent bits
    IpAddress src;
    IpAddress dst;
    uint32_t wire_len = 0;
    SensorIndex sensor = UNATTRIBUTED;
    ClassifiedPacket cp;
    SignatureHits signatures;
};

inline Observation MakeObservation(const DecodedPacket &pkt, const ClassifiedPacket &cp, SensorIndex sensor) {
    Observation o;
    o.ts = pkt.ts;
    o.events = pkt.events;
    o.src = pkt.src;
    o.dst = pkt.dst;
    o.wire_len = pkt.wire_len;
    o.sensor = sensor;
    o.cp = cp;
    return o;
}

using SourceTable = FlatMap<SourceDayKey, SourceDayStats, SourceDayKeyHash>;
using EventTable = FlatMap<EventKey, uint64_t, EventKeyHash>;

/// A record's fields but its sets, as a stored per-source record holds them.
SourceDayCounts SourceDayCountsOf(const SourceDayKey &key, const SourceDayStats &stats);

/// Turns per-source records into the store's encoded chunks, one part per (day, bucket), and empties
/// the table (freeing a day's sets is a cost of its own, paid here by the thread that owns them).
/// Sensor indexes become stored sensor ids (`sensor_ids[index]`), which stay stable when the sensors
/// file changes.
SourceChunks ToSourceChunks(SourceTable &table, const std::vector<int64_t> &sensor_ids);

/// Per-thread aggregation state.
class AggregateShard {
public:
    static constexpr size_t DEFAULT_FLUSH_LIMIT = size_t(1) << 19;
    AggregateShard();
    ~AggregateShard();
    AggregateShard(AggregateShard &&) noexcept;
    AggregateShard &operator=(AggregateShard &&) noexcept;
    void Observe(const Observation &o);
    /// Observe for each, with the by-source signature thresholds of packets some places ahead
    /// prefetched (the shard's threshold table is looked up once per SYN of a port-scan rule).
    void ObserveBatch(std::span<const Observation> batch);
    void Observe(const DecodedPacket &pkt, const ClassifiedPacket &cp, SensorIndex sensor) {
        Observe(MakeObservation(pkt, cp, sensor));
    }
    void Merge(AggregateShard &&other);
    bool Empty() const { return records_.empty() && hourly_.empty() && sources_.Empty() && events_.Empty(); }

    /// The per-source records, with every packet observed so far applied.
    FlatMap<SourceDayKey, SourceDayStats, SourceDayKeyHash> &Sources() {
        Flush();
        return sources_;
    }
    FlatMap<EventKey, uint64_t, EventKeyHash> &Events() { return events_; }
    /// Hands over the per-source records (every packet observed so far applied) and the event
    /// counters, and starts afresh: how a worker passes a closed day to the thread that stores it.
    SourceTable TakeSources();
    EventTable TakeEvents();
    /// Destinations seen per (day, sensor), kept only for the implicit sensor, whose address count
    /// is the number of distinct destinations; hands them over and forgets them.
    std::map<std::pair<int32_t, SensorIndex>, SourceSet> TakeDestinations();
    void TrackDestinations(bool on) { track_destinations_ = on; }
    /// Bounds the record buffer (default DEFAULT_FLUSH_LIMIT): shards that share one process divide it.
    void SetFlushLimit(size_t records) { flush_limit_ = std::max<size_t>(records, 1024); }
    /// Country, AS and research label per source (and their dimensions), looked up once per source
    /// through this shard's cache; null: none. The enrichment is shared, read-only, by every shard.
    void SetEnrichment(const Enrichment *enrichment) { enrichment_ = enrichment; }
    /// Decides the matches whose rule thresholds by source (SignatureHits::deferred) with `tracker`,
    /// which must see every packet of its sources in time order (it outlives the shard: one per
    /// worker for a whole ingest, so that windows span files). Without it deferred matches drop.
    void SetThresholds(const sig::Matcher *matcher, sig::ThresholdTracker *tracker) {
        matcher_ = matcher;
        thresholds_ = tracker;
    }
    /// Packets with at least one signature hit, and rule matches, observed since the last call.
    std::pair<uint64_t, uint64_t> TakeSignatureCounts() {
        return {std::exchange(signature_packets_, 0), std::exchange(signature_matches_, 0)};
    }
    /// Sorts the buffered records and folds them into the hourly segments and per-source records.
    void Flush();
    /// The hourly segments derived so far (see Flush); Rollup hands them over.
    CounterRows &HourlySegments() {
        Flush();
        return hourly_;
    }

private:
    // Bounds the buffer (16 MiB at the default, and as much again while it is sorted) whatever the
    // packet rate. A flush per hour is the cheapest; half a million records still holds an hour of a
    // telescope that sees 10 million packets a day, and a larger bound only costs memory.
    size_t flush_limit_ = DEFAULT_FLUSH_LIMIT;
    std::vector<PacketRecord> records_;
    // Buffers a flush reuses: allocating them afresh each hour cost more in page faults (the kernel
    // zeroes every fresh page) than the sort that fills them.
    std::vector<PacketRecord> sort_scratch_;
    struct SourceUpdate;
    struct FlushScratch;
    std::unique_ptr<FlushScratch> flush_scratch_;
    // IPv6 sources of the buffered records: records carry an index, so that a record stays 32 bytes
    // and sorts on one integer. Equal addresses share an index, which is what groups them.
    struct V6Hash {
        size_t operator()(const std::array<uint8_t, 16> &b) const noexcept;
    };
    std::vector<std::array<uint8_t, 16>> v6_sources_;
    FlatMap<std::array<uint8_t, 16>, uint32_t, V6Hash> v6_index_{16};
    std::vector<uint32_t> v6_rank_;  // Flush's: each v6_sources_ index's rank in address order
    // Enrichment by source, cached for the shard's life (bounded: cleared when it grows past
    // INFO_CACHE_LIMIT): a source seen every hour is looked up once.
    struct CachedInfo {
        SourceInfo info;
        bool known = false;
    };
    static constexpr size_t INFO_CACHE_LIMIT = size_t(1) << 21;
    struct U64Hash {
        size_t operator()(uint64_t v) const noexcept { return size_t(Mix64(v)); }
    };
    const Enrichment *enrichment_ = nullptr;
    FlatMap<uint64_t, CachedInfo, U64Hash> v4_info_{16};  // key: IPv4 host order
    FlatMap<std::array<uint8_t, 16>, CachedInfo, V6Hash> v6_info_{16};
    size_t info_cached_ = 0;
    void InfosOf(const PacketRecord *begin, const PacketRecord *end);
    // Segments of the records flushed so far, by (hour, sensor, dimension); a later flush of the same
    // hour merges into them exactly (sources unite).
    CounterRows hourly_;
    void FlushHour(PacketRecord *begin, PacketRecord *end, int32_t hour);
    // One key's packets and bytes from one source into b: `src` as PacketRecord::src, of `family` 4, 6 or 0 (none).
    void AddFromSource(SegmentBuilder &b, uint8_t family, uint32_t src, uint32_t key, uint64_t packets,
                       uint64_t bytes) const {
        if (family == 4)
            b.AddV4(key, packets, bytes, src);
        else if (family == 6)
            b.AddV6(key, packets, bytes, v6_sources_[src]);
        else
            b.AddCounts(key, packets, bytes);
    }
    static void GroupBySensor(PacketRecord *begin, PacketRecord *end, FlushScratch &scratch);
    // Signature hits of the buffered records: one per (packet, sid) and per (packet, category), turned into
    // SIGNATURE and SIGNATURE_CATEGORY segments by FlushSignatures when the records flush; with enrichment the
    // category records also make the SIGNATURE_CATEGORY_COUNTRY and (the first of each packet) SIGNATURE_COUNTRY
    // segments, once the flush has looked the sources up, and research sources' records the mirrors.
    struct SignatureRecord {
        uint32_t src = 0;  // as PacketRecord::src
        uint32_t key = 0;  // sid or category number
        int32_t hour = 0;  // the hour number, so that sorting them divides no timestamp
        uint32_t wire_len = 0;
        SensorIndex sensor = 0;
        uint8_t family = 0;
        Dimension dim = Dimension::SIGNATURE;
        uint16_t country = 0;         // of the source, filled by FlushSignatures
        bool first_category = false;  // the packet's first category record: it counts by country
    };
    std::vector<SignatureRecord> signature_records_;
    void GroupSignatureRecords();
    void AddSignatureHits(const Observation &o, const SignatureHits &hits, const PacketRecord &r);
    SignatureHits ResolveDeferred(const Observation &o);
    const sig::Matcher *matcher_ = nullptr;
    sig::ThresholdTracker *thresholds_ = nullptr;
    uint64_t signature_packets_ = 0, signature_matches_ = 0;
    void FlushSignatures();
    // The enrichment of a hit's source: from the cache FlushHour filled (looked up and cached if the cache
    // was cleared since).
    SourceInfo CachedInfoOf(uint8_t family, uint32_t src);
    FlushScratch &Scratch();

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
    // The last destination set touched: consecutive packets to the same (day, sensor) skip the map.
    int32_t last_dest_day_ = INT32_MIN;
    SensorIndex last_dest_sensor_ = UNATTRIBUTED;
    DestinationSet *last_dest_set_ = nullptr;
};

/// Hands over the shard's hourly segments (everything observed since the last Rollup), merged into
/// `hourly`. Days are not rolled up here: the store builds them from their hours (Store::BuildDays).
void Rollup(AggregateShard &shard, CounterRows &hourly);

}  // namespace darkscope
