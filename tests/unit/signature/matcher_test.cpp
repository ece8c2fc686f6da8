#include "signature/matcher/matcher.hpp"

#include <gtest/gtest.h>

#include "signature/rule_parser.hpp"

using namespace darkscope;
using namespace darkscope::sig;

namespace {

std::vector<Rule> Rules(std::string_view text) {
    RuleSet set;
    ParseRules(text, "t.rules", ParseOptions{}, set);
    EXPECT_TRUE(set.errors.empty()) << set.errors[0].ToString();
    return set.rules;
}

DecodedPacket Packet(uint8_t proto, uint16_t dport, std::string_view payload, TimestampNs ts = 0) {
    static std::string storage[8];
    static int slot = 0;
    std::string &s = storage[slot++ % 8];
    s.assign(payload);
    DecodedPacket p;
    p.ts = ts;
    p.ip_version = 4;
    p.src = *IpAddress::Parse("192.0.2.1");
    p.dst = *IpAddress::Parse("198.51.100.2");
    p.proto = proto;
    p.l4 = L4State::PRESENT;
    p.has_ports = proto != IPPROTO_NUM_ICMP;
    p.sport = 40000;
    p.dport = dport;
    p.tcp_flags = TCP_SYN;
    p.has_icmp_type = proto == IPPROTO_NUM_ICMP;
    p.icmp_type = 8;
    p.payload = reinterpret_cast<const uint8_t *>(s.data());
    p.payload_len = uint32_t(s.size());
    return p;
}

std::vector<uint32_t> Sids(const Matcher &m, Matcher::State &state, const DecodedPacket &p) {
    RuleHits hits;
    m.Match(p, state, hits);
    std::vector<uint32_t> sids;
    for (uint32_t r : hits) sids.push_back(m.Rules()[r].sid);
    return sids;
}

}  // namespace

TEST(Matcher, PrefilterProposesAndVerificationDecides) {
    Matcher m(Rules("alert udp any any -> any 53 (content:\"evil\"; sid:1;)\n"
                    "alert udp any any -> any any (content:\"EVIL\"; nocase; content:\"x\"; distance:0; sid:2;)\n"
                    "alert tcp any any -> any any (content:\"evil\"; sid:3;)\n"
                    "alert ip any any -> any any (content:\"evil\"; sid:4;)\n"
                    "alert udp any any -> any any (content:\"evil\"; depth:4; sid:5;)\n"));
    EXPECT_EQ(m.GetStats().content_rules, 5u);
    auto state = m.MakeState();
    EXPECT_EQ(Sids(m, *state, Packet(IPPROTO_NUM_UDP, 53, "an evil x")), (std::vector<uint32_t>{1, 2, 4}));
    EXPECT_EQ(Sids(m, *state, Packet(IPPROTO_NUM_UDP, 54, "an EvIl")), (std::vector<uint32_t>{}));
    EXPECT_EQ(Sids(m, *state, Packet(IPPROTO_NUM_TCP, 80, "evil")), (std::vector<uint32_t>{3, 4}));
    EXPECT_EQ(Sids(m, *state, Packet(IPPROTO_NUM_UDP, 53, "")), (std::vector<uint32_t>{}));
}

TEST(Matcher, HeaderOnlyRulesAreIndexedByPortAndType) {
    Matcher m(Rules("alert tcp any any -> any [23,2323] (flags:S; sid:1;)\n"
                    "alert tcp any any -> any any (flags:S; sid:2;)\n"
                    "alert icmp any any -> any any (itype:8; sid:3;)\n"
                    "alert icmp any any -> any any (itype:0; sid:4;)\n"
                    "alert tcp any any -> any 1024: (flags:S; sid:5;)\n"
                    "alert tcp any any -> any any (content:!\"x\"; flags:S; sid:6;)\n"));
    EXPECT_EQ(m.GetStats().header_rules, 6u);
    auto state = m.MakeState();
    EXPECT_EQ(Sids(m, *state, Packet(IPPROTO_NUM_TCP, 2323, "")), (std::vector<uint32_t>{1, 2, 5, 6}));
    EXPECT_EQ(Sids(m, *state, Packet(IPPROTO_NUM_TCP, 8080, "")), (std::vector<uint32_t>{2, 5, 6}));
    EXPECT_EQ(Sids(m, *state, Packet(IPPROTO_NUM_TCP, 80, "x")), (std::vector<uint32_t>{2}));
    EXPECT_EQ(Sids(m, *state, Packet(IPPROTO_NUM_ICMP, 0, "")), (std::vector<uint32_t>{3}));
}

TEST(Matcher, ThresholdAndDetectionFilterCountPerSourceAndWindow) {
    Matcher m(Rules(
        "alert udp any any -> any any (content:\"a\"; threshold:type limit, track by_src, count 2, seconds 10; sid:1;)\n"
        "alert udp any any -> any any (content:\"a\"; threshold:type threshold, track by_src, count 3, seconds 10; "
        "sid:2;)\n"
        "alert udp any any -> any any (content:\"a\"; threshold:type both, track by_dst, count 2, seconds 10; sid:3;)\n"
        "alert udp any any -> any any (content:\"a\"; detection_filter:track by_src, count 3, seconds 10; sid:4;)\n"));
    auto state = m.MakeState();
    std::map<uint32_t, int> alerts;
    const TimestampNs s = 1'000'000'000;
    for (int i = 0; i < 7; ++i)
        for (uint32_t sid : Sids(m, *state, Packet(IPPROTO_NUM_UDP, 1, "a", i * s))) ++alerts[sid];
    EXPECT_EQ(alerts[1], 2);  // the first 2 in the window
    EXPECT_EQ(alerts[2], 2);  // the 3rd and 6th
    EXPECT_EQ(alerts[3], 1);  // once, when the 2nd arrives
    EXPECT_EQ(alerts[4], 4);  // every one after the 3rd
    // A new window starts 10 s after the first packet of the last one.
    EXPECT_EQ(Sids(m, *state, Packet(IPPROTO_NUM_UDP, 1, "a", 20 * s)), (std::vector<uint32_t>{1}));
}

