#pragma once
/// The byte layer under the capture readers: a large buffer refilled from a file, a memory span or a
/// decompressor. Readers parse records in place (zero copy) and call the refill path only when a record
/// crosses the end of the buffer, so the per-packet cost is two length checks.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "capture/capture_reader.hpp"
#include "capture/content_hash.hpp"

namespace darkscope::detail {

/// A source of (decompressed) bytes. Called once per buffer refill, never per packet.
class InputStream {
public:
    virtual ~InputStream() = default;
    /// Writes at least `min` and at most `cap` bytes to `dst`; fewer than `min` only at the end of the stream or
    /// on an error (then Error() is non-empty). Returns the number of bytes written.
    virtual size_t Read(uint8_t *dst, size_t min, size_t cap) = 0;
    /// Bytes taken from the underlying file or memory so far (compressed bytes for a decompressor).
    virtual uint64_t DiskBytesRead() const = 0;
    const std::string &Error() const { return error_; }

protected:
    std::string error_;
};

/// Reads a file with read(2), in order. Owns the descriptor. With hashing on it hashes every byte it reads, so
/// that the parse that reads a file yields its content hash too (FinishHash).
class FileStream final : public InputStream {
public:
    FileStream(int fd, bool hash);
    ~FileStream() override;
    size_t Read(uint8_t *dst, size_t min, size_t cap) override;
    uint64_t DiskBytesRead() const override { return disk_bytes_; }
    /// Reads what the parse left unread (it stops at an error, or before the end of a compressed stream's
    /// padding) and returns the whole file's hash, as HashFile writes it. Throws std::runtime_error on a read
    /// error, std::logic_error when not hashing.
    std::string FinishHash();

private:
    int fd_;
    uint64_t disk_bytes_ = 0;
    std::unique_ptr<ContentHasher> hash_;
    std::string finished_;
};
/// Reads a span that outlives the stream.
std::unique_ptr<InputStream> MakeMemoryStream(std::span<const uint8_t> data);
/// Wraps `raw` in a decompressor for `c` (NONE returns `raw` itself).
std::unique_ptr<InputStream> MakeDecompressor(Compression c, std::unique_ptr<InputStream> raw);

/// Tells the compression from the first bytes (at least 6 for xz); NONE when no magic matches.
Compression SniffCompression(const uint8_t *data, size_t size);

/// A window over the byte stream. Data() points at the next unread byte; Ensure(n) makes n bytes contiguous there,
/// refilling (and growing) the buffer when needed. Pointers into the window stay valid until the next Ensure().
class BlockBuffer {
public:
    static constexpr size_t DEFAULT_CAPACITY = size_t(1) << 20;

    BlockBuffer() = default;
    /// Borrows a span that holds the whole input: nothing is ever copied or refilled.
    static BlockBuffer Borrowed(std::span<const uint8_t> data);
    static BlockBuffer FromStream(std::unique_ptr<InputStream> stream, bool compressed,
                                  size_t capacity = DEFAULT_CAPACITY);

    size_t Available() const { return end_ - pos_; }
    const uint8_t *Data() const { return data_ + pos_; }
    /// Offset of Data() in the (decompressed) stream.
    uint64_t Offset() const { return base_offset_ + pos_; }
    void Consume(size_t n) { pos_ += n; }
    /// True when n bytes are available at Data(). False at the end of the input (fewer bytes remain, possibly some)
    /// or on a stream error (StreamError() is then non-empty).
    bool Ensure(size_t n) { return end_ - pos_ >= n || Refill(n); }
    const std::string &StreamError() const;
    uint64_t DiskBytesRead() const;

private:
    bool Refill(size_t n);

    std::unique_ptr<InputStream> stream_;
    std::unique_ptr<uint8_t[]> storage_;
    size_t capacity_ = 0;
    const uint8_t *data_ = nullptr;
    size_t pos_ = 0;
    size_t end_ = 0;
    uint64_t base_offset_ = 0;
    bool compressed_ = false;
    bool eof_ = false;
};

}  // namespace darkscope::detail
