#include "probe/resolver_probe.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "probe_test_util.hpp"

namespace darkscope::probe {
namespace {

using test::Loopback;
using test::TestPort;

// test.openresolver.com as labels on the wire.
const std::vector<uint8_t> QNAME = {4,   't', 'e', 's', 't', 12,  'o', 'p', 'e', 'n', 'r', 'e',
                                    's', 'o', 'l', 'v', 'e', 'r', 3,   'c', 'o', 'm', 0};

void Put16(std::vector<uint8_t> &m, uint16_t v) {
    m.push_back(uint8_t(v >> 8));
    m.push_back(uint8_t(v));
}

// A response: header with `flags`, the question test.openresolver.com/TXT/IN, and `answers` records.
std::vector<uint8_t> Response(uint16_t flags, const std::vector<std::vector<uint8_t>> &answers, uint16_t id = 0x1234) {
    std::vector<uint8_t> m;
    Put16(m, id);
    Put16(m, flags);
    Put16(m, 1);                         // QDCOUNT
    Put16(m, uint16_t(answers.size()));  // ANCOUNT
    Put16(m, 0);                         // NSCOUNT
    Put16(m, 0);                         // ARCOUNT
    m.insert(m.end(), QNAME.begin(), QNAME.end());
    Put16(m, 16);  // QTYPE TXT
    Put16(m, 1);   // QCLASS IN
    for (auto &a : answers)
        m.insert(m.end(), a.begin(), a.end());
    return m;
}

// One answer record owned by the question's name (a pointer to offset 12).
std::vector<uint8_t> Record(uint16_t type, const std::vector<uint8_t> &rdata) {
    std::vector<uint8_t> r = {0xC0, 0x0C};
    Put16(r, type);
    Put16(r, 1);                       // IN
    r.insert(r.end(), {0, 0, 0, 60});  // TTL
    Put16(r, uint16_t(rdata.size()));
    r.insert(r.end(), rdata.begin(), rdata.end());
    return r;
}

std::vector<uint8_t> Txt(const std::vector<std::string> &strings) {
    std::vector<uint8_t> d;
    for (auto &s : strings) {
        d.push_back(uint8_t(s.size()));
        d.insert(d.end(), s.begin(), s.end());
    }
    return d;
}

constexpr uint16_t QR_RD_RA = 0x8180;  // response, recursion desired and available, NOERROR
constexpr uint16_t QR_RD = 0x8100;     // response, recursion desired, not available

ResolverVerdict Classify(const std::vector<uint8_t> &m) {
    return ClassifyResolverResponse(m, 16, "open-resolver-detected");
}

}  // namespace

TEST(ResolverResponse, MarkerAnswerIsOpen) {
    auto v = Classify(Response(QR_RD_RA, {Record(16, Txt({"open-resolver-detected"}))}));
    EXPECT_EQ(v.status, ResolverStatus::OPEN);
    EXPECT_EQ(v.detail, "answer: \"open-resolver-detected\"");
}

TEST(ResolverResponse, MarkerSplitOverTwoStringsIsOpen) {
    auto v = Classify(Response(QR_RD_RA, {Record(16, Txt({"open-resolver-", "detected"}))}));
    EXPECT_EQ(v.status, ResolverStatus::OPEN);
    EXPECT_EQ(v.detail, "answer: \"open-resolver-\" \"detected\"");
}

TEST(ResolverResponse, RcodesAreNotOpenAndNamed) {
    auto refused = Classify(Response(0x8105, {}));  // QR, RD, RA=0, REFUSED
    EXPECT_EQ(refused.status, ResolverStatus::NOT_OPEN);
    EXPECT_EQ(refused.detail, "rcode REFUSED, no recursion (RA=0)");
    auto servfail = Classify(Response(0x8182, {}));  // QR, RD, RA, SERVFAIL
    EXPECT_EQ(servfail.detail, "rcode SERVFAIL");
    auto nxdomain = Classify(Response(0x8183, {}));
    EXPECT_EQ(nxdomain.detail, "rcode NXDOMAIN");
    auto odd = Classify(Response(0x818C, {}));  // rcode 12: unassigned
    EXPECT_EQ(odd.detail, "rcode rcode 12");
}

TEST(ResolverResponse, NoRecursionWithoutAnswerIsNotOpen) {
    auto v = Classify(Response(QR_RD, {}));
    EXPECT_EQ(v.status, ResolverStatus::NOT_OPEN);
    EXPECT_EQ(v.detail, "no recursion (RA=0), NOERROR without an answer");
}

TEST(ResolverResponse, OtherAnswersAreNotOpen) {
    auto other_txt = Classify(Response(QR_RD_RA, {Record(16, Txt({"v=spf1 -all"}))}));
    EXPECT_EQ(other_txt.status, ResolverStatus::NOT_OPEN);
    EXPECT_EQ(other_txt.detail, "answer without 'open-resolver-detected': \"v=spf1 -all\"");
    // A CNAME to somewhere else, no TXT: a hijacking middlebox, say.
    auto cname = Classify(Response(QR_RD_RA, {Record(5, {1, 'x', 0})}));
    EXPECT_EQ(cname.detail, "NOERROR without a TXT answer (only CNAME)");
    auto empty = Classify(Response(0x8380, {}));  // TC set, RA
    EXPECT_EQ(empty.detail, "NOERROR without a TXT answer, truncated (TC=1)");
}

TEST(ResolverResponse, WireTextIsEscaped) {
    // A TXT answer carrying control bytes (an ANSI escape), markup and the marker.
    auto v = Classify(Response(
        QR_RD_RA,
        {Record(16, Txt({std::string("\x1b[2J<script>alert(1)</script>\x01") + "open-resolver-detected\"q"}))}));
    EXPECT_EQ(v.status, ResolverStatus::OPEN);
    EXPECT_EQ(v.detail,
              "answer: \"\\x1b[2J\\x3cscript\\x3ealert(1)\\x3c/script\\x3e\\x01open-resolver-detected\\\"q\"");
    EXPECT_EQ(v.detail.find('<'), std::string::npos);
    EXPECT_EQ(v.detail.find('\x1b'), std::string::npos);
}

TEST(ResolverResponse, MalformedMessagesAreNamedNotTrusted) {
    EXPECT_EQ(Classify({0x12, 0x34, 0x81}).detail, "malformed response: 3 bytes, shorter than a DNS header");
    auto query = Response(0x0100, {});  // QR clear: a query echoed back
    EXPECT_EQ(Classify(query).detail, "not a response (QR=0)");
    // ANCOUNT says 1 but the record stops after its type.
    auto cut = Response(QR_RD_RA, {{0xC0, 0x0C, 0x00, 0x10}});
    EXPECT_EQ(Classify(cut).detail, "malformed response: answer record 1 of 1 cut short");
    // RDLENGTH 30 over a 2-byte tail.
    auto overlong = Response(QR_RD_RA, {{0xC0, 0x0C, 0, 16, 0, 1, 0, 0, 0, 60, 0, 30, 1, 'x'}});
    EXPECT_EQ(Classify(overlong).detail, "malformed response: answer record 1 of 1 cut short");
    // A TXT string length running past its RDATA.
    auto bad_txt = Response(QR_RD_RA, {Record(16, {9, 'o', 'p'})});
    EXPECT_EQ(Classify(bad_txt).detail, "malformed response: TXT record data");
    // An owner name that points at itself: c-ares' expander refuses the loop.
    std::vector<uint8_t> loop = Response(QR_RD_RA, {});
    loop[7] = 1;  // ANCOUNT 1
    const uint16_t at = uint16_t(loop.size());
    loop.insert(loop.end(), {uint8_t(0xC0 | at >> 8), uint8_t(at), 0, 16, 0, 1, 0, 0, 0, 60, 0, 0});
    EXPECT_EQ(Classify(loop).detail, "malformed response: answer record 1 of 1 cut short");
}

TEST(ResolverResponse, OtherQueryTypesRenderTheirData) {
    std::vector<uint8_t> m = Response(QR_RD_RA, {Record(1, {192, 0, 2, 1})});
    EXPECT_EQ(ClassifyResolverResponse(m, 1, "192.0.2.1").status, ResolverStatus::OPEN);
    EXPECT_EQ(ClassifyResolverResponse(m, 1, "").detail, "answer: 192.0.2.1");
    EXPECT_EQ(ClassifyResolverResponse(m, 1, "198.51.100.1").status, ResolverStatus::NOT_OPEN);
}

TEST(ResolverProbe, QueryTypes) {
    EXPECT_EQ(ParseQueryType("TXT"), 16);
    EXPECT_EQ(ParseQueryType("txt"), 16);
    EXPECT_EQ(ParseQueryType("AAAA"), 28);
    EXPECT_EQ(ParseQueryType("TYPE65"), 65);
    EXPECT_FALSE(ParseQueryType("TYPE"));
    EXPECT_FALSE(ParseQueryType("TYPE70000"));
    EXPECT_FALSE(ParseQueryType("BOGUS"));
    EXPECT_EQ(QueryTypeName(16), "TXT");
    EXPECT_EQ(QueryTypeName(65), "TYPE65");
    EXPECT_EQ(ParseResolverStatus("not-open"), ResolverStatus::NOT_OPEN);
    EXPECT_FALSE(ParseResolverStatus("closed"));
}

TEST(TokenBucket, SpacesTokensOneIntervalApartAndSavesNone) {
    using namespace std::chrono_literals;
    const auto t0 = TokenBucket::Clock::time_point{} + 1h;
    TokenBucket bucket(10, t0);  // 100 ms apart
    EXPECT_TRUE(bucket.TryTake(t0));
    EXPECT_FALSE(bucket.TryTake(t0 + 99ms));
    EXPECT_TRUE(bucket.TryTake(t0 + 100ms));
    // Idle for a second: still one token, not ten.
    EXPECT_TRUE(bucket.TryTake(t0 + 1100ms));
    EXPECT_FALSE(bucket.TryTake(t0 + 1150ms));
    EXPECT_EQ(bucket.NextToken(), t0 + 1200ms);
}

namespace {

std::map<std::string, ResolverProbeResult> Probe(const std::vector<std::string> &addresses,
                                                 const ResolverProbeOptions &o, const ExclusionList &exclusion,
                                                 TargetPartition *partition = nullptr) {
    std::vector<IpAddress> targets;
    for (auto &a : addresses)
        targets.push_back(*IpAddress::Parse(a));
    std::map<std::string, ResolverProbeResult> out;
    auto p = ProbeResolvers(targets, exclusion, o, [&](ResolverProbeResult &&r) {
        EXPECT_EQ(out.count(r.address.ToString()), 0u) << "one result per target";
        out[r.address.ToString()] = std::move(r);
    });
    if (partition) *partition = std::move(p);
    return out;
}

// The query's ID and question, answered with `flags` and `answers` (the responder's replies).
std::vector<uint8_t> Reply(const std::vector<uint8_t> &query, uint16_t flags,
                           const std::vector<std::vector<uint8_t>> &answers) {
    std::vector<uint8_t> m(query.begin(), query.end());
    m[2] = uint8_t(flags >> 8);
    m[3] = uint8_t(flags);
    m[7] = uint8_t(answers.size());
    // Drop anything after the question (c-ares sends none, but be exact).
    m.resize(12 + QNAME.size() + 4);
    for (auto &a : answers)
        m.insert(m.end(), a.begin(), a.end());
    return m;
}

}  // namespace

TEST(ResolverProbe, OpenRefusingSilentAndUnreachableResolvers) {
    if (!test::LocalDnsmasq::Available())
        GTEST_SKIP() << "/usr/sbin/dnsmasq absent (Debian dnsmasq-base; scripts/setup.sh installs it)";
    const uint16_t port = TestPort();
    const std::string open = Loopback(0), refusing = Loopback(1), nothing = Loopback(2), silent = Loopback(3),
                      norecurse = Loopback(4);
    test::LocalDnsmasq open_resolver(open, port, {"--txt-record=test.openresolver.com,open-resolver-detected"});
    test::LocalDnsmasq refusing_resolver(refusing, port, {});  // no upstream: REFUSED for names it does not own
    ASSERT_TRUE(open_resolver.Running() && refusing_resolver.Running());
    test::UdpResponder never(silent, port, [](auto &, int) { return std::nullopt; });
    test::UdpResponder authoritative_only(norecurse, port,
                                          [](auto &q, int) { return Reply(q, 0x8500, {}); });  // AA, RD, RA=0

    ExclusionList loopback_allowed(true);
    ResolverProbeOptions o;
    o.port = port;
    o.timeout_ms = 300;
    o.retries = 1;
    // dnsmasq takes a moment to listen.
    bool up = false;
    for (int i = 0; i < 50 && !up; ++i) {
        auto r = Probe({open, refusing}, o, loopback_allowed);
        up = r[open].status == ResolverStatus::OPEN && r[refusing].status == ResolverStatus::NOT_OPEN;
        if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(up) << "the local dnsmasq on " << open << " / " << refusing << " port " << port << " never answered";

    auto got = Probe({open, refusing, nothing, silent, norecurse}, o, loopback_allowed);
    ASSERT_EQ(got.size(), 5u);
    EXPECT_EQ(got[open].status, ResolverStatus::OPEN);
    EXPECT_EQ(got[open].detail, "answer: \"open-resolver-detected\"");
    EXPECT_EQ(got[open].tries, 1);
    EXPECT_EQ(got[refusing].status, ResolverStatus::NOT_OPEN);
    EXPECT_EQ(got[refusing].detail, "rcode REFUSED");
    EXPECT_EQ(got[nothing].status, ResolverStatus::NO_ANSWER);
    EXPECT_EQ(got[nothing].detail, "port unreachable (ICMP error to the query)");
    EXPECT_EQ(got[nothing].tries, 1);  // final, not retried
    EXPECT_EQ(got[silent].status, ResolverStatus::NO_ANSWER);
    EXPECT_EQ(got[silent].detail, "timeout after 2 tries");
    EXPECT_EQ(never.Received(), 2);
    EXPECT_EQ(got[norecurse].status, ResolverStatus::NOT_OPEN);
    EXPECT_EQ(got[norecurse].detail, "no recursion (RA=0), NOERROR without an answer");
}

TEST(ResolverProbe, RetryAfterATimeoutGetsTheAnswer) {
    const uint16_t port = TestPort(1);
    const std::string address = Loopback(5);
    // Drops the first query, answers the second with a hostile TXT that still holds the marker.
    test::UdpResponder flaky(address, port, [](auto &q, int count) -> std::optional<std::vector<uint8_t>> {
        if (count == 1) return std::nullopt;
        return Reply(q, QR_RD_RA, {Record(16, Txt({"<b>open-resolver-detected</b>\x07"}))});
    });
    ResolverProbeOptions o;
    o.port = port;
    o.timeout_ms = 200;
    o.retries = 1;
    auto got = Probe({address}, o, ExclusionList(true));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[address].status, ResolverStatus::OPEN);
    EXPECT_EQ(got[address].tries, 2);
    EXPECT_EQ(got[address].detail, "answer: \"\\x3cb\\x3eopen-resolver-detected\\x3c/b\\x3e\\x07\"");
}

TEST(ResolverProbe, ExcludedTargetIsNeverSentAPacket) {
    const uint16_t port = TestPort(2);
    const std::string address = Loopback(6);
    test::UdpResponder listener(address, port, [](auto &, int) { return std::nullopt; });
    ResolverProbeOptions o;
    o.port = port;
    o.timeout_ms = 150;
    o.retries = 0;

    // Built-in list: loopback refused.
    TargetPartition partition;
    auto got = Probe({address}, o, ExclusionList(false), &partition);
    EXPECT_TRUE(got.empty());
    ASSERT_EQ(partition.refused.size(), 1u);
    EXPECT_EQ(partition.refused[0].reason, "127.0.0.0/8 loopback (RFC 1122)");

    // Loopback allowed, but the operator's list names the address.
    ExclusionList operator_list(true);
    operator_list.Add(*IpNetwork::Parse(address + "/32"), "test");
    got = Probe({address, "10.0.0.1"}, o, operator_list, &partition);
    EXPECT_TRUE(got.empty());
    ASSERT_EQ(partition.refused.size(), 2u);
    EXPECT_EQ(partition.refused[0].reason, "excluded by " + address + "/32 (test)");
    EXPECT_EQ(partition.refused[1].reason, "10.0.0.0/8 private use (RFC 1918)");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(listener.Received(), 0);

    // The same listener does see a probe that is allowed: the check above could have failed.
    got = Probe({address}, o, ExclusionList(true));
    EXPECT_EQ(got[address].detail, "timeout after 1 try");
    EXPECT_EQ(listener.Received(), 1);
}

TEST(ResolverProbe, RateLimitHolds) {
    // 20 targets where nothing listens (each answered at once by an ICMP port unreachable) at 10 per second:
    // the last may start only 1.9 s after the first.
    const uint16_t port = TestPort(3);
    std::vector<std::string> targets;
    for (int k = 10; k < 30; ++k)
        targets.push_back(Loopback(k));
    ResolverProbeOptions o;
    o.port = port;
    o.rate = 10;
    o.timeout_ms = 500;
    o.retries = 0;
    const auto start = std::chrono::steady_clock::now();
    auto got = Probe(targets, o, ExclusionList(true));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(got.size(), 20u);
    EXPECT_GE(seconds, 1.5);
    EXPECT_LT(seconds, 10.0);
    for (auto &[address, r] : got)
        EXPECT_EQ(r.status, ResolverStatus::NO_ANSWER) << address;
}

TEST(ResolverProbe, BadSettingsAreErrors) {
    ResolverProbeOptions o;
    o.rate = 0;
    EXPECT_THROW(ProbeResolvers({*IpAddress::Parse("127.0.0.1")}, ExclusionList(true), o, [](auto &&) {}),
                 std::runtime_error);
    o.rate = 10;
    o.name = std::string(300, 'a');
    EXPECT_THROW(ProbeResolvers({*IpAddress::Parse("127.0.0.1")}, ExclusionList(true), o, [](auto &&) {}),
                 std::runtime_error);
}

}  // namespace darkscope::probe
