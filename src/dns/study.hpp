#pragma once
/// The DNS study of seed 004 on the per-packet path: every 53/UDP packet to a sensor (either port) is parsed
/// with its question name, and folded into what the paper's tables and plots need, per source and day
/// (packets, query/response split, inter-arrival times, qtypes, rcodes, distinct names) and per zone and hour
/// (queries and responses under one registrable domain, distinct names and sources: what random-label
/// "water torture" floods look like).
///
/// It runs on the thread that reads and decodes, not on the aggregation workers: DNS is a small share of a
/// darknet's packets, and kept here it needs no name text carried in every Observation nor any merge across
/// workers (a zone's queries come from sources every worker owns). The state lives for one input file and
/// is written in that file's transaction, so it stays as atomic as the rest of ingest.

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/ip_address.hpp"
#include "common/time.hpp"

namespace darkscope {

struct DecodedPacket;
struct ClassifiedPacket;
class Enrichment;

namespace dns {

/// Message counts by a 16-bit code (a qtype, an rcode, a gap bucket), in code order: a record holds a handful,
/// so a sorted array, where a tree took an allocation per code (tens of thousands of records end each file).
class CodeCounts {
public:
    using key_type = uint16_t;
    using value_type = std::pair<uint16_t, uint64_t>;
    /// The count of code, added at zero when absent.
    uint64_t &operator[](uint16_t code) {
        auto it = std::lower_bound(counts_.begin(), counts_.end(), code,
                                   [](const value_type &c, uint16_t k) { return c.first < k; });
        if (it == counts_.end() || it->first != code) it = counts_.insert(it, {code, 0});
        return it->second;
    }
    /// The count of code; throws std::out_of_range when absent.
    uint64_t at(uint16_t code) const {
        for (const auto &[k, n] : counts_)
            if (k == code) return n;
        throw std::out_of_range("no count for this code");
    }
    std::vector<value_type>::const_iterator begin() const { return counts_.begin(); }
    std::vector<value_type>::const_iterator end() const { return counts_.end(); }
    size_t size() const { return counts_.size(); }
    bool empty() const { return counts_.empty(); }
    friend bool operator==(const CodeCounts &, const CodeCounts &) = default;

private:
    std::vector<value_type> counts_;
};

/// Distinct 64-bit hashes, exact up to CAP and "at least CAP" beyond: unions stay exact below the cap, and a
/// capped union is capped (a set that reached the cap makes every union with it reach it).
struct CappedSet {
    static constexpr size_t CAP = 1024;
    std::vector<uint64_t> hashes;  // sorted
    bool capped = false;
    void Add(uint64_t h);
    void Merge(const CappedSet &o);
    uint64_t Count() const { return hashes.size(); }
    /// For display: "1024+" when capped.
    std::string Describe() const;
};

/// Gaps between consecutive packets of a source, in buckets of one eighth of a doubling of microseconds
/// ([2^e (1 + m/8), 2^e (1 + (m+1)/8)) µs): the median comes out within 6.3% (half the widest bucket, at
/// m = 0) and merges exactly across files and days, where keeping every timestamp would not fit a month of a
/// busy source.
struct GapHistogram {
    static constexpr int STEPS_PER_DOUBLING = 8;
    CodeCounts buckets;
    void Add(TimestampNs gap);
    void Merge(const GapHistogram &o);
    uint64_t Count() const;
    /// The median gap in seconds (the geometric centre of the median's bucket); 0 without gaps.
    double MedianSeconds() const;
    static uint16_t BucketOf(TimestampNs gap);
};

/// One source's DNS on one day, over every sensor.
struct SourceDay {
    int64_t day = 0;
    IpAddress address;
    uint64_t queries = 0;    // QR bit clear, or to port 53 where the payload is not DNS
    uint64_t responses = 0;  // QR bit set, or from port 53 where the payload is not DNS
    uint64_t by_port = 0;    // of those, decided by port (the payload did not parse)
    uint64_t bytes = 0;      // on the wire
    uint64_t answers = 0;    // answer records in the responses' headers
    uint64_t edns = 0;       // messages with an OPT record
    uint64_t dnssec_ok = 0;  // of those, with the DO bit
    TimestampNs first_ts = 0;
    TimestampNs last_ts = 0;
    uint16_t research = 0;  // the research-scanner label's store id (enrichment), 0: none
    GapHistogram gaps;
    CodeCounts qtypes;                    // of every message with a question
    CodeCounts rcodes;                    // of responses
    CappedSet names;                      // question names (lower case)
    std::vector<std::string> examples;    // the first names seen, presentation form (EscapeDnsLabel)
    static constexpr size_t EXAMPLES = 3;

