#include <gtest/gtest.h>

#include "decode_test_util.hpp"

namespace darkscope {
namespace {

using testing::Bytes;
using testing::Cat;
using testing::DecodeFrame;

DecodedPacket Raw(const Bytes &b, uint32_t wire_len = 0) { return DecodeFrame(LINKTYPE_RAW, b, wire_len); }

Bytes V4Tcp(const Bytes &tcp) { return Cat({testing::Ipv4(IPPROTO_NUM_TCP, uint16_t(tcp.size())), tcp}); }

TEST(DecodeTcp, SynWithOptions) {
    Bytes options = {
        0x02, 0x04, 0x05, 0xB4,        // MSS 1460
        0x04, 0x02,                    // SACK permitted
        0x08, 0x0A, 0, 0, 0, 1, 0, 0, 0, 0, // timestamp
        0x01,                          // NOP
        0x03, 0x03, 0x07,              // window scale 7
    };
    DecodedPacket p = Raw(V4Tcp(testing::Tcp(443, TCP_SYN, options)));
    EXPECT_EQ(p.events, 0u);
    EXPECT_EQ(p.l4, L4State::PRESENT);
    EXPECT_EQ(p.sport, 40000);
    EXPECT_EQ(p.dport, 443);
    EXPECT_EQ(p.seq, 0x01020304u);
    EXPECT_EQ(p.window, 1024);
    EXPECT_TRUE(p.has_mss);
    EXPECT_EQ(p.mss, 1460);
    EXPECT_TRUE(p.sack_permitted);
    EXPECT_TRUE(p.has_timestamp);
    EXPECT_EQ(p.window_scale, 7);
    EXPECT_EQ(p.tcp_options_len, 20);
    EXPECT_EQ(p.payload_len, 0u);
}

TEST(DecodeTcp, BadOptionLengthKeepsEarlierOptions) {
    Bytes options = {
        0x02, 0x04, 0x05, 0xB4,        // MSS 1460
        0x03, 0x09, 0x07, 0x00,        // window scale claiming 9 bytes: past the header
    };
    DecodedPacket p = Raw(V4Tcp(testing::Tcp(80, TCP_SYN, options)));
    EXPECT_TRUE(p.HasEvent(DecodeEvent::TCP_BAD_OPTIONS));
    EXPECT_TRUE(p.has_mss);
    EXPECT_EQ(p.window_scale, 0xFF);
    EXPECT_EQ(p.l4, L4State::PRESENT);
}

TEST(DecodeTcp, BadDataOffsetKeepsFlags) {
    Bytes tcp = testing::Tcp(80, TCP_SYN);
    tcp[12] = 0x30;  // data offset 3 (12 bytes)
    DecodedPacket p = Raw(V4Tcp(tcp));
    EXPECT_TRUE(p.HasEvent(DecodeEvent::TCP_BAD_OFFSET));
    EXPECT_EQ(p.l4, L4State::PRESENT);
    EXPECT_EQ(p.tcp_flags, TCP_SYN);
    tcp[12] = 0xF0;  // data offset 15 (60 bytes) in a 20-byte segment
    EXPECT_TRUE(Raw(V4Tcp(tcp)).HasEvent(DecodeEvent::TCP_BAD_OFFSET));
}

TEST(DecodeTcp, ShortHeaderKeepsPorts) {
    Bytes tcp = testing::Tcp(23, TCP_SYN);
    tcp.resize(10);
    DecodedPacket p = Raw(Cat({testing::Ipv4(IPPROTO_NUM_TCP, 10), tcp}));
    EXPECT_TRUE(p.HasEvent(DecodeEvent::TCP_TRUNCATED));
    EXPECT_EQ(p.l4, L4State::TRUNCATED);
    EXPECT_TRUE(p.has_ports);
    EXPECT_EQ(p.dport, 23);
    tcp.resize(3);
    DecodedPacket q = Raw(Cat({testing::Ipv4(IPPROTO_NUM_TCP, 3), tcp}));
    EXPECT_FALSE(q.has_ports);
}

TEST(DecodeTcp, RstWithPayload) {
    const Bytes frame = V4Tcp(Cat({testing::Tcp(80, TCP_RST | TCP_ACK), Bytes{'b', 'y', 'e'}}));
    DecodedPacket p = Raw(frame);  // p.payload points into frame
    EXPECT_EQ(p.payload_len, 3u);
    EXPECT_EQ(p.payload[2], 'e');
}

TEST(DecodeUdp, LengthField) {
    Bytes udp = Cat({testing::Udp(1234, 161, 4), Bytes{1, 2, 3, 4}});
    EXPECT_EQ(Raw(Cat({testing::Ipv4(IPPROTO_NUM_UDP, 12), udp})).payload_len, 4u);
    udp[5] = 6;  // length 6 < 8
    DecodedPacket small = Raw(Cat({testing::Ipv4(IPPROTO_NUM_UDP, 12), udp}));
    EXPECT_TRUE(small.HasEvent(DecodeEvent::UDP_BAD_LENGTH));
    EXPECT_EQ(small.payload_len, 4u);
    udp[5] = 200;  // length 200 > 12 bytes of IP payload
    DecodedPacket big = Raw(Cat({testing::Ipv4(IPPROTO_NUM_UDP, 12), udp}));
    EXPECT_TRUE(big.HasEvent(DecodeEvent::UDP_BAD_LENGTH));
    EXPECT_EQ(big.payload_len, 4u);
    udp[5] = 10;  // length 10: the last 2 bytes of the IP payload are not UDP payload
    EXPECT_EQ(Raw(Cat({testing::Ipv4(IPPROTO_NUM_UDP, 12), udp})).payload_len, 2u);
}

TEST(DecodeUdp, ShortHeader) {
    Bytes udp = testing::Udp(1234, 53, 0);
    udp.resize(6);
    DecodedPacket p = Raw(Cat({testing::Ipv4(IPPROTO_NUM_UDP, 6), udp}));
    EXPECT_TRUE(p.HasEvent(DecodeEvent::UDP_TRUNCATED));
    EXPECT_EQ(p.l4, L4State::TRUNCATED);
    EXPECT_EQ(p.dport, 53);
}

TEST(DecodeIcmp, EchoRequest) {
    DecodedPacket p = Raw(Cat({testing::Ipv4(IPPROTO_NUM_ICMP, 12), testing::IcmpEcho(8, 0x0102, 7), Bytes(4, 0)}));
    EXPECT_EQ(p.l4, L4State::PRESENT);
    EXPECT_EQ(p.icmp_type, 8);
    EXPECT_EQ(p.icmp_id, 0x0102);
    EXPECT_EQ(p.icmp_seq, 7);
    EXPECT_EQ(p.payload_len, 4u);
}

// Destination unreachable (port) from a victim, quoting the spoofed SYN it received.
Bytes UnreachableQuotingTcp() {
    Bytes icmp = {
        3, 3, 0x00, 0x00,              // type 3 unreachable | code 3 port | checksum
        0x00, 0x00, 0x00, 0x00,        // unused
    };
    Bytes quoted_ip = {
        0x45, 0x00, 0x00, 0x28,        // IPv4, IHL 5 | total length 40
        0xD4, 0x31, 0x00, 0x00,        // ID 54321 | no fragment
        0xF0, IPPROTO_NUM_TCP, 0, 0,   // TTL | TCP | checksum
        192, 0, 2, 99,                 // source: the spoofed darknet address
        203, 0, 113, 5,                // destination: the victim
    };
    Bytes quoted_tcp = {
        0xC3, 0x50, 0x00, 0x50,        // sport 50000 | dport 80
        0x00, 0x00, 0x00, 0x01,        // sequence number (RFC 792: 8 bytes of the datagram)
    };
    return Cat({testing::Ipv4(IPPROTO_NUM_ICMP, uint16_t(8 + 20 + 8)), icmp, quoted_ip, quoted_tcp});
}

TEST(DecodeIcmp, ErrorQuotesTcp) {
    DecodedPacket p = Raw(UnreachableQuotingTcp());
    EXPECT_EQ(p.events, 0u);
    EXPECT_TRUE(p.has_quoted);
    EXPECT_EQ(p.quoted.proto, IPPROTO_NUM_TCP);
    EXPECT_EQ(p.quoted.src.ToString(), "192.0.2.99");
    EXPECT_EQ(p.quoted.dst.ToString(), "203.0.113.5");
    EXPECT_TRUE(p.quoted.has_ports);
    EXPECT_EQ(p.quoted.sport, 50000);
    EXPECT_EQ(p.quoted.dport, 80);
}

TEST(DecodeIcmp, QuoteCutShort) {
    Bytes b = UnreachableQuotingTcp();
    b.resize(b.size() - 6);  // 2 bytes of the quoted TCP header left
    b[3] = uint8_t(b.size());
    DecodedPacket p = Raw(b);
    EXPECT_TRUE(p.HasEvent(DecodeEvent::ICMP_INNER_TRUNCATED));
    EXPECT_TRUE(p.has_quoted);  // the quoted IP header is whole
    EXPECT_FALSE(p.quoted.has_ports);
    Bytes bad = UnreachableQuotingTcp();
    bad[28] = 0x95;  // quoted "version 9"
    EXPECT_TRUE(Raw(bad).HasEvent(DecodeEvent::ICMP_INNER_BAD));
}

TEST(DecodeIcmp, ShortHeaderKeepsType) {
    DecodedPacket p = Raw(Cat({testing::Ipv4(IPPROTO_NUM_ICMP, 4), Bytes{11, 0, 0, 0}}));
    EXPECT_TRUE(p.HasEvent(DecodeEvent::ICMP_TRUNCATED));
    EXPECT_EQ(p.l4, L4State::TRUNCATED);
    EXPECT_TRUE(p.has_icmp_type);
    EXPECT_EQ(p.icmp_type, 11);
}

TEST(DecodeIcmpv6, EchoAndErrorQuotingUdp) {
    DecodedPacket echo = Raw(Cat({testing::Ipv6(IPPROTO_NUM_ICMPV6, 8), testing::IcmpEcho(128, 9, 1)}));
    EXPECT_EQ(echo.icmp_type, 128);
    EXPECT_EQ(echo.icmp_id, 9);

    Bytes icmp6 = {
        1, 4, 0x00, 0x00,              // type 1 unreachable | code 4 port | checksum
        0x00, 0x00, 0x00, 0x00,        // unused
    };
    Bytes quoted = Cat({testing::Ipv6(IPPROTO_NUM_UDP, 8), testing::Udp(33434, 5353, 0)});
    DecodedPacket err = Raw(Cat({testing::Ipv6(IPPROTO_NUM_ICMPV6, uint16_t(8 + quoted.size())), icmp6, quoted}));
    EXPECT_EQ(err.events, 0u);
    EXPECT_TRUE(err.has_quoted);
    EXPECT_EQ(err.quoted.proto, IPPROTO_NUM_UDP);
    EXPECT_EQ(err.quoted.dst.ToString(), "2001:db8:ffff::1");
    EXPECT_EQ(err.quoted.dport, 5353);

    // The same error quoting a packet with a destination-options header before UDP.
    Bytes dest_opts = {IPPROTO_NUM_UDP, 0, 0x01, 0x04, 0, 0, 0, 0};
    Bytes quoted_ext = Cat({testing::Ipv6(60, 16), dest_opts, testing::Udp(1, 161, 0)});
    DecodedPacket ext =
        Raw(Cat({testing::Ipv6(IPPROTO_NUM_ICMPV6, uint16_t(8 + quoted_ext.size())), icmp6, quoted_ext}));
    EXPECT_EQ(ext.quoted.proto, IPPROTO_NUM_UDP);
    EXPECT_EQ(ext.quoted.dport, 161);

    Bytes short_quote(quoted.begin(), quoted.begin() + 30);
    DecodedPacket cut =
        Raw(Cat({testing::Ipv6(IPPROTO_NUM_ICMPV6, uint16_t(8 + short_quote.size())), icmp6, short_quote}));
    EXPECT_TRUE(cut.HasEvent(DecodeEvent::ICMP_INNER_TRUNCATED));
    EXPECT_FALSE(cut.has_quoted);
}

}  // namespace
}  // namespace darkscope
