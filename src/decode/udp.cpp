// UDP header; the payload is bounded by the UDP length, the IP length and the captured bytes.

#include "common/bytes.hpp"
#include "decode/decode_detail.hpp"

namespace darkscope::detail {

constexpr uint32_t UDP_HEADER = 8;

// Ports are kept from 4 bytes on (l4 stays TRUNCATED), as for TCP.
void DecodeUdp(const uint8_t *p, uint32_t cap, uint32_t declared, DecodedPacket &out) {
    if (!ReadPorts(p, cap, UDP_HEADER, DecodeEvent::UDP_TRUNCATED, out)) return;
    uint32_t udp_len = LoadBe16(p + 4);
    uint32_t end = cap;
    if (udp_len < UDP_HEADER) [[unlikely]] {
        out.AddEvent(DecodeEvent::UDP_BAD_LENGTH);
    } else if (udp_len > declared) [[unlikely]] {
        // A first fragment carries only part of the datagram: its UDP length is larger by design.
        if (!out.first_fragment) out.AddEvent(DecodeEvent::UDP_BAD_LENGTH);
    } else if (udp_len < end) {
        end = udp_len;  // bytes after the datagram inside the IP packet are not payload
    }
    out.payload = p + UDP_HEADER;
    out.payload_len = end - UDP_HEADER;
}

}  // namespace darkscope::detail
