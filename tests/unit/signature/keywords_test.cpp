// One test per keyword: a rule parsed from text, verified against hand-built packets.

#include <gtest/gtest.h>

#include <cstring>

#include "signature/rule_parser.hpp"
#include "signature/verify.hpp"

using namespace darkscope;
using namespace darkscope::sig;

namespace {

Rule R(const std::string &options, const std::string &header = "alert ip any any -> any any") {
    std::string error, keyword;
    auto rule = ParseRule(header + " (" + options + " sid:1;)", ParseOptions{}, error, keyword);
    EXPECT_TRUE(rule) << options << ": " << error;
    return rule ? *rule : Rule{};
}

// A UDP packet 192.0.2.1:40000 -> 198.51.100.2:53 with the payload given.
DecodedPacket Udp(std::string_view payload, uint16_t dport = 53) {
    static std::string storage;
    storage.assign(payload);
    DecodedPacket p;
    p.ip_version = 4;
    p.src = *IpAddress::Parse("192.0.2.1");
    p.dst = *IpAddress::Parse("198.51.100.2");
    p.proto = IPPROTO_NUM_UDP;
    p.l4 = L4State::PRESENT;
    p.has_ports = true;
    p.sport = 40000;
    p.dport = dport;
    p.ttl = 64;
    p.ip_id = 54321;
    p.payload = reinterpret_cast<const uint8_t *>(storage.data());
    p.payload_len = uint32_t(storage.size());
    return p;
}

DecodedPacket Tcp(uint8_t flags, uint16_t dport = 445) {
    DecodedPacket p = Udp("", dport);
    p.proto = IPPROTO_NUM_TCP;
    p.tcp_flags = flags;
    p.seq = 1000;
    p.ack = 0;
    p.window = 1024;
    return p;
}

DecodedPacket Icmp(uint8_t type, uint8_t code, std::string_view payload = "") {
    DecodedPacket p = Udp(payload);
    p.proto = IPPROTO_NUM_ICMP;
    p.has_ports = false;
    p.sport = p.dport = 0;
    p.has_icmp_type = true;
    p.icmp_type = type;
    p.icmp_code = code;
    p.icmp_id = 77;
    p.icmp_seq = 5;
    return p;
}

bool V(const Rule &r, const DecodedPacket &p) {
    VerifyScratch scratch;
    return Verify(r, p, scratch);
}

}  // namespace

TEST(Keyword, Content) {
    EXPECT_TRUE(V(R("content:\"abc\";"), Udp("xxabcxx")));
    EXPECT_FALSE(V(R("content:\"abd\";"), Udp("xxabcxx")));
    EXPECT_TRUE(V(R("content:\"|00 ff|A\";"), Udp(std::string("\x01\x00\xff" "A", 4))));
    EXPECT_TRUE(V(R("content:!\"zz\";"), Udp("xxabcxx")));
    EXPECT_FALSE(V(R("content:!\"ab\";"), Udp("xxabcxx")));
    EXPECT_FALSE(V(R("content:\"abc\";"), Udp("")));  // no payload, no positive content
}

TEST(Keyword, NocaseOffsetDepth) {
    EXPECT_TRUE(V(R("content:\"ABC\"; nocase;"), Udp("xxabcxx")));
    EXPECT_FALSE(V(R("content:\"ABC\";"), Udp("xxabcxx")));
    EXPECT_TRUE(V(R("content:\"abc\"; offset:2; depth:3;"), Udp("xxabcxx")));
    EXPECT_FALSE(V(R("content:\"abc\"; offset:3;"), Udp("xxabcxx")));
    EXPECT_FALSE(V(R("content:\"abc\"; depth:4;"), Udp("xxabcxx")));
}

TEST(Keyword, DistanceWithinBacktrack) {
    // The first "a" is followed by "b" too far away; the second "a" has "b" right after: Suricata
    // backtracks to it.
    EXPECT_TRUE(V(R("content:\"a\"; content:\"b\"; distance:0; within:1;"), Udp("a....ab")));
    EXPECT_FALSE(V(R("content:\"a\"; content:\"b\"; distance:0; within:1;"), Udp("a....a.b")));
    EXPECT_TRUE(V(R("content:\"a\"; content:\"b\"; distance:2; within:1;"), Udp("a..b")));
    EXPECT_FALSE(V(R("content:\"a\"; content:\"b\"; distance:3;"), Udp("a..b")));
    EXPECT_TRUE(V(R("content:\"b\"; content:\"a\"; distance:-4; within:1;"), Udp("a..b")));
}

