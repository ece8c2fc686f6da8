#pragma once
/// Per-source daily records as the store keeps them: in chunks of a few thousand sources (one per
/// day and address bucket) rather than a row each. A telescope sees hundreds of thousands of sources
/// a day; a row each made the store, not the packets, the cost of ingest. Looking up one source reads
/// its bucket's chunk only (an IPv4 /8).
///
/// Chunk encoding (LEB128 varints): u8 version (2; 1 is still read), varint count, then per source in
/// address order: u8 family (4 or 6), the address (4 or 16 bytes), packets, bytes, first_ts,
/// last_ts - first_ts, then destinations, services and sensors, each as a count and sorted deltas;
/// version 2 adds: syn_packets, a bit mask of the fingerprint rules with a nonzero count followed by
/// those counts in rule order, country index, AS number, research entry (version 1 records read as 0).

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "classify/fingerprint.hpp"
#include "common/ip_address.hpp"
#include "common/time.hpp"

namespace darkscope {

/// A per-source day record's fields but its three sets: what SourceChunkWriter takes beside the sets,
/// wherever they are held.
struct SourceDayCounts {
    IpAddress src;
    uint64_t packets = 0;
    uint64_t bytes = 0;
    TimestampNs first_ts = 0;
    TimestampNs last_ts = 0;
    uint64_t syn_packets = 0;                                 // TCP SYN probes
    std::array<uint64_t, FINGERPRINT_RULES> rule_packets{};  // packets matching each FingerprintRule
    uint16_t country = 0;                                     // CountryIndex; 0 unknown (or not enriched)
    uint32_t asn = 0;
    uint16_t research = 0;  // research_names id of the entry that matched at ingest (Enrichment::Lookup); 0 none
};

struct SourceDay : SourceDayCounts {
    std::vector<uint32_t> destinations;  // sorted, unique (see SourceDayStats for what they hold)
    std::vector<uint32_t> services;
    std::vector<uint32_t> sensors;  // stored sensor ids

    FingerprintEvidence Evidence() const {
        FingerprintEvidence e;
        e.packets = packets;
        e.syn_packets = syn_packets;
        e.matched = rule_packets;
        return e;
    }

    /// Adds another record of the same source and day.
    void Merge(const SourceDay &other);
    double MeanInterArrivalSeconds() const {
        return packets > 1 ? double(last_ts - first_ts) / 1e9 / double(packets - 1) : 0.0;
    }
};

/// Per-source day records by (day, bucket), as encoded chunks (EncodeSourceChunk) of disjoint sources:
/// one part per aggregation worker that saw sources of the bucket. Encoded as soon as a worker closes
/// its day: a record takes tens of bytes encoded, against two hundred and three heap blocks as a
/// SourceDay, and the day's records are all in memory at that moment.
using SourceChunks = std::map<std::pair<int32_t, uint16_t>, std::vector<std::string>>;

constexpr uint16_t SOURCE_BUCKETS = 512;
/// IPv4 sources by their first octet (0-255); IPv6 sources by a hash of the address (256-511).
uint16_t SourceBucket(const IpAddress &src);

/// Encodes a chunk of `records` records, added in address order: for callers whose records are not
/// SourceDays (the aggregation's table), which would cost three heap arrays a source to build.
class SourceChunkWriter {
public:
    explicit SourceChunkWriter(size_t records);
    /// One record; its sets sorted and unique.
    void Add(const SourceDayCounts &r, std::span<const uint32_t> destinations, std::span<const uint32_t> services,
             std::span<const uint32_t> sensors);
    std::string Take() { return std::move(out_); }

private:
    std::string out_;
};

/// Sorts the records by address and encodes them.
std::string EncodeSourceChunk(std::vector<SourceDay> &records);
/// std::nullopt for bytes that are not a valid chunk (never reads past the end).
std::optional<std::vector<SourceDay>> DecodeSourceChunk(std::string_view bytes);
/// Unites two chunks' records (each sorted by address, as decoded or encoded), merging equal sources.
std::vector<SourceDay> MergeSourceChunks(std::vector<SourceDay> a, std::vector<SourceDay> b);
/// One chunk of the records of `parts`, version 2 chunks of disjoint sources (the aggregation workers' parts
/// of a bucket), their records' bytes copied in address order without decoding their fields: what
/// DecodeSourceChunk, MergeSourceChunks and EncodeSourceChunk give for such parts, at a fraction of the cost.
/// std::nullopt when they are not that (another version, a source in two parts, bytes that do not parse):
/// the caller then merges them field by field.
std::optional<std::string> InterleaveSourceChunks(std::span<const std::string> parts);
/// The number of records of an encoded chunk, read from its header; std::nullopt if it has none.
std::optional<uint64_t> SourceChunkCount(std::string_view bytes);

}  // namespace darkscope
