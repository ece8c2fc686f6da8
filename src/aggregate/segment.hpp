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
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/flat_map.hpp"
#include "common/ip_address.hpp"

namespace darkscope {


/// One key of a segment as read back: the sources point into the segment and stay valid until it
/// changes.
struct SegmentRowView {
    uint32_t key = 0;
    uint64_t packets = 0;
    uint64_t bytes = 0;
    std::span<const uint32_t> v4;   // IPv4 sources, host order, sorted and unique
    std::span<const Ipv6Bytes> v6;  // sorted and unique
    uint64_t UniqueSources() const { return v4.size() + v6.size(); }
};

/// A key with sources in any order and possibly repeated: what Segment::FromRows takes.
struct SegmentRow {
    uint32_t key = 0;
    uint64_t packets = 0;
    uint64_t bytes = 0;
    std::vector<uint32_t> v4;
    std::vector<Ipv6Bytes> v6;
};

/// Always normalised: rows sorted by key, each row's sources sorted and unique. Stored in columns
/// (one array of row heads, one of every row's IPv4 sources, one of IPv6 sources) rather than a
/// vector per row: a day's country x service segment has about a million keys, most with one or
/// two sources, and two heap blocks per row cost more memory and time than the sources themselves.
class Segment {
public:
    /// Rows in any order: sources are sorted and repeats dropped, and rows of one key are summed.
    static Segment FromRows(std::vector<SegmentRow> rows);

    /// Adds another segment of the same (dimension, period, sensor): counts sum, sources unite,
    /// in one ordered pass over both.
    void Merge(const Segment &other);
    /// The same; takes other's arrays when this one is empty. other is left empty.
    void Merge(Segment &&other);
    /// a ∪ b, packed: the encoding Encode would give for `a` merged with `b`, written straight from their
    /// rows (one pass to size it, one to write it) without the merged arrays in between. How the workers'
    /// parts of an hour are united before the hour is stored.
    static Segment PackedUnion(const Segment &a, const Segment &b);
    /// Unites many segments of one (dimension, sensor) in a single pass over their encodings, packed:
    /// how a day is built from its hours. Merging them two at a time rewrites the growing result
    /// once per part; this reads every part once and writes the result once. With `pieces` above one, that
    /// many ranges of keys, of about equal weight in the largest part, are united side by side (all but the
    /// first on threads of their own) and their encodings joined: a day build's largest pair (a
    /// telescope's services) would otherwise be united by one thread after the others are done.
    static Segment UniteMany(std::vector<Segment> parts, unsigned pieces = 1);
    bool Empty() const { return !Packed() && heads_.empty(); }
    size_t Size() const {
        Settle();
        return packed_.empty() ? heads_.size() : size_t(packed_rows_);
    }
    uint64_t Packets() const;
    uint64_t Bytes() const;

    /// Keeps the segment in its encoded form from now on (what Encode returns): a day's segments,
    /// merged hour after hour, take about half the memory of the arrays, a merge into a packed
    /// segment streams both in one pass, and storing it encodes nothing. Reading rows unpacks a
    /// copy, kept until the next merge.
    void Pack();
    bool Packed() const { return !packed_.empty(); }

    class RowRange;
    RowRange Rows() const;
    SegmentRowView Row(size_t i) const {
        Unpack();
        const Head &h = heads_[i];
        const uint32_t v4_begin = i == 0 ? 0 : heads_[i - 1].v4_end, v6_begin = i == 0 ? 0 : heads_[i - 1].v6_end;
        return SegmentRowView{h.key, h.packets, h.bytes,
                              std::span<const uint32_t>(v4_.data() + v4_begin, h.v4_end - v4_begin),
                              std::span<const Ipv6Bytes>(v6_.data() + v6_begin, h.v6_end - v6_begin)};
    }

