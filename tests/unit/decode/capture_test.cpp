// Decoding real captures from ../shared/data/pcap: expected values were read with tshark
// (`tshark -r F -T fields -e ip.src -e tcp.dstport ...`).

#include <gtest/gtest.h>

#include <map>

#include "classify/classifier.hpp"
#include "common/shared_data.hpp"
#include "decode/decoder.hpp"
#include "pcap_test_util.hpp"

namespace darkscope {
namespace {

namespace fs = std::filesystem;

struct Decoded {
    testing::LoadedPcap file;
    std::vector<DecodedPacket> packets;
    std::vector<ClassifiedPacket> classes;
};

fs::path PcapDir() {
    fs::path dir = darkscope::testing::SharedDataDir(DARKSCOPE_SHARED_DATA);
    return dir.empty() ? dir : dir / "pcap";
}

#define SKIP_WITHOUT_DATA()                                                                                     \
    if (PcapDir().empty() || !fs::is_directory(PcapDir()))                                                     \
    GTEST_SKIP() << "shared test data not found (set DARKSCOPE_SHARED_DATA to the folder holding pcap/)"

std::optional<Decoded> DecodeFile(const fs::path &path) {
    auto file = testing::ReadPcap(path);
    if (!file) return std::nullopt;
    Decoded d{std::move(*file), {}, {}};
    for (const RawPacket &raw : d.file.packets) {
        DecodedPacket pkt;
        Decode(raw, pkt);
        ClassifiedPacket cls;
        Classify(pkt, cls);
        d.packets.push_back(pkt);
        d.classes.push_back(cls);
    }
    return d;
}

Decoded MustDecode(const char *name) {
    fs::path path = PcapDir() / "edge" / name;
    auto d = DecodeFile(path);
    EXPECT_TRUE(d.has_value()) << path;
    return d ? std::move(*d) : Decoded{};
}

TEST(DecodeCaptures, QinQArp) {
    SKIP_WITHOUT_DATA();
    Decoded d = MustDecode("tcpdump__802.1ad_QinQ.pcap");  // 802.1ad + 802.1Q + ARP
    ASSERT_EQ(d.packets.size(), 2u);
    for (const DecodedPacket &p : d.packets) {
        EXPECT_EQ(p.events, EventBit(DecodeEvent::LINK_UNKNOWN_ETHERTYPE));
        EXPECT_EQ(p.ip_version, 0);
    }
    EXPECT_EQ(d.classes[0].cls, TrafficClass::OTHER);
}

TEST(DecodeCaptures, TripleVlanTags) {
    SKIP_WITHOUT_DATA();
    Decoded d = MustDecode("zeek__vlan-qinqinq.pcap");
    ASSERT_GE(d.packets.size(), 2u);
    const DecodedPacket &syn = d.packets[0];
    EXPECT_EQ(syn.src.ToString(), "141.142.228.5");
    EXPECT_EQ(syn.dst.ToString(), "192.150.187.43");
    EXPECT_EQ(syn.dport, 80);
    EXPECT_EQ(d.classes[0].cls, TrafficClass::SYN_PROBE);
    EXPECT_EQ(d.classes[1].cls, TrafficClass::SYNACK_BACKSCATTER);
    EXPECT_EQ(d.classes[1].source_port.ToString(), "80/TCP");
}

TEST(DecodeCaptures, LinuxSll2) {
    SKIP_WITHOUT_DATA();
    Decoded d = MustDecode("zeek__linux_dlt_sll2.pcap");
    ASSERT_EQ(d.packets.size(), 6u);
    EXPECT_EQ(d.packets[0].dst.ToString(), "192.0.2.1");
    EXPECT_EQ(d.classes[0].cls, TrafficClass::ICMP_ECHO_REQUEST);
    EXPECT_EQ(d.classes[1].service.ToString(), "0/ICMP");
    EXPECT_EQ(d.packets[2].dst.ToString(), "fe80::8c36:6ff:fe44:acaf");
    EXPECT_EQ(d.classes[2].service.ToString(), "128/ICMPv6");
    EXPECT_EQ(d.classes[3].service.ToString(), "129/ICMPv6");
    EXPECT_TRUE(d.packets[4].HasEvent(DecodeEvent::LINK_UNKNOWN_ETHERTYPE));  // ARP
    EXPECT_TRUE(d.packets[5].HasEvent(DecodeEvent::LINK_UNKNOWN_ETHERTYPE));  // RARP
}

TEST(DecodeCaptures, LinuxSllNanosecond) {
    SKIP_WITHOUT_DATA();
    Decoded d = MustDecode("tcpdump__tcp-handshake-nano.pcap");
    ASSERT_EQ(d.packets.size(), 3u);
    for (const DecodedPacket &p : d.packets) EXPECT_EQ(p.l4, L4State::PRESENT);
    EXPECT_EQ(d.classes[0].cls, TrafficClass::SYN_PROBE);
}

TEST(DecodeCaptures, RawAndTypedLinkTypes) {
    SKIP_WITHOUT_DATA();
    for (const char *name : {"tcpdump__LINKTYPE_IPV4.pcap", "tcpdump__LINKTYPE_RAW_ipv4.pcap"}) {
        Decoded d = MustDecode(name);
        ASSERT_EQ(d.packets.size(), 1u) << name;
        EXPECT_EQ(d.packets[0].src.ToString(), "192.168.1.100");
        EXPECT_EQ(d.packets[0].dst.ToString(), "9.9.9.9");
        EXPECT_EQ(d.classes[0].service.ToString(), "53/UDP");
        EXPECT_EQ(d.classes[0].cls, TrafficClass::DNS_QUERY);
        EXPECT_EQ(d.classes[0].dns, DnsVerdict::BY_QR_BIT);
    }
    for (const char *name : {"tcpdump__LINKTYPE_IPV6.pcap", "tcpdump__LINKTYPE_RAW_ipv6.pcap",
                             "tcpdump__LINKTYPE_IPV4_invalid.pcap"}) {
        Decoded d = MustDecode(name);
        ASSERT_EQ(d.packets.size(), 1u) << name;
        EXPECT_EQ(d.packets[0].ip_version, 6);
        EXPECT_EQ(d.packets[0].dst.ToString(), "2620:fe::9");
        EXPECT_EQ(d.classes[0].service.ToString(), "53/UDP");
    }
    EXPECT_TRUE(
        MustDecode("tcpdump__LINKTYPE_IPV4_invalid.pcap").packets[0].HasEvent(DecodeEvent::IP_VERSION_MISMATCH));
    EXPECT_FALSE(MustDecode("tcpdump__LINKTYPE_IPV6.pcap").packets[0].HasEvent(DecodeEvent::IP_VERSION_MISMATCH));
}

TEST(DecodeCaptures, IcmpUnreachableQuotesUdp) {
    SKIP_WITHOUT_DATA();
    Decoded d = MustDecode("zeek__icmp-destunreach-udp.pcap");
    ASSERT_EQ(d.packets.size(), 1u);
    const DecodedPacket &p = d.packets[0];
    EXPECT_EQ(p.src.ToString(), "192.168.1.102");
    EXPECT_EQ(p.icmp_type, 3);
    ASSERT_TRUE(p.has_quoted);
    EXPECT_EQ(p.quoted.src.ToString(), "192.168.1.1");
    EXPECT_EQ(p.quoted.dst.ToString(), "192.168.1.102");
    EXPECT_EQ(p.quoted.proto, IPPROTO_NUM_UDP);
    EXPECT_EQ(p.quoted.sport, 53);
    EXPECT_EQ(p.quoted.dport, 59207);
    EXPECT_EQ(d.classes[0].cls, TrafficClass::ICMP_BACKSCATTER);
    EXPECT_EQ(d.classes[0].source_port.ToString(), "59207/UDP");
}

TEST(DecodeCaptures, FragmentedSyn) {
    SKIP_WITHOUT_DATA();
    Decoded d = MustDecode("zeek__fragmented-syn.pcap");
    ASSERT_EQ(d.packets.size(), 2u);
    // First fragment: 24 bytes of a TCP header whose options continue in the second fragment.
    EXPECT_TRUE(d.packets[0].first_fragment);
    EXPECT_EQ(d.packets[0].dport, 80);
    EXPECT_FALSE(d.packets[0].HasEvent(DecodeEvent::TCP_BAD_OFFSET));
    EXPECT_EQ(d.classes[0].cls, TrafficClass::SYN_PROBE);
    EXPECT_EQ(d.packets[1].l4, L4State::FRAGMENT);
    EXPECT_EQ(d.packets[1].frag_offset, 24);
    EXPECT_EQ(d.classes[1].cls, TrafficClass::FRAGMENT);
    EXPECT_EQ(d.classes[1].service.ToString(), "?/TCP");
}

TEST(DecodeCaptures, Ipv6FragmentedDns) {
    SKIP_WITHOUT_DATA();
    Decoded d = MustDecode("zeek__ipv6-fragmented-dns.pcap");
    ASSERT_EQ(d.packets.size(), 8u);
    EXPECT_EQ(d.classes[0].cls, TrafficClass::DNS_QUERY);
    EXPECT_EQ(d.packets[0].dst.ToString(), "2607:f740:b::f93");
    EXPECT_EQ(d.packets[3].l4, L4State::FRAGMENT);  // offset 2896, last fragment
    EXPECT_EQ(d.packets[3].frag_offset, 2896);
    EXPECT_TRUE(d.packets[5].first_fragment);
    EXPECT_EQ(d.classes[5].cls, TrafficClass::DNS_RESPONSE);
    EXPECT_EQ(d.classes[5].dns, DnsVerdict::BY_QR_BIT);
    EXPECT_EQ(d.classes[6].cls, TrafficClass::FRAGMENT);
    EXPECT_EQ(d.classes[6].service.ToString(), "?/UDP");
    for (const DecodedPacket &p : d.packets) EXPECT_FALSE(p.HasEvent(DecodeEvent::IPV6_FRAG_BAD));
}

TEST(DecodeCaptures, MalformedHeaders) {
    SKIP_WITHOUT_DATA();
    EXPECT_TRUE(MustDecode("tcpdump__ipv4_invalid_hdr_length.pcap").packets.at(0).HasEvent(DecodeEvent::IPV4_BAD_IHL));
    // Despite its name (and PROVENANCE.md), this file's total length is 85 for 84 bytes of IP: one byte too long.
    EXPECT_TRUE(MustDecode("tcpdump__ipv4_invalid_total_length.pcap")
                    .packets.at(0)
                    .HasEvent(DecodeEvent::IPV4_LENGTH_EXCEEDS_FRAME));
    Decoded bad_version = MustDecode("tcpdump__ipv6-bad-version.pcap");
    int bad = 0;
    for (const DecodedPacket &p : bad_version.packets) bad += p.HasEvent(DecodeEvent::IPV6_BAD_VERSION);
    EXPECT_GT(bad, 0);
    Decoded jumbo = MustDecode("tcpdump__ipv6_jumbogram_1.pcap");
    EXPECT_EQ(jumbo.packets.at(0).ip_version, 6);
    EXPECT_EQ(jumbo.packets.at(0).l4, L4State::PRESENT);
    Decoded rst = MustDecode("tcpdump__tcp_rst_data-trunc.pcap");
    EXPECT_TRUE(rst.packets.at(0).HasEvent(DecodeEvent::PAYLOAD_TRUNCATED));
    EXPECT_EQ(rst.classes.at(0).cls, TrafficClass::RSTACK_BACKSCATTER);  // flags ·······A·R··
}

// Every classic pcap in edge/ and attacks/ decodes without a crash, and what the decoder says stays
// inside the captured bytes. (ASan runs of this test are the real check.)
TEST(DecodeCaptures, EveryClassicPcapDecodes) {
    SKIP_WITHOUT_DATA();
    size_t files = 0, packets = 0;
    std::map<std::string, size_t> events;
    for (const char *sub : {"edge", "attacks"}) {
        if (!fs::is_directory(PcapDir() / sub)) continue;
        for (const auto &entry : fs::directory_iterator(PcapDir() / sub)) {
            if (!entry.is_regular_file()) continue;
            auto d = DecodeFile(entry.path());
            if (!d) continue;  // pcapng, or not a capture
            ++files;
            for (size_t i = 0; i < d->packets.size(); ++i) {
                const RawPacket &raw = d->file.packets[i];
                const DecodedPacket &p = d->packets[i];
                ++packets;
                if (p.payload != nullptr) {
                    EXPECT_GE(p.payload, raw.data) << entry.path() << " #" << i + 1;
                    EXPECT_LE(p.payload + p.payload_len, raw.data + raw.caplen) << entry.path() << " #" << i + 1;
                }
                if (p.ip_version != 0) {
                    EXPECT_EQ(p.dst.family, p.ip_version) << entry.path() << " #" << i + 1;
                }
                EXPECT_LT(int(d->classes[i].cls), int(TrafficClass::COUNT));
                for (int e = 0; e < int(DecodeEvent::COUNT); ++e)
                    if (p.HasEvent(DecodeEvent(e))) ++events[std::string(DecodeEventName(DecodeEvent(e)))];
            }
        }
    }
    EXPECT_GT(files, 20u);
    std::string summary;
    for (const auto &[name, count] : events) summary += name + "=" + std::to_string(count) + " ";
    std::printf("%zu classic pcaps, %zu packets; events: %s\n", files, packets, summary.c_str());
}

}  // namespace
}  // namespace darkscope
