// TCP header and the options scanners leave fingerprints in (MSS, window scale, SACK, timestamps).

#include "common/bytes.hpp"
#include "decode/decode_detail.hpp"

namespace darkscope::detail {
namespace {

constexpr uint32_t TCP_MIN_HEADER = 20;
constexpr uint8_t OPT_EOL = 0;
constexpr uint8_t OPT_NOP = 1;
constexpr uint8_t OPT_MSS = 2;
constexpr uint8_t OPT_WSCALE = 3;
constexpr uint8_t OPT_SACK_PERMITTED = 4;
constexpr uint8_t OPT_TIMESTAMP = 8;

// Keeps every option read before the first malformed one.
void DecodeTcpOptions(const uint8_t *opt, uint32_t len, DecodedPacket &out) {
    uint32_t i = 0;
    while (i < len) {
        uint8_t kind = opt[i];
        if (kind == OPT_EOL) return;
        if (kind == OPT_NOP) {
            ++i;
            continue;
        }
        if (len - i < 2 || opt[i + 1] < 2 || opt[i + 1] > len - i) {
            out.AddEvent(DecodeEvent::TCP_BAD_OPTIONS);
            return;
        }
        uint8_t opt_len = opt[i + 1];
        const uint8_t *v = opt + i + 2;
        switch (kind) {
        case OPT_MSS:
            if (opt_len != 4) break;
            out.mss = LoadBe16(v);
            out.has_mss = true;
            goto next;
        case OPT_WSCALE:
            if (opt_len != 3) break;
            out.window_scale = v[0];
            goto next;
        case OPT_SACK_PERMITTED:
            if (opt_len != 2) break;
            out.sack_permitted = true;
            goto next;
        case OPT_TIMESTAMP:
            if (opt_len != 10) break;
            out.has_timestamp = true;
            goto next;
        default:
            goto next;  // other options are skipped by their length
        }
        out.AddEvent(DecodeEvent::TCP_BAD_OPTIONS);  // a known option with the wrong length
    next:
        i += opt_len;
    }
}

}  // namespace

// l4 = TRUNCATED only when the 20-byte fixed header is not all there (ports are still kept from
// 4 bytes on). With the fixed header present the packet is classified by its flags even if the
// data offset is bad or the options are cut: scanners craft such SYNs too.
void DecodeTcp(const uint8_t *p, uint32_t cap, uint32_t declared, DecodedPacket &out) {
    if (!ReadPorts(p, cap, TCP_MIN_HEADER, DecodeEvent::TCP_TRUNCATED, out)) return;
    out.seq = LoadBe32(p + 4);
    out.ack = LoadBe32(p + 8);
    uint32_t header_len = uint32_t(p[12] >> 4) * 4;
    out.tcp_flags = p[13];
    out.window = LoadBe16(p + 14);
    // In a first fragment the options may continue in the next fragment: that is a cut, not a bad offset.
    if (header_len < TCP_MIN_HEADER || (header_len > declared && !out.first_fragment)) [[unlikely]] {
        // Options unusable; what follows the fixed header is taken as payload.
        out.AddEvent(DecodeEvent::TCP_BAD_OFFSET);
        header_len = TCP_MIN_HEADER;
    } else if (header_len > TCP_MIN_HEADER) {
        out.tcp_options_len = uint8_t(header_len - TCP_MIN_HEADER);
        uint32_t opt_cap = header_len;
        if (header_len > cap) {
            // Cut by the snaplen (or the fragment) inside the options: keep the options that were captured.
            out.AddEvent(DecodeEvent::TCP_TRUNCATED);
            opt_cap = cap;
        }
        DecodeTcpOptions(p + TCP_MIN_HEADER, opt_cap - TCP_MIN_HEADER, out);
        if (header_len > cap) return;
    }
    out.payload = p + header_len;
    out.payload_len = cap - header_len;
}

}  // namespace darkscope::detail
