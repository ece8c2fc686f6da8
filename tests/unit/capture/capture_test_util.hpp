#pragma once
// Hand-built pcap and pcapng files for the capture reader tests, and a reader loop that copies what it returns.

#include <gtest/gtest.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "capture/capture_reader.hpp"

namespace darkscope::testing {

/// Appends integers in a chosen byte order.
class ByteWriter {
public:
    explicit ByteWriter(bool big_endian = false) : big_endian_(big_endian) {}
    ByteWriter &U8(uint8_t v) {
        bytes_.push_back(v);
        return *this;
    }
    ByteWriter &U16(uint16_t v) { return Int(v, 2); }
    ByteWriter &U32(uint32_t v) { return Int(v, 4); }
    ByteWriter &U64(uint64_t v) { return Int(v, 8); }
    ByteWriter &Raw(const std::vector<uint8_t> &v) {
        bytes_.insert(bytes_.end(), v.begin(), v.end());
        return *this;
    }
    ByteWriter &Pad4() {
        while (bytes_.size() % 4) bytes_.push_back(0);
        return *this;
    }
    std::vector<uint8_t> &Bytes() { return bytes_; }
    bool BigEndian() const { return big_endian_; }

private:
    ByteWriter &Int(uint64_t v, int n) {
        for (int i = 0; i < n; ++i) bytes_.push_back(uint8_t(v >> (8 * (big_endian_ ? n - 1 - i : i))));
        return *this;
    }
    std::vector<uint8_t> bytes_;
    bool big_endian_;
};

/// n bytes 0, 1, 2, ... so a test can tell packets apart by their content.
inline std::vector<uint8_t> Payload(size_t n, uint8_t first = 0) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = uint8_t(first + i);
    return v;
}

/// XXH3-128 of bytes as the store names files (FileRecord::content_hash), computed here apart from darkscope's code.
inline std::string HashOf(const std::vector<uint8_t> &bytes) {
    const XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
    char hex[33];
    std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                  static_cast<unsigned long long>(h.low64));
    return hex;
}

/// Classic pcap: 24-byte file header, then 16-byte record headers.
struct PcapFile {
    ByteWriter w;
    explicit PcapFile(bool big_endian = false, bool nano = false, uint32_t link_type = 1, uint32_t snaplen = 65535,
                      uint16_t major = 2, uint16_t minor = 4)
        : w(big_endian) {
        w.U32(nano ? 0xa1b23c4d : 0xa1b2c3d4).U16(major).U16(minor);
        w.U32(0).U32(0);  // thiszone, sigfigs
        w.U32(snaplen).U32(link_type);
    }
    PcapFile &Record(uint32_t sec, uint32_t frac, const std::vector<uint8_t> &data, uint32_t orig_len = 0) {
        w.U32(sec).U32(frac).U32(uint32_t(data.size())).U32(orig_len ? orig_len : uint32_t(data.size()));
        w.Raw(data);
        return *this;
    }
    std::vector<uint8_t> &Bytes() { return w.Bytes(); }
};

/// pcapng blocks; each helper writes type, length, body, options and the trailing length.
struct PcapngFile {
    ByteWriter w;
    explicit PcapngFile(bool big_endian = false) : w(big_endian) {}

    /// An option: code, length, value padded to 4 bytes.
    static std::vector<uint8_t> Option(bool big_endian, uint16_t code, const std::vector<uint8_t> &value) {
        ByteWriter o(big_endian);
        o.U16(code).U16(uint16_t(value.size())).Raw(value).Pad4();
        return o.Bytes();
    }
    std::vector<uint8_t> Option(uint16_t code, const std::vector<uint8_t> &value) const {
        return Option(w.BigEndian(), code, value);
    }
    std::vector<uint8_t> Int64Value(int64_t v) const {
        ByteWriter o(w.BigEndian());
        o.U64(uint64_t(v));
        return o.Bytes();
    }

