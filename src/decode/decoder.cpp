// Entry point: reset the output, then link -> IP -> transport (see docs/decoding.md for the rules).

#include "decode/decoder.hpp"

#include <cstring>
#include <type_traits>

#include "decode/decode_detail.hpp"

namespace darkscope {
namespace detail {

namespace {
constexpr uint8_t IPPROTO_NUM_IPIP = 4;
constexpr uint8_t IPPROTO_NUM_IPV6_IN_IP = 41;
constexpr uint8_t IPPROTO_NUM_GRE = 47;
}  // namespace

void DecodeTransport(uint8_t proto, const uint8_t *p, uint32_t cap, uint32_t declared, DecodedPacket &out) {
    switch (proto) {
    case IPPROTO_NUM_TCP:
        return DecodeTcp(p, cap, declared, out);
    case IPPROTO_NUM_UDP:
        return DecodeUdp(p, cap, declared, out);
    // ICMP belongs to IPv4 and ICMPv6 to IPv6; the other pairing (nmap's protocol scan sends it) is an
    // unknown protocol, "proto 58", as tshark also shows it.
    case IPPROTO_NUM_ICMP:
        if (out.ip_version == 4) return DecodeIcmp(p, cap, out);
        break;
    case IPPROTO_NUM_ICMPV6:
        if (out.ip_version == 6) return DecodeIcmpv6(p, cap, out);
        break;
    case IPPROTO_NUM_IPIP:
    case IPPROTO_NUM_IPV6_IN_IP:
    case IPPROTO_NUM_GRE:
        // Tunnels are counted at their outer layer: the telescope saw the outer packet.
        out.AddEvent(DecodeEvent::TUNNEL_NOT_FOLLOWED);
        break;
    default:
        break;
    }
    // Other protocols: no transport header we decode; the IP payload is the payload.
    out.payload = p;
    out.payload_len = cap;
}

}  // namespace detail

void Decode(const RawPacket &raw, DecodedPacket &out) {
    // Copied from a constant rather than `out = DecodedPacket{}`: that builds a temporary on the stack,
    // and the byte store of window_scale's 0xFF into it stalls the wide load that copies it (store
    // forwarding), 30% of decode time on a SYN-heavy capture. A memset is no better: GCC turns 168
    // bytes into `rep stos`, whose start-up costs as much.
    static constexpr DecodedPacket EMPTY{};
    static_assert(std::is_trivially_copyable_v<DecodedPacket>);
    std::memcpy(static_cast<void *>(&out), &EMPTY, sizeof out);
    out.ts = raw.ts;
    out.wire_len = raw.wire_len;
    out.cap_len = raw.caplen;
    if (raw.data == nullptr) [[unlikely]] {
        out.cap_len = 0;  // a reader bug, but still a packet to count
        out.AddEvent(DecodeEvent::LINK_TRUNCATED);
        return;
    }
    detail::DecodeLink(raw, out);
}

}  // namespace darkscope
