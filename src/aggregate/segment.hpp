#pragma once
/// A counter segment: every key of one (dimension, period, sensor) with its packets, bytes and exact
/// source addresses, stored as one blob. One row per segment instead of one per key keeps the store's
/// write cost per hour, not per key: a darknet sees tens of thousands of destination ports an hour,
/// most from a single source.
///
/// Encoding (all integers LEB128 varints, little-endian where fixed):
///   u8 version (1), varint rows,
///   per row: varint key delta, varint packets, varint bytes, varint IPv4 count, varint IPv6 count,
///   then the sources of every row in row order: IPv4 as sorted deltas, IPv6 as 16-byte addresses.
/// The counts come first so that a reader can rank keys by packets without decoding any source.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/flat_map.hpp"

namespace darkscope {

using Ipv6Bytes = std::array<uint8_t, 16>;

struct SegmentRow {
    uint32_t key = 0;
    uint64_t packets = 0;
    uint64_t bytes = 0;
    std::vector<uint32_t> v4;   // IPv4 sources, host order; sorted and unique once normalised
    std::vector<Ipv6Bytes> v6;
    uint64_t UniqueSources() const { return v4.size() + v6.size(); }
};

class Segment {
public:
    /// The row for key, created empty on first use. The caller may append unsorted sources: the
    /// segment is then no longer normalised until Normalize().
    SegmentRow &Row(uint32_t key);
    /// Sorts rows by key and each row's sources, dropping duplicate sources.
    void Normalize();
    /// Adds another segment of the same (dimension, period, sensor): counts sum, sources unite.
    /// When both are normalised the sources are merged in order and the result stays normalised
    /// (the daily segments are built this way from 24 hourly ones without sorting).
    void Merge(const Segment &other);
    /// The same, taking other's rows instead of copying them (all of them when this one is empty);
    /// other is left empty.
    void Merge(Segment &&other);
    bool Empty() const { return rows_.empty(); }
    size_t Size() const { return rows_.size(); }
    uint64_t Packets() const;
    const std::vector<SegmentRow> &Rows() const { return rows_; }

    /// A normalised segment from rows already sorted by key, each with sorted, unique sources.
    static Segment FromNormalizedRows(std::vector<SegmentRow> rows);

    /// Normalises, then encodes.
    std::string Encode();
    /// Returns std::nullopt for bytes that are not a valid segment (never reads past the end).
    static std::optional<Segment> Decode(std::string_view bytes);

private:
    template <bool MOVE>
    void MergeRows(std::conditional_t<MOVE, Segment &, const Segment &> other);

    std::vector<SegmentRow> rows_;
    struct KeyHash {
        size_t operator()(uint32_t k) const noexcept { return size_t(Mix64(k)); }
    };
    FlatMap<uint32_t, uint32_t, KeyHash> index_{64};  // key -> position + 1
    bool indexed_ = true;      // false after Normalize reorders rows; rebuilt on demand
    bool normalized_ = true;   // rows sorted by key, sources sorted and unique
};

/// Builds a normalised segment from (key, source) pairs. The pairs of an hour go to one array that
/// is sorted once, rather than to a vector per key: an hour has tens of thousands of keys, and a
/// vector each costs more in allocation than the sort.
class SegmentBuilder {
public:
    /// Build() leaves the builder empty but keeps its buffers for the next segment.
    /// One (key, source) pair with its packets and bytes: IPv4 in host order, IPv6 as bytes, or no source.
    void AddV4(uint32_t key, uint64_t packets, uint64_t bytes, uint32_t src) {
        AddCounts(key, packets, bytes);
        if (!v4_pairs_.empty() && uint32_t(v4_pairs_.back()) > src) v4_sources_ascending_ = false;
        v4_pairs_.push_back(uint64_t(key) << 32 | src);
    }
    void AddV6(uint32_t key, uint64_t packets, uint64_t bytes, const Ipv6Bytes &src) {
        AddCounts(key, packets, bytes);
        v6_pairs_.emplace_back(key, src);
    }
    void AddCounts(uint32_t key, uint64_t packets, uint64_t bytes) {
        auto &c = counts_[key];
        c.first += packets;
        c.second += bytes;
    }
    Segment Build();

private:
    struct KeyHash {
        size_t operator()(uint32_t k) const noexcept { return size_t(Mix64(k)); }
    };
    FlatMap<uint32_t, std::pair<uint64_t, uint64_t>, KeyHash> counts_{64};
    std::vector<uint64_t> v4_pairs_;
    std::vector<std::pair<uint32_t, Ipv6Bytes>> v6_pairs_;
    std::vector<uint64_t> sort_scratch_;  // kept between builds: a builder is reused every hour
    bool v4_sources_ascending_ = true;    // every AddV4 so far came with a source >= the one before
};

/// Sorts 64-bit values (LSD radix, 16-bit digits; digits that every value shares are skipped),
/// using `scratch` as the second buffer. With from_bit > 0 only bits [from_bit, 64) are sorted on,
/// stably: values already in order on the lower bits stay so within equal upper bits.
void RadixSort(std::vector<uint64_t> &values, std::vector<uint64_t> &scratch, int from_bit = 0);

}  // namespace darkscope
