#include "synth/address_space.hpp"

#include <gtest/gtest.h>

#include <set>

#include "synth/packet_builder.hpp"
#include "synth/payloads.hpp"

namespace darkscope::synth {

// What can be checked of the per-country table without the IP-to-country database: every block parses, is
// aligned, holds no reserved space, and no two blocks (of any countries or research scanners) overlap.
TEST(AddressSpace, BlocksParseAreAlignedAndDisjoint) {
    std::vector<std::pair<IpNetwork, std::string>> v4;
    for (auto &c : Countries()) {
        EXPECT_EQ(c.code.size(), 2u);
        EXPECT_FALSE(c.v4.empty()) << c.code;
        for (auto text : c.v4) {
            auto n = IpNetwork::Parse(text);
            ASSERT_TRUE(n) << text;
            ASSERT_TRUE(n->base.IsV4());
            EXPECT_EQ(n->ToString(), text) << "not aligned to its prefix";
            EXPECT_FALSE(IsReservedV4(n->base.V4HostOrder())) << text;
            v4.emplace_back(*n, std::string(c.code));
        }
        for (auto text : c.v6)
            ASSERT_TRUE(IpNetwork::Parse(text) && IpNetwork::Parse(text)->base.IsV6()) << text;
    }
    for (auto &o : ResearchOrgs()) {
        EXPECT_GT(o.asn, 0u);
        for (auto text : o.v4) {
            auto n = IpNetwork::Parse(text);
            ASSERT_TRUE(n) << text;
            EXPECT_EQ(n->ToString(), text);
            v4.emplace_back(*n, std::string(o.name));
        }
    }
    for (size_t i = 0; i < v4.size(); ++i)
        for (size_t j = i + 1; j < v4.size(); ++j)
            EXPECT_FALSE(v4[i].first.Contains(v4[j].first.base) || v4[j].first.Contains(v4[i].first.base))
                << v4[i].first.ToString() << " (" << v4[i].second << ") overlaps " << v4[j].first.ToString() << " ("
                << v4[j].second << ")";
}

TEST(AddressSpace, ResearchReverseDns) {
    auto *censys = FindResearchOrg("censys");
    ASSERT_TRUE(censys);
    EXPECT_EQ(ResearchRdns(*censys, 0xA28E7D0Bu), "scanner-11.ch1.censys-scanner.com");
    EXPECT_EQ(ResearchRdns(*FindResearchOrg("rapid7"), 0x4706E901u), "71-6-233-1.scanner.labs.rapid7.com");
    EXPECT_EQ(FindResearchOrg("nobody"), nullptr);
}

TEST(AddressSpace, PickerStaysInsideItsNetworks) {
    NetworkPicker p({*IpNetwork::Parse("192.0.2.0/30"), *IpNetwork::Parse("198.51.100.8/29")});
    Rng rng(3);
    std::set<uint32_t> seen;
    for (int i = 0; i < 2000; ++i) {
        size_t net = 9;
        uint32_t a = p.PickV4(rng, &net);
        seen.insert(a);
        EXPECT_TRUE(p.Networks()[net].Contains(IpAddress::V4(a)));
    }
    EXPECT_EQ(seen.size(), 12u);  // every address of 4 + 8, each about as often as its share
}

TEST(PacketBuilder, ChecksumOfTheRfc1071Example) {
    // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (one's complement 220d).
    const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(InternetChecksum(bytes, sizeof bytes), 0x220d);
    uint16_t native = FoldNative(SumNative(bytes, sizeof bytes));
    uint8_t stored[2];
    StoreChecksum(stored, native);
    EXPECT_EQ(stored[0] << 8 | stored[1], 0x220d);
    // Odd length: the last byte is the high half of a word.
    const uint8_t odd[] = {0x00, 0x01, 0xf2};
    StoreChecksum(stored, FoldNative(SumNative(odd, 3)));
    EXPECT_EQ(stored[0] << 8 | stored[1], InternetChecksum(odd, 3));
}

TEST(Payloads, DnsNamesEncodeAndRejectBadLabels) {
    uint8_t out[300];
    ASSERT_EQ(EncodeDnsName(out, "isc.org."), 9u);
    EXPECT_EQ(std::string(reinterpret_cast<char *>(out), 9), std::string("\x03isc\x03org\x00", 9));
    EXPECT_EQ(EncodeDnsName(out, "a..b"), 0u);
    EXPECT_EQ(EncodeDnsName(out, std::string(64, 'x')), 0u);
    EXPECT_EQ(SlammerPayload().size(), 376u);
    EXPECT_EQ(SlammerPayload()[0], 0x04);
}

}  // namespace darkscope::synth
