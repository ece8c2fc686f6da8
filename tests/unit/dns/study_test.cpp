// The DNS study's records: capped sets, the gap histogram's median, zones, the per-packet fold and the
// store's round trip and merge.

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <map>

#include "classify/classifier.hpp"
#include "decode/decoded_packet.hpp"
#include "dns/study.hpp"
#include "dns/tables.hpp"
#include "store/store.hpp"

namespace darkscope::dns {
namespace {

TEST(CappedSet, ExactBelowTheCapAndCappedUnionsStayCapped) {
    CappedSet a, b;
    for (uint64_t i = 0; i < 10; ++i) a.Add(i * 7);
    a.Add(14);  // already there
    EXPECT_EQ(a.Count(), 10u);
    EXPECT_FALSE(a.capped);
    for (uint64_t i = 0; i < 10; ++i) b.Add(i * 7 + 1);
    a.Merge(b);
    EXPECT_EQ(a.Count(), 20u);
    EXPECT_TRUE(std::is_sorted(a.hashes.begin(), a.hashes.end()));

    CappedSet big;
    for (uint64_t i = 0; i < CappedSet::CAP + 5; ++i) big.Add(i);
    EXPECT_TRUE(big.capped);
    EXPECT_EQ(big.Count(), CappedSet::CAP);
    EXPECT_EQ(big.Describe(), "1024+");
    CappedSet small;
    small.Add(1);
    small.Merge(big);
    EXPECT_TRUE(small.capped);
    // Two halves that only together pass the cap.
    CappedSet lo, hi;
    for (uint64_t i = 0; i < 600; ++i) lo.Add(i);
    for (uint64_t i = 600; i < 1200; ++i) hi.Add(i);
    lo.Merge(hi);
    EXPECT_TRUE(lo.capped);
    EXPECT_EQ(lo.Count(), CappedSet::CAP);
}

TEST(GapHistogram, MedianWithinItsBucket) {
    GapHistogram h;
    EXPECT_EQ(h.MedianSeconds(), 0.0);
    // Gaps of 1, 2, 3, 100 and 200 seconds: the median is 3 s.
    for (double s : {1.0, 2.0, 3.0, 100.0, 200.0}) h.Add(TimestampNs(s * 1e9));
    EXPECT_NEAR(h.MedianSeconds(), 3.0, 3.0 * 0.063);
    GapHistogram other;
    for (int i = 0; i < 10; ++i) other.Add(TimestampNs(50e9));
    h.Merge(other);
    EXPECT_EQ(h.Count(), 15u);
    EXPECT_NEAR(h.MedianSeconds(), 50.0, 50.0 * 0.063);
    GapHistogram zero;
    zero.Add(0);
    EXPECT_EQ(zero.MedianSeconds(), 0.0);
}

TEST(ZoneOf, RegistrableDomainWithEscapesKeptApart) {
    EXPECT_EQ(ZoneOf("a1b2c3.victim-shop.example"), "victim-shop.example");
    EXPECT_EQ(ZoneOf("www.example.co.jp"), "example.co.jp");
    EXPECT_EQ(ZoneOf("isc.org"), "isc.org");
    EXPECT_EQ(ZoneOf("version.bind"), "version.bind");
    EXPECT_EQ(ZoneOf("."), ".");
    EXPECT_EQ(ZoneOf("com"), "com");
    // An escaped dot is part of a label, not a boundary; such names skip the suffix list.
    EXPECT_EQ(ZoneOf("x.a\\.b.evil\\032zone.com"), "evil\\032zone.com");
    EXPECT_EQ(ZoneOf("a.b\\.c"), "a.b\\.c");
}

TEST(QtypeRcodeNames, KnownAndGeneric) {
    EXPECT_EQ(QtypeName(255), "ANY");
    EXPECT_EQ(QtypeName(65534), "TYPE65534");
    EXPECT_EQ(RcodeName(3), "NXDOMAIN");
    EXPECT_EQ(RcodeName(23), "RCODE23");
}

// A DNS message as a decoded packet would carry it.
struct Message {
    std::vector<uint8_t> bytes;
    DecodedPacket pkt;
    ClassifiedPacket cp;
    Message(const IpAddress &src, TimestampNs ts, bool response, const std::vector<std::string> &labels,
            uint16_t qtype, uint16_t rcode = 0) {
        const uint16_t flags = uint16_t((response ? 0x8000 : 0) | 0x0100 | rcode);
        for (uint16_t v : {uint16_t(0x1234), flags, uint16_t(1), uint16_t(response ? 1 : 0), uint16_t(0), uint16_t(0)}) {
            bytes.push_back(uint8_t(v >> 8));
            bytes.push_back(uint8_t(v));
        }
        for (auto &l : labels) {
            bytes.push_back(uint8_t(l.size()));
            bytes.insert(bytes.end(), l.begin(), l.end());
        }
        bytes.push_back(0);
        for (uint16_t v : {qtype, uint16_t(1)}) {
            bytes.push_back(uint8_t(v >> 8));
            bytes.push_back(uint8_t(v));
        }
        pkt.ts = ts;
        pkt.src = src;
        pkt.wire_len = uint32_t(bytes.size() + 42);
        pkt.payload = bytes.data();
        pkt.payload_len = uint32_t(bytes.size());
        cp.dns = DnsVerdict::BY_QR_BIT;
        cp.dns_qr = response;
    }
};

constexpr TimestampNs SEC = 1'000'000'000;
constexpr TimestampNs DAY0 = TimestampNs(17106) * 86400 * SEC;  // 2016-11-01

TEST(Accumulator, FoldsSourcesAndZones) {
    Accumulator acc;
    const IpAddress a = IpAddress::V4(0xC6336401), b = IpAddress::V4(0xC6336402);
    // Source a: three queries 10 s then 20 s apart, one name twice, in upper and lower case.
    Message q1(a, DAY0 + 100 * SEC, false, {"WWW", "Example", "com"}, 1);
    Message q2(a, DAY0 + 110 * SEC, false, {"www", "example", "com"}, 28);
    Message q3(a, DAY0 + 130 * SEC, false, {"x1", "victim-shop", "example"}, 255);
    // Source b: a response from port 53 with NXDOMAIN, and one that does not parse (decided by port).
    Message r1(b, DAY0 + 200 * SEC, true, {"x2", "victim-shop", "example"}, 1, 3);
    Message r2(b, DAY0 + 86400 * SEC + 5 * SEC, true, {"y"}, 1);
    r2.cp.dns = DnsVerdict::BY_PORT;
    for (Message *m : {&q1, &q2, &q3, &r1, &r2}) acc.Add(m->pkt, m->cp);
    Message not_dns(a, DAY0, false, {"z"}, 1);
    not_dns.cp.dns = DnsVerdict::NOT_DNS;
    acc.Add(not_dns.pkt, not_dns.cp);
    EXPECT_EQ(acc.Packets(), 5u);

    auto sources = acc.TakeSources();
    ASSERT_EQ(sources.size(), 3u);  // a on day 0, b on day 0, b on day 1
    const SourceDay &sa = sources[0];
    EXPECT_EQ(sa.address, a);
    EXPECT_EQ(sa.queries, 3u);
    EXPECT_EQ(sa.responses, 0u);
    EXPECT_EQ(sa.names.Count(), 2u);  // www.example.com (either case) and x1.victim-shop.example
    EXPECT_EQ(sa.qtypes.at(1), 1u);
    EXPECT_EQ(sa.qtypes.at(28), 1u);
    EXPECT_EQ(sa.qtypes.at(255), 1u);
    EXPECT_EQ(sa.examples, (std::vector<std::string>{"www.example.com", "x1.victim-shop.example"}));
    EXPECT_EQ(sa.gaps.Count(), 2u);
    EXPECT_NEAR(sa.MeanInterArrivalSeconds(), 15.0, 1e-9);
    EXPECT_NEAR(sa.gaps.MedianSeconds(), 10.0, 0.63);
    const SourceDay &sb0 = sources[1];
    EXPECT_EQ(sb0.responses, 1u);
    EXPECT_EQ(sb0.rcodes.at(3), 1u);
    EXPECT_EQ(sb0.answers, 1u);
    const SourceDay &sb1 = sources[2];
    EXPECT_EQ(sb1.by_port, 1u);
    EXPECT_TRUE(sb1.names.hashes.empty());

    auto zones = acc.TakeZones();
    ASSERT_EQ(zones.size(), 2u);  // example.com and victim-shop.example in hour 0
    EXPECT_EQ(zones[0].zone, "example.com");
    EXPECT_EQ(zones[0].queries, 2u);
    EXPECT_EQ(zones[0].names.Count(), 1u);
    EXPECT_EQ(zones[1].zone, "victim-shop.example");
    EXPECT_EQ(zones[1].queries, 1u);
    EXPECT_EQ(zones[1].responses, 1u);
    EXPECT_EQ(zones[1].names.Count(), 2u);
    EXPECT_EQ(zones[1].sources.Count(), 2u);
    EXPECT_TRUE(acc.Empty());
}

// More messages than the buffer holds: the records are folded whenever it fills, and each fold's pieces merge
// into the source-days of the folds before, so that every source-day comes out once, in (day, address) order,
// with all its messages and the gaps between them.
TEST(Accumulator, FoldsBufferfulsIntoOneRecordPerSourceDay) {
    Accumulator acc;
    Message m(IpAddress::V4(0), DAY0, false, {"www", "example", "com"}, 1);
    struct Tally {
        uint64_t queries = 0;
        TimestampNs first = 0, last = 0;
    };
    std::map<std::pair<int64_t, uint32_t>, Tally> expected;
    const size_t n = Accumulator::FLUSH_RECORDS + Accumulator::FLUSH_RECORDS / 4;
    for (size_t i = 0; i < n; ++i) {
        const uint32_t src = 0x0A000000 + uint32_t(i * 7919 % 1000);  // the sources in no order
        m.pkt.src = IpAddress::V4(src);
        m.pkt.ts = DAY0 + TimestampNs(i) * (SEC / 10);  // 1.5 days
        acc.Add(m.pkt, m.cp);
        Tally &t = expected[{DayOf(m.pkt.ts), src}];
        if (t.queries++ == 0) t.first = m.pkt.ts;
        t.last = m.pkt.ts;
    }
    const auto sources = acc.TakeSources();
    ASSERT_EQ(sources.size(), expected.size());
    size_t i = 0;
    for (const auto &[key, t] : expected) {  // the map's order is (day, address)
        const SourceDay &s = sources[i++];
        ASSERT_EQ(s.day, key.first);
        ASSERT_EQ(s.address, IpAddress::V4(key.second));
        EXPECT_EQ(s.queries, t.queries);
        EXPECT_EQ(s.first_ts, t.first);
        EXPECT_EQ(s.last_ts, t.last);
        EXPECT_EQ(s.gaps.Count(), t.queries - 1);
        EXPECT_EQ(s.qtypes.at(1), t.queries);
    }
}

// A fold orders the records by day, address and time whatever way they came: in time order (a radix sort on
// day and address), with time stepping back between files, or with IPv6 sources (a comparison sort). Each
// source-day's examples and gaps follow its records' time order, and IPv4 sources come before IPv6 ones.
TEST(Accumulator, OrdersEachSourceDayByTimeHoweverTheRecordsCame) {
    const IpAddress a = IpAddress::V4(0xC6336401), b = IpAddress::V4(0x0A000001);
    const IpAddress v6 = *IpAddress::Parse("2001:db8::1");
    struct In {
        IpAddress src;
        TimestampNs at;
        std::string label;
    };
    auto fold = [](const std::vector<In> &in) {
        Accumulator acc;
        for (const In &m : in) {
            Message msg(m.src, DAY0 + m.at * SEC, false, {m.label, "example"}, 1);
            acc.Add(msg.pkt, msg.cp);
        }
        return acc.TakeSources();
    };
    auto examples = [](const SourceDay &s) { return s.examples; };
    using Names = std::vector<std::string>;
    // In time order, the sources interleaved, and a second day.
    auto in_order = fold({{a, 100, "p"}, {b, 150, "r"}, {a, 200, "q"}, {b, 86400 + 10, "s"}, {a, 250, "t"}});
    ASSERT_EQ(in_order.size(), 3u);
    EXPECT_EQ(in_order[0].address, b);  // 10.0.0.1 before 198.51.100.1
    EXPECT_EQ(in_order[1].address, a);
    EXPECT_EQ(examples(in_order[1]), (Names{"p.example", "q.example", "t.example"}));
    EXPECT_EQ(in_order[1].first_ts, DAY0 + 100 * SEC);
    EXPECT_EQ(in_order[1].last_ts, DAY0 + 250 * SEC);
    EXPECT_NEAR(in_order[1].MeanInterArrivalSeconds(), 75.0, 1e-9);
    EXPECT_EQ(in_order[2].address, b);
    EXPECT_EQ(in_order[2].day, DayOf(DAY0) + 1);
    // Time steps back: the same source-days as if the records had come in time order.
    auto stepped = fold({{a, 200, "q"}, {b, 150, "r"}, {a, 250, "t"}, {b, 86400 + 10, "s"}, {a, 100, "p"}});
    ASSERT_EQ(stepped.size(), 3u);
    EXPECT_EQ(stepped[1].address, a);
    EXPECT_EQ(examples(stepped[1]), (Names{"p.example", "q.example", "t.example"}));
    EXPECT_NEAR(stepped[1].MeanInterArrivalSeconds(), 75.0, 1e-9);
    // An IPv6 source among them: after the IPv4 sources of its day.
    auto mixed = fold({{v6, 50, "v"}, {a, 100, "p"}, {v6, 120, "w"}, {a, 200, "q"}});
    ASSERT_EQ(mixed.size(), 2u);
    EXPECT_EQ(mixed[0].address, a);
    EXPECT_EQ(examples(mixed[0]), (Names{"p.example", "q.example"}));
    EXPECT_EQ(mixed[1].address, v6);
    EXPECT_EQ(examples(mixed[1]), (Names{"v.example", "w.example"}));
}

TEST(SourceDay, MergeCountsTheGapBetweenRecords) {
    SourceDay a, b;
    a.queries = 2;
    a.first_ts = 0;
    a.last_ts = 10 * SEC;
    a.gaps.Add(10 * SEC);
    b.queries = 1;
    b.first_ts = 40 * SEC;
    b.last_ts = 40 * SEC;
    a.Merge(b);
    EXPECT_EQ(a.Packets(), 3u);
    EXPECT_EQ(a.gaps.Count(), 2u);  // 10 s, and the 30 s between the records
    EXPECT_NEAR(a.MeanInterArrivalSeconds(), 20.0, 1e-9);
}

class DnsStoreTest : public ::testing::Test {
protected:
    std::string path_ = (std::filesystem::temp_directory_path() / ("dns_store_test_" + std::to_string(getpid()) + ".db")).string();
    void TearDown() override { std::filesystem::remove(path_); }
};

TEST_F(DnsStoreTest, RecordsRoundTripMergeAndMakeTheTables) {
    auto store = Store::OpenSqlite(path_);
    const IpAddress a = IpAddress::V4(0xC6336401), b = IpAddress::V4(0xC6336402);
    // Two files of the same day: the second adds to the first's record. A name holding markup stays as it was
    // parsed (presentation form): escaping is the writers' job.
    for (int file = 0; file < 2; ++file) {
        Accumulator acc;
        Message q(a, DAY0 + (100 + file * 50) * SEC, false, {"<script>", "victim-shop", "example"}, 1);
        Message r(b, DAY0 + (200 + file * 3600) * SEC, true, {"isc", "org"}, 255);
        acc.Add(q.pkt, q.cp);
        acc.Add(r.pkt, r.cp);
        store->Begin();
        store->MergeDnsSources(acc.TakeSources());
        store->MergeDnsZones(acc.TakeZones());
        store->Commit();
    }
    std::vector<SourceDay> read;
    store->ScanDnsSources(17106, 17106, [&](const SourceDay &s) { read.push_back(s); });
    ASSERT_EQ(read.size(), 2u);
    EXPECT_EQ(read[0].address, a);
    EXPECT_EQ(read[0].queries, 2u);
    EXPECT_EQ(read[0].gaps.Count(), 1u);  // the 50 s between the files' records
    EXPECT_EQ(read[0].names.Count(), 1u);
    EXPECT_EQ(read[0].examples, (std::vector<std::string>{"<script>.victim-shop.example"}));
    EXPECT_EQ(read[1].responses, 2u);
    std::vector<ZoneHour> zones;
    store->ScanDnsZones(17106 * 24, 17106 * 24 + 23, [&](const ZoneHour &z) { zones.push_back(z); });
    ASSERT_EQ(zones.size(), 3u);  // victim-shop.example hour 0 (both files), isc.org hours 0 and 1
    EXPECT_EQ(zones[0].zone, "isc.org");
    EXPECT_EQ(zones[1].zone, "victim-shop.example");
    EXPECT_EQ(zones[1].queries, 2u);
    EXPECT_EQ(zones[1].sources.Count(), 1u);

    const auto top = store->TopDnsZones(17106 * 24, 17106 * 24 + 23, 1);
    ASSERT_EQ(top.size(), 1u);  // isc.org: 2 responses over two hours, against victim-shop.example's 2 queries
    EXPECT_EQ(top[0].zone, "isc.org");
    EXPECT_EQ(top[0].responses, 2u);
    EXPECT_EQ(store->TopDnsZones(17106 * 24, 17106 * 24 + 23, 5).size(), 2u);

    EXPECT_FALSE(store->HasResolverProbes());
    store->PutResolverProbe({b.ToString(), "open", "answer", "", "probe"});
    EXPECT_TRUE(store->HasResolverProbes());
    StudyOptions options;
    options.from_day = options.to_day = 17106;
    const auto study = BuildStudy(*store, options);
    ASSERT_EQ(study["table4"].size(), 1u);
    EXPECT_EQ(study["table4"][0]["query_non_open"], 2);
    EXPECT_EQ(study["table4"][0]["response_open"], 2);
    EXPECT_EQ(study["table3"][0]["open_unique"], 1);
    EXPECT_EQ(study["table3"][0]["non_open_unique"], 1);
    EXPECT_EQ(study["probes"]["not probed"], 1);
}

}  // namespace
}  // namespace darkscope::dns
