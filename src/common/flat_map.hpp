#pragma once
/// An open-addressing hash map for the per-packet aggregation tables.
///
/// Entries live densely in fixed-size blocks; the probe table holds only 8-byte slots (entry index
/// and 32 hash bits). std::unordered_map allocates a node per entry, and a table of whole entries at
/// load 1/2 wastes half its memory on empty slots: with a day's half-million sources of ~150 bytes
/// each, that difference is hundreds of MiB. Blocks rather than one vector: a vector that doubles
/// holds up to twice its entries, and three times while it moves them; blocks never move, and Drain
/// frees them one by one while their entries are handed on.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace darkscope {

/// Mixes a 64-bit value into a well-distributed hash (the finaliser of SplitMix64).
constexpr uint64_t Mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x;
}

/// Starts loading the cache line at p. GCC 12 dropped __builtin_prefetch from most of the call sites
/// below (it treats the builtin as free of effects, and the lookups that feed it as dead), so on x86 the
/// instruction is written out where the compiler cannot remove it.
inline void PrefetchLine(const void *p) {
#if defined(__x86_64__) || defined(__i386__)
    asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char *>(p)));
#else
    __builtin_prefetch(p);
#endif
}

template <typename Key, typename Value, typename Hash>
class FlatMap {
public:
    explicit FlatMap(size_t initial_capacity = 1024) { Allocate(RoundUp(initial_capacity)); }

    /// The value for key, default-constructed on first use. References stay valid until the next
    /// insertion of a new key.
    Value &operator[](const Key &key) { return FindOrInsert(key, Hash{}(key)); }

    // Batched access: hash a run of keys, prefetch their slots, then their entries, then update (the
    // per-source records, when an hour's packets are folded in). The table is far larger than the
    // caches, so each plain lookup waits for memory twice; prefetching ahead overlaps those waits.
    static uint64_t HashOf(const Key &key) { return Hash{}(key); }
    void PrefetchSlot(uint64_t h) const { PrefetchLine(&slots_[size_t(h) & mask_]); }
    void PrefetchEntry(const Key &key, uint64_t h) const {
        const uint32_t tag = uint32_t(h >> 32);
        for (size_t i = size_t(h) & mask_; slots_[i].index != 0; i = (i + 1) & mask_) {
            if (slots_[i].tag == tag) {
                const char *entry = reinterpret_cast<const char *>(&At(slots_[i].index - 1));
                for (size_t line = 0; line < sizeof(Entry); line += 64) PrefetchLine(entry + line);
                return;
            }
        }
    }

    /// operator[] with the key's hash already computed (HashOf).
    Value &FindOrInsert(const Key &key, uint64_t h) { return At(IndexOf(key, h)).second; }

    /// The index of key's entry, inserted (default-constructed) on first use. Entries are numbered 0, 1, ...
    /// in the order of their insertion, which is ForEach's order.
    size_t IndexOf(const Key &key) { return IndexOf(key, Hash{}(key)); }
    size_t IndexOf(const Key &key, uint64_t h) {
        const uint32_t tag = uint32_t(h >> 32);
        size_t i = size_t(h) & mask_;
        while (slots_[i].index != 0) {
            if (slots_[i].tag == tag && At(slots_[i].index - 1).first == key) return slots_[i].index - 1;
            i = (i + 1) & mask_;
        }
        if ((size_ + 1) * 2 > slots_.size()) {
            Grow();
            return IndexOf(key, h);
        }
        if (size_ == blocks_.size() * BLOCK) {
            blocks_.emplace_back();
            blocks_.back().reserve(size_ == 0 ? FIRST_BLOCK : BLOCK);
        } else if (blocks_.size() == 1 && blocks_[0].size() == blocks_[0].capacity()) {
            blocks_[0].reserve(std::min(BLOCK, blocks_[0].capacity() * 2));  // a small map stays small
        }
        blocks_.back().emplace_back(key, Value{});
        slots_[i] = Slot{uint32_t(size_ + 1), tag};
        return size_++;
    }
    /// The value of the entry at `index` (IndexOf).
    Value &ValueAt(size_t index) { return At(index).second; }

    size_t Size() const { return size_; }
    bool Empty() const { return size_ == 0; }

    template <typename F>
    void ForEach(F &&f) {
        for (auto &block : blocks_)
            for (auto &[k, v] : block) f(k, v);
    }
    template <typename F>
    void ForEach(F &&f) const {
        for (const auto &block : blocks_)
            for (const auto &[k, v] : block) f(k, v);
    }
    /// Hands every entry to f (which may move from the value), freeing each block once it is done, and
    /// leaves the map empty with `keep_capacity` slots: the entries and what f makes of them are never
    /// all in memory at once.
    template <typename F>
    void Drain(F &&f, size_t keep_capacity = 1024) {
        std::vector<Slot>().swap(slots_);
        for (auto &block : blocks_) {
            for (auto &[k, v] : block) f(k, v);
            std::vector<Entry>().swap(block);
        }
        std::vector<std::vector<Entry>>().swap(blocks_);
        size_ = 0;
        Allocate(RoundUp(keep_capacity));
    }

    /// Empties the map and keeps its memory, for a table refilled to about the same size.
    void Reset() {
        if (blocks_.size() > 1) blocks_.resize(1);
        if (!blocks_.empty()) blocks_[0].clear();
        size_ = 0;
        std::fill(slots_.begin(), slots_.end(), Slot{});
    }
    /// Empties the map and gives its memory back down to `keep_capacity` slots.
    void Clear(size_t keep_capacity = 1024) {
        std::vector<std::vector<Entry>>().swap(blocks_);
        std::vector<Slot>().swap(slots_);
        size_ = 0;
        Allocate(RoundUp(keep_capacity));
    }

private:
    using Entry = std::pair<Key, Value>;
    // Entries per block: large enough that the block array stays in cache, small enough that a
    // half-filled last block costs little. The first block grows from FIRST_BLOCK: most maps are small.
    static constexpr size_t BLOCK = 4096;
    static constexpr size_t FIRST_BLOCK = 16;
    Entry &At(size_t e) { return blocks_[e / BLOCK][e % BLOCK]; }
    const Entry &At(size_t e) const { return blocks_[e / BLOCK][e % BLOCK]; }
    struct Slot {
        uint32_t index = 0;  // entry index + 1; 0 = empty
        uint32_t tag = 0;    // high hash bits: most mismatches are told without touching the entry
    };

    static size_t RoundUp(size_t n) {
        size_t c = 16;
        while (c < n) c <<= 1;
        return c;
    }
    void Allocate(size_t capacity) {
        slots_.assign(capacity, Slot{});
        mask_ = capacity - 1;
    }
    void Grow() {
        Allocate(slots_.size() * 2);
        for (size_t e = 0; e < size_; ++e) {
            const uint64_t h = Hash{}(At(e).first);
            size_t i = size_t(h) & mask_;
            while (slots_[i].index != 0) i = (i + 1) & mask_;
            slots_[i] = Slot{uint32_t(e + 1), uint32_t(h >> 32)};
        }
    }

    std::vector<Slot> slots_;
    std::vector<std::vector<Entry>> blocks_;  // every block but the last holds BLOCK entries
    size_t size_ = 0;
    size_t mask_ = 0;
};

}  // namespace darkscope