    PcapngFile &Block(uint32_t type, const std::vector<uint8_t> &body) {
        uint32_t length = uint32_t(12 + ((body.size() + 3) & ~size_t(3)));
        w.U32(type).U32(length).Raw(body).Pad4().U32(length);
        return *this;
    }
    PcapngFile &Section() {
        ByteWriter b(w.BigEndian());
        b.U32(0x1a2b3c4d).U16(1).U16(0).U64(~uint64_t(0));  // section length unknown
        return Block(0x0a0d0d0a, b.Bytes());
    }
    PcapngFile &Interface(uint16_t link_type, uint32_t snaplen = 0, const std::vector<uint8_t> &options = {}) {
        ByteWriter b(w.BigEndian());
        b.U16(link_type).U16(0).U32(snaplen).Raw(options);
        if (!options.empty()) b.U32(0);  // opt_endofopt
        return Block(1, b.Bytes());
    }
    PcapngFile &Enhanced(uint32_t interface_id, uint64_t ts, const std::vector<uint8_t> &data, uint32_t orig_len = 0) {
        ByteWriter b(w.BigEndian());
        b.U32(interface_id).U32(uint32_t(ts >> 32)).U32(uint32_t(ts));
        b.U32(uint32_t(data.size())).U32(orig_len ? orig_len : uint32_t(data.size())).Raw(data).Pad4();
        return Block(6, b.Bytes());
    }
    PcapngFile &Simple(const std::vector<uint8_t> &data, uint32_t orig_len = 0) {
        ByteWriter b(w.BigEndian());
        b.U32(orig_len ? orig_len : uint32_t(data.size())).Raw(data).Pad4();
        return Block(3, b.Bytes());
    }
    PcapngFile &Obsolete(uint16_t interface_id, uint64_t ts, const std::vector<uint8_t> &data) {
        ByteWriter b(w.BigEndian());
        b.U16(interface_id).U16(0).U32(uint32_t(ts >> 32)).U32(uint32_t(ts));
        b.U32(uint32_t(data.size())).U32(uint32_t(data.size())).Raw(data).Pad4();
        return Block(2, b.Bytes());
    }
    std::vector<uint8_t> &Bytes() { return w.Bytes(); }
};

/// A file in the test temp folder, removed when the object goes.
class TempFile {
public:
    explicit TempFile(const std::vector<uint8_t> &bytes, const std::string &name = "capture") {
        static int counter = 0;
        path_ = std::filesystem::temp_directory_path() /
                ("darkscope_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + name);
        std::ofstream out(path_, std::ios::binary);
        out.write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
    }
    ~TempFile() {
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
    const std::filesystem::path &Path() const { return path_; }

private:
    std::filesystem::path path_;
};

struct ReadPacket {
    TimestampNs ts;
    std::vector<uint8_t> data;
    uint32_t wire_len;
    uint32_t link_type;
    uint32_t interface_id;
    uint64_t offset;
};

struct ReadResult {
    bool opened = false;
    CaptureError open_error;
    std::vector<ReadPacket> packets;
    std::optional<CaptureError> error;  // from Error() after the loop
    CaptureFormat format = CaptureFormat::PCAP;
    Compression compression = Compression::NONE;
};

inline ReadResult Drain(std::unique_ptr<CaptureReader> reader, const CaptureError &open_error) {
    ReadResult r;
    r.open_error = open_error;
    if (!reader) return r;
    r.opened = true;
    r.format = reader->Format();
    r.compression = reader->GetCompression();
    RawPacket p;
    while (reader->Next(p)) {
        r.packets.push_back({p.ts, std::vector<uint8_t>(p.data, p.data + p.caplen), p.wire_len, p.link_type,
                             p.interface_id, p.offset});
    }
    EXPECT_FALSE(reader->Next(p)) << "Next() must keep returning false after the end";
    EXPECT_EQ(reader->PacketsRead(), r.packets.size());
    r.error = reader->Error();
    return r;
}

/// Reads through a temp file (the production path).
inline ReadResult ReadFile(const std::filesystem::path &path) {
    CaptureError error;
    auto reader = CaptureReader::Open(path, error);
    return Drain(std::move(reader), error);
}
inline ReadResult ReadBytes(const std::vector<uint8_t> &bytes) {
    TempFile file(bytes);
    return ReadFile(file.Path());
}
/// Reads the same bytes from memory (the fuzzing path).
inline ReadResult ReadMemory(const std::vector<uint8_t> &bytes) {
    CaptureError error;
    auto reader = CaptureReader::OpenMemory(bytes, error);
    return Drain(std::move(reader), error);
}

}  // namespace darkscope::testing