TEST(Matcher, ThreeThousandGeneratedRulesCompile) {
    std::string text;
    for (int i = 0; i < 3000; ++i)
        text += "alert udp any any -> any " + std::to_string(1000 + i % 500) + " (content:\"pattern-" +
                std::to_string(i) + "-x\"; sid:" + std::to_string(100000 + i) + ";)\n";
    Matcher m(Rules(text));
    EXPECT_EQ(m.GetStats().patterns, 3000u);
    auto state = m.MakeState();
    EXPECT_EQ(Sids(m, *state, Packet(IPPROTO_NUM_UDP, 1000 + 1234 % 500, "..pattern-1234-x..")),
              (std::vector<uint32_t>{101234}));
}

TEST(Matcher, ExpiredTracksArePurgedWithoutChangingCounts) {
    Matcher m(Rules("alert udp any any -> any any (content:\"a\"; detection_filter:track by_src, count 1, seconds 10; "
                    "sid:1;)\n"));
    auto state = m.MakeState();
    const TimestampNs ms = 1'000'000;
    DecodedPacket p = Packet(IPPROTO_NUM_UDP, 1, "a");
    size_t alerts = 0;
    // 70,000 sources, one packet each, 1 ms apart: the table passes its purge threshold (65,536).
    for (uint32_t i = 0; i < 70000; ++i) {
        p.src = IpAddress::V4(0x0A000000 + i);
        p.ts = TimestampNs(i) * ms;
        alerts += Sids(m, *state, p).size();
    }
    EXPECT_EQ(alerts, 0u);
    p.ts = 70000 * ms;
    p.src = IpAddress::V4(0x0A000000 + 69999);  // second match within its window: alerts
    EXPECT_EQ(Sids(m, *state, p), (std::vector<uint32_t>{1}));
    p.src = IpAddress::V4(0x0A000000);  // its window ended long ago: counts from 1 again
    EXPECT_EQ(Sids(m, *state, p), (std::vector<uint32_t>{}));
}

TEST(Matcher, DetectionFilterUniqueOnDestinationPort) {
    Matcher m(Rules("alert tcp any any -> any any (flags:S; detection_filter:track by_src, count 2, seconds 60, "
                    "unique_on dst_port; sid:1;)\n"));
    auto state = m.MakeState();
    auto syn = [&](uint16_t port, TimestampNs ts) { return Sids(m, *state, Packet(IPPROTO_NUM_TCP, port, "", ts)).size(); };
    const TimestampNs s = 1'000'000'000;
    EXPECT_EQ(syn(80, 0), 0u);
    EXPECT_EQ(syn(80, 1 * s), 0u);  // the same port again does not count
    EXPECT_EQ(syn(81, 2 * s), 0u);
    EXPECT_EQ(syn(81, 3 * s), 0u);
    EXPECT_EQ(syn(82, 4 * s), 1u);  // the third distinct port
    EXPECT_EQ(syn(80, 5 * s), 1u);  // and every match after, within the window
    EXPECT_EQ(syn(83, 70 * s), 0u);  // a new window
}

// Payloads are remembered with their scan's answer (Matcher::State's memo): a payload seen again, in
// the same protocol group, must match exactly as the first time, and nothing else may share its answer.
TEST(Matcher, PayloadsSeenAgainMatchAsTheFirstTime) {
    // The TCP group's "evil" is its second pattern, the UDP group's its first: an answer remembered
    // for the wrong group would propose the wrong rule.
    Matcher m(Rules("alert tcp any any -> any any (content:\"other\"; sid:5;)\n"
                    "alert udp any any -> any any (content:\"evil\"; sid:1;)\n"
                    "alert tcp any any -> any any (content:\"evil\"; sid:2;)\n"
                    "alert udp any any -> any any (content:\"good\"; sid:3;)\n"));
    auto state = m.MakeState();
    const std::string long_evil = std::string(600, 'a') + "evil";  // beyond what is remembered
    for (int round = 0; round < 3; ++round) {
        SCOPED_TRACE(round);
        EXPECT_EQ(Sids(m, *state, Packet(IPPROTO_NUM_UDP, 53, "an evil x")), (std::vector<uint32_t>{1}));
        EXPECT_EQ(Sids(m, *state, Packet(IPPROTO_NUM_TCP, 80, "an evil x")), (std::vector<uint32_t>{2}));
        EXPECT_EQ(Sids(m, *state, Packet(IPPROTO_NUM_UDP, 53, "an evix x")), (std::vector<uint32_t>{}));
        EXPECT_EQ(Sids(m, *state, Packet(IPPROTO_NUM_UDP, 53, "a good x")), (std::vector<uint32_t>{3}));
        EXPECT_EQ(Sids(m, *state, Packet(IPPROTO_NUM_UDP, 53, long_evil)), (std::vector<uint32_t>{1}));
        // Enough other payloads to push the first ones out of the memo before the next round.
        for (int i = 0; i < 10000; ++i) {
            const std::string other = "payload " + std::to_string(i) + (i % 2 ? " good" : "");
            EXPECT_EQ(Sids(m, *state, Packet(IPPROTO_NUM_UDP, 53, other)).size(), size_t(i % 2)) << other;
        }
    }
}
