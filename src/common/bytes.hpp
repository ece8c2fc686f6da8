#pragma once
/// Bounds-checked reading of packet bytes. Decoders never index a buffer directly: a read past
/// the end returns std::nullopt (libtins' InputMemoryStream), and the caller records an event.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace darkscope {

inline uint16_t LoadBe16(const uint8_t *p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t LoadBe32(const uint8_t *p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}
inline uint16_t LoadLe16(const uint8_t *p) { return uint16_t(p[1] << 8 | p[0]); }
inline uint32_t LoadLe32(const uint8_t *p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
inline uint64_t LoadLe64(const uint8_t *p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

/// A read-only view that advances as it reads; every read checks the remaining length.
class ByteCursor {
public:
    ByteCursor() = default;
    ByteCursor(const uint8_t *data, size_t size) : data_(data), size_(size) {}
    explicit ByteCursor(std::span<const uint8_t> s) : data_(s.data()), size_(s.size()) {}

    size_t Remaining() const { return size_; }
    const uint8_t *Data() const { return data_; }
    bool Has(size_t n) const { return n <= size_; }

    bool Skip(size_t n) {
        if (n > size_) return false;
        data_ += n;
        size_ -= n;
        return true;
    }
    /// Returns a pointer to n bytes and advances, or nullptr if fewer remain.
    const uint8_t *Take(size_t n) {
        if (n > size_) return nullptr;
        const uint8_t *p = data_;
        data_ += n;
        size_ -= n;
        return p;
    }
    std::optional<uint8_t> ReadU8() {
        if (size_ < 1) return std::nullopt;
        uint8_t v = data_[0];
        Skip(1);
        return v;
    }
    std::optional<uint16_t> ReadBe16() {
        if (size_ < 2) return std::nullopt;
        uint16_t v = LoadBe16(data_);
        Skip(2);
        return v;
    }
    std::optional<uint32_t> ReadBe32() {
        if (size_ < 4) return std::nullopt;
        uint32_t v = LoadBe32(data_);
        Skip(4);
        return v;
    }
    /// A sub-cursor over the next n bytes (clamped to what remains); this cursor is not advanced.
    ByteCursor Peek(size_t n) const { return ByteCursor(data_, n < size_ ? n : size_); }

private:
    const uint8_t *data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace darkscope
