// ICMP and ICMPv6: type/code, echo id/seq, and for errors the quoted packet, which names the
// original target and port (the victim's attacked service in DoS backscatter).

#include "common/bytes.hpp"
#include "decode/decode_detail.hpp"

namespace darkscope::detail {
namespace {

constexpr uint32_t ICMP_HEADER = 8;  // type, code, checksum, then 4 bytes (id/seq, unused, MTU, ...)

// ICMP (v4) errors that quote the offending datagram: unreachable, source quench, redirect,
// time exceeded, parameter problem.
constexpr bool IcmpQuotes(uint8_t type) { return type == 3 || type == 4 || type == 5 || type == 11 || type == 12; }
// ICMPv6 errors: unreachable, packet too big, time exceeded, parameter problem.
constexpr bool Icmpv6Quotes(uint8_t type) { return type >= 1 && type <= 4; }

void QuotedPorts(uint8_t proto, const uint8_t *l4, uint32_t cap, DecodedPacket &out) {
    if (proto != IPPROTO_NUM_TCP && proto != IPPROTO_NUM_UDP) return;
    // RFC 792 promises only 8 bytes of the original datagram; the ports are the first 4.
    if (cap < 4) {
        out.AddEvent(DecodeEvent::ICMP_INNER_TRUNCATED);
        return;
    }
    out.quoted.sport = LoadBe16(l4);
    out.quoted.dport = LoadBe16(l4 + 2);
    out.quoted.has_ports = true;
}

void DecodeQuotedIpv4(const uint8_t *p, uint32_t cap, DecodedPacket &out) {
    if (cap < 20) {
        out.AddEvent(DecodeEvent::ICMP_INNER_TRUNCATED);
        return;
    }
    uint32_t ihl = uint32_t(p[0] & 0x0F) * 4;
    if (ihl < 20) {
        out.AddEvent(DecodeEvent::ICMP_INNER_BAD);
        return;
    }
    out.has_quoted = true;
    out.quoted.proto = p[9];
    SetV4(out.quoted.src, p + 12);
    SetV4(out.quoted.dst, p + 16);
    if ((LoadBe16(p + 6) & 0x1FFF) != 0) return;  // a later fragment was quoted: no transport header
    if (ihl > cap) {
        out.AddEvent(DecodeEvent::ICMP_INNER_TRUNCATED);
        return;
    }
    QuotedPorts(out.quoted.proto, p + ihl, cap - ihl, out);
}

void DecodeQuotedIpv6(const uint8_t *p, uint32_t cap, DecodedPacket &out) {
    if (cap < 40) {
        out.AddEvent(DecodeEvent::ICMP_INNER_TRUNCATED);
        return;
    }
    out.has_quoted = true;
    SetV6(out.quoted.src, p + 8);
    SetV6(out.quoted.dst, p + 24);
    uint8_t nh = p[6];
    uint32_t off = 40;
    for (int ext = 0; ext < MAX_QUOTED_IPV6_EXT_HEADERS; ++ext) {
        out.quoted.proto = nh;
        if (nh != 0 && nh != 43 && nh != 60 && nh != 135 && nh != 51 && nh != 44) break;
        if (cap - off < 2 || (nh == 44 && cap - off < 8)) {
            out.AddEvent(DecodeEvent::ICMP_INNER_TRUNCATED);
            return;
        }
        const uint8_t *h = p + off;
        if (nh == 44 && (LoadBe16(h + 2) & 0xFFF8) != 0) {
            out.quoted.proto = h[0];
            return;  // a later fragment: no transport header
        }
        uint32_t len = nh == 44 ? 8 : nh == 51 ? (uint32_t(h[1]) + 2) * 4 : (uint32_t(h[1]) + 1) * 8;
        if (len > cap - off) {
            out.AddEvent(DecodeEvent::ICMP_INNER_TRUNCATED);
            return;
        }
        nh = h[0];
        off += len;
    }
    out.quoted.proto = nh;
    QuotedPorts(nh, p + off, cap - off, out);
}

}  // namespace

void DecodeQuoted(const uint8_t *p, uint32_t cap, DecodedPacket &out) {
    if (cap == 0) {
        out.AddEvent(DecodeEvent::ICMP_INNER_TRUNCATED);
        return;
    }
    // By the quote's own version nibble: an ICMPv4 error quoting IPv6 (or the reverse) is odd but readable.
    int version = p[0] >> 4;
    if (version == 4) DecodeQuotedIpv4(p, cap, out);
    else if (version == 6) DecodeQuotedIpv6(p, cap, out);
    else out.AddEvent(DecodeEvent::ICMP_INNER_BAD);
}

// ICMP and ICMPv6 share their first 8 bytes: type, code, checksum, then id/seq for echo or unused
// bytes before a quoted packet. Type and code are kept from 2 bytes on (l4 stays TRUNCATED), as
// ports are for TCP/UDP.
template <typename IsEcho, typename Quotes>
void DecodeIcmpFamily(const uint8_t *p, uint32_t cap, DecodeEvent truncated, IsEcho is_echo, Quotes quotes,
                      DecodedPacket &out) {
    if (cap >= 2) {
        out.icmp_type = p[0];
        out.icmp_code = p[1];
        out.has_icmp_type = true;
    }
    if (cap < ICMP_HEADER) [[unlikely]] {
        out.AddEvent(truncated);
        out.l4 = L4State::TRUNCATED;
        return;
    }
    out.l4 = L4State::PRESENT;
    out.payload = p + ICMP_HEADER;
    out.payload_len = cap - ICMP_HEADER;
    if (is_echo(p[0])) {
        out.icmp_id = LoadBe16(p + 4);
        out.icmp_seq = LoadBe16(p + 6);
    } else if (quotes(p[0])) {
        DecodeQuoted(p + ICMP_HEADER, cap - ICMP_HEADER, out);
    }
}

void DecodeIcmp(const uint8_t *p, uint32_t cap, DecodedPacket &out) {
    DecodeIcmpFamily(
        p, cap, DecodeEvent::ICMP_TRUNCATED, [](uint8_t t) { return t == 0 || t == 8; }, IcmpQuotes, out);
}

void DecodeIcmpv6(const uint8_t *p, uint32_t cap, DecodedPacket &out) {
    DecodeIcmpFamily(
        p, cap, DecodeEvent::ICMPV6_TRUNCATED, [](uint8_t t) { return t == 128 || t == 129; }, Icmpv6Quotes, out);
}

}  // namespace darkscope::detail
