// File, memory and decompressing byte streams, and the refill path of BlockBuffer.

#include "capture/byte_source.hpp"

#include <errno.h>
#include <lzma.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace darkscope::detail {
namespace {

const std::string NO_ERROR;

class MemoryStream final : public InputStream {
public:
    explicit MemoryStream(std::span<const uint8_t> data) : data_(data) {}

    size_t Read(uint8_t *dst, size_t min, size_t cap) override {
        size_t n = std::min(cap, data_.size() - pos_);
        std::memcpy(dst, data_.data() + pos_, n);
        pos_ += n;
        return n;
    }
    uint64_t DiskBytesRead() const override { return pos_; }

private:
    std::span<const uint8_t> data_;
    size_t pos_ = 0;
};

/// Shared input side of the decompressors: a compressed chunk buffer refilled from the raw stream.
class CompressedInput {
public:
    static constexpr size_t CHUNK = 256 * 1024;
    explicit CompressedInput(std::unique_ptr<InputStream> raw) : raw_(std::move(raw)), buf_(CHUNK) {}

    /// Refills when all input is consumed. Returns false when the raw stream is at its end (or failed).
    bool Fill(const uint8_t *&next, size_t &avail) {
        if (avail > 0) return true;
        if (eof_) return false;
        size_t n = raw_->Read(buf_.data(), 1, buf_.size());
        if (n == 0) {
            eof_ = true;
            return false;
        }
        next = buf_.data();
        avail = n;
        return true;
    }
    bool AtEof() const { return eof_; }
    const std::string &RawError() const { return raw_->Error(); }
    uint64_t DiskBytesRead() const { return raw_->DiskBytesRead(); }

private:
    std::unique_ptr<InputStream> raw_;
    std::vector<uint8_t> buf_;
    bool eof_ = false;
};

class GzipStream final : public InputStream {
public:
    explicit GzipStream(std::unique_ptr<InputStream> raw) : in_(std::move(raw)) {
        std::memset(&strm_, 0, sizeof strm_);
        // 15 + 16: a gzip wrapper (not zlib) with the largest window.
        if (inflateInit2(&strm_, 15 + 16) != Z_OK) error_ = "gzip: cannot initialise zlib";
    }
    ~GzipStream() override { inflateEnd(&strm_); }

    size_t Read(uint8_t *dst, size_t min, size_t cap) override {
        size_t got = 0;
        while (got < min && error_.empty() && !done_) {
            const uint8_t *next = strm_.next_in;
            size_t avail = strm_.avail_in;
            bool have_input = in_.Fill(next, avail);
            if (!have_input && !in_.RawError().empty()) {
                error_ = in_.RawError();
                break;
            }
            if (have_input) {
                strm_.next_in = const_cast<uint8_t *>(next);
                strm_.avail_in = uInt(avail);
            }
            if (!in_member_) {
                // Concatenated members (as `cat a.gz b.gz` or pigz produce) continue the stream. Anything else
                // after a member is trailing padding, which gzip(1) ignores as well.
                if (!have_input || strm_.next_in[0] != 0x1f) {
                    done_ = true;
                    break;
                }
                inflateReset(&strm_);
                in_member_ = true;
            }
            // Without new input inflate may still flush output it holds back from the previous call.
            strm_.next_out = dst + got;
            strm_.avail_out = uInt(std::min<size_t>(cap - got, UINT32_MAX));
            uInt before = strm_.avail_out;
            int ret = inflate(&strm_, Z_NO_FLUSH);
            size_t produced = before - strm_.avail_out;
            got += produced;
            if (ret == Z_STREAM_END) {
                in_member_ = false;
            } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
                error_ = std::string("gzip: ") + (strm_.msg ? strm_.msg : "corrupt data");
            } else if (!have_input && produced == 0) {
                error_ = "gzip: compressed stream ends unexpectedly (truncated .gz file)";
            }
        }
        return got;
    }
    uint64_t DiskBytesRead() const override { return in_.DiskBytesRead(); }

private:
    CompressedInput in_;
    z_stream strm_;
    bool in_member_ = false;
    bool done_ = false;
};

