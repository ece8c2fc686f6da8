#pragma once
/// LEB128 varints for the store's blobs (segments, source chunks): small numbers, and the deltas of
/// sorted addresses, take one or two bytes instead of four or eight.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace darkscope {

inline void PutVarint(std::string &out, uint64_t v) {
    while (v >= 0x80) {
        out.push_back(char(uint8_t(v) | 0x80));
        v >>= 7;
    }
    out.push_back(char(v));
}

/// The most bytes PutVarint writes (a 64-bit value).
inline constexpr size_t VARINT_MAX_BYTES = 10;

/// The bytes PutVarint writes for v.
inline size_t VarintSize(uint64_t v) { return size_t(std::bit_width(v | 1) + 6) / 7; }

/// PutVarint for encoders of many values (a segment's sources) that size their output first: writes v at
/// p, which has room for VarintSize(v) bytes, without push_back's check of room per byte; returns the end.
inline char *PutVarint(char *p, uint64_t v) {
    while (v >= 0x80) {
        *p++ = char(uint8_t(v) | 0x80);
        v >>= 7;
    }
    *p++ = char(v);
    return p;
}

/// Signed values as varints: zigzag keeps small negatives (a pre-1970 capture's timestamps) small.
inline uint64_t ZigZag(int64_t v) { return (uint64_t(v) << 1) ^ uint64_t(v >> 63); }
inline int64_t UnZigZag(uint64_t v) { return int64_t(v >> 1) ^ -int64_t(v & 1); }

/// Reads varints and raw bytes from a blob; every read checks what remains and fails rather than
/// read past the end (store blobs are checked like packets: a corrupt store must not crash).
class VarintReader {
public:
    explicit VarintReader(std::string_view s) : p_(reinterpret_cast<const uint8_t *>(s.data())), end_(p_ + s.size()) {}
    bool Read(uint64_t &v) {
        v = 0;
        // With room for the longest varint ahead, the bytes are read without a check of the end each: the
        // day build reads hundreds of millions of source deltas.
        if (size_t(end_ - p_) >= VARINT_MAX_BYTES) [[likely]] {
            for (int shift = 0; shift < 64; shift += 7) {
                const uint8_t b = *p_++;
                v |= uint64_t(b & 0x7F) << shift;
                if (!(b & 0x80)) return true;
            }
            return false;
        }
        for (int shift = 0; shift < 64; shift += 7) {
            if (p_ == end_) return false;
            uint8_t b = *p_++;
            v |= uint64_t(b & 0x7F) << shift;
            if (!(b & 0x80)) return true;
        }
        return false;
    }
    /// Skips n varints; false if the blob ends first. Eight bytes at a time: a varint ends at its one byte
    /// with the top bit clear, so a word's clear top bits count the varints that end in it. For encodings
    /// already checked: a run of more than ten continued bytes, which Read refuses, counts here as one varint.
    bool Skip(uint64_t n) {
        if constexpr (std::endian::native == std::endian::little) {
            while (n > 0 && size_t(end_ - p_) >= 8) {
                uint64_t word;
                std::memcpy(&word, p_, 8);
                uint64_t ends = ~word & 0x8080808080808080ULL;
                const uint64_t in_word = uint64_t(std::popcount(ends));
                if (in_word < n) {
                    p_ += 8;
                    n -= in_word;
                    continue;
                }
                for (; n > 1; --n)
                    ends &= ends - 1;
                p_ += std::countr_zero(ends) / 8 + 1;
                return true;
            }
        }
        for (uint64_t v; n > 0; --n)
            if (!Read(v)) return false;
        return true;
    }
    const uint8_t *Take(size_t n) {
        if (size_t(end_ - p_) < n) return nullptr;
        const uint8_t *r = p_;
        p_ += n;
        return r;
    }
    bool AtEnd() const { return p_ == end_; }
    size_t Remaining() const { return size_t(end_ - p_); }

private:
    const uint8_t *p_;
    const uint8_t *end_;
};

}  // namespace darkscope
