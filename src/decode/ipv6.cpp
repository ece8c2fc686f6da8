// IPv6 header and its extension header chain, up to the transport header.

#include "common/bytes.hpp"
#include "decode/decode_detail.hpp"

namespace darkscope::detail {
namespace {

constexpr uint32_t IPV6_HEADER = 40;
constexpr uint8_t NH_HOP_BY_HOP = 0;
constexpr uint8_t NH_ROUTING = 43;
constexpr uint8_t NH_FRAGMENT = 44;
constexpr uint8_t NH_ESP = 50;
constexpr uint8_t NH_AH = 51;
constexpr uint8_t NH_NONE = 59;
constexpr uint8_t NH_DEST_OPTS = 60;
constexpr uint8_t NH_MOBILITY = 135;
constexpr uint8_t OPT_PAD1 = 0;
constexpr uint8_t OPT_JUMBO = 0xC2;

// Looks for the jumbo payload option (RFC 2675) in a hop-by-hop header; 0 if absent or unreadable.
uint32_t JumboLength(const uint8_t *hbh, uint32_t cap) {
    if (cap < 2) return 0;
    uint32_t len = (uint32_t(hbh[1]) + 1) * 8;
    if (len > cap) return 0;
    for (uint32_t i = 2; i < len;) {
        if (hbh[i] == OPT_PAD1) {
            ++i;
            continue;
        }
        if (len - i < 2) return 0;
        uint8_t opt_len = hbh[i + 1];
        if (hbh[i] == OPT_JUMBO && opt_len == 4 && len - i >= 6) return LoadBe32(hbh + i + 2);
        i += 2 + uint32_t(opt_len);
    }
    return 0;
}

}  // namespace

void DecodeIpv6(const uint8_t *p, uint32_t cap, uint32_t wire, DecodedPacket &out) {
    if (cap >= 1 && (p[0] >> 4) != 6) {
        out.AddEvent(DecodeEvent::IPV6_BAD_VERSION);
        return;
    }
    if (cap < IPV6_HEADER) {
        // The destination is the last field of the header: without all 40 bytes nothing is attributable.
        out.AddEvent(DecodeEvent::IPV6_TRUNCATED);
        return;
    }
    out.ip_version = 6;
    out.tos = uint8_t(LoadBe16(p) >> 4);
    uint32_t payload_len = LoadBe16(p + 4);
    uint8_t nh = p[6];
    out.ttl = p[7];
    SetV6(out.src, p + 8);
    SetV6(out.dst, p + 24);
    if (payload_len == 0 && nh == NH_HOP_BY_HOP) [[unlikely]] {
        uint32_t jumbo = JumboLength(p + IPV6_HEADER, cap - IPV6_HEADER);
        if (jumbo != 0) payload_len = jumbo;
    }
    // ip_len is 16 bits: a jumbogram saturates it.
    out.ip_len = payload_len + IPV6_HEADER > 0xFFFF ? 0xFFFF : uint16_t(payload_len + IPV6_HEADER);

    // Compared as payload lengths: a jumbo length near 2^32 must not wrap when 40 is added.
    uint32_t on_wire;
    if (payload_len > wire - IPV6_HEADER) {
        out.AddEvent(DecodeEvent::IPV6_LENGTH_EXCEEDS_FRAME);
        on_wire = wire;
    } else {
        on_wire = payload_len + IPV6_HEADER;
    }
    uint32_t captured = on_wire;
    if (cap < on_wire) {
        out.AddEvent(DecodeEvent::PAYLOAD_TRUNCATED);
        captured = cap;
    }

    uint32_t off = IPV6_HEADER;
    for (int ext = 0;; ++ext) {
        if (nh != NH_HOP_BY_HOP && nh != NH_ROUTING && nh != NH_DEST_OPTS && nh != NH_MOBILITY && nh != NH_AH &&
            nh != NH_FRAGMENT)
            break;  // upper layer, ESP or no next header
        out.proto = nh;
        if (ext == MAX_IPV6_EXT_HEADERS) {
            out.AddEvent(DecodeEvent::IPV6_EXT_TOO_MANY);
            out.l4 = L4State::TRUNCATED;
            return;
        }
        const uint8_t *h = p + off;
        uint32_t avail = captured - off;
        if (nh == NH_FRAGMENT) {
            // next(1) reserved(1) offset(13) res(2) M(1) identification(4)
            if (avail < 8) {
                out.AddEvent(DecodeEvent::IPV6_EXT_TRUNCATED);
                out.l4 = L4State::TRUNCATED;
                return;
            }
            uint16_t off_m = LoadBe16(h + 2);
            uint32_t frag_offset = off_m & 0xFFF8;
            bool more = (off_m & 1) != 0;
            out.ip_id = uint16_t(LoadBe32(h + 4));
            out.frag_offset = uint16_t(frag_offset);
            out.fragment = more || frag_offset != 0;
            out.first_fragment = more && frag_offset == 0;
            nh = h[0];
            off += 8;
            // RFC 8200 4.5: every fragment but the last carries a multiple of 8 bytes; an atomic
            // fragment (offset 0, no M) is legal. A header with nothing after it is also malformed.
            uint32_t frag_data = on_wire - off;
            if ((more && (frag_data & 7) != 0) || (more && frag_data == 0)) out.AddEvent(DecodeEvent::IPV6_FRAG_BAD);
            if (frag_offset != 0) {
                out.proto = nh;
                out.l4 = L4State::FRAGMENT;
                return;
            }
            continue;
        }
        if (avail < 2) {
            out.AddEvent(DecodeEvent::IPV6_EXT_TRUNCATED);
            out.l4 = L4State::TRUNCATED;
            return;
        }
        uint32_t len = nh == NH_AH ? (uint32_t(h[1]) + 2) * 4 : (uint32_t(h[1]) + 1) * 8;
        if (len > avail) {
            out.AddEvent(DecodeEvent::IPV6_EXT_TRUNCATED);
            out.l4 = L4State::TRUNCATED;
            return;
        }
        nh = h[0];
        off += len;
    }
    out.proto = nh;
    if (nh == NH_ESP || nh == NH_NONE) {
        out.payload = p + off;
        out.payload_len = captured - off;
        return;
    }
    // off <= captured <= on_wire: the chain never runs past the declared length.
    DecodeTransport(nh, p + off, captured - off, payload_len - (off - IPV6_HEADER), out);
}

}  // namespace darkscope::detail
