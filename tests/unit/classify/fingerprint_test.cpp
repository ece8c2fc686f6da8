#include "classify/fingerprint.hpp"

#include <gtest/gtest.h>

#include <iterator>

#include "classify/classifier.hpp"
#include "common/shared_data.hpp"
#include "decode/decoder.hpp"
#include "../decode/pcap_test_util.hpp"

namespace darkscope {
namespace {

// A TCP SYN as the decoder leaves it: 203.0.113.7:40000 -> 198.51.100.9:dport.
DecodedPacket Syn(uint16_t dport, uint32_t seq, uint16_t ip_id, uint8_t ttl, uint8_t options_len) {
    DecodedPacket p;
    p.ip_version = 4;
    p.src = IpAddress::V4(0x5DB8D822);  // 93.184.216.34: not special-purpose space
    p.dst = IpAddress::V4(0xC6336409);  // 198.51.100.9
    p.proto = IPPROTO_NUM_TCP;
    p.l4 = L4State::PRESENT;
    p.sport = 40000;
    p.dport = dport;
    p.has_ports = true;
    p.tcp_flags = TCP_SYN;
    p.seq = seq;
    p.ip_id = ip_id;
    p.ttl = ttl;
    p.tcp_options_len = options_len;
    return p;
}

uint8_t Bits(const DecodedPacket &p) {
    ClassifiedPacket cp;
    Classify(p, cp);
    return cp.fingerprints;
}

constexpr uint8_t ZMAP = RuleBit(FingerprintRule::ZMAP_IP_ID), MASSCAN = RuleBit(FingerprintRule::MASSCAN_IP_ID),
                  MIRAI = RuleBit(FingerprintRule::MIRAI_SEQ), NO_OPTS = RuleBit(FingerprintRule::SYN_NO_OPTIONS),
                  TTL = RuleBit(FingerprintRule::SYN_TTL_OVER_200), BOGON = RuleBit(FingerprintRule::BOGON_SOURCE);

}  // namespace

TEST(Fingerprint, OrdinaryLinuxSynMatchesNothing) {
    // Linux: TTL 64 minus hops, 20 bytes of options (MSS, SACK, TS, NOP, WS), random IP ID and seq.
    EXPECT_EQ(Bits(Syn(443, 0x1234ABCD, 0x4711, 52, 20)), 0);
}

TEST(Fingerprint, ZmapIpId) {
    EXPECT_EQ(Bits(Syn(443, 0x1234ABCD, 54321, 250, 0)), ZMAP | NO_OPTS | TTL);
    EXPECT_EQ(Bits(Syn(443, 0x1234ABCD, 54320, 52, 4)), 0);
}

TEST(Fingerprint, MasscanRelationWithAndWithoutMss) {
    const uint32_t seq = 0xDEADBEEF;
    // IP ID = low 16 bits of dst ^ dport ^ seq = 0x6409 ^ 0x0050 ^ 0xBEEF.
    const uint16_t id = uint16_t(0xC6336409u ^ 80u ^ seq);
    EXPECT_EQ(id, uint16_t(0x6409 ^ 0x0050 ^ 0xBEEF));
    EXPECT_EQ(Bits(Syn(80, seq, id, 250, 0)), MASSCAN | NO_OPTS | TTL);
    EXPECT_EQ(Bits(Syn(80, seq, id, 250, 4)), MASSCAN | TTL);  // recent masscan: an MSS option
    EXPECT_EQ(Bits(Syn(81, seq, id, 60, 4)), 0);                // another port: the relation breaks
}

TEST(Fingerprint, MiraiSeqEqualsDestination) {
    EXPECT_EQ(Bits(Syn(23, 0xC6336409, 0x1111, 50, 0)), MIRAI | NO_OPTS);
    EXPECT_EQ(Bits(Syn(2323, 0xC6336409, 0x1111, 50, 0)), MIRAI | NO_OPTS);  // any port
    EXPECT_EQ(Bits(Syn(23, 0xC6336408, 0x1111, 50, 0)), NO_OPTS);
}

TEST(Fingerprint, SynRulesNeedASyn) {
    DecodedPacket p = Syn(80, 0xC6336409, 54321, 250, 0);
    p.tcp_flags = TCP_SYN | TCP_ACK;  // backscatter: the victim's stack, not a scanner's choice
    EXPECT_EQ(Bits(p), ZMAP);
}

TEST(Fingerprint, BogonSources) {
    for (const char *text : {"10.1.2.3", "127.0.0.1", "100.64.0.1", "172.31.255.255", "192.168.1.1", "198.18.0.1",
                             "224.0.0.1", "255.255.255.255", "0.0.0.0", "::1", "fe80::1", "fc00::1", "2001:db8::1"})
        EXPECT_TRUE(IsBogon(*IpAddress::Parse(text))) << text;
    for (const char *text : {"8.8.8.8", "172.32.0.1", "100.128.0.1", "198.20.0.1", "2001:200::1", "2a00:1450::1"})
        EXPECT_FALSE(IsBogon(*IpAddress::Parse(text))) << text;
    // Each IPv4 range at its edges, and its neighbours: a first octet that holds a range is looked at further.
    for (const char *text : {"0.255.255.255", "10.255.255.255", "100.127.255.255", "127.255.255.255", "169.254.0.0",
                             "169.254.255.255", "172.16.0.0", "192.0.0.255", "192.0.2.0", "192.168.255.255",
                             "198.19.255.255", "198.51.100.255", "203.0.113.0", "239.255.255.255", "240.0.0.0"})
        EXPECT_TRUE(IsBogon(*IpAddress::Parse(text))) << text;
    for (const char *text : {"1.0.0.0", "9.255.255.255", "11.0.0.0", "100.63.255.255", "126.255.255.255",
                             "128.0.0.0", "169.253.255.255", "169.255.0.0", "172.15.255.255", "192.0.1.0",
                             "192.0.3.0", "192.169.0.0", "198.17.255.255", "198.51.101.0", "203.0.112.255",
                             "203.0.114.0", "223.255.255.255"})
        EXPECT_FALSE(IsBogon(*IpAddress::Parse(text))) << text;
    DecodedPacket p = Syn(443, 1, 2, 52, 20);
    p.src = *IpAddress::Parse("10.0.0.1");
    EXPECT_EQ(Bits(p), BOGON);
}

TEST(Fingerprint, TagsNeedConsistentPackets) {
    FingerprintEvidence e;
    e.packets = 10;
    e.syn_packets = 10;
    e.matched[size_t(FingerprintRule::MASSCAN_IP_ID)] = 2;  // below the minimum
    EXPECT_TRUE(TagsOf(e).empty());
    e.matched[size_t(FingerprintRule::MASSCAN_IP_ID)] = 9;  // 90%
    auto tags = TagsOf(e);
    ASSERT_EQ(tags.size(), 1u);
    EXPECT_EQ(tags[0].tag, Tag::MASSCAN);
    EXPECT_EQ(tags[0].matched, 9u);
    EXPECT_EQ(tags[0].out_of, 10u);
    e.syn_packets = 100;  // 9 of 100 SYNs: a chance match in a busy source, not masscan
    EXPECT_TRUE(TagsOf(e).empty());
    FingerprintEvidence b;
    b.packets = 1;
    b.matched[size_t(FingerprintRule::BOGON_SOURCE)] = 1;
    ASSERT_EQ(TagsOf(b).size(), 1u);
    EXPECT_EQ(TagsOf(b)[0].tag, Tag::BOGON);
}

// Unicornscan (docs/enrichment.md#unicornscan): the sender (src/scan_progs/send_packet.c, _send_packet,
// in dneufeld/unicornscan and robertelee78/unicornscan) writes a random IP ID and a sequence number
// syn_key ^ dst ^ (dport << 16 | sport), where syn_key is drawn once per run and the address is XORed as
// the in-memory network-order word (byte-swapped on a little-endian sender). TTL, window and options come
// from its -W fingerprint (src/scan_progs/init_packet.c): 1 (the shipped unicorn.conf) looks like
// OpenBSD (TTL 64, 24 bytes of options), 0 like Cisco IOS (TTL 255, MSS only), 3 like p0f's sendsyn
// (TTL 255, no options). None of darkscope's per-packet rules names the tool; only the TTL-255
// fingerprints are irregular SYNs.
namespace {
DecodedPacket UnicornscanSyn(uint32_t syn_key, uint32_t dst, uint16_t dport, uint16_t sport, uint16_t ip_id,
                             uint8_t ttl, uint8_t options_len) {
    DecodedPacket p = Syn(dport, 0, ip_id, ttl, options_len);
    p.dst = IpAddress::V4(dst);
    p.sport = sport;
    p.seq = syn_key ^ __builtin_bswap32(dst) ^ (uint32_t(dport) << 16 | sport);
    return p;
}

struct UnicornscanProbe {
    uint32_t dst;
    uint16_t dport, sport, ip_id;
};
// One run's probes: destinations of a /24, ports from the quick list, sources >= 4096, random IP IDs.
constexpr UnicornscanProbe UNICORNSCAN_RUN[] = {
    {0xC6336409, 22, 0x9C41, 0x1D3A},  {0xC6336417, 23, 0x1207, 0xE0F1},  {0xC633641F, 80, 0xFB10, 0x0B77},
    {0xC6336480, 443, 0x4E2D, 0x7A02}, {0xC63364FE, 445, 0x30C9, 0xC35B}, {0xC6336401, 3389, 0xA118, 0x5E90},
};
constexpr uint32_t UNICORNSCAN_KEY = 0x5A17C0DE;
}  // namespace

TEST(Fingerprint, UnicornscanOpenBsdFingerprintMatchesNoRule) {
    FingerprintEvidence e;
    for (const UnicornscanProbe &u : UNICORNSCAN_RUN) {
        // -W 1: TTL 64 (52 after 12 hops), DF, window 16384, MSS NOP NOP SACK NOP WS NOP NOP TS: 24 bytes.
        DecodedPacket p = UnicornscanSyn(UNICORNSCAN_KEY, u.dst, u.dport, u.sport, u.ip_id, 52, 24);
        const uint8_t bits = Bits(p);
        EXPECT_EQ(bits, 0) << std::hex << p.seq;
        ++e.packets;
        ++e.syn_packets;
        for (size_t r = 0; r < FINGERPRINT_RULES; ++r)
            e.matched[r] += (bits >> r) & 1;
    }
    EXPECT_TRUE(TagsOf(e).empty());
}

TEST(Fingerprint, UnicornscanTtl255FingerprintsAreIrregularSynOnly) {
    // -W 0 (Cisco IOS: TTL 255, MSS only) and -W 3 (p0f sendsyn: TTL 255, no options), 12 hops away.
    for (const uint8_t options_len : {uint8_t(4), uint8_t(0)}) {
        FingerprintEvidence e;
        for (const UnicornscanProbe &u : UNICORNSCAN_RUN) {
            const uint8_t bits =
                Bits(UnicornscanSyn(UNICORNSCAN_KEY, u.dst, u.dport, u.sport, u.ip_id, 243, options_len));
            EXPECT_EQ(bits, options_len == 0 ? (NO_OPTS | TTL) : TTL);
            ++e.packets;
            ++e.syn_packets;
            for (size_t r = 0; r < FINGERPRINT_RULES; ++r)
                e.matched[r] += (bits >> r) & 1;
        }
        const auto tags = TagsOf(e);
        ASSERT_EQ(tags.size(), 1u) << int(options_len);
        EXPECT_EQ(tags[0].tag, Tag::IRREGULAR_SYN);
        EXPECT_EQ(tags[0].matched, std::size(UNICORNSCAN_RUN));
    }
}

// Real captures (../shared/data, data/PROVENANCE.md): the ESnet masscan scan of ports 0-1000 matches
// the masscan relation on every SYN; nmap's SYN scan does not.
namespace {
struct CaptureCounts {
    uint64_t syns = 0;
    uint64_t rule[FINGERPRINT_RULES] = {};
};
std::optional<CaptureCounts> CountCapture(const char *name) {
    auto dir = testing::SharedDataDir(DARKSCOPE_SHARED_DATA);
    if (dir.empty()) return std::nullopt;
    auto pcap = testing::ReadPcap(dir / "pcap" / "attacks" / name);
    if (!pcap) return std::nullopt;
    CaptureCounts c;
    for (const RawPacket &raw : pcap->packets) {
        DecodedPacket pkt;
        Decode(raw, pkt);
        ClassifiedPacket cp;
        Classify(pkt, cp);
        c.syns += cp.cls == TrafficClass::SYN_PROBE;
        for (size_t r = 0; r < FINGERPRINT_RULES; ++r) c.rule[r] += (cp.fingerprints >> r) & 1;
    }
    return c;
}
}  // namespace

TEST(Fingerprint, RealMasscanCapture) {
    auto c = CountCapture("esnet__tcp_0_1000_20190821.pcap");
    if (!c) GTEST_SKIP() << "../shared/data/pcap/attacks/esnet__tcp_0_1000_20190821.pcap absent";
    EXPECT_EQ(c->syns, 1001u);
    EXPECT_EQ(c->rule[size_t(FingerprintRule::MASSCAN_IP_ID)], 1001u);
    EXPECT_EQ(c->rule[size_t(FingerprintRule::SYN_NO_OPTIONS)], 1001u);
    EXPECT_EQ(c->rule[size_t(FingerprintRule::SYN_TTL_OVER_200)], 1001u);  // TTL 252
    EXPECT_EQ(c->rule[size_t(FingerprintRule::ZMAP_IP_ID)], 0u);
    EXPECT_EQ(c->rule[size_t(FingerprintRule::MIRAI_SEQ)], 0u);
}

TEST(Fingerprint, RealNmapCaptureIsNotMasscan) {
    auto c = CountCapture("esnet__nmap_80_all.pcap");
    if (!c) GTEST_SKIP() << "../shared/data/pcap/attacks/esnet__nmap_80_all.pcap absent";
    EXPECT_GT(c->syns, 0u);
    // By chance at most a handful of 1/65536 matches; never enough for the tag on its own.
    EXPECT_LT(c->rule[size_t(FingerprintRule::MASSCAN_IP_ID)] * 10, c->syns);
    EXPECT_EQ(c->rule[size_t(FingerprintRule::MIRAI_SEQ)], 0u);
    EXPECT_EQ(c->rule[size_t(FingerprintRule::ZMAP_IP_ID)], 0u);
}

}  // namespace darkscope