TEST(Keyword, StartswithEndswith) {
    EXPECT_TRUE(V(R("content:\"xx\"; startswith;"), Udp("xxabc")));
    EXPECT_FALSE(V(R("content:\"ab\"; startswith;"), Udp("xxabc")));
    EXPECT_TRUE(V(R("content:\"bc\"; endswith;"), Udp("xxabc")));
    EXPECT_FALSE(V(R("content:\"ab\"; endswith;"), Udp("xxabc")));
}

TEST(Keyword, FastPatternOnlyChangesTheChoiceOfPrefilter) {
    EXPECT_TRUE(V(R("content:\"a\"; fast_pattern; content:\"bcd\";"), Udp("abcd")));
}

TEST(Keyword, Dsize) {
    EXPECT_TRUE(V(R("dsize:3;"), Udp("abc")));
    EXPECT_TRUE(V(R("dsize:<4;"), Udp("abc")));
    EXPECT_TRUE(V(R("dsize:2<>4;"), Udp("abc")));
    EXPECT_FALSE(V(R("dsize:3<>4;"), Udp("abc")));
    EXPECT_TRUE(V(R("dsize:!4;"), Udp("abc")));
    EXPECT_FALSE(V(R("dsize:>=4;"), Udp("abc")));
}

TEST(Keyword, Flags) {
    EXPECT_TRUE(V(R("flags:S;", "alert tcp any any -> any any"), Tcp(TCP_SYN)));
    EXPECT_FALSE(V(R("flags:S;", "alert tcp any any -> any any"), Tcp(TCP_SYN | TCP_ACK)));
    EXPECT_TRUE(V(R("flags:S+;", "alert tcp any any -> any any"), Tcp(TCP_SYN | TCP_ACK)));
    EXPECT_TRUE(V(R("flags:*SF;", "alert tcp any any -> any any"), Tcp(TCP_FIN)));
    EXPECT_TRUE(V(R("flags:!R;", "alert tcp any any -> any any"), Tcp(TCP_SYN)));
    EXPECT_TRUE(V(R("flags:S,CE;", "alert tcp any any -> any any"), Tcp(TCP_SYN | TCP_ECE | TCP_CWR)));
    EXPECT_TRUE(V(R("flags:0;", "alert tcp any any -> any any"), Tcp(0)));
    EXPECT_FALSE(V(R("flags:S;"), Udp("x")));  // not TCP
}

TEST(Keyword, Fragbits) {
    DecodedPacket p = Udp("x");
    p.ip_flags = 2;  // DF
    EXPECT_TRUE(V(R("fragbits:D;"), p));
    EXPECT_FALSE(V(R("fragbits:M;"), p));
    EXPECT_TRUE(V(R("fragbits:!M;"), p));
    p.ip_flags = 3;
    EXPECT_TRUE(V(R("fragbits:D+;"), p));
}

TEST(Keyword, TtlIdIpProto) {
    EXPECT_TRUE(V(R("ttl:64;"), Udp("x")));
    EXPECT_TRUE(V(R("ttl:<65;"), Udp("x")));
    EXPECT_FALSE(V(R("ttl:>64;"), Udp("x")));
    EXPECT_TRUE(V(R("id:54321;"), Udp("x")));
    EXPECT_TRUE(V(R("ip_proto:17;"), Udp("x")));
    EXPECT_TRUE(V(R("ip_proto:udp;"), Udp("x")));
    EXPECT_TRUE(V(R("ip_proto:!tcp;"), Udp("x")));
}

TEST(Keyword, SeqAckWindow) {
    const std::string tcp = "alert tcp any any -> any any";
    EXPECT_TRUE(V(R("seq:1000;", tcp), Tcp(TCP_SYN)));
    EXPECT_TRUE(V(R("ack:0;", tcp), Tcp(TCP_SYN)));
    EXPECT_TRUE(V(R("window:1024;", tcp), Tcp(TCP_SYN)));
    EXPECT_TRUE(V(R("window:!1025;", tcp), Tcp(TCP_SYN)));
    EXPECT_FALSE(V(R("seq:1001;", tcp), Tcp(TCP_SYN)));
}

