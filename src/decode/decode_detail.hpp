#pragma once
/// Internal entry points of the decoder, one per layer; each file under src/decode/ implements one.
/// All take the bytes of their layer as (data, captured length) and never read past `cap`.

#include <cstdint>
#include <cstring>

#include "capture/raw_packet.hpp"
#include "decode/decoded_packet.hpp"

namespace darkscope::detail {

/// At most this many VLAN tags / MPLS labels are followed; deeper stacks are almost certainly garbage.
constexpr int MAX_VLAN_TAGS = 8;
constexpr int MAX_MPLS_LABELS = 8;
/// At most this many IPv6 extension headers are followed (real stacks have two or three).
constexpr int MAX_IPV6_EXT_HEADERS = 16;
/// Inside an ICMPv6 error the quoted chain is shorter: the quote is at most 1232 bytes anyway.
constexpr int MAX_QUOTED_IPV6_EXT_HEADERS = 8;

/// Address setters that only store: building an IpAddress temporary and copying it makes the
/// compiler load 16 bytes right after a 4-byte store, which stalls store forwarding on every packet.
/// They rely on Decode having zeroed `out` (the bytes after an IPv4 address stay zero).
inline void SetV4(IpAddress &a, const uint8_t *p) {
    std::memcpy(a.bytes.data(), p, 4);
    a.family = 4;
}
inline void SetV6(IpAddress &a, const uint8_t *p) {
    std::memcpy(a.bytes.data(), p, 16);
    a.family = 6;
}

/// Reads the ports of a TCP or UDP header. Ports are kept from 4 bytes on even when the rest of the
/// header (`header` bytes) is cut: the packet is then TRUNCATED (with `truncated` raised) but still
/// names its service. Returns true when the whole fixed header is present.
inline bool ReadPorts(const uint8_t *p, uint32_t cap, uint32_t header, DecodeEvent truncated, DecodedPacket &out) {
    if (cap >= 4) {
        out.sport = uint16_t(p[0] << 8 | p[1]);
        out.dport = uint16_t(p[2] << 8 | p[3]);
        out.has_ports = true;
    }
    if (cap < header) [[unlikely]] {
        out.AddEvent(truncated);
        out.l4 = L4State::TRUNCATED;
        return false;
    }
    out.l4 = L4State::PRESENT;
    return true;
}

/// Finds the network layer of the frame and hands it to DecodeIpv4/DecodeIpv6.
void DecodeLink(const RawPacket &raw, DecodedPacket &out);

/// `wire` is how many bytes of the frame were on the wire from `p` on (>= cap), used to tell a
/// lying IP length from a snaplen cut.
void DecodeIpv4(const uint8_t *p, uint32_t cap, uint32_t wire, DecodedPacket &out);
void DecodeIpv6(const uint8_t *p, uint32_t cap, uint32_t wire, DecodedPacket &out);

/// Transport decoders. `cap`: captured bytes of the IP payload (already bounded by the IP length);
/// `declared`: the IP payload length from the IP header(s).
void DecodeTransport(uint8_t proto, const uint8_t *p, uint32_t cap, uint32_t declared, DecodedPacket &out);
void DecodeTcp(const uint8_t *p, uint32_t cap, uint32_t declared, DecodedPacket &out);
void DecodeUdp(const uint8_t *p, uint32_t cap, uint32_t declared, DecodedPacket &out);
void DecodeIcmp(const uint8_t *p, uint32_t cap, DecodedPacket &out);
void DecodeIcmpv6(const uint8_t *p, uint32_t cap, DecodedPacket &out);

/// The IP packet quoted by an ICMP/ICMPv6 error (version from its first nibble) into out.quoted.
void DecodeQuoted(const uint8_t *p, uint32_t cap, DecodedPacket &out);

}  // namespace darkscope::detail