    std::string Encode() const;
    /// Encode for a segment that is done with: a packed one hands its encoding over uncopied.
    std::string TakeEncoding() {
        Settle();
        std::string out = Packed() ? std::move(packed_) : Encode();
        *this = Segment();
        return out;
    }
    /// Returns std::nullopt for bytes that are not a valid segment (never reads past the end).
    static std::optional<Segment> Decode(std::string_view bytes);
    /// One row's counts as the encoding's head holds them.
    struct RowCounts {
        uint32_t key = 0;
        uint64_t packets = 0, bytes = 0;
        uint64_t unique_sources = 0;  // IPv4 + IPv6 sources of the row
    };
    /// Reads the counts of every row without decoding a source (they come first in the encoding): what a
    /// report ranking keys by packets needs. Checks the heads as Decode does; false for bytes that are not
    /// a valid segment's heads, with f called for the rows before the fault.
    static bool ScanCounts(std::string_view bytes, const std::function<void(const RowCounts &)> &f);
    /// The heads of an encoding: its bytes up to the first source (version, row count and every row's
    /// counts), or std::nullopt for bytes ScanCounts refuses. Stored apart from the segment, they spare a
    /// count-only reader the sources' pages: a tenth of a day's bytes.
    static std::optional<std::string_view> Heads(std::string_view bytes);
    /// ScanCounts over what Heads returned (no sources follow them).
    static bool ScanHeads(std::string_view heads, const std::function<void(const RowCounts &)> &f);
    /// The same checks as Decode, but the segment stays packed in `bytes` (no arrays are filled): what
    /// the store reads back to merge a new part of a day into, where the merge streams anyway.
    static std::optional<Segment> DecodePacked(std::string bytes);
    /// A packed segment of `bytes` unchecked, with the row count and totals given: only for bytes that
    /// are, byte for byte, an encoding this process made (Encode, TakeEncoding) with those figures.
    static Segment FromOwnEncoding(std::string bytes, uint64_t rows, uint64_t packets, uint64_t bytes_total);

private:
    friend class SegmentBuilder;
    friend class SegmentCursor;
    friend class PackedCursor;
    // A row: its key, counts, and where its sources end in v4_ / v6_ (they begin where the previous
    // row's end). 32 bytes.
    struct Head {
        uint32_t key = 0;
        uint32_t v4_end = 0;
        uint32_t v6_end = 0;
        uint64_t packets = 0;
        uint64_t bytes = 0;
    };
    template <typename SegmentRef>
    void MergeFrom(SegmentRef &&other);
    template <typename Out>
    static void WalkUnion(const Segment &a, const Segment &b, Out &out);
    /// The encoding of a ∪ b (with b empty, Encode's), and its row, packet and byte totals.
    static std::string EncodeUnion(const Segment &a, const Segment &b, uint64_t &rows, uint64_t &packets,
                                   uint64_t &bytes);
    void MergePacked(const Segment &other) const;
    template <bool FILL>
    bool Parse(std::string_view bytes);
    /// Fills the arrays from packed_ when they are not filled yet.
    void Unpack() const;
    /// Merges the pending hours into the encoding.
    void Settle() const {
        if (!pending_.empty()) SettlePending();
    }
    void SettlePending() const;
    void ClearArrays() const;

    // Unpacked: the segment. Packed: a read copy of packed_, or empty.
    mutable std::vector<Head> heads_;
    mutable std::vector<uint32_t> v4_;
    mutable std::vector<Ipv6Bytes> v6_;
    // The encoding, when packed. Mutable because merging the pending rows into it changes how the
    // segment is held, not what it holds.
    mutable std::string packed_;  // non-empty when packed
    mutable uint64_t packed_rows_ = 0, packed_packets_ = 0, packed_bytes_ = 0;
    // Packed only: what was merged since the encoding was last rewritten, as arrays (at most one
    // segment). A streaming merge rewrites the whole encoding, and a day took one each hour; the
    // hours wait here until they weigh half the encoding, so a day is rewritten a few times instead.
    mutable std::vector<Segment> pending_;
    size_t ArrayBytes() const { return heads_.size() * sizeof(Head) + v4_.size() * 4 + v6_.size() * 16; }
};

class Segment::RowRange {
public:
    class Iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = SegmentRowView;
        using difference_type = std::ptrdiff_t;
        Iterator(const Segment *s, size_t i) : s_(s), i_(i) {}
        SegmentRowView operator*() const { return s_->Row(i_); }
        Iterator &operator++() {
            ++i_;
            return *this;
        }
        Iterator operator++(int) {
            Iterator old = *this;
            ++i_;
            return old;
        }
        bool operator==(const Iterator &o) const { return i_ == o.i_; }

