#include "aggregate/source_set.hpp"

#include <roaring/roaring.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "common/ip_address.hpp"

namespace darkscope {

// The bitmap is created on first use: hash tables default-construct many empty sets.
Bitmap32::Bitmap32() = default;
Bitmap32::~Bitmap32() {
    if (bitmap_) roaring_bitmap_free(bitmap_);
}
Bitmap32::Bitmap32(Bitmap32 &&other) noexcept
    : bitmap_(std::exchange(other.bitmap_, nullptr)), pending_(std::move(other.pending_)) {}
Bitmap32 &Bitmap32::operator=(Bitmap32 &&other) noexcept {
    if (this != &other) {
        if (bitmap_) roaring_bitmap_free(bitmap_);
        bitmap_ = std::exchange(other.bitmap_, nullptr);
        pending_ = std::move(other.pending_);
    }
    return *this;
}

// A moved-from or fresh Bitmap32 has no bitmap; give it one on first use.
#define DARKSCOPE_ENSURE_BITMAP() \
    if (!bitmap_) bitmap_ = roaring_bitmap_create()

void Bitmap32::Flush() const {
    if (pending_.empty()) return;
    DARKSCOPE_ENSURE_BITMAP();
    std::sort(pending_.begin(), pending_.end());
    pending_.erase(std::unique(pending_.begin(), pending_.end()), pending_.end());
    // Building a bitmap from sorted values appends; one OR then merges containers linearly.
    roaring_bitmap_t *batch = roaring_bitmap_of_ptr(pending_.size(), pending_.data());
    roaring_bitmap_or_inplace(bitmap_, batch);
    roaring_bitmap_free(batch);
    pending_.clear();
}

void Bitmap32::AddMany(std::span<const uint32_t> values) {
    // A stored segment's sources come sorted, often by the hundred thousand (a day's total): such a run
    // becomes a bitmap of its own directly, without the copy into the pending buffer and its sort.
    if (values.size() >= PENDING_LIMIT && std::is_sorted(values.begin(), values.end())) {
        roaring_bitmap_t *batch = roaring_bitmap_of_ptr(values.size(), values.data());
        if (!bitmap_ || roaring_bitmap_is_empty(bitmap_)) {
            if (bitmap_) roaring_bitmap_free(bitmap_);
            bitmap_ = batch;
            return;
        }
        roaring_bitmap_or_inplace(bitmap_, batch);
        roaring_bitmap_free(batch);
        return;
    }
    pending_.insert(pending_.end(), values.begin(), values.end());
    if (pending_.size() >= PENDING_LIMIT) Flush();
}
bool Bitmap32::Contains(uint32_t value) const {
    Flush();
    return bitmap_ && roaring_bitmap_contains(bitmap_, value);
}
void Bitmap32::Merge(const Bitmap32 &other) {
    other.Flush();
    Flush();
    DARKSCOPE_ENSURE_BITMAP();
    if (other.bitmap_) roaring_bitmap_or_inplace(bitmap_, other.bitmap_);
}
uint64_t Bitmap32::Cardinality() const {
    Flush();
    return bitmap_ ? roaring_bitmap_get_cardinality(bitmap_) : 0;
}
std::vector<uint32_t> Bitmap32::Values() const {
    std::vector<uint32_t> out(Cardinality());
    if (!out.empty()) roaring_bitmap_to_uint32_array(bitmap_, out.data());
    return out;
}
std::string Bitmap32::Serialize() {
    Flush();
    DARKSCOPE_ENSURE_BITMAP();
    roaring_bitmap_run_optimize(bitmap_);
    std::string out(roaring_bitmap_portable_size_in_bytes(bitmap_), '\0');
    roaring_bitmap_portable_serialize(bitmap_, out.data());
    return out;
}
std::optional<Bitmap32> Bitmap32::Deserialize(std::string_view bytes) {
    Bitmap32 b;
    if (bytes.empty()) return b;
    roaring_bitmap_t *r = roaring_bitmap_portable_deserialize_safe(bytes.data(), bytes.size());
    if (!r) return std::nullopt;
    b.bitmap_ = r;
    return b;
}
#undef DARKSCOPE_ENSURE_BITMAP

void SmallU32Set::Free() {
    if (count_ == VECTOR) delete[] values_;
    else if (count_ == DENSE)
        delete dense_;
    else if (count_ == BITMAP) delete bitmap_;
    heap_ = nullptr;
    count_ = 0;
}

void SmallU32Set::AddSorted(std::span<const uint32_t> values) {
    // Inline while the values fit (they often repeat what is already there).
    size_t i = 0;
    while (i < values.size() && TryAddInline(values[i])) ++i;
    if (i == values.size()) return;
    values = values.subspan(i);
    if (count_ == BITMAP) {
        bitmap_->AddMany(values);
        return;
    }
    if (count_ == DENSE) {
        AddDense(values);
        return;
    }
    // The values held so far, sorted: the inline ones or the array.
    std::array<uint32_t, INLINE> held_inline = inline_;
    std::span<const uint32_t> held;
    if (count_ == VECTOR) {
        held = VectorValues();
    } else {
        const size_t n = std::min<size_t>(count_, INLINE);  // count_ <= INLINE here; the bound tells the compiler
        std::sort(held_inline.begin(), held_inline.begin() + long(n));
        held = std::span<const uint32_t>(held_inline.data(), n);
    }
    if (held.size() + values.size() > DENSE_FROM && TryDense(held, values)) return;
    size_t common = 0;
    for (size_t a = 0, b = 0; a < held.size() && b < values.size();) {
        if (held[a] < values[b]) ++a;
        else if (values[b] < held[a]) ++b;
        else ++common, ++a, ++b;
    }
    const size_t total = held.size() + values.size() - common;
    if (total > VECTOR_LIMIT) {
        auto *bitmap = new Bitmap32();
        bitmap->AddMany(held);
        bitmap->AddMany(values);
        Free();
        bitmap_ = bitmap;
        count_ = BITMAP;
        return;
    }
    const uint32_t capacity = count_ == VECTOR ? inline_[1] : 0;
    uint32_t *out = values_;
    if (total > capacity) {
        // Half again as much as needed: a source's day grows its sets hour by hour.
        const uint32_t grown = uint32_t(std::min<size_t>(VECTOR_LIMIT, std::max<size_t>(total + total / 2, 8)));
        out = new uint32_t[grown];
        std::set_union(held.begin(), held.end(), values.begin(), values.end(), out);
        Free();
        values_ = out;
        count_ = VECTOR;
        inline_[0] = uint32_t(total);
        inline_[1] = grown;
        return;
    }
    // Room enough: merge from the back, in place.
    size_t a = held.size(), b = values.size(), o = total;
    while (b > 0) {
        if (a > 0 && values[b - 1] < out[a - 1]) {
            out[--o] = out[--a];
        } else {
            if (a > 0 && out[a - 1] == values[b - 1]) --a;  // equal: keep one
            out[--o] = values[--b];
        }
    }
    inline_[0] = uint32_t(total);
}

bool SmallU32Set::TryDense(std::span<const uint32_t> held, std::span<const uint32_t> values) {
    const uint32_t low = held.empty() ? values.front() : std::min(held.front(), values.front());
    const uint32_t high = held.empty() ? values.back() : std::max(held.back(), values.back());
    const size_t words = size_t(high >> 6) - size_t(low >> 6) + 1;
    // held and values may overlap: their sizes bound the union from above, so a set taken on here holds
    // at least one value per word.
    if (2 * words > held.size() + values.size()) return false;
    auto *dense = new DenseBits();
    dense->low = low & ~uint32_t(63);
    dense->words.assign(words, 0);
    for (std::span<const uint32_t> part : {held, values})
        for (uint32_t v : part)
            dense->words[(v - dense->low) >> 6] |= uint64_t(1) << (v & 63);
    for (uint64_t w : dense->words)
        dense->count += uint64_t(std::popcount(w));
    Free();
    dense_ = dense;
    count_ = DENSE;
    return true;
}

void SmallU32Set::AddDense(std::span<const uint32_t> values) {
    DenseBits &d = *dense_;
    const uint64_t end = uint64_t(d.low) + 64 * d.words.size();
    if (values.front() < d.low || values.back() >= end) {
        const uint32_t low = std::min(values.front(), d.low) & ~uint32_t(63);
        const uint64_t high = std::max<uint64_t>(values.back(), end - 1);
        const size_t words = size_t((high - low) >> 6) + 1;
        // Still at least one value per word once the new ones are in, or the range is too sparse for bits.
        if (words > d.count + values.size()) {
            auto *bitmap = new Bitmap32();
            bitmap->AddMany(SortedValues());
            bitmap->AddMany(values);
            Free();
            bitmap_ = bitmap;
            count_ = BITMAP;
            return;
        }
        d.words.insert(d.words.begin(), (d.low - low) >> 6, 0);
        d.words.resize(words, 0);
        d.low = low;
    }
    for (uint32_t v : values) {
        uint64_t &w = d.words[(v - d.low) >> 6];
        const uint64_t bit = uint64_t(1) << (v & 63);
        d.count += (w & bit) == 0;
        w |= bit;
    }
}

void SmallU32Set::Merge(const SmallU32Set &other) {
    if (other.count_ == BITMAP && count_ == BITMAP) {
        bitmap_->Merge(*other.bitmap_);
        return;
    }
    if (other.count_ == VECTOR) {
        AddSorted(other.VectorValues());
        return;
    }
    const std::vector<uint32_t> values = other.SortedValues();
    AddSorted(values);
}

uint64_t SmallU32Set::Cardinality() const {
    if (count_ == VECTOR) return inline_[0];
    if (count_ == DENSE) return dense_->count;
    if (count_ == BITMAP) return bitmap_->Cardinality();
    return count_;
}

std::span<const uint32_t> SmallU32Set::Sorted(std::vector<uint32_t> &scratch) const {
    switch (count_) {
        case VECTOR:
            return VectorValues();
        case BITMAP:
            scratch = bitmap_->Values();
            return scratch;
        case DENSE:
            scratch.clear();
            for (size_t i = 0; i < dense_->words.size(); ++i)
                for (uint64_t w = dense_->words[i]; w != 0; w &= w - 1)
                    scratch.push_back(dense_->low + uint32_t(i << 6) + uint32_t(std::countr_zero(w)));
            return scratch;
        default:
            scratch.assign(inline_.begin(), inline_.begin() + count_);
            std::sort(scratch.begin(), scratch.end());
            return scratch;
    }
}

std::vector<uint32_t> SmallU32Set::SortedValues() const {
    std::vector<uint32_t> values;
    const std::span<const uint32_t> sorted = Sorted(values);
    if (sorted.data() != values.data()) values.assign(sorted.begin(), sorted.end());
    return values;
}

void SourceSet::AddV6Many(std::span<const std::array<uint8_t, 16>> addresses) {
    v6_.insert(v6_.end(), addresses.begin(), addresses.end());
    NormalizeV6();
}

void SourceSet::AddV6(const IpAddress &a) {
    v6_.push_back(a.bytes);
    // Keep pending inserts bounded so that a flood of one address does not grow the vector.
    if (v6_.size() - v6_sorted_ > 4096 && v6_.size() > 2 * v6_sorted_) NormalizeV6();
}
void SourceSet::NormalizeV6() {
    if (v6_sorted_ == v6_.size()) return;
    std::sort(v6_.begin() + long(v6_sorted_), v6_.end(), Ipv6Less{});
    std::inplace_merge(v6_.begin(), v6_.begin() + long(v6_sorted_), v6_.end(), Ipv6Less{});
    v6_.erase(std::unique(v6_.begin(), v6_.end()), v6_.end());
    v6_sorted_ = v6_.size();
}
void SourceSet::Merge(const SourceSet &other) {
    v4_.Merge(other.v4_);
    v6_.insert(v6_.end(), other.v6_.begin(), other.v6_.end());
    NormalizeV6();
}
uint64_t SourceSet::Cardinality() const {
    const_cast<SourceSet *>(this)->NormalizeV6();
    return v4_.Cardinality() + v6_.size();
}
std::string SourceSet::SerializeV6() {
    NormalizeV6();
    std::string out(v6_.size() * 16, '\0');
    for (size_t i = 0; i < v6_.size(); ++i) std::memcpy(out.data() + i * 16, v6_[i].data(), 16);
    return out;
}
bool SourceSet::MergeSerialized(std::string_view v4_blob, std::string_view v6_blob) {
    if (v6_blob.size() % 16 != 0) return false;
    auto v4 = Bitmap32::Deserialize(v4_blob);
    if (!v4) return false;
    v4_.Merge(*v4);
    for (size_t i = 0; i < v6_blob.size(); i += 16) {
        std::array<uint8_t, 16> a;
        std::memcpy(a.data(), v6_blob.data() + i, 16);
        v6_.push_back(a);
    }
    NormalizeV6();
    return true;
}

}  // namespace darkscope
