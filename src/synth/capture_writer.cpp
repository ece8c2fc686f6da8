#include "synth/capture_writer.hpp"

#include <fmt/format.h>
#include <zlib.h>
#include <zstd.h>

#include <bit>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace darkscope::synth {
namespace {

static_assert(std::endian::native == std::endian::little, "record headers are copied as little-endian words");
constexpr size_t BUFFER_BYTES = 4 << 20;  // frames are copied here and written in big blocks
constexpr uint32_t LINKTYPE_ETHERNET = 1;
constexpr uint32_t SNAPLEN = 65535;

template <typename T>
void PutLe(std::vector<uint8_t> &v, T x) {
    for (size_t i = 0; i < sizeof(T); ++i)
        v.push_back(uint8_t(uint64_t(x) >> (8 * i)));
}

}  // namespace

// One open output file, plain or compressed.
class CaptureWriter::Output {
public:
    Output(const std::filesystem::path &path, Compression c, int level) : path_(path), compression_(c) {
        file_ = std::fopen(path.c_str(), "wb");
        if (!file_) throw std::runtime_error(fmt::format("{}: cannot create: {}", path.string(), std::strerror(errno)));
        if (c == Compression::GZIP) {
            std::memset(&z_, 0, sizeof z_);
            // windowBits 15 + 16: a gzip wrapper; its header has no name and mtime 0, so output is reproducible.
            if (deflateInit2(&z_, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
                Z_OK)
                throw std::runtime_error("zlib: deflateInit2 failed");
        } else if (c == Compression::ZSTD) {
            zstd_ = ZSTD_createCCtx();
            if (!zstd_) throw std::runtime_error("zstd: cannot create a context");
            ZSTD_CCtx_setParameter(zstd_, ZSTD_c_compressionLevel, level ? level : 3);
        }
        scratch_.resize(1 << 20);
    }
    ~Output() {
        if (file_) std::fclose(file_);
        if (compression_ == Compression::GZIP) deflateEnd(&z_);
        if (zstd_) ZSTD_freeCCtx(zstd_);
    }

    void Write(const uint8_t *p, size_t n, bool finish) {
        if (compression_ == Compression::NONE) {
            if (n && std::fwrite(p, 1, n, file_) != n) Fail();
            return;
        }
        if (compression_ == Compression::GZIP) {
            z_.next_in = const_cast<uint8_t *>(p);
            z_.avail_in = uInt(n);
            int rc;
            do {
                z_.next_out = scratch_.data();
                z_.avail_out = uInt(scratch_.size());
                rc = deflate(&z_, finish ? Z_FINISH : Z_NO_FLUSH);
                if (rc == Z_STREAM_ERROR) throw std::runtime_error("zlib: deflate failed");
                size_t out = scratch_.size() - z_.avail_out;
                if (out && std::fwrite(scratch_.data(), 1, out, file_) != out) Fail();
            } while (z_.avail_out == 0 || (finish && rc != Z_STREAM_END));
            return;
        }
        ZSTD_inBuffer in{p, n, 0};
        for (;;) {
            ZSTD_outBuffer out{scratch_.data(), scratch_.size(), 0};
            size_t left = ZSTD_compressStream2(zstd_, &out, &in, finish ? ZSTD_e_end : ZSTD_e_continue);
            if (ZSTD_isError(left)) throw std::runtime_error(fmt::format("zstd: {}", ZSTD_getErrorName(left)));
            if (out.pos && std::fwrite(scratch_.data(), 1, out.pos, file_) != out.pos) Fail();
            if (finish ? left == 0 : in.pos == in.size) break;
        }
    }
    void Close() {
        Write(nullptr, 0, true);
        int rc = std::fclose(file_);
        file_ = nullptr;
        if (rc != 0) Fail();
    }

private:
    [[noreturn]] void Fail() {
        throw std::runtime_error(fmt::format("{}: write failed: {}", path_.string(), std::strerror(errno)));
    }
    std::filesystem::path path_;
    Compression compression_;
    std::FILE *file_ = nullptr;
    z_stream z_{};
    ZSTD_CCtx *zstd_ = nullptr;
    std::vector<uint8_t> scratch_;
};

std::optional<CaptureFormat> ParseCaptureFormat(std::string_view name) {
    if (name == "pcap") return CaptureFormat::PCAP;
    if (name == "pcapng") return CaptureFormat::PCAPNG;
    return std::nullopt;
}

std::optional<Compression> ParseCompression(std::string_view name) {
    if (name == "none" || name.empty()) return Compression::NONE;
    if (name == "gz" || name == "gzip") return Compression::GZIP;
    if (name == "zst" || name == "zstd") return Compression::ZSTD;
    return std::nullopt;
}

std::string CaptureFileName(std::string_view stem, const WriterOptions &o, std::optional<int64_t> hour) {
    std::string name(stem);
    if (hour) {
        auto day = FormatDay(FloorDiv(*hour, 24));  // YYYY-MM-DD
        name += fmt::format("-{}{}{}{:02d}", day.substr(0, 4), day.substr(5, 2), day.substr(8, 2),
                            *hour - FloorDiv(*hour, 24) * 24);
    }
    name += o.format == CaptureFormat::PCAP ? ".pcap" : ".pcapng";
    if (o.compression == Compression::GZIP) name += ".gz";
    if (o.compression == Compression::ZSTD) name += ".zst";
    return name;
}

CaptureWriter::CaptureWriter(std::filesystem::path dir, std::string stem, WriterOptions options)
    : dir_(std::move(dir)), stem_(std::move(stem)), options_(options) {
    buffer_.resize(BUFFER_BYTES);
}

CaptureWriter::~CaptureWriter() {
    try {
        Close();
    } catch (const std::exception &) {
        // Close() is called explicitly on the normal path, where its error reaches the caller; here the writer is
        // being unwound by another exception, which is the one worth reporting.
    }
}

void CaptureWriter::Open(std::optional<int64_t> hour) {
    Close();
    auto path = dir_ / CaptureFileName(stem_, options_, hour);
    out_ = std::make_unique<Output>(path, options_.compression, options_.compression_level);
    files_.push_back(path);
    std::vector<uint8_t> h;
    if (options_.format == CaptureFormat::PCAP) {
        PutLe<uint32_t>(h, 0xa1b2c3d4);  // microsecond timestamps, little-endian
        PutLe<uint16_t>(h, 2);
        PutLe<uint16_t>(h, 4);
        PutLe<uint32_t>(h, 0);
        PutLe<uint32_t>(h, 0);
        PutLe<uint32_t>(h, SNAPLEN);
        PutLe<uint32_t>(h, LINKTYPE_ETHERNET);
    } else {
        // Section header: byte-order magic, version 1.0, unknown section length, shb_userappl.
        static constexpr char APP[] = "darkscope synth";  // 15 bytes + 1 pad
        // 24 fixed + option (4 + 16) + end of options 4 + trailing length 4
        constexpr uint32_t SHB_LEN = 24 + 20 + 4 + 4;
        // 16 fixed + if_tsresol (4 + 4) + end of options 4 + trailing length 4
        constexpr uint32_t IDB_LEN = 16 + 8 + 4 + 4;
        PutLe<uint32_t>(h, 0x0A0D0D0A);
        PutLe<uint32_t>(h, SHB_LEN);
        PutLe<uint32_t>(h, 0x1A2B3C4D);
        PutLe<uint16_t>(h, 1);
        PutLe<uint16_t>(h, 0);
        PutLe<uint64_t>(h, ~uint64_t(0));
        PutLe<uint16_t>(h, 4);  // shb_userappl
        PutLe<uint16_t>(h, 15);
        h.insert(h.end(), APP, APP + 15);
        h.push_back(0);
        PutLe<uint32_t>(h, 0);  // opt_endofopt
        PutLe<uint32_t>(h, SHB_LEN);
        // Interface: Ethernet, if_tsresol = 9 (nanoseconds).
        PutLe<uint32_t>(h, 1);
        PutLe<uint32_t>(h, IDB_LEN);
        PutLe<uint16_t>(h, uint16_t(LINKTYPE_ETHERNET));
        PutLe<uint16_t>(h, 0);
        PutLe<uint32_t>(h, SNAPLEN);
        PutLe<uint16_t>(h, 9);  // if_tsresol
        PutLe<uint16_t>(h, 1);
        h.insert(h.end(), {9, 0, 0, 0});
        PutLe<uint32_t>(h, 0);
        PutLe<uint32_t>(h, IDB_LEN);
    }
    Put(h.data(), h.size());
}

void CaptureWriter::Write(TimestampNs ts, const uint8_t *frame, size_t len) {
    int64_t hour = options_.rotate_hourly ? HourOf(ts) : 0;
    if (!out_ || hour != hour_) {
        hour_ = hour;
        Open(options_.rotate_hourly ? std::optional<int64_t>(hour) : std::nullopt);
    }
    if (fill_ + len + 64 > buffer_.size()) Drain();
    uint8_t *p = buffer_.data() + fill_;
    uint32_t caplen = uint32_t(len);
    if (options_.format == CaptureFormat::PCAP) {
        uint32_t rec[4] = {uint32_t(ts / NS_PER_SEC), uint32_t(ts % NS_PER_SEC / 1000), caplen, caplen};
        std::memcpy(p, rec, 16);  // the header says little-endian: this writer assumes a little-endian host
        std::memcpy(p + 16, frame, len);
        fill_ += 16 + len;
    } else {
        uint32_t padded = (caplen + 3) & ~3u;
        uint32_t block = 32 + padded;
        uint64_t t = uint64_t(ts);
        uint32_t head[7] = {6, block, 0, uint32_t(t >> 32), uint32_t(t), caplen, caplen};
        std::memcpy(p, head, 28);
        std::memcpy(p + 28, frame, len);
        std::memset(p + 28 + len, 0, padded - len);
        std::memcpy(p + 28 + padded, &block, 4);
        fill_ += block;
    }
}

void CaptureWriter::Drain() {
    if (!out_ || fill_ == 0) return;
    out_->Write(buffer_.data(), fill_, false);
    bytes_ += fill_;
    fill_ = 0;
}

void CaptureWriter::Close() {
    if (!out_) return;
    Drain();
    auto out = std::move(out_);
    out->Close();
}

}  // namespace darkscope::synth
