#include "synth/packet_builder.hpp"

namespace darkscope::synth {
namespace {

// The capture port of the telescope (locally administered addresses) and its upstream router.
constexpr uint8_t ETH_HEADER_V4[ETH_LEN] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x02,
                                            0x00, 0x5e, 0x10, 0x00, 0xfe, 0x08, 0x00};
constexpr uint8_t ETH_HEADER_V6[ETH_LEN] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x02,
                                            0x00, 0x5e, 0x10, 0x00, 0xfe, 0x86, 0xdd};

// Checksums are summed from the field values and from the source buffers, never by reading back the frame just
// written: a load that spans bytes stored a moment earlier stalls the CPU (no store forwarding), which made the
// header checksums the slowest part of the generator.

// Pseudo-header sum (big-endian domain) of the IP header written at `ip`: addresses, protocol and length.
uint64_t PseudoSum(const uint8_t *ip, bool v6, uint8_t proto, size_t l4_len) {
    uint64_t sum = proto + (l4_len >> 16) + (l4_len & 0xFFFF);
    // The addresses were copied from the caller's values; they are read back here only for IPv6 (rare).
    return v6 ? sum + SumBytesBe(ip + 8, 32) : sum + SumBytesBe(ip + 12, 8);
}

}  // namespace

uint16_t InternetChecksum(const uint8_t *p, size_t n) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += uint32_t(p[i] << 8 | p[i + 1]);
    if (n & 1) sum += uint32_t(p[n - 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return uint16_t(~sum);
}

void WriteIpv4Header(uint8_t *p, const Ipv4Header &ip, uint8_t proto, size_t total_len) {
    p[0] = 0x45;
    p[1] = ip.tos;
    StoreBe16(p + 2, uint16_t(total_len));
    StoreBe16(p + 4, ip.id);
    StoreBe16(p + 6, ip.df ? 0x4000 : 0);
    p[8] = ip.ttl;
    p[9] = proto;
    p[10] = p[11] = 0;
    StoreBe32(p + 12, ip.src);
    StoreBe32(p + 16, ip.dst);
    uint64_t sum = (0x4500u | ip.tos) + total_len + ip.id + (ip.df ? 0x4000u : 0u) + (uint32_t(ip.ttl) << 8 | proto) +
                   (ip.src >> 16) + (ip.src & 0xFFFF) + (ip.dst >> 16) + (ip.dst & 0xFFFF);
    StoreBe16(p + 10, FoldBe(sum));
}

size_t WriteEthIpv4(uint8_t *frame, const Ipv4Header &ip, uint8_t proto, size_t l4_len) {
    std::memcpy(frame, ETH_HEADER_V4, ETH_LEN);
    WriteIpv4Header(frame + ETH_LEN, ip, proto, IPV4_LEN + l4_len);
    return ETH_LEN + IPV4_LEN;
}

size_t WriteEthIpv6(uint8_t *frame, const IpAddress &src, const IpAddress &dst, uint8_t next_header, uint8_t hop_limit,
                    uint32_t flow_label, size_t l4_len) {
    std::memcpy(frame, ETH_HEADER_V6, ETH_LEN);
    uint8_t *p = frame + ETH_LEN;
    StoreBe32(p, 0x60000000u | (flow_label & 0xFFFFF));
    StoreBe16(p + 4, uint16_t(l4_len));
    p[6] = next_header;
    p[7] = hop_limit;
    std::memcpy(p + 8, src.bytes.data(), 16);
    std::memcpy(p + 24, dst.bytes.data(), 16);
    return ETH_LEN + IPV6_LEN;
}

size_t TcpLength(const TcpHeader &tcp, size_t payload_len) { return TCP_LEN + tcp.options.size() + payload_len; }

size_t WriteTcp(uint8_t *frame, size_t ip_offset, bool v6, const TcpHeader &tcp, std::span<const uint8_t> payload) {
    uint8_t *p = frame + ip_offset + (v6 ? IPV6_LEN : IPV4_LEN);
    size_t hlen = TCP_LEN + tcp.options.size();
    StoreBe16(p, tcp.sport);
    StoreBe16(p + 2, tcp.dport);
    StoreBe32(p + 4, tcp.seq);
    StoreBe32(p + 8, tcp.ack);
    p[12] = uint8_t((hlen / 4) << 4);
    p[13] = tcp.flags;
    StoreBe16(p + 14, tcp.window);
    p[16] = p[17] = p[18] = p[19] = 0;
    if (!tcp.options.empty()) std::memcpy(p + TCP_LEN, tcp.options.data(), tcp.options.size());
    if (!payload.empty()) std::memcpy(p + hlen, payload.data(), payload.size());
    size_t len = hlen + payload.size();
    uint64_t sum = PseudoSum(frame + ip_offset, v6, PROTO_TCP, len) + tcp.sport + tcp.dport + (tcp.seq >> 16) +
                   (tcp.seq & 0xFFFF) + (tcp.ack >> 16) + (tcp.ack & 0xFFFF) + ((hlen / 4) << 12 | tcp.flags) +
                   tcp.window + SumBytesBe(tcp.options.data(), tcp.options.size()) +
                   SumBytesBe(payload.data(), payload.size());
    StoreBe16(p + 16, FoldBe(sum));
    return len;
}

size_t WriteUdp(uint8_t *frame, size_t ip_offset, bool v6, uint16_t sport, uint16_t dport,
                std::span<const uint8_t> payload) {
    uint8_t *p = frame + ip_offset + (v6 ? IPV6_LEN : IPV4_LEN);
    size_t len = UDP_LEN + payload.size();
    StoreBe16(p, sport);
    StoreBe16(p + 2, dport);
    StoreBe16(p + 4, uint16_t(len));
    p[6] = p[7] = 0;
    if (!payload.empty()) std::memcpy(p + UDP_LEN, payload.data(), payload.size());
    uint16_t c = FoldBe(PseudoSum(frame + ip_offset, v6, PROTO_UDP, len) + sport + dport + len +
                        SumBytesBe(payload.data(), payload.size()));
    if (c == 0) c = 0xFFFF;  // 0 means "no checksum" in UDP
    StoreBe16(p + 6, c);
    return len;
}

size_t WriteIcmp(uint8_t *frame, size_t ip_offset, bool v6, uint8_t type, uint8_t code, uint32_t rest,
                 std::span<const uint8_t> payload) {
    uint8_t *p = frame + ip_offset + (v6 ? IPV6_LEN : IPV4_LEN);
    size_t len = ICMP_LEN + payload.size();
    p[0] = type;
    p[1] = code;
    p[2] = p[3] = 0;
    StoreBe32(p + 4, rest);
    if (!payload.empty()) std::memcpy(p + ICMP_LEN, payload.data(), payload.size());
    uint64_t sum = v6 ? PseudoSum(frame + ip_offset, true, PROTO_ICMPV6, len) : 0;
    sum += (uint32_t(type) << 8 | code) + (rest >> 16) + (rest & 0xFFFF) + SumBytesBe(payload.data(), payload.size());
    StoreBe16(p + 2, FoldBe(sum));
    return len;
}

}  // namespace darkscope::synth
