#pragma once
/// The decoder's output: every header field later stages need, in one flat struct with no
/// allocation, so that decoding stays on the per-packet fast path.

#include <cstdint>

#include "common/ip_address.hpp"
#include "common/time.hpp"
#include "decode/decode_events.hpp"

namespace darkscope {

enum TcpFlag : uint8_t {
    TCP_FIN = 0x01,
    TCP_SYN = 0x02,
    TCP_RST = 0x04,
    TCP_PSH = 0x08,
    TCP_ACK = 0x10,
    TCP_URG = 0x20,
    TCP_ECE = 0x40,
    TCP_CWR = 0x80,
};

enum IpProto : uint8_t {
    IPPROTO_NUM_ICMP = 1,
    IPPROTO_NUM_TCP = 6,
    IPPROTO_NUM_UDP = 17,
    IPPROTO_NUM_ICMPV6 = 58,
};

/// How far the decoder got. A packet is still counted whatever its state.
enum class L4State : uint8_t {
    NONE,        // no IP, or an IP protocol without a transport header we decode
    PRESENT,     // TCP/UDP/ICMP/ICMPv6 header decoded
    TRUNCATED,   // the transport header is cut or malformed (an event says which)
    FRAGMENT,    // a non-first IP fragment: no transport header in this packet
};

/// The IP header (and ports) quoted inside an ICMP/ICMPv6 error.
struct QuotedPacket {
    IpAddress src;
    IpAddress dst;
    uint8_t proto = 0;
    bool has_ports = false;
    uint16_t sport = 0;
    uint16_t dport = 0;
};

struct DecodedPacket {
    TimestampNs ts = 0;
    uint32_t wire_len = 0;  // frame length on the wire
    uint32_t cap_len = 0;   // captured bytes
    uint64_t events = 0;    // bitmask of DecodeEvent

    // Network layer (ip_version 0: not an IP packet, or the IP header was unusable).
    uint8_t ip_version = 0;
    IpAddress src;
    IpAddress dst;
    uint16_t ip_len = 0;     // IPv4 total length / IPv6 payload length + 40
    uint8_t ttl = 0;         // TTL or hop limit
    uint16_t ip_id = 0;      // IPv4 identification (low 16 bits of the IPv6 fragment id)
    uint8_t tos = 0;
    uint8_t ip_options_len = 0;
    uint8_t proto = 0;       // transport protocol after IPv6 extension headers
    bool fragment = false;       // any fragment (MF set or offset > 0)
    bool first_fragment = false; // offset 0 with more fragments to come
    uint16_t frag_offset = 0;    // in bytes
    uint8_t ip_flags = 0;        // IPv4 flag bits (reserved 4, DF 2, MF 1), for the fragbits keyword

    L4State l4 = L4State::NONE;
    // TCP/UDP
    uint16_t sport = 0;
    uint16_t dport = 0;
    bool has_ports = false;  // sport/dport were read (also when the rest of a TCP/UDP header is cut)
    // TCP
    uint8_t tcp_flags = 0;
    uint32_t seq = 0;
    uint32_t ack = 0;
    uint16_t window = 0;
    uint16_t mss = 0;        // valid when has_mss
    bool has_mss = false;
    uint8_t window_scale = 0xFF;  // 0xFF: option absent
    bool sack_permitted = false;
    bool has_timestamp = false;
    uint8_t tcp_options_len = 0;
    // ICMP / ICMPv6
    uint8_t icmp_type = 0;
    uint8_t icmp_code = 0;
    bool has_icmp_type = false;  // icmp_type/icmp_code were read (also when the ICMP header is cut)
    uint16_t icmp_id = 0;    // echo request/reply
    uint16_t icmp_seq = 0;
    bool has_quoted = false;
    QuotedPacket quoted;

    // Transport payload, within the captured bytes (may be shorter than on the wire).
    const uint8_t *payload = nullptr;
    uint32_t payload_len = 0;

    bool HasEvent(DecodeEvent e) const { return (events & EventBit(e)) != 0; }
    void AddEvent(DecodeEvent e) { events |= EventBit(e); }
};

}  // namespace darkscope
