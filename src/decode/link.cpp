// Link layers: find where the IP header starts and which version it should be.

#include "common/bytes.hpp"
#include "decode/decode_detail.hpp"

namespace darkscope::detail {
namespace {

constexpr uint16_t ETHERTYPE_IPV4 = 0x0800;
constexpr uint16_t ETHERTYPE_IPV6 = 0x86DD;
constexpr uint16_t ETHERTYPE_VLAN = 0x8100;    // 802.1Q
constexpr uint16_t ETHERTYPE_QINQ = 0x88A8;    // 802.1ad service tag
constexpr uint16_t ETHERTYPE_QINQ_OLD = 0x9100; // pre-standard QinQ, still common on switches
constexpr uint16_t ETHERTYPE_QINQ_OLD2 = 0x9200;
constexpr uint16_t ETHERTYPE_MPLS = 0x8847;
constexpr uint16_t ETHERTYPE_MPLS_MCAST = 0x8848;

constexpr uint32_t ETH_HEADER = 14;
constexpr uint32_t SLL_HEADER = 16;
constexpr uint32_t SLL2_HEADER = 20;
constexpr uint32_t NULL_HEADER = 4;

// BSD address families: AF_INET is 2 everywhere, AF_INET6 differs (NetBSD/OpenBSD 24, FreeBSD 28, macOS 30).
constexpr uint32_t BSD_AF_INET = 2;
constexpr uint32_t BSD_AF_INET6_NETBSD = 24;
constexpr uint32_t BSD_AF_INET6_FREEBSD = 28;
constexpr uint32_t BSD_AF_INET6_DARWIN = 30;

// Decodes the IP header at `off` as the given version (4 or 6); 0 means "by the first nibble".
void DecodeIpAt(const RawPacket &raw, uint32_t off, int version, DecodedPacket &out) {
    const uint8_t *p = raw.data + off;
    uint32_t cap = raw.caplen - off;
    // wire_len below caplen is a writer bug; the captured bytes are then the better bound.
    uint32_t wire = (raw.wire_len > raw.caplen ? raw.wire_len : raw.caplen) - off;
    if (version == 0) {
        if (cap == 0) {
            out.AddEvent(DecodeEvent::IP_BAD_VERSION);
            return;
        }
        version = p[0] >> 4;
    }
    if (version == 4) DecodeIpv4(p, cap, wire, out);
    else if (version == 6) DecodeIpv6(p, cap, wire, out);
    else out.AddEvent(DecodeEvent::IP_BAD_VERSION);
}

// Follows VLAN tags and MPLS labels from an ethertype at `off` (the byte after the type field).
void DecodeEtherType(const RawPacket &raw, uint16_t type, uint32_t off, DecodedPacket &out) {
    // The common case first: untagged IPv4.
    if (type == ETHERTYPE_IPV4) return DecodeIpAt(raw, off, 4, out);
    int tags = 0;
    while (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD ||
           type == ETHERTYPE_QINQ_OLD2) {
        if (++tags > MAX_VLAN_TAGS) {
            out.AddEvent(DecodeEvent::VLAN_TOO_DEEP);
            return;
        }
        if (raw.caplen - off < 4) {
            out.AddEvent(DecodeEvent::VLAN_TRUNCATED);
            return;
        }
        type = LoadBe16(raw.data + off + 2);  // TCI (2 bytes), then the inner type
        off += 4;
    }
    if (type == ETHERTYPE_IPV4) return DecodeIpAt(raw, off, 4, out);
    if (type == ETHERTYPE_IPV6) return DecodeIpAt(raw, off, 6, out);
    if (type == ETHERTYPE_MPLS || type == ETHERTYPE_MPLS_MCAST) {
        // Label stack entries: label(20) TC(3) S(1) TTL(8); S marks the bottom of the stack.
        for (int labels = 1;; ++labels) {
            if (labels > MAX_MPLS_LABELS) {
                out.AddEvent(DecodeEvent::MPLS_TOO_DEEP);
                return;
            }
            if (raw.caplen - off < 4) {
                out.AddEvent(DecodeEvent::MPLS_TRUNCATED);
                return;
            }
            bool bottom = (raw.data[off + 2] & 0x01) != 0;
            off += 4;
            if (bottom) break;
        }
        // MPLS does not say what it carries; IP is told by the version nibble, anything else
        // (pseudowires, control words) is not followed.
        if (raw.caplen - off >= 1) {
            int nibble = raw.data[off] >> 4;
            if (nibble == 4 || nibble == 6) return DecodeIpAt(raw, off, nibble, out);
        }
        out.AddEvent(DecodeEvent::LINK_UNKNOWN_ETHERTYPE);
        return;
    }
    out.AddEvent(DecodeEvent::LINK_UNKNOWN_ETHERTYPE);
}

void DecodeEthernet(const RawPacket &raw, DecodedPacket &out) {
    if (raw.caplen < ETH_HEADER) {
        out.AddEvent(DecodeEvent::LINK_TRUNCATED);
        return;
    }
    uint16_t type = LoadBe16(raw.data + 12);
    if (type >= 0x0600) return DecodeEtherType(raw, type, ETH_HEADER, out);
    // 802.3: a length, then LLC. Only SNAP (AA AA 03, OUI, ethertype) can carry IP.
    const uint8_t *llc = raw.data + ETH_HEADER;
    if (raw.caplen >= ETH_HEADER + 8 && llc[0] == 0xAA && llc[1] == 0xAA && llc[2] == 0x03)
        return DecodeEtherType(raw, LoadBe16(llc + 6), ETH_HEADER + 8, out);
    out.AddEvent(DecodeEvent::LINK_UNKNOWN_ETHERTYPE);
}

// NULL (host byte order of the capturing machine) and LOOP (network order): both orders accepted,
// since a family value fits in 16 bits and so the swapped reading is never a valid family.
void DecodeBsdLoopback(const RawPacket &raw, DecodedPacket &out) {
    if (raw.caplen < NULL_HEADER) {
        out.AddEvent(DecodeEvent::LINK_TRUNCATED);
        return;
    }
    uint32_t family = LoadLe32(raw.data);
    if (family > 0xFFFF) family = __builtin_bswap32(family);
    if (family == BSD_AF_INET) return DecodeIpAt(raw, NULL_HEADER, 4, out);
    if (family == BSD_AF_INET6_NETBSD || family == BSD_AF_INET6_FREEBSD || family == BSD_AF_INET6_DARWIN)
        return DecodeIpAt(raw, NULL_HEADER, 6, out);
    out.AddEvent(DecodeEvent::LINK_UNKNOWN_ETHERTYPE);
}

// LINKTYPE_IPV4/IPV6 promise a version; the first nibble decides, since the bytes describe
// themselves and decoding by the promise could only fail. The disagreement is recorded.
void DecodeTypedRaw(const RawPacket &raw, int promised, DecodedPacket &out) {
    if (raw.caplen >= 1) {
        int nibble = raw.data[0] >> 4;
        if (nibble != promised) {
            out.AddEvent(DecodeEvent::IP_VERSION_MISMATCH);
            if (nibble != 4 && nibble != 6) return DecodeIpAt(raw, 0, promised, out);
        }
    }
    DecodeIpAt(raw, 0, 0, out);
}

}  // namespace

void DecodeLink(const RawPacket &raw, DecodedPacket &out) {
    switch (raw.link_type) {
    case LINKTYPE_ETHERNET:
        return DecodeEthernet(raw, out);
    case LINKTYPE_RAW:
    case LINKTYPE_DLT_RAW_12:
    case LINKTYPE_DLT_RAW_14:
        return DecodeIpAt(raw, 0, 0, out);
    case LINKTYPE_LINUX_SLL:
        // packet type(2) ARPHRD(2) address length(2) address(8) protocol(2)
        if (raw.caplen < SLL_HEADER) return out.AddEvent(DecodeEvent::LINK_TRUNCATED);
        return DecodeEtherType(raw, LoadBe16(raw.data + 14), SLL_HEADER, out);
    case LINKTYPE_LINUX_SLL2:
        // protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) address length(1) address(8)
        if (raw.caplen < SLL2_HEADER) return out.AddEvent(DecodeEvent::LINK_TRUNCATED);
        return DecodeEtherType(raw, LoadBe16(raw.data), SLL2_HEADER, out);
    case LINKTYPE_IPV4:
        return DecodeTypedRaw(raw, 4, out);
    case LINKTYPE_IPV6:
        return DecodeTypedRaw(raw, 6, out);
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
        return DecodeBsdLoopback(raw, out);
    default:
        out.AddEvent(DecodeEvent::LINK_UNSUPPORTED);
    }
}

}  // namespace darkscope::detail
