#pragma once
/// Test-only reader for classic pcap files (either byte order, micro- or nanosecond), so that the
/// decoder's tests do not depend on src/capture/. pcapng is not read here.

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "capture/raw_packet.hpp"
#include "common/bytes.hpp"

namespace darkscope::testing {

struct LoadedPcap {
    uint32_t link_type = 0;
    std::vector<uint8_t> bytes;     // the whole file; packets point into it
    std::vector<RawPacket> packets;
    bool truncated = false;          // the file ended inside a record
};

/// Reads a classic pcap file; std::nullopt if it cannot be opened or is not classic pcap.
inline std::optional<LoadedPcap> ReadPcap(const std::filesystem::path &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    LoadedPcap file;
    file.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    const std::vector<uint8_t> &b = file.bytes;
    if (b.size() < 24) return std::nullopt;
    uint32_t magic = LoadLe32(b.data());
    bool swapped;
    bool nanos;
    switch (magic) {
    case 0xA1B2C3D4: swapped = false; nanos = false; break;
    case 0xA1B23C4D: swapped = false; nanos = true; break;
    case 0xD4C3B2A1: swapped = true; nanos = false; break;
    case 0x4D3CB2A1: swapped = true; nanos = true; break;
    default: return std::nullopt;
    }
    auto load32 = [&](size_t off) { return swapped ? LoadBe32(b.data() + off) : LoadLe32(b.data() + off); };
    // The upper bits of the link-type field may carry FCS flags (pcap-linktype.7); the type is the low 16.
    file.link_type = load32(20) & 0xFFFF;
    size_t off = 24;
    while (off < b.size()) {
        if (b.size() - off < 16) {
            file.truncated = true;
            break;
        }
        uint64_t sec = load32(off);
        uint64_t frac = load32(off + 4);
        uint32_t caplen = load32(off + 8);
        uint32_t wire_len = load32(off + 12);
        if (b.size() - off - 16 < caplen) {
            file.truncated = true;
            break;
        }
        RawPacket raw;
        raw.ts = TimestampNs(sec * 1000000000ull + (nanos ? frac : frac * 1000));
        raw.data = b.data() + off + 16;
        raw.caplen = caplen;
        raw.wire_len = wire_len;
        raw.link_type = file.link_type;
        raw.offset = off;
        file.packets.push_back(raw);
        off += 16 + caplen;
    }
    return file;
}

}  // namespace darkscope::testing
