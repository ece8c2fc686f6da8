#pragma once
/// An open-addressing hash map (linear probing, power-of-two capacity, load <= 1/2) for the
/// per-packet aggregation tables. std::unordered_map allocates a node per entry; at millions of
/// packets per second that allocation, not the hashing, is the cost.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace darkscope {

template <typename Key, typename Value, typename Hash>
class FlatMap {
public:
    explicit FlatMap(size_t initial_capacity = 1024) { Allocate(RoundUp(initial_capacity)); }

    /// The value for key, default-constructed on first use.
    Value &operator[](const Key &key) {
        size_t i = Hash{}(key) & mask_;
        while (slots_[i].used) {
            if (slots_[i].key == key) return slots_[i].value;
            i = (i + 1) & mask_;
        }
        if ((size_ + 1) * 2 > slots_.size()) {
            Grow();
            return (*this)[key];
        }
        slots_[i].used = true;
        slots_[i].key = key;
        ++size_;
        return slots_[i].value;
    }

    size_t Size() const { return size_; }
    bool Empty() const { return size_ == 0; }
    size_t MemoryBytes() const { return slots_.capacity() * sizeof(Slot); }

    template <typename F>
    void ForEach(F &&f) {
        for (auto &slot : slots_)
            if (slot.used) f(slot.key, slot.value);
    }
    template <typename F>
    void ForEach(F &&f) const {
        for (const auto &slot : slots_)
            if (slot.used) f(slot.key, slot.value);
    }

    /// Empties the map and gives its memory back down to `keep_capacity` slots.
    void Clear(size_t keep_capacity = 1024) {
        std::vector<Slot>().swap(slots_);
        size_ = 0;
        Allocate(RoundUp(keep_capacity));
    }

private:
    struct Slot {
        Key key{};
        Value value{};
        bool used = false;
    };

    static size_t RoundUp(size_t n) {
        size_t c = 16;
        while (c < n) c <<= 1;
        return c;
    }
    void Allocate(size_t capacity) {
        slots_.resize(capacity);
        mask_ = capacity - 1;
    }
    void Grow() {
        std::vector<Slot> old;
        old.swap(slots_);
        Allocate(old.size() * 2);
        for (auto &slot : old) {
            if (!slot.used) continue;
            size_t i = Hash{}(slot.key) & mask_;
            while (slots_[i].used) i = (i + 1) & mask_;
            slots_[i] = std::move(slot);
        }
    }

    std::vector<Slot> slots_;
    size_t mask_ = 0;
    size_t size_ = 0;
};

/// Mixes a 64-bit value into a well-distributed hash (the finaliser of SplitMix64).
inline uint64_t Mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x;
}

}  // namespace darkscope
