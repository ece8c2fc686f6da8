#include <gtest/gtest.h>

#include "decode_test_util.hpp"

namespace darkscope {
namespace {

using testing::Bytes;
using testing::Cat;
using testing::DecodeFrame;

DecodedPacket Raw(const Bytes &b, uint32_t wire_len = 0) { return DecodeFrame(LINKTYPE_RAW, b, wire_len); }

TEST(DecodeIpv4, TruncatedHeaderIsCountedNotDropped) {
    const Bytes bytes = {0x45, 0x00, 0x00, 0x54, 0x12};  // 5 of 20 header bytes
    DecodedPacket p = Raw(bytes);
    EXPECT_TRUE(p.HasEvent(DecodeEvent::IPV4_TRUNCATED));
    EXPECT_EQ(p.ip_version, 0);
}

TEST(DecodeIpv4, BadIhlKeepsAddresses) {
    Bytes b = Cat({testing::Ipv4(IPPROTO_NUM_TCP, 20), testing::Tcp(80, TCP_SYN)});
    b[0] = 0x44;  // version 4, IHL 4 (16 bytes): below the minimum
    DecodedPacket p = Raw(b);
    EXPECT_TRUE(p.HasEvent(DecodeEvent::IPV4_BAD_IHL));
    EXPECT_EQ(p.ip_version, 4);  // addresses readable: still attributable to a sensor
    EXPECT_EQ(p.dst.ToString(), "192.0.2.1");
    EXPECT_EQ(p.l4, L4State::TRUNCATED);
}

TEST(DecodeIpv4, IhlBeyondCapture) {
    Bytes b = testing::Ipv4(IPPROTO_NUM_TCP, 0, 0, 6);  // IHL 6: 24 bytes
    b.resize(22);
    DecodedPacket p = Raw(b);
    EXPECT_TRUE(p.HasEvent(DecodeEvent::IPV4_TRUNCATED));
    EXPECT_EQ(p.ip_version, 4);
    EXPECT_EQ(p.l4, L4State::TRUNCATED);
}

TEST(DecodeIpv4, TotalLengthBelowHeader) {
    Bytes b = Cat({testing::Ipv4(IPPROTO_NUM_TCP, 20), testing::Tcp(80, TCP_SYN)});
    b[2] = 0x00;
    b[3] = 0x10;  // total length 16 < 20
    DecodedPacket p = Raw(b);
    EXPECT_TRUE(p.HasEvent(DecodeEvent::IPV4_BAD_TOTAL_LENGTH));
    EXPECT_EQ(p.l4, L4State::TRUNCATED);
}

TEST(DecodeIpv4, TotalLengthBeyondFrameStillDecodes) {
    Bytes b = Cat({testing::Ipv4(IPPROTO_NUM_TCP, 20 + 100), testing::Tcp(80, TCP_SYN)});  // claims 100 more
    DecodedPacket p = Raw(b);
    EXPECT_TRUE(p.HasEvent(DecodeEvent::IPV4_LENGTH_EXCEEDS_FRAME));
    EXPECT_FALSE(p.HasEvent(DecodeEvent::PAYLOAD_TRUNCATED));  // the frame was complete on the wire
    EXPECT_EQ(p.l4, L4State::PRESENT);
    EXPECT_EQ(p.dport, 80);
    EXPECT_EQ(p.ip_len, 140);
}

TEST(DecodeIpv4, EthernetPaddingIsNotPayload) {
    // 20 + 8 + 4 payload = 32 bytes of IP, padded to the 46-byte Ethernet minimum.
    Bytes b = Cat({testing::Ethernet(0x0800), testing::Ipv4(IPPROTO_NUM_UDP, 12), testing::Udp(1, 1900, 4),
                   Bytes{'M', '-', 'S', 'E'}, Bytes(14, 0)});
    DecodedPacket p = DecodeFrame(LINKTYPE_ETHERNET, b);
    EXPECT_EQ(p.events, 0u);
    EXPECT_EQ(p.payload_len, 4u);
    EXPECT_EQ(p.payload[0], 'M');
}

TEST(DecodeIpv4, SnaplenCutIsPayloadTruncated) {
    Bytes b = Cat({testing::Ipv4(IPPROTO_NUM_UDP, 8 + 100), testing::Udp(1, 53, 100), Bytes(10, 0)});
    DecodedPacket p = Raw(b, uint32_t(b.size() + 90));  // 90 bytes not captured
    EXPECT_TRUE(p.HasEvent(DecodeEvent::PAYLOAD_TRUNCATED));
    EXPECT_FALSE(p.HasEvent(DecodeEvent::UDP_BAD_LENGTH));
    EXPECT_EQ(p.payload_len, 10u);
}

TEST(DecodeIpv4, Options) {
    DecodedPacket p = Raw(Cat({testing::Ipv4(IPPROTO_NUM_TCP, 20, 0, 6), testing::Tcp(22, TCP_SYN)}));
    EXPECT_EQ(p.ip_options_len, 4);
    EXPECT_EQ(p.events, 0u);
    EXPECT_EQ(p.dport, 22);
    Bytes bad = Cat({testing::Ipv4(IPPROTO_NUM_TCP, 20, 0, 6), testing::Tcp(22, TCP_SYN)});
    bad[20] = 0x44;  // timestamp option...
    bad[21] = 0x09;  // ...whose length runs past the 4 option bytes
    EXPECT_TRUE(Raw(bad).HasEvent(DecodeEvent::IPV4_BAD_OPTIONS));
}

TEST(DecodeIpv4, FirstFragmentDecodesTransport) {
    DecodedPacket p = Raw(Cat({testing::Ipv4(IPPROTO_NUM_UDP, 16, 0x2000), testing::Udp(5060, 53, 1000),
                               Bytes(8, 0)}));  // MF, offset 0; UDP length 1008 spans fragments
    EXPECT_TRUE(p.fragment);
    EXPECT_TRUE(p.first_fragment);
    EXPECT_EQ(p.l4, L4State::PRESENT);
    EXPECT_EQ(p.dport, 53);
    EXPECT_FALSE(p.HasEvent(DecodeEvent::UDP_BAD_LENGTH));
}

TEST(DecodeIpv4, LaterFragmentHasNoTransport) {
    DecodedPacket p = Raw(Cat({testing::Ipv4(IPPROTO_NUM_TCP, 8, 0x00B9), Bytes(8, 0xEE)}));  // offset 185*8
    EXPECT_TRUE(p.fragment);
    EXPECT_FALSE(p.first_fragment);
    EXPECT_EQ(p.frag_offset, 1480);
    EXPECT_EQ(p.l4, L4State::FRAGMENT);
    EXPECT_EQ(p.proto, IPPROTO_NUM_TCP);
    EXPECT_FALSE(p.has_ports);
}

TEST(DecodeIpv4, TunnelsAreNotFollowed) {
    for (uint8_t proto : {4, 41, 47}) {
        DecodedPacket p = Raw(Cat({testing::Ipv4(proto, 20), Bytes(20, 0x45)}));
        EXPECT_TRUE(p.HasEvent(DecodeEvent::TUNNEL_NOT_FOLLOWED)) << int(proto);
        EXPECT_EQ(p.l4, L4State::NONE);
        EXPECT_EQ(p.payload_len, 20u);
    }
    EXPECT_FALSE(Raw(Cat({testing::Ipv4(132, 12), Bytes(12, 0)})).HasEvent(DecodeEvent::TUNNEL_NOT_FOLLOWED));
}

TEST(DecodeIpv4, EthertypeIpv4WithOtherVersion) {
    Bytes b = Cat({testing::Ethernet(0x0800), testing::Ipv6(59, 0)});
    DecodedPacket p = DecodeFrame(LINKTYPE_ETHERNET, b);
    EXPECT_TRUE(p.HasEvent(DecodeEvent::IPV4_BAD_VERSION));
    EXPECT_EQ(p.ip_version, 0);
}

TEST(DecodeIpv6, UdpWithExtensionChain) {
    Bytes hop_by_hop = {
        43, 0,                           // next: routing | length 0 (8 bytes)
        0x01, 0x04, 0x00, 0x00, 0x00, 0x00, // PadN option, 4 bytes
    };
    Bytes routing = {
        60, 0,                           // next: destination options | length 0
        0x04, 0x00,                      // routing type 4 (SRH) | segments left 0
        0x00, 0x00, 0x00, 0x00,
    };
    Bytes dest_opts = {
        IPPROTO_NUM_UDP, 1,              // next: UDP | length 1 (16 bytes)
        0x01, 0x0C, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // PadN, 12 bytes
    };
    Bytes b = Cat({testing::Ipv6(0, 8 + 8 + 16 + 8 + 2), hop_by_hop, routing, dest_opts, testing::Udp(4500, 53, 2),
                   Bytes{0xAB, 0xCD}});
    DecodedPacket p = Raw(b);
    EXPECT_EQ(p.events, 0u);
    EXPECT_EQ(p.ip_version, 6);
    EXPECT_EQ(p.dst.ToString(), "2001:db8:ffff::1");
    EXPECT_EQ(p.proto, IPPROTO_NUM_UDP);
    EXPECT_EQ(p.dport, 53);
    EXPECT_EQ(p.payload_len, 2u);
    EXPECT_EQ(p.ip_len, 40 + 42);
}

Bytes FragmentHeader(uint8_t next, uint16_t offset_bytes, bool more, uint32_t id) {
    uint16_t off_m = uint16_t(offset_bytes | (more ? 1 : 0));
    return {
        next, 0x00,                                   // next header | reserved
        uint8_t(off_m >> 8), uint8_t(off_m),          // offset(13) res(2) M(1)
        uint8_t(id >> 24), uint8_t(id >> 16), uint8_t(id >> 8), uint8_t(id), // identification
    };
}

TEST(DecodeIpv6, FirstAndLaterFragments) {
    DecodedPacket first = Raw(Cat({testing::Ipv6(44, 8 + 16), FragmentHeader(IPPROTO_NUM_UDP, 0, true, 0xCAFEBABE),
                                   testing::Udp(53, 33000, 1400), Bytes(8, 0)}));
    EXPECT_TRUE(first.first_fragment);
    EXPECT_EQ(first.ip_id, 0xBABE);
    EXPECT_EQ(first.l4, L4State::PRESENT);
    EXPECT_EQ(first.sport, 53);
    EXPECT_EQ(first.events, 0u);

    DecodedPacket later = Raw(Cat({testing::Ipv6(44, 8 + 16), FragmentHeader(IPPROTO_NUM_UDP, 1448, false, 7),
                                   Bytes(16, 0)}));
    EXPECT_TRUE(later.fragment);
    EXPECT_FALSE(later.first_fragment);
    EXPECT_EQ(later.l4, L4State::FRAGMENT);
    EXPECT_EQ(later.proto, IPPROTO_NUM_UDP);
    EXPECT_EQ(later.frag_offset, 1448);

    // M set but 12 data bytes: not a multiple of 8.
    DecodedPacket odd = Raw(Cat({testing::Ipv6(44, 8 + 12), FragmentHeader(IPPROTO_NUM_UDP, 0, true, 7),
                                 testing::Udp(53, 1, 4), Bytes(4, 0)}));
    EXPECT_TRUE(odd.HasEvent(DecodeEvent::IPV6_FRAG_BAD));
}

TEST(DecodeIpv6, TooManyExtensionHeaders) {
    Bytes b = testing::Ipv6(60, 17 * 8);
    for (int i = 0; i < 17; ++i) b = Cat({b, Bytes{uint8_t(i == 16 ? 59 : 60), 0, 1, 4, 0, 0, 0, 0}});
    DecodedPacket p = Raw(b);
    EXPECT_TRUE(p.HasEvent(DecodeEvent::IPV6_EXT_TOO_MANY));
    EXPECT_EQ(p.l4, L4State::TRUNCATED);
    EXPECT_EQ(p.ip_version, 6);
}

TEST(DecodeIpv6, ExtensionHeaderCut) {
    Bytes b = Cat({testing::Ipv6(0, 16), Bytes{IPPROTO_NUM_TCP, 1, 1, 4, 0, 0, 0, 0}});  // says 16, has 8
    DecodedPacket p = Raw(b, uint32_t(b.size() + 8));
    EXPECT_TRUE(p.HasEvent(DecodeEvent::IPV6_EXT_TRUNCATED));
    EXPECT_EQ(p.l4, L4State::TRUNCATED);
}

TEST(DecodeIpv6, BadVersionAndTruncation) {
    Bytes b = testing::Ipv6(59, 0);
    b[0] = 0x70;
    EXPECT_TRUE(DecodeFrame(LINKTYPE_ETHERNET, Cat({testing::Ethernet(0x86DD), b}))
                    .HasEvent(DecodeEvent::IPV6_BAD_VERSION));
    Bytes header = testing::Ipv6(59, 0);
    header.pop_back();  // 39 of 40 bytes
    DecodedPacket cut = Raw(header);
    EXPECT_TRUE(cut.HasEvent(DecodeEvent::IPV6_TRUNCATED));
    EXPECT_EQ(cut.ip_version, 0);
}

TEST(DecodeIpv6, PayloadLengthBeyondFrame) {
    DecodedPacket p = Raw(Cat({testing::Ipv6(IPPROTO_NUM_UDP, 500), testing::Udp(1, 2, 0)}));
    EXPECT_TRUE(p.HasEvent(DecodeEvent::IPV6_LENGTH_EXCEEDS_FRAME));
    EXPECT_EQ(p.l4, L4State::PRESENT);
}

TEST(DecodeIpv6, JumboPayloadOption) {
    Bytes hop_by_hop = {
        IPPROTO_NUM_UDP, 0,               // next: UDP | length 0 (8 bytes)
        0xC2, 0x04, 0x00, 0x01, 0x00, 0x10, // jumbo payload: 65552
    };
    Bytes b = Cat({testing::Ipv6(0, 0), hop_by_hop, testing::Udp(1, 2, 0)});
    b.resize(40 + 65552);
    DecodedPacket p = Raw(b);
    EXPECT_FALSE(p.HasEvent(DecodeEvent::IPV6_LENGTH_EXCEEDS_FRAME));
    EXPECT_EQ(p.ip_len, 0xFFFF);  // saturated
    EXPECT_EQ(p.l4, L4State::PRESENT);
}

TEST(DecodeIpv6, EspStopsTheChain) {
    DecodedPacket p = Raw(Cat({testing::Ipv6(50, 16), Bytes(16, 0x11)}));
    EXPECT_EQ(p.proto, 50);
    EXPECT_EQ(p.l4, L4State::NONE);
    EXPECT_EQ(p.payload_len, 16u);
}

}  // namespace
}  // namespace darkscope