TEST(Keyword, ItypeIcodeIcmpIdSeq) {
    EXPECT_TRUE(V(R("itype:8;", "alert icmp any any -> any any"), Icmp(8, 0)));
    EXPECT_TRUE(V(R("itype:>7; icode:0;", "alert icmp any any -> any any"), Icmp(8, 0)));
    EXPECT_FALSE(V(R("icode:1;", "alert icmp any any -> any any"), Icmp(8, 0)));
    EXPECT_TRUE(V(R("icmp_id:77; icmp_seq:5;", "alert icmp any any -> any any"), Icmp(8, 0)));
    EXPECT_FALSE(V(R("icmp_id:77;", "alert icmp any any -> any any"), Icmp(3, 1)));  // not an echo
    EXPECT_FALSE(V(R("itype:8;"), Udp("x")));
}

TEST(Keyword, IsDataAt) {
    EXPECT_TRUE(V(R("isdataat:3;"), Udp("abcd")));
    EXPECT_FALSE(V(R("isdataat:4;"), Udp("abcd")));
    EXPECT_TRUE(V(R("isdataat:!4;"), Udp("abcd")));
    EXPECT_TRUE(V(R("content:\"a\"; isdataat:3,relative;"), Udp("abcd")));
    EXPECT_FALSE(V(R("content:\"a\"; isdataat:4,relative;"), Udp("abcd")));
}

TEST(Keyword, ByteTest) {
    const std::string dns_query("\x12\x34\x01\x00\x00\x01", 6);
    EXPECT_TRUE(V(R("byte_test:2,=,1,4;"), Udp(dns_query)));
    EXPECT_TRUE(V(R("byte_test:1,!&,128,2;"), Udp(dns_query)));  // QR bit clear
    EXPECT_TRUE(V(R("byte_test:2,>,0x1233,0;"), Udp(dns_query)));
    EXPECT_TRUE(V(R("byte_test:2,=,0x3412,0,little;"), Udp(dns_query)));
    EXPECT_TRUE(V(R("byte_test:1,=,1,0,bitmask 0x10;"), Udp(dns_query)));
    EXPECT_TRUE(V(R("byte_test:3,=,123,1,string,dec;"), Udp("x123")));
    EXPECT_TRUE(V(R("content:\"x\"; byte_test:2,=,0x1f,0,relative,string,hex;"), Udp("x1f")));
    EXPECT_FALSE(V(R("byte_test:4,=,1,4;"), Udp(dns_query)));  // past the end
}

TEST(Keyword, Pcre) {
    EXPECT_TRUE(V(R("pcre:\"/^OPT(IONS)? sip:/\";"), Udp("OPTIONS sip:100@x SIP/2.0")));
    EXPECT_TRUE(V(R("pcre:\"/options/i\";"), Udp("OPTIONS")));
    EXPECT_FALSE(V(R("pcre:\"/options/\";"), Udp("OPTIONS")));
    EXPECT_TRUE(V(R("pcre:!\"/zzz/\";"), Udp("OPTIONS")));
    EXPECT_TRUE(V(R("content:\"OPT\"; pcre:\"/^IONS/R\";"), Udp("OPTIONS")));
    EXPECT_FALSE(V(R("content:\"OPT\"; pcre:\"/^OPT/R\";"), Udp("OPTIONS")));
}

TEST(Keyword, FlowStatelessIsAccepted) { EXPECT_TRUE(V(R("flow:stateless,to_server;"), Udp("x"))); }

TEST(Keyword, HeaderPortsAndDirection) {
    EXPECT_TRUE(V(R("", "alert udp 192.0.2.0/24 any -> any 53"), Udp("x")));
    EXPECT_FALSE(V(R("", "alert udp any any -> any 54"), Udp("x")));
    EXPECT_FALSE(V(R("", "alert udp any 53 -> any any"), Udp("x")));
    EXPECT_TRUE(V(R("", "alert udp any 53 <> any any"), Udp("x")));  // matches the other way round
    EXPECT_FALSE(V(R("", "alert tcp any any -> any any"), Udp("x")));
    EXPECT_TRUE(V(R("", "alert udp ![10.0.0.0/8,!192.0.2.1] any -> any any"), Udp("x")));
}

TEST(Keyword, BacktrackingIsBounded) {
    // Thousands of candidate positions for each of several relative contents: the step budget
    // stops the search instead of trying every combination.
    std::string payload(60000, 'a');
    Rule r = R("content:\"a\"; content:\"a\"; distance:0; content:\"a\"; distance:0; content:\"b\"; distance:0;");
    EXPECT_FALSE(V(r, Udp(payload)));
}
