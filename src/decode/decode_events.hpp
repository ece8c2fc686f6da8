#pragma once
/// Named decoder events: every malformed or truncated layer is counted under one of these stable
/// names (as Suricata's decoder.ipv4.pkt_too_small), shown by `summary` and stored per sensor and hour.
/// Names never change once released; new events are appended.

#include <cstdint>
#include <string_view>

namespace darkscope {

// X(ENUM, "stable.name", "what it means")
#define DARKSCOPE_DECODE_EVENTS(X)                                                                   \
    X(LINK_TRUNCATED, "decode.link.truncated", "frame shorter than its link-layer header")           \
    X(LINK_UNKNOWN_ETHERTYPE, "decode.link.not_ip", "frame carries no IP (ARP, LLC, ...)")           \
    X(VLAN_TRUNCATED, "decode.vlan.truncated", "802.1Q/802.1ad tag cut short")                       \
    X(VLAN_TOO_DEEP, "decode.vlan.too_deep", "more VLAN tags than the decoder follows")              \
    X(IP_VERSION_MISMATCH, "decode.ip.version_mismatch", "IP version differs from link type")        \
    X(IPV4_TRUNCATED, "decode.ipv4.truncated", "captured bytes end inside the IPv4 header")          \
    X(IPV4_BAD_IHL, "decode.ipv4.bad_ihl", "IPv4 header length below 20 bytes")                      \
    X(IPV4_BAD_TOTAL_LENGTH, "decode.ipv4.bad_total_length", "IPv4 total length below header length") \
    X(IPV4_LENGTH_EXCEEDS_FRAME, "decode.ipv4.length_exceeds_frame", "IPv4 total length beyond the frame on the wire") \
    X(IPV4_BAD_OPTIONS, "decode.ipv4.bad_options", "malformed IPv4 options")                         \
    X(IPV6_TRUNCATED, "decode.ipv6.truncated", "captured bytes end inside the IPv6 header")          \
    X(IPV6_BAD_VERSION, "decode.ipv6.bad_version", "IPv6 header with a version other than 6")        \
    X(IPV6_LENGTH_EXCEEDS_FRAME, "decode.ipv6.length_exceeds_frame", "IPv6 payload length beyond the frame") \
    X(IPV6_EXT_TRUNCATED, "decode.ipv6.ext_truncated", "IPv6 extension header cut short")            \
    X(IPV6_EXT_TOO_MANY, "decode.ipv6.ext_too_many", "more IPv6 extension headers than followed")    \
    X(IPV6_FRAG_BAD, "decode.ipv6.frag_bad", "malformed IPv6 fragment header")                       \
    X(TCP_TRUNCATED, "decode.tcp.truncated", "captured bytes end inside the TCP header")             \
    X(TCP_BAD_OFFSET, "decode.tcp.bad_offset", "TCP data offset below 20 bytes or beyond packet")     \
    X(TCP_BAD_OPTIONS, "decode.tcp.bad_options", "malformed TCP options")                            \
    X(UDP_TRUNCATED, "decode.udp.truncated", "captured bytes end inside the UDP header")             \
    X(UDP_BAD_LENGTH, "decode.udp.bad_length", "UDP length field inconsistent with IP length")       \
    X(ICMP_TRUNCATED, "decode.icmp.truncated", "captured bytes end inside the ICMP header")          \
    X(ICMPV6_TRUNCATED, "decode.icmpv6.truncated", "captured bytes end inside the ICMPv6 header")    \
    X(ICMP_INNER_TRUNCATED, "decode.icmp.inner_truncated", "quoted packet in an ICMP error cut short") \
    X(ICMP_INNER_BAD, "decode.icmp.inner_bad", "quoted packet in an ICMP error is not valid IP")    \
    X(TUNNEL_NOT_FOLLOWED, "decode.tunnel.not_followed", "IP-in-IP/GRE/Teredo payload counted at the outer layer") \
    X(DNS_MALFORMED, "decode.dns.malformed", "port-53 payload that is not a DNS message")           \
    X(PAYLOAD_TRUNCATED, "decode.payload.truncated", "packet cut by the capture snaplen")              \
    X(LINK_UNSUPPORTED, "decode.link.unsupported", "link type the decoder does not understand")      \
    X(MPLS_TRUNCATED, "decode.mpls.truncated", "MPLS label stack cut short")                         \
    X(MPLS_TOO_DEEP, "decode.mpls.too_deep", "more MPLS labels than the decoder follows")            \
    X(IP_BAD_VERSION, "decode.ip.bad_version", "raw-IP frame whose version nibble is neither 4 nor 6") \
    X(IPV4_BAD_VERSION, "decode.ipv4.bad_version", "IPv4 ethertype/protocol with a version other than 4")

enum class DecodeEvent : uint8_t {
#define DARKSCOPE_X(e, name, desc) e,
    DARKSCOPE_DECODE_EVENTS(DARKSCOPE_X)
#undef DARKSCOPE_X
        COUNT
};
static_assert(static_cast<int>(DecodeEvent::COUNT) <= 64, "events are kept in a 64-bit mask");

constexpr std::string_view DECODE_EVENT_NAMES[] = {
#define DARKSCOPE_X(e, name, desc) name,
    DARKSCOPE_DECODE_EVENTS(DARKSCOPE_X)
#undef DARKSCOPE_X
};
constexpr std::string_view DECODE_EVENT_DESCRIPTIONS[] = {
#define DARKSCOPE_X(e, name, desc) desc,
    DARKSCOPE_DECODE_EVENTS(DARKSCOPE_X)
#undef DARKSCOPE_X
};

inline std::string_view DecodeEventName(DecodeEvent e) { return DECODE_EVENT_NAMES[static_cast<int>(e)]; }
inline constexpr uint64_t EventBit(DecodeEvent e) { return uint64_t(1) << static_cast<int>(e); }

}  // namespace darkscope
