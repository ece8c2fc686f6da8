#pragma once
/// Builders for hand-written test frames. Each builder lays out its header field by field with a
/// packet-diagram comment, so that a test reads as "Ethernet + IPv4 + TCP SYN" with the odd byte changed.

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "capture/raw_packet.hpp"
#include "decode/decoder.hpp"

namespace darkscope::testing {

using Bytes = std::vector<uint8_t>;

inline Bytes Cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes &p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

inline uint8_t Hi(uint32_t v) { return uint8_t(v >> 8); }
inline uint8_t Lo(uint32_t v) { return uint8_t(v); }

/// Decodes `frame` as one packet of `link_type`; wire_len defaults to the frame's length.
inline DecodedPacket DecodeFrame(uint32_t link_type, const Bytes &frame, uint32_t wire_len = 0) {
    RawPacket raw;
    raw.data = frame.data();
    raw.caplen = uint32_t(frame.size());
    raw.wire_len = wire_len ? wire_len : uint32_t(frame.size());
    raw.link_type = link_type;
    DecodedPacket out;
    Decode(raw, out);
    return out;
}

inline Bytes Ethernet(uint16_t type) {
    return {
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55,  // destination MAC
        0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB,  // source MAC
        Hi(type), Lo(type),                  // ethertype
    };
}

inline Bytes VlanTag(uint16_t vid, uint16_t inner_type) {
    return {
        Hi(vid), Lo(vid),              // PCP(3) DEI(1) VID(12)
        Hi(inner_type), Lo(inner_type) // next ethertype
    };
}

/// IPv4 198.51.100.7 -> 192.0.2.1, TTL 64, ID 0x1234, no checksum (the decoder does not check it).
inline Bytes Ipv4(uint8_t proto, uint16_t payload_len, uint16_t flags_offset = 0, uint8_t ihl = 5) {
    uint16_t total = uint16_t(ihl * 4 + payload_len);
    Bytes h = {
        uint8_t(0x40 | ihl), 0x00,     // version 4, IHL | TOS
        Hi(total), Lo(total),          // total length
        0x12, 0x34,                    // identification
        Hi(flags_offset), Lo(flags_offset), // flags(3) fragment offset(13, in 8-byte units)
        64, proto,                     // TTL | protocol
        0x00, 0x00,                    // header checksum
        198, 51, 100, 7,               // source
        192, 0, 2, 1,                  // destination
    };
    for (int i = 5; i < ihl; ++i) h.insert(h.end(), {0x01, 0x01, 0x01, 0x00});  // NOP NOP NOP EOL
    return h;
}

/// IPv6 2001:db8::7 -> 2001:db8:ffff::1, hop limit 64.
inline Bytes Ipv6(uint8_t next_header, uint16_t payload_len) {
    return {
        0x60, 0x00, 0x00, 0x00,        // version 6 | traffic class | flow label
        Hi(payload_len), Lo(payload_len), next_header, 64, // payload length | next header | hop limit
        0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07,    // source 2001:db8::7
        0x20, 0x01, 0x0D, 0xB8, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // destination 2001:db8:ffff::1
    };
}

/// TCP 40000 -> dport with the given flags, seq 0x01020304, ack 0, window 1024, plus options.
inline Bytes Tcp(uint16_t dport, uint8_t flags, const Bytes &options = {}, uint16_t sport = 40000) {
    uint8_t data_offset = uint8_t(5 + options.size() / 4);
    Bytes h = {
        Hi(sport), Lo(sport), Hi(dport), Lo(dport), // source port | destination port
        0x01, 0x02, 0x03, 0x04,                     // sequence number
        0x00, 0x00, 0x00, 0x00,                     // acknowledgment number
        uint8_t(data_offset << 4), flags,           // data offset(4) reserved(4) | flags
        0x04, 0x00,                                 // window
        0x00, 0x00, 0x00, 0x00,                     // checksum | urgent pointer
    };
    h.insert(h.end(), options.begin(), options.end());
    return h;
}

inline Bytes Udp(uint16_t sport, uint16_t dport, uint16_t payload_len) {
    uint16_t len = uint16_t(8 + payload_len);
    return {
        Hi(sport), Lo(sport), Hi(dport), Lo(dport), // source port | destination port
        Hi(len), Lo(len), 0x00, 0x00,               // length | checksum
    };
}

inline Bytes IcmpEcho(uint8_t type, uint16_t id, uint16_t seq) {
    return {
        type, 0x00, 0x00, 0x00,        // type | code | checksum
        Hi(id), Lo(id), Hi(seq), Lo(seq), // identifier | sequence number
    };
}

}  // namespace darkscope::testing