class ZstdStream final : public InputStream {
public:
    explicit ZstdStream(std::unique_ptr<InputStream> raw) : in_(std::move(raw)), dctx_(ZSTD_createDCtx()) {
        if (!dctx_) error_ = "zstd: cannot create a decompression context";
    }
    ~ZstdStream() override { ZSTD_freeDCtx(dctx_); }

    size_t Read(uint8_t *dst, size_t min, size_t cap) override {
        size_t got = 0;
        while (got < min && error_.empty() && !done_) {
            const uint8_t *current = static_cast<const uint8_t *>(input_.src) + input_.pos;
            const uint8_t *next = current;
            size_t avail = input_.size - input_.pos;
            bool have_input = in_.Fill(next, avail);
            if (!have_input && !in_.RawError().empty()) {
                error_ = in_.RawError();
                break;
            }
            if (have_input && next != current) input_ = {next, avail, 0};
            // Without new input the decoder may still flush output it holds back from the previous call.
            ZSTD_outBuffer out = {dst + got, cap - got, 0};
            size_t in_before = input_.pos;
            size_t hint = ZSTD_decompressStream(dctx_, &out, &input_);
            if (ZSTD_isError(hint)) {
                error_ = std::string("zstd: ") + ZSTD_getErrorName(hint);
                break;
            }
            // A call that did nothing returns the size of a next frame header: not a sign of an unfinished frame.
            if (out.pos > 0 || input_.pos > in_before) last_hint_ = hint;
            got += out.pos;
            if (!have_input && out.pos == 0) {
                // A hint of 0 means the last frame was complete.
                if (last_hint_ != 0) error_ = "zstd: compressed stream ends unexpectedly (truncated .zst file)";
                done_ = true;
            }
        }
        return got;
    }
    uint64_t DiskBytesRead() const override { return in_.DiskBytesRead(); }

private:
    CompressedInput in_;
    ZSTD_DCtx *dctx_;
    ZSTD_inBuffer input_ = {nullptr, 0, 0};
    size_t last_hint_ = 0;
    bool done_ = false;
};

class XzStream final : public InputStream {
public:
    explicit XzStream(std::unique_ptr<InputStream> raw) : in_(std::move(raw)) {
        // LZMA_CONCATENATED: several .xz streams back to back read as one, as xz(1) does.
        if (lzma_stream_decoder(&strm_, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
            error_ = "xz: cannot initialise liblzma";
        }
    }
    ~XzStream() override { lzma_end(&strm_); }

    size_t Read(uint8_t *dst, size_t min, size_t cap) override {
        size_t got = 0;
        while (got < min && error_.empty() && !done_) {
            const uint8_t *next = strm_.next_in;
            size_t avail = strm_.avail_in;
            lzma_action action = LZMA_RUN;
            if (!in_.Fill(next, avail)) {
                if (!in_.RawError().empty()) {
                    error_ = in_.RawError();
                    break;
                }
                action = LZMA_FINISH;
                next = nullptr;
                avail = 0;
            }
            strm_.next_in = next;
            strm_.avail_in = avail;
            strm_.next_out = dst + got;
            strm_.avail_out = cap - got;
            lzma_ret ret = lzma_code(&strm_, action);
            got += (cap - got) - strm_.avail_out;
            if (ret == LZMA_STREAM_END) {
                done_ = true;
            } else if (ret == LZMA_BUF_ERROR && action == LZMA_FINISH) {
                error_ = "xz: compressed stream ends unexpectedly (truncated .xz file)";
            } else if (ret != LZMA_OK && ret != LZMA_BUF_ERROR) {
                error_ = "xz: " + std::string(ret == LZMA_DATA_ERROR     ? "corrupt data"
                                              : ret == LZMA_FORMAT_ERROR ? "not an xz stream"
                                              : ret == LZMA_MEM_ERROR    ? "out of memory"
                                                                         : "decoder error " + std::to_string(ret));
            }
        }
        return got;
    }
    uint64_t DiskBytesRead() const override { return in_.DiskBytesRead(); }

private:
    CompressedInput in_;
    lzma_stream strm_ = LZMA_STREAM_INIT;
    bool done_ = false;
};

}  // namespace

