// IPv4 header: addresses first (so that even a broken packet can be attributed to a sensor), then
// lengths, options and fragments, then the transport layer over min(captured, total length) bytes.

#include "common/bytes.hpp"
#include "decode/decode_detail.hpp"

namespace darkscope::detail {
namespace {

constexpr uint32_t IPV4_MIN_HEADER = 20;
constexpr uint16_t IPV4_MF = 0x2000;
constexpr uint16_t IPV4_OFFSET_MASK = 0x1FFF;

// Options are TLVs except EOL (0) and NOP (1); a length below 2 or past the header is malformed.
bool Ipv4OptionsValid(const uint8_t *opt, uint32_t len) {
    uint32_t i = 0;
    while (i < len) {
        uint8_t kind = opt[i];
        if (kind == 0) return true;
        if (kind == 1) {
            ++i;
            continue;
        }
        if (len - i < 2) return false;
        uint8_t opt_len = opt[i + 1];
        if (opt_len < 2 || opt_len > len - i) return false;
        i += opt_len;
    }
    return true;
}

}  // namespace

void DecodeIpv4(const uint8_t *p, uint32_t cap, uint32_t wire, DecodedPacket &out) {
    if (cap >= 1 && (p[0] >> 4) != 4) {
        out.AddEvent(DecodeEvent::IPV4_BAD_VERSION);
        return;
    }
    if (cap < IPV4_MIN_HEADER) {
        // Not even the addresses: the packet stays "not IP" (ip_version 0) and counts as malformed.
        out.AddEvent(DecodeEvent::IPV4_TRUNCATED);
        return;
    }
    // From here on the fixed header is present: ip_version is 4 whatever else is wrong, so that the
    // packet is attributed by its destination; a broken header sets l4 = TRUNCATED (class malformed).
    out.ip_version = 4;
    out.tos = p[1];
    uint16_t total_len = LoadBe16(p + 2);
    out.ip_len = total_len;
    out.ip_id = LoadBe16(p + 4);
    uint16_t flags_off = LoadBe16(p + 6);
    out.ttl = p[8];
    out.proto = p[9];
    SetV4(out.src, p + 12);
    SetV4(out.dst, p + 16);

    uint32_t frag_offset = uint32_t(flags_off & IPV4_OFFSET_MASK) * 8;
    bool more_fragments = (flags_off & IPV4_MF) != 0;
    out.frag_offset = uint16_t(frag_offset);
    out.ip_flags = uint8_t(flags_off >> 13);
    out.fragment = more_fragments || frag_offset != 0;
    out.first_fragment = more_fragments && frag_offset == 0;

    uint32_t ihl = uint32_t(p[0] & 0x0F) * 4;
    if (ihl < IPV4_MIN_HEADER) {
        out.AddEvent(DecodeEvent::IPV4_BAD_IHL);
        out.l4 = L4State::TRUNCATED;
        return;
    }
    if (ihl > cap) {
        out.AddEvent(DecodeEvent::IPV4_TRUNCATED);
        out.l4 = L4State::TRUNCATED;
        return;
    }
    if (total_len < ihl) {
        out.AddEvent(DecodeEvent::IPV4_BAD_TOTAL_LENGTH);
        out.l4 = L4State::TRUNCATED;
        return;
    }
    if (ihl > IPV4_MIN_HEADER) [[unlikely]] {
        out.ip_options_len = uint8_t(ihl - IPV4_MIN_HEADER);
        if (!Ipv4OptionsValid(p + IPV4_MIN_HEADER, ihl - IPV4_MIN_HEADER)) out.AddEvent(DecodeEvent::IPV4_BAD_OPTIONS);
    }
    // The IP length bounds everything after the header: Ethernet padding never becomes payload.
    uint32_t on_wire = total_len;
    if (total_len > wire) {
        out.AddEvent(DecodeEvent::IPV4_LENGTH_EXCEEDS_FRAME);
        on_wire = wire;
    }
    uint32_t captured = on_wire;
    if (cap < on_wire) {
        out.AddEvent(DecodeEvent::PAYLOAD_TRUNCATED);
        captured = cap;
    }
    if (frag_offset != 0) {
        // A later fragment has no transport header; its bytes are not a transport payload either.
        out.l4 = L4State::FRAGMENT;
        return;
    }
    DecodeTransport(out.proto, p + ihl, captured - ihl, total_len - ihl, out);
}

}  // namespace darkscope::detail
