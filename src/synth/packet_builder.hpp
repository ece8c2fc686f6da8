#pragma once
/// Writes Ethernet/IPv4/IPv6 frames with TCP, UDP and ICMP and valid checksums straight into a buffer.
/// Checksums are summed in native byte order and stored as such (RFC 1071's byte-order independence), so
/// no field is swapped twice.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "common/ip_address.hpp"

namespace darkscope::synth {

constexpr size_t ETH_LEN = 14;
constexpr size_t IPV4_LEN = 20;
constexpr size_t IPV6_LEN = 40;
constexpr size_t TCP_LEN = 20;
constexpr size_t UDP_LEN = 8;
constexpr size_t ICMP_LEN = 8;
constexpr size_t MAX_FRAME = 1600;

constexpr uint8_t PROTO_ICMP = 1, PROTO_TCP = 6, PROTO_UDP = 17, PROTO_ICMPV6 = 58;
constexpr uint8_t TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08, TCP_ACK = 0x10;

inline void StoreBe16(uint8_t *p, uint16_t v) {
    v = uint16_t(v << 8 | v >> 8);
    std::memcpy(p, &v, 2);
}
inline void StoreBe32(uint8_t *p, uint32_t v) {
    v = __builtin_bswap32(v);
    std::memcpy(p, &v, 4);
}

/// One's-complement sum of bytes as native 16-bit words, in a 64-bit accumulator (fold later).
inline uint64_t SumNative(const uint8_t *p, size_t n, uint64_t sum = 0) {
    while (n >= 8) {
        uint32_t a, b;
        std::memcpy(&a, p, 4);
        std::memcpy(&b, p + 4, 4);
        sum += uint64_t(a) + b;
        p += 8;
        n -= 8;
    }
    if (n >= 4) {
        uint32_t a;
        std::memcpy(&a, p, 4);
        sum += a;
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        uint16_t a;
        std::memcpy(&a, p, 2);
        sum += a;
        p += 2;
        n -= 2;
    }
    if (n) {
        uint8_t last[2] = {*p, 0};
        uint16_t a;
        std::memcpy(&a, last, 2);
        sum += a;
    }
    return sum;
}
inline uint16_t FoldNative(uint64_t sum) {
    sum = (sum & 0xFFFFFFFF) + (sum >> 32);
    sum = (sum & 0xFFFF) + (sum >> 16);
    sum = (sum & 0xFFFF) + (sum >> 16);
    sum = (sum & 0xFFFF) + (sum >> 16);
    return uint16_t(~sum);
}
/// The one's-complement sum (not inverted) of bytes as big-endian 16-bit words. Sums native words and swaps the
/// folded result: one's-complement addition commutes with swapping the bytes of every word (RFC 1071, 2.(B)).
inline uint32_t SumBytesBe(const uint8_t *p, size_t n) {
    uint16_t native = uint16_t(~FoldNative(SumNative(p, n)));
    if constexpr (std::endian::native == std::endian::little) native = uint16_t(native << 8 | native >> 8);
    return native;
}
/// ~(one's-complement sum) of a big-endian-domain sum, ready for StoreBe16.
inline uint16_t FoldBe(uint64_t sum) {
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return uint16_t(~sum);
}
/// Stores a checksum computed by FoldNative.
inline void StoreChecksum(uint8_t *p, uint16_t native) { std::memcpy(p, &native, 2); }
/// The RFC 1071 checksum of a buffer, as a big-endian value (for tests).
uint16_t InternetChecksum(const uint8_t *p, size_t n);

/// The IPv4 header fields that vary between tools.
struct Ipv4Header {
    uint32_t src = 0, dst = 0;  // host order
    uint16_t id = 0;
    uint8_t ttl = 64;
    uint8_t tos = 0;
    bool df = false;
};

/// Ethernet + IPv4 header for `l4_len` bytes of `proto`; returns the offset of the transport header (34).
size_t WriteEthIpv4(uint8_t *frame, const Ipv4Header &ip, uint8_t proto, size_t l4_len);
/// Ethernet + IPv6 header; returns the offset of the transport header (54).
size_t WriteEthIpv6(uint8_t *frame, const IpAddress &src, const IpAddress &dst, uint8_t next_header, uint8_t hop_limit,
                    uint32_t flow_label, size_t l4_len);
/// A bare IPv4 header (the one quoted inside ICMP errors).
void WriteIpv4Header(uint8_t *p, const Ipv4Header &ip, uint8_t proto, size_t total_len);

struct TcpHeader {
    uint16_t sport = 0, dport = 0;
    uint32_t seq = 0, ack = 0;
    uint8_t flags = TCP_SYN;
    uint16_t window = 0;
    std::span<const uint8_t> options;  // a multiple of 4 bytes
};

/// Writes TCP after an IPv4 (ip_offset: where the IP header starts) or IPv6 header, with its checksum;
/// `payload` follows the options. Returns the TCP segment length.
size_t WriteTcp(uint8_t *frame, size_t ip_offset, bool v6, const TcpHeader &tcp, std::span<const uint8_t> payload = {});
size_t TcpLength(const TcpHeader &tcp, size_t payload_len = 0);
/// UDP with its payload and checksum.
size_t WriteUdp(uint8_t *frame, size_t ip_offset, bool v6, uint16_t sport, uint16_t dport,
                std::span<const uint8_t> payload);
/// ICMP (v4: no pseudo-header) or ICMPv6; `rest` is the second 32-bit word (id/seq, unused, ...).
size_t WriteIcmp(uint8_t *frame, size_t ip_offset, bool v6, uint8_t type, uint8_t code, uint32_t rest,
                 std::span<const uint8_t> payload);

}  // namespace darkscope::synth