FileStream::FileStream(int fd, bool hash) : fd_(fd) {
    if (hash) hash_ = std::make_unique<ContentHasher>();
}

FileStream::~FileStream() { ::close(fd_); }

size_t FileStream::Read(uint8_t *dst, size_t min, size_t cap) {
    size_t got = 0;
    while (got < min && got < cap) {
        ssize_t n = ::read(fd_, dst + got, cap - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            error_ = std::string("read error: ") + std::strerror(errno);
            break;
        }
        if (n == 0) break;
        got += size_t(n);
    }
    if (hash_) hash_->Update(dst, got);
    disk_bytes_ += got;
    return got;
}

std::string FileStream::FinishHash() {
    if (!hash_) throw std::logic_error("FileStream::FinishHash without hashing");
    if (!finished_.empty()) return finished_;
    std::vector<uint8_t> rest(size_t(1) << 20);
    while (error_.empty() && Read(rest.data(), rest.size(), rest.size()) == rest.size()) {
    }
    if (!error_.empty()) throw std::runtime_error(error_);
    finished_ = hash_->Hex();
    return finished_;
}

std::unique_ptr<InputStream> MakeMemoryStream(std::span<const uint8_t> data) {
    return std::make_unique<MemoryStream>(data);
}

std::unique_ptr<InputStream> MakeDecompressor(Compression c, std::unique_ptr<InputStream> raw) {
    switch (c) {
    case Compression::GZIP: return std::make_unique<GzipStream>(std::move(raw));
    case Compression::ZSTD: return std::make_unique<ZstdStream>(std::move(raw));
    case Compression::XZ: return std::make_unique<XzStream>(std::move(raw));
    case Compression::NONE: break;
    }
    return raw;
}

Compression SniffCompression(const uint8_t *data, size_t size) {
    static constexpr uint8_t XZ_MAGIC[] = {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00};
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) return Compression::GZIP;
    if (size >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f && data[3] == 0xfd) {
        return Compression::ZSTD;
    }
    if (size >= 6 && std::memcmp(data, XZ_MAGIC, 6) == 0) return Compression::XZ;
    return Compression::NONE;
}

BlockBuffer BlockBuffer::Borrowed(std::span<const uint8_t> data) {
    BlockBuffer b;
    b.data_ = data.data();
    b.end_ = data.size();
    b.capacity_ = data.size();
    b.eof_ = true;
    return b;
}

BlockBuffer BlockBuffer::FromStream(std::unique_ptr<InputStream> stream, bool compressed, size_t capacity) {
    BlockBuffer b;
    b.stream_ = std::move(stream);
    b.compressed_ = compressed;
    b.capacity_ = capacity;
    b.storage_ = std::make_unique_for_overwrite<uint8_t[]>(capacity);
    b.data_ = b.storage_.get();
    return b;
}

const std::string &BlockBuffer::StreamError() const { return stream_ ? stream_->Error() : NO_ERROR; }

uint64_t BlockBuffer::DiskBytesRead() const {
    // Uncompressed: what the parser has consumed, which is finer-grained than whole buffer reads.
    return compressed_ ? stream_->DiskBytesRead() : Offset();
}

bool BlockBuffer::Refill(size_t n) {
    if (eof_ || !stream_) return false;
    size_t kept = end_ - pos_;
    if (n > capacity_) {
        // A record larger than the buffer: grow once to fit it (records are capped by the readers).
        size_t new_capacity = std::max(n, capacity_ * 2);
        auto bigger = std::make_unique_for_overwrite<uint8_t[]>(new_capacity);
        std::memcpy(bigger.get(), data_ + pos_, kept);
        storage_ = std::move(bigger);
        capacity_ = new_capacity;
    } else if (pos_ > 0) {
        std::memmove(storage_.get(), data_ + pos_, kept);
    }
    data_ = storage_.get();
    base_offset_ += pos_;
    pos_ = 0;
    end_ = kept;
    size_t got = stream_->Read(storage_.get() + end_, n - end_, capacity_ - end_);
    end_ += got;
    if (end_ < n) eof_ = true;
    return end_ >= n;
}

}  // namespace darkscope::detail