    private:
        const Segment *s_;
        size_t i_;
    };
    explicit RowRange(const Segment *s) : s_(s) {}
    Iterator begin() const { return Iterator(s_, 0); }
    Iterator end() const { return Iterator(s_, s_->Size()); }
    size_t size() const { return s_->Size(); }
    SegmentRowView operator[](size_t i) const { return s_->Row(i); }

private:
    const Segment *s_;
};

inline Segment::RowRange Segment::Rows() const { return RowRange(this); }

/// Builds a normalised segment from (key, source) pairs. The pairs of an hour go to one array that
/// is sorted once, rather than to a vector per key: an hour has tens of thousands of keys, and a
/// vector each costs more in allocation than the sort.
class SegmentBuilder {
public:
    SegmentBuilder() = default;
    SegmentBuilder(const SegmentBuilder &) = delete;  // last_counts_ points into its own table
    SegmentBuilder &operator=(const SegmentBuilder &) = delete;
    /// Build() leaves the builder empty but keeps its buffers for the next segment.
    /// One (key, source) pair with its packets and bytes: IPv4 in host order, IPv6 as bytes, or no source.
    void AddV4(uint32_t key, uint64_t packets, uint64_t bytes, uint32_t src) {
        AddCounts(key, packets, bytes);
        if (!v4_pairs_.empty() && uint32_t(v4_pairs_.back()) > src) v4_sources_ascending_ = false;
        v4_pairs_.push_back(uint64_t(last_index_) << 32 | src);
    }
    void AddV6(uint32_t key, uint64_t packets, uint64_t bytes, const Ipv6Bytes &src) {
        AddCounts(key, packets, bytes);
        if (!v6_pairs_.empty() && Ipv6Less{}(src, v6_pairs_.back().second)) v6_sources_ascending_ = false;
        v6_pairs_.emplace_back(last_index_, src);
    }
    void AddCounts(uint32_t key, uint64_t packets, uint64_t bytes) {
        // Sources come in address order, and neighbouring addresses mostly share a country, an AS, a
        // class and often a service: the last key's counts are reused before the table is probed.
        if (key != last_key_ || !last_counts_) {
            last_index_ = uint32_t(counts_.IndexOf(key));
            last_counts_ = &counts_.ValueAt(last_index_);
            last_key_ = key;
        }
        last_counts_->first += packets;
        last_counts_->second += bytes;
    }
    Segment Build();

private:
    struct KeyHash {
        size_t operator()(uint32_t k) const noexcept { return size_t(Mix64(k)); }
    };
    FlatMap<uint32_t, std::pair<uint64_t, uint64_t>, KeyHash> counts_{64};
    // The counts of last_key_ in counts_ (its entries never move), or null after Build.
    std::pair<uint64_t, uint64_t> *last_counts_ = nullptr;
    uint32_t last_key_ = 0;
    uint32_t last_index_ = 0;  // of last_key_'s entry in counts_
    // (index of the key's entry in counts_, source), IPv4 as entry << 32 | source: Build deals them out by key in
    // one pass, where a radix sort on the key took two or three.
    std::vector<uint64_t> v4_pairs_;
    std::vector<std::pair<uint32_t, Ipv6Bytes>> v6_pairs_;
    bool v4_sources_ascending_ = true;    // every AddV4 so far came with a source >= the one before
    bool v6_sources_ascending_ = true;    // the same for AddV6
};

/// Sorts 64-bit values (LSD radix, 11-bit digits over the bits in which the values differ),
/// using `scratch` as the second buffer. With from_bit > 0 only bits [from_bit, 64) are sorted on,
/// stably: values already in order on the lower bits stay so within equal upper bits.
void RadixSort(std::vector<uint64_t> &values, std::vector<uint64_t> &scratch, int from_bit = 0);
/// The same for 32-bit values, over all their bits.
void RadixSort(std::vector<uint32_t> &values, std::vector<uint32_t> &scratch);

}  // namespace darkscope