    uint64_t Packets() const { return queries + responses; }
    /// Adds a later record of the same source (another file, or the next day): the gap between them counts
    /// when it does not overlap.
    void Merge(const SourceDay &o);
    double MeanInterArrivalSeconds() const {
        return Packets() > 1 ? double(last_ts - first_ts) / 1e9 / double(Packets() - 1) : 0.0;
    }
};

/// Messages whose question falls under one registrable domain (the Public Suffix List, libpsl) in one hour.
struct ZoneHour {
    int64_t hour = 0;
    std::string zone;  // presentation form, lower case
    uint64_t queries = 0;
    uint64_t responses = 0;
    CappedSet names;
    CappedSet sources;
    CodeCounts rcodes;  // of responses
    std::vector<std::string> examples;
    static constexpr size_t EXAMPLES = 5;
    void Merge(const ZoneHour &o);
};

/// The store's form of the records: their fields as JSON text, and the hash sets as packed little-endian
/// 64-bit words (a capped set keeps its flag in the JSON). The From* functions throw std::runtime_error on
/// what they cannot read.
std::string ToJsonText(const SourceDay &s);
SourceDay SourceDayFromJsonText(std::string_view text);
std::string ToJsonText(const ZoneHour &z);
ZoneHour ZoneHourFromJsonText(std::string_view text);
std::string PackHashes(const CappedSet &set);
void UnpackHashes(std::string_view blob, CappedSet &set);

/// The registrable domain of a lower-case presentation-form name ("a1.victim-shop.example" ->
/// "victim-shop.example"); names with escaped bytes, and public suffixes themselves, keep their last two
/// labels (or the whole name when shorter).
std::string ZoneOf(const std::string &name);

/// "A", "AAAA", "ANY", ... or "TYPE65534" (RFC 3597).
std::string QtypeName(uint16_t qtype);
/// "NOERROR", "NXDOMAIN", ... or "RCODE23".
std::string RcodeName(uint16_t rcode);

/// Folds one file's DNS packets (see the file comment). Not thread-safe: the reading thread owns it.
///
/// Per packet it appends one record to a buffer (and counts the zone, whose few hundred records an hour stay
/// in cache); the records are sorted by source and time and folded into the per-source days when the buffer
/// fills or the records are asked for. Updating a source's record per packet cost a cache miss or five per
/// packet (its hash slot, its maps), more than reading and decoding the packet.
class Accumulator {
public:
    static constexpr size_t FLUSH_RECORDS = size_t(1) << 20;
    explicit Accumulator(const Enrichment *enrichment = nullptr) : enrichment_(enrichment) {}
    /// For a packet to a sensor whose classification says DNS (by QR bit or by port); other packets are ignored.
    void Add(const DecodedPacket &pkt, const ClassifiedPacket &cp);
    bool Empty() const { return records_.empty() && sources_.empty() && zones_.empty(); }
    uint64_t Packets() const { return packets_; }
    /// Hands over what was folded, in (day, address) and (hour, zone) order, and starts afresh.
    std::vector<SourceDay> TakeSources();
    std::vector<ZoneHour> TakeZones();

private:
    struct Record {
        TimestampNs ts = 0;
        int64_t day = 0;  // DayOf(ts), kept: Fold keys its sort on it
        uint64_t name_hash = 0;
        IpAddress src;
        uint8_t flags = 0;  // Flag bits
        uint32_t wire_len = 0;
        uint32_t name_offset = 0;  // into names_
        uint16_t name_length = 0;
        uint16_t qtype = 0;
        uint16_t rcode = 0;
        uint16_t answers = 0;
    };
    enum Flag : uint8_t { RESPONSE = 1, BY_PORT = 2, QUESTION = 4, EDNS = 8, DNSSEC_OK = 16, PARSED = 32 };
    void Fold();
    // The records' indexes in (day, address, time, arrival) order.
    std::vector<uint32_t> SortedOrder() const;
    static constexpr int INDEX_BITS = 20;  // a record's index in the radix sort's keys: FLUSH_RECORDS fit

    const Enrichment *enrichment_;
    std::vector<Record> records_;
    std::string names_;  // the records' question names, one after another
    // In (day, address) order: each fold makes its pieces in that order, and merges them in one pass.
    std::vector<SourceDay> sources_;
    struct ZoneKeyHash {
        size_t operator()(const std::pair<int64_t, uint64_t> &k) const noexcept;
    };
    std::unordered_map<std::pair<int64_t, uint64_t>, ZoneHour, ZoneKeyHash> zones_;  // by (hour, zone hash)
    // The zone of each name seen lately, by name hash (the name is kept to compare): scanners ask the same
    // names again and again, and the public suffix lookup was most of a DNS message's cost on the reading thread.
    struct CachedZone {
        std::string name, zone;
        uint64_t zone_hash = 0;
    };
    static constexpr size_t ZONE_CACHE_LIMIT = size_t(1) << 16;
    std::unordered_map<uint64_t, CachedZone> zone_cache_;
    const CachedZone &ZoneOfName(const std::string &name, uint64_t name_hash);
    uint64_t packets_ = 0;
};

}  // namespace dns
}  // namespace darkscope
