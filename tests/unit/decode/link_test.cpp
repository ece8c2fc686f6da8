#include <gtest/gtest.h>

#include "decode_test_util.hpp"

namespace darkscope {
namespace {

using testing::Bytes;
using testing::Cat;
using testing::DecodeFrame;

const Bytes TCP_SYN_23 = Cat({testing::Ipv4(IPPROTO_NUM_TCP, 20), testing::Tcp(23, TCP_SYN)});

void ExpectSyn23(const DecodedPacket &p) {
    EXPECT_EQ(p.ip_version, 4);
    EXPECT_EQ(p.src.ToString(), "198.51.100.7");
    EXPECT_EQ(p.dst.ToString(), "192.0.2.1");
    EXPECT_EQ(p.l4, L4State::PRESENT);
    EXPECT_EQ(p.dport, 23);
    EXPECT_EQ(p.tcp_flags, TCP_SYN);
    EXPECT_EQ(p.events, 0u) << "unexpected events";
}

TEST(DecodeLink, EthernetIpv4) {
    ExpectSyn23(DecodeFrame(LINKTYPE_ETHERNET, Cat({testing::Ethernet(0x0800), TCP_SYN_23})));
}

TEST(DecodeLink, EthernetArpIsNotIp) {
    Bytes frame = Cat({testing::Ethernet(0x0806), Bytes(28, 0)});  // ARP body
    DecodedPacket p = DecodeFrame(LINKTYPE_ETHERNET, frame);
    EXPECT_EQ(p.ip_version, 0);
    EXPECT_TRUE(p.HasEvent(DecodeEvent::LINK_UNKNOWN_ETHERTYPE));
}

TEST(DecodeLink, Ieee8023SnapCarriesIp) {
    Bytes llc_snap = {
        0xAA, 0xAA, 0x03,  // DSAP | SSAP | control (SNAP)
        0x00, 0x00, 0x00,  // OUI (encapsulated Ethernet)
        0x08, 0x00,        // ethertype IPv4
    };
    ExpectSyn23(DecodeFrame(LINKTYPE_ETHERNET, Cat({testing::Ethernet(48), llc_snap, TCP_SYN_23})));
}

TEST(DecodeLink, Ieee8023OtherLlcIsNotIp) {
    Bytes llc_stp = {0x42, 0x42, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00};  // spanning tree BPDU
    DecodedPacket p = DecodeFrame(LINKTYPE_ETHERNET, Cat({testing::Ethernet(38), llc_stp, Bytes(30, 0)}));
    EXPECT_EQ(p.ip_version, 0);
    EXPECT_TRUE(p.HasEvent(DecodeEvent::LINK_UNKNOWN_ETHERTYPE));
}

TEST(DecodeLink, QinQAndTripleTags) {
    // 802.1ad S-tag, 802.1Q C-tag, IPv4
    ExpectSyn23(DecodeFrame(LINKTYPE_ETHERNET, Cat({testing::Ethernet(0x88A8), testing::VlanTag(100, 0x8100),
                                                    testing::VlanTag(200, 0x0800), TCP_SYN_23})));
    // pre-standard 0x9100, then 0x88A8, then 0x8100, then IPv4
    ExpectSyn23(DecodeFrame(LINKTYPE_ETHERNET,
                            Cat({testing::Ethernet(0x9100), testing::VlanTag(1, 0x88A8), testing::VlanTag(2, 0x8100),
                                 testing::VlanTag(3, 0x0800), TCP_SYN_23})));
}

TEST(DecodeLink, VlanStackTooDeep) {
    Bytes frame = testing::Ethernet(0x8100);
    for (int i = 0; i < 9; ++i) frame = Cat({frame, testing::VlanTag(uint16_t(i), i == 8 ? 0x0800 : 0x8100)});
    frame = Cat({frame, TCP_SYN_23});
    DecodedPacket p = DecodeFrame(LINKTYPE_ETHERNET, frame);
    EXPECT_TRUE(p.HasEvent(DecodeEvent::VLAN_TOO_DEEP));
    EXPECT_EQ(p.ip_version, 0);
}

TEST(DecodeLink, VlanTruncated) {
    Bytes frame = Cat({testing::Ethernet(0x8100), Bytes{0x00, 0x64}});  // TCI only, no inner type
    EXPECT_TRUE(DecodeFrame(LINKTYPE_ETHERNET, frame).HasEvent(DecodeEvent::VLAN_TRUNCATED));
}

TEST(DecodeLink, MplsStack) {
    Bytes labels = {
        0x00, 0x01, 0x00, 0x40,  // label 16, S=0, TTL 64
        0x00, 0x02, 0x01, 0x40,  // label 32, S=1 (bottom), TTL 64
    };
    ExpectSyn23(DecodeFrame(LINKTYPE_ETHERNET, Cat({testing::Ethernet(0x8847), labels, TCP_SYN_23})));
    Bytes open_stack = {0x00, 0x01, 0x00, 0x40};  // S=0 and then nothing
    EXPECT_TRUE(DecodeFrame(LINKTYPE_ETHERNET, Cat({testing::Ethernet(0x8847), open_stack}))
                    .HasEvent(DecodeEvent::MPLS_TRUNCATED));
}

TEST(DecodeLink, LinuxSll) {
    Bytes sll = {
        0x00, 0x00,              // packet type: to us
        0x00, 0x01,              // ARPHRD_ETHER
        0x00, 0x06,              // address length
        0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0x00, 0x00, // address (8 bytes, padded)
        0x08, 0x00,              // protocol: IPv4
    };
    ExpectSyn23(DecodeFrame(LINKTYPE_LINUX_SLL, Cat({sll, TCP_SYN_23})));
}

TEST(DecodeLink, LinuxSll2) {
    Bytes sll2 = {
        0x08, 0x00, 0x00, 0x00,  // protocol: IPv4 | reserved
        0x00, 0x00, 0x00, 0x02,  // interface index
        0x00, 0x01, 0x00, 0x06,  // ARPHRD_ETHER | packet type | address length
        0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0x00, 0x00, // address
    };
    ExpectSyn23(DecodeFrame(LINKTYPE_LINUX_SLL2, Cat({sll2, TCP_SYN_23})));
    EXPECT_TRUE(DecodeFrame(LINKTYPE_LINUX_SLL2, Bytes(sll2.begin(), sll2.begin() + 19))
                    .HasEvent(DecodeEvent::LINK_TRUNCATED));
}

TEST(DecodeLink, BsdNullBothByteOrders) {
    ExpectSyn23(DecodeFrame(LINKTYPE_NULL, Cat({Bytes{0x02, 0x00, 0x00, 0x00}, TCP_SYN_23})));  // AF_INET, LE host
    ExpectSyn23(DecodeFrame(LINKTYPE_NULL, Cat({Bytes{0x00, 0x00, 0x00, 0x02}, TCP_SYN_23})));  // AF_INET, BE host
    ExpectSyn23(DecodeFrame(LINKTYPE_LOOP, Cat({Bytes{0x00, 0x00, 0x00, 0x02}, TCP_SYN_23})));  // OpenBSD LOOP
    Bytes v6 = Cat({testing::Ipv6(IPPROTO_NUM_UDP, 8), testing::Udp(1234, 161, 0)});
    for (uint8_t af6 : {24, 28, 30}) {
        EXPECT_EQ(DecodeFrame(LINKTYPE_NULL, Cat({Bytes{af6, 0, 0, 0}, v6})).ip_version, 6) << int(af6);
        EXPECT_EQ(DecodeFrame(LINKTYPE_NULL, Cat({Bytes{0, 0, 0, af6}, v6})).ip_version, 6) << int(af6);
    }
    DecodedPacket other = DecodeFrame(LINKTYPE_NULL, Cat({Bytes{0x07, 0, 0, 0}, v6}));  // AF 7: not IP
    EXPECT_TRUE(other.HasEvent(DecodeEvent::LINK_UNKNOWN_ETHERTYPE));
}

TEST(DecodeLink, RawIpByFirstNibble) {
    for (uint32_t link : {uint32_t(LINKTYPE_RAW), uint32_t(LINKTYPE_DLT_RAW_12), uint32_t(LINKTYPE_DLT_RAW_14)}) {
        ExpectSyn23(DecodeFrame(link, TCP_SYN_23));
        EXPECT_EQ(DecodeFrame(link, Cat({testing::Ipv6(59, 0)})).ip_version, 6);
    }
    DecodedPacket bad = DecodeFrame(LINKTYPE_RAW, Bytes{0x50, 0x00});
    EXPECT_TRUE(bad.HasEvent(DecodeEvent::IP_BAD_VERSION));
}

TEST(DecodeLink, TypedRawVersionMismatchDecodesByNibble) {
    ExpectSyn23(DecodeFrame(LINKTYPE_IPV4, TCP_SYN_23));
    DecodedPacket p = DecodeFrame(LINKTYPE_IPV4, Cat({testing::Ipv6(59, 0)}));  // "IPv4" link, IPv6 bytes
    EXPECT_TRUE(p.HasEvent(DecodeEvent::IP_VERSION_MISMATCH));
    EXPECT_EQ(p.ip_version, 6);
    DecodedPacket q = DecodeFrame(LINKTYPE_IPV6, TCP_SYN_23);
    EXPECT_TRUE(q.HasEvent(DecodeEvent::IP_VERSION_MISMATCH));
    EXPECT_EQ(q.ip_version, 4);
}

TEST(DecodeLink, UnsupportedLinkType) {
    DecodedPacket p = DecodeFrame(160, TCP_SYN_23);
    EXPECT_TRUE(p.HasEvent(DecodeEvent::LINK_UNSUPPORTED));
    EXPECT_EQ(p.ip_version, 0);
}

// Cutting a frame at every byte offset must never crash and must always leave an event.
TEST(DecodeLink, EveryTruncationIsCounted) {
    Bytes frames[] = {
        Cat({testing::Ethernet(0x0800), TCP_SYN_23}),
        Cat({testing::Ethernet(0x8100), testing::VlanTag(5, 0x86DD), testing::Ipv6(IPPROTO_NUM_UDP, 12),
             testing::Udp(5353, 53, 4), Bytes{1, 2, 3, 4}}),
        Cat({testing::Ethernet(0x0800), testing::Ipv4(IPPROTO_NUM_ICMP, 8 + 28), testing::IcmpEcho(3, 0, 0),
             testing::Ipv4(IPPROTO_NUM_TCP, 20), Bytes{0x00, 0x50, 0x9C, 0x40, 1, 2, 3, 4}}),
    };
    for (const Bytes &full : frames) {
        ASSERT_EQ(DecodeFrame(LINKTYPE_ETHERNET, full).events, 0u);
        for (size_t cut = 0; cut < full.size(); ++cut) {
            // heap copy of exactly `cut` bytes so that ASan sees any overread
            Bytes part(full.begin(), full.begin() + long(cut));
            DecodedPacket snap = DecodeFrame(LINKTYPE_ETHERNET, part, uint32_t(full.size()));
            EXPECT_NE(snap.events, 0u) << "snaplen cut at " << cut;
            DecodedPacket short_frame = DecodeFrame(LINKTYPE_ETHERNET, part, uint32_t(cut));
            EXPECT_NE(short_frame.events, 0u) << "short frame of " << cut << " bytes";
        }
    }
}

}  // namespace
}  // namespace darkscope
