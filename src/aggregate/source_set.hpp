#pragma once
/// Exact sets of source addresses that merge over any period: a Roaring bitmap for IPv4
/// (CRoaring's portable format on disk) and a sorted array of 16-byte addresses for IPv6.

#include <array>
#include <memory>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "common/ip_address.hpp"

struct roaring_bitmap_s;

namespace darkscope {

/// An owning, movable handle on a CRoaring bitmap of 32-bit values.
///
/// Single additions are buffered and merged in sorted batches: inserting one by one into a Roaring
/// array container moves up to 8 KiB per insert, and a scanner sweeping a /20 telescope does exactly
/// that 4096 times a day.
class Bitmap32 {
public:
    Bitmap32();
    ~Bitmap32();
    Bitmap32(Bitmap32 &&other) noexcept;
    Bitmap32 &operator=(Bitmap32 &&other) noexcept;
    Bitmap32(const Bitmap32 &) = delete;
    Bitmap32 &operator=(const Bitmap32 &) = delete;

    void Add(uint32_t value) {
        pending_.push_back(value);
        if (pending_.size() >= PENDING_LIMIT) Flush();
    }
    /// Adds many values at once.
    void AddMany(std::span<const uint32_t> values);
    bool Contains(uint32_t value) const;
    void Merge(const Bitmap32 &other);
    uint64_t Cardinality() const;
    bool Empty() const { return Cardinality() == 0; }
    std::vector<uint32_t> Values() const;

    /// CRoaring portable serialisation (run containers optimised first).
    std::string Serialize();
    /// Returns std::nullopt for bytes that are not a valid portable bitmap.
    static std::optional<Bitmap32> Deserialize(std::string_view bytes);

private:
    static constexpr size_t PENDING_LIMIT = 512;
    /// Merges the pending values into the bitmap; const because it changes the representation only.
    void Flush() const;

    mutable roaring_bitmap_s *bitmap_ = nullptr;
    mutable std::vector<uint32_t> pending_;
};

/// A set of 32-bit values for a per-source record (its destinations, services, sensors of a day):
/// inline up to four values, then a sorted array on the heap; past DENSE_FROM values a plain bitmap
/// over their range when they fill it densely (a scanner sweeping a telescope's /20), else a Roaring
/// bitmap past VECTOR_LIMIT values. Most darknet sources touch a handful of destinations a day; a
/// Roaring bitmap for each (with its pending buffer and containers) cost several hundred bytes where
/// the array costs four per value. 32 bytes whatever the mode.
///
/// The plain bitmap is for the busy sources: each hour merged their day's array (or Roaring container)
/// with the hour's values, so a source that covers the telescope every hour cost its whole day's set per
/// hour; setting bits costs only the hour's values.
class SmallU32Set {
public:
    void Add(uint32_t value) {
        if (TryAddInline(value)) return;
        const uint32_t one[1] = {value};
        AddSorted(one);
    }
    void Merge(const SmallU32Set &other);
    uint64_t Cardinality() const;
    std::vector<uint32_t> SortedValues() const;
    /// The values in order: the set's own array, or `scratch` filled with them.
    std::span<const uint32_t> Sorted(std::vector<uint32_t> &scratch) const;
    /// Adds sorted, unique values (an hour's destinations of one source, say): inline while they fit.
    void AddSorted(std::span<const uint32_t> values);

    SmallU32Set() = default;
    ~SmallU32Set() { Free(); }
    SmallU32Set(SmallU32Set &&other) noexcept { Steal(other); }
    SmallU32Set &operator=(SmallU32Set &&other) noexcept {
        if (this != &other) {
            Free();
            Steal(other);
        }
        return *this;
    }
    SmallU32Set(const SmallU32Set &) = delete;
    SmallU32Set &operator=(const SmallU32Set &) = delete;

    static constexpr uint32_t VECTOR_LIMIT = 1024;
    static constexpr uint32_t DENSE_FROM = 64;

    /// How the values are held (for tests): the representation never changes what the set holds.
    enum class Form { INLINE, ARRAY, DENSE, BITMAP };
    Form HeldAs() const {
        return count_ == VECTOR   ? Form::ARRAY
               : count_ == DENSE  ? Form::DENSE
               : count_ == BITMAP ? Form::BITMAP
                                  : Form::INLINE;
    }

private:
    static constexpr uint8_t INLINE = 4;
    // count_ above INLINE names the mode; in VECTOR mode inline_[0] is the size, inline_[1] the capacity.
    static constexpr uint8_t DENSE = 0xFD, VECTOR = 0xFE, BITMAP = 0xFF;
    // A bitmap over [low, low + 64 * words.size()), low a multiple of 64, with its count of set bits.
    struct DenseBits {
        uint32_t low = 0;
        uint64_t count = 0;
        std::vector<uint64_t> words;
    };
    void AddDense(std::span<const uint32_t> values);
    /// Becomes a DENSE set of held ∪ values when they are at least two per word of their range.
    bool TryDense(std::span<const uint32_t> held, std::span<const uint32_t> values);
    /// Adds value if the set is still inline and has it or room for it.
    bool TryAddInline(uint32_t value) {
        if (count_ > INLINE) return false;
        for (uint8_t i = 0; i < count_; ++i)
            if (inline_[i] == value) return true;
        if (count_ == INLINE) return false;
        inline_[count_++] = value;
        return true;
    }
    std::span<const uint32_t> VectorValues() const { return {values_, inline_[0]}; }
    void Free();
    void Steal(SmallU32Set &other) {
        inline_ = other.inline_;
        count_ = std::exchange(other.count_, 0);
        heap_ = std::exchange(other.heap_, nullptr);
    }

    std::array<uint32_t, INLINE> inline_{};
    uint8_t count_ = 0;
    union {
        void *heap_ = nullptr;
        uint32_t *values_;  // VECTOR mode
        Bitmap32 *bitmap_;  // BITMAP mode
        DenseBits *dense_;  // DENSE mode
    };
};
static_assert(sizeof(SmallU32Set) == 32);

/// Exact unique source addresses of both families.
class SourceSet {
public:
    void Add(const IpAddress &a) {
        if (a.IsV4()) v4_.Add(a.V4HostOrder());
        else if (a.IsV6()) AddV6(a);
    }
    void Merge(const SourceSet &other);
    void AddV4Many(std::span<const uint32_t> host_order) { v4_.AddMany(host_order); }
    void AddV6Many(std::span<const std::array<uint8_t, 16>> addresses);
    uint64_t Cardinality() const;

    /// On-disk forms: the IPv4 portable bitmap, and the IPv6 addresses as sorted 16-byte records.
    std::string SerializeV4() { return v4_.Serialize(); }
    std::string SerializeV6();
    /// Restores a set from its two blobs; false (and the set unchanged) if either is malformed.
    bool MergeSerialized(std::string_view v4_blob, std::string_view v6_blob);

private:
    void AddV6(const IpAddress &a);
    void NormalizeV6();  // sorts and deduplicates pending IPv6 inserts

    Bitmap32 v4_;
    std::vector<std::array<uint8_t, 16>> v6_;
    size_t v6_sorted_ = 0;  // v6_[0, v6_sorted_) is sorted and unique
};

}  // namespace darkscope
