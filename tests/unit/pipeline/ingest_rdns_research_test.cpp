// Research scanners that only reverse DNS names (the store's rdns cache, filled by `enrich rdns`): ingest
// labels them in every dimension once their names are cached, summary --exclude-research then removes
// them exactly, and reports exactly what stays counted of the days ingested before.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "../enrich/test_enrichment.hpp"
#include "enrich/rdns_cache.hpp"
#include "pipeline/ingest.hpp"
#include "report/summary.hpp"
#include "synth/capture_writer.hpp"
#include "synth/packet_builder.hpp"

namespace darkscope {
namespace {

// The sources of the captures (SmallEnrichment: 93.184.0.0/24 JP, the rest US; "Lab" is 93.184.2.0/24
// and the names *.scan.lab.example).
constexpr const char *NAMED = "93.184.5.5";  // research only by its PTR name, once cached
constexpr const char *JP = "93.184.0.7";
constexpr const char *LAB = "93.184.2.9";  // research by network
constexpr const char *US = "93.184.1.8";

struct Probe {
    const char *src;
    bool tcp;  // a SYN, else a UDP datagram
    uint16_t dport;
    int count;
};
// What every capture of the test holds, at the hour it is written for.
const std::vector<Probe> PROBES = {
    {NAMED, true, 23, 3}, {NAMED, true, 445, 2}, {NAMED, false, 1900, 1},
    {JP, true, 23, 2},    {JP, false, 1900, 1},  {LAB, true, 445, 1},
    {US, true, 23, 4},
};
constexpr TimestampNs DAY = 1734480000LL * NS_PER_SEC;  // 2024-12-18T00:00:00Z

// One capture of PROBES to 198.51.100.0/24, starting `hour` hours into the day.
std::filesystem::path WriteCapture(const std::filesystem::path &dir, const std::string &stem, int hour) {
    synth::CaptureWriter writer(dir, stem, synth::WriterOptions{});
    uint8_t frame[synth::MAX_FRAME];
    TimestampNs ts = DAY + hour * SECONDS_PER_HOUR * NS_PER_SEC;
    uint32_t dst = 0xC6336401;  // 198.51.100.1
    for (const Probe &p : PROBES)
        for (int i = 0; i < p.count; ++i) {
            synth::Ipv4Header ip;
            ip.src = IpAddress::Parse(p.src)->V4HostOrder();
            ip.dst = dst++;
            ip.id = uint16_t(1000 + i);
            size_t len;
            if (p.tcp) {
                synth::TcpHeader tcp;
                tcp.sport = 40000;
                tcp.dport = p.dport;
                tcp.seq = 12345u + uint32_t(i);
                tcp.window = 1024;
                const size_t l4 = synth::TcpLength(tcp);
                synth::WriteEthIpv4(frame, ip, synth::PROTO_TCP, l4);
                synth::WriteTcp(frame, synth::ETH_LEN, false, tcp);
                len = synth::ETH_LEN + synth::IPV4_LEN + l4;
            } else {
                const uint8_t payload[] = {'M', '-', 'S', 'E', 'A', 'R', 'C', 'H'};
                synth::WriteEthIpv4(frame, ip, synth::PROTO_UDP, synth::UDP_LEN + sizeof payload);
                len = synth::ETH_LEN + synth::IPV4_LEN +
                      synth::WriteUdp(frame, synth::ETH_LEN, false, 50000, p.dport, payload);
            }
            writer.Write(ts, frame, len);
            ts += NS_PER_SEC;
        }
    writer.Close();
    return writer.Files().at(0);
}

using Rows = std::map<std::string, std::pair<uint64_t, uint64_t>>;  // key -> packets, unique sources

// The packets and sources of `sources` in each key of `by`, as one capture of PROBES gives them, times `copies`.
Rows Expected(SummaryBy by, const std::vector<std::string> &sources, int copies) {
    std::map<std::string, std::pair<uint64_t, std::set<std::string>>> acc;
    for (const Probe &p : PROBES) {
        if (std::find(sources.begin(), sources.end(), p.src) == sources.end()) continue;
        const std::string service = std::to_string(p.dport) + (p.tcp ? "/TCP" : "/UDP");
        const std::string country = std::string(p.src).rfind("93.184.0.", 0) == 0 ? "JP" : "US";
        const std::string key = by == SummaryBy::SERVICE ? service
                                : by == SummaryBy::CLASS ? (p.tcp ? "syn-probe" : "udp-probe")
                                                         : country;
        acc[key].first += uint64_t(p.count * copies);
        acc[key].second.insert(p.src);
    }
    Rows out;
    for (auto &[key, v] : acc) out[key] = {v.first, v.second.size()};
    return out;
}

// a - b, key by key (keys that end at zero packets are dropped, as summary drops them).
Rows Minus(Rows a, const Rows &b) {
    for (auto &[key, v] : b) {
        a[key].first -= v.first;
        a[key].second -= v.second;
        if (a[key].first == 0) a.erase(key);
    }
    return a;
}

class IngestRdnsResearch : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("darkscope_ingest_rdns_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        list_ = dir_ / "research.toml";
        std::ofstream(list_) << testing::SMALL_RESEARCH_LIST;
        morning_ = WriteCapture(dir_, "morning", 1);
        evening_ = WriteCapture(dir_, "evening", 18);
        sensor_.name = "s1";
        sensor_.networks = {*IpNetwork::Parse("198.51.100.0/24")};
        sensor_.addresses = 256;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::unique_ptr<Store> OpenStore(const std::string &name) { return Store::OpenSqlite((dir_ / name).string()); }

    // What `darkscope ingest` does: label research sources for the store (now with its rdns cache),
    // then ingest on two aggregation threads that share the enrichment.
    size_t IngestFiles(Store &store, const std::vector<std::filesystem::path> &files) {
        auto enrichment = testing::SmallEnrichment();
        const size_t by_rdns = LabelResearchForStore(store, *enrichment);
        IngestOptions options;
        options.threads = 2;
        options.enrichment = enrichment.get();
        IngestSummary result = Ingest(store, SensorMap::FromSensors({sensor_}), files, options);
        EXPECT_EQ(result.Count(FileStatus::INGESTED), files.size());
        return by_rdns;
    }

    Summary Summarise(Store &store, SummaryBy by, bool exclude) {
        SummaryOptions o;
        o.by = by;
        o.top = 0;
        o.exclude_research = exclude;
        o.research_list = list_.string();
        return Summarize(store, o);
    }
    Rows RowsOf(Store &store, SummaryBy by, bool exclude) {
        Rows out;
        for (auto &r : Summarise(store, by, exclude).rows) out[r.key] = {r.packets, r.unique_sources};
        return out;
    }

    static void CacheName(Store &store, const char *address, const char *name) {
        store.Begin();
        store.PutRdns(Store::RdnsRecord{address, name, name[0] ? "ok" : "nxdomain", "2024-12-20T00:00:00Z"});
        store.Commit();
    }

    std::filesystem::path dir_, list_, morning_, evening_;
    Sensor sensor_;
};

constexpr SummaryBy BREAKDOWNS[] = {SummaryBy::SERVICE, SummaryBy::CLASS, SummaryBy::COUNTRY};
const char *ByName(SummaryBy by) {
    return by == SummaryBy::SERVICE ? "service" : by == SummaryBy::CLASS ? "class" : "country";
}

}  // namespace

TEST_F(IngestRdnsResearch, CachedNameLabelsTheSourceInEveryCount) {
    auto store = OpenStore("store.db");
    CacheName(*store, NAMED, "probe1.scan.lab.example");
    CacheName(*store, JP, "dsl-7.isp.example");  // a name, but no pattern of the list
    CacheName(*store, US, "");                   // no name at all
    EXPECT_EQ(IngestFiles(*store, {morning_}), 1u);

    for (SummaryBy by : BREAKDOWNS) {
        SCOPED_TRACE(ByName(by));
        const Rows all = RowsOf(*store, by, false);
        EXPECT_EQ(all, Expected(by, {NAMED, JP, LAB, US}, 1));
        // Exactly the named source's and the Lab network's packets and sources leave every key.
        EXPECT_EQ(RowsOf(*store, by, true), Minus(all, Expected(by, {NAMED, LAB}, 1)));
    }
    Summary s = Summarise(*store, SummaryBy::SERVICE, true);
    EXPECT_EQ(s.packets, 7u);  // JP 3 + US 4
    EXPECT_EQ(s.unique_sources, 2u);
    EXPECT_EQ(s.research_packets_excluded, 7u);  // NAMED 6 + LAB 1
    EXPECT_EQ(s.research_residual.Packets(), 0u);
    EXPECT_EQ(s.research_residual.rdns_sources, 0u);
    EXPECT_EQ(SummaryToText(s).find("NOT excluded"), std::string::npos);
    EXPECT_EQ(SummaryToJson(s)["research_not_excluded"]["packets"], 0);

    // The source's record names the research entry it matched, as an AS/network label does.
    SummaryOptions by_source;
    by_source.by = SummaryBy::SOURCE;
    by_source.research_list = list_.string();
    std::map<std::string, std::string> research;
    for (auto &r : Summarize(*store, by_source).rows) research[r.key] = r.research;
    EXPECT_EQ(research[NAMED], "Lab");  // not "Lab (reverse DNS)": labelled at ingest
    EXPECT_EQ(research[JP], "");
}

// Without the name in the cache, the same capture counts the source: the labelling above is the cache's doing.
TEST_F(IngestRdnsResearch, WithoutTheCachedNameTheSourceStaysCounted) {
    auto store = OpenStore("store.db");
    EXPECT_EQ(IngestFiles(*store, {morning_}), 0u);
    for (SummaryBy by : BREAKDOWNS) {
        SCOPED_TRACE(ByName(by));
        EXPECT_EQ(RowsOf(*store, by, true), Expected(by, {NAMED, JP, US}, 1));
    }
}

// The name is cached after the day was ingested: the counters cannot be corrected, and summary says by
// how much, exactly; a day whose files came in before and after the name was cached is reported too.
// Re-ingesting into a fresh store that copies the cache counts the period without the source.
TEST_F(IngestRdnsResearch, ResidualOfDaysIngestedBeforeTheNameAndItsFix) {
    auto store = OpenStore("old.db");
    IngestFiles(*store, {morning_});
    const Rows before = RowsOf(*store, SummaryBy::SERVICE, true);
    CacheName(*store, NAMED, "probe1.scan.lab.example");

    Summary s = Summarise(*store, SummaryBy::SERVICE, true);
    EXPECT_EQ(RowsOf(*store, SummaryBy::SERVICE, true), before);  // the counts cannot change...
    EXPECT_EQ(s.research_residual.rdns_sources, 1u);               // ...but what they still hold is said
    EXPECT_EQ(s.research_residual.rdns_packets, 6u);
    EXPECT_EQ(s.research_residual.partly_labelled_days, 0u);
    EXPECT_EQ(s.research_residual.Packets(), 6u);
    const std::string text = SummaryToText(s);
    EXPECT_NE(text.find("research scanners NOT excluded: 6 packets"), std::string::npos) << text;
    EXPECT_NE(text.find("1 source that reverse DNS names research scanners"), std::string::npos) << text;
    // Only the names travel with --rdns-from: the fresh store needs the sensors again.
    EXPECT_NE(text.find("--rdns-from " + store->Location() + " --sensors"), std::string::npos) << text;
    auto json = SummaryToJson(s);
    EXPECT_EQ(json["research_not_excluded"]["packets"], 6);
    EXPECT_EQ(json["research_not_excluded"]["rdns_sources"], 1);
    EXPECT_NE(json["research_not_excluded"]["fix"].get<std::string>().find("--rdns-from"), std::string::npos);
    // Without --exclude-research nothing is subtracted, so there is nothing to report.
    EXPECT_EQ(Summarise(*store, SummaryBy::SERVICE, false).research_residual.Packets(), 0u);

    // The evening file of the same day, ingested now that the name is cached: its packets are labelled,
    // the morning's stay counted, and the day's merged record carries the label.
    EXPECT_EQ(IngestFiles(*store, {evening_}), 1u);
    s = Summarise(*store, SummaryBy::SERVICE, true);
    EXPECT_EQ(s.research_residual.rdns_sources, 0u);
    EXPECT_EQ(s.research_residual.partly_labelled_days, 1u);
    EXPECT_EQ(s.research_residual.partly_labelled_packets, 6u);
    EXPECT_EQ(s.packets, 2 * 7u + 6u);  // JP and US twice, the morning's NAMED packets
    EXPECT_NE(SummaryToText(s).find("1 day ingested partly before a source's label was known: 6 packets"),
              std::string::npos);

    // The fix: a fresh store with the old one's names, the same captures.
    auto fresh = OpenStore("fresh.db");
    {
        auto old = Store::OpenSqliteReadOnly(store->Location());
        EXPECT_EQ(CopyRdnsCache(*old, *fresh).copied, 1u);
    }
    EXPECT_EQ(IngestFiles(*fresh, {morning_, evening_}), 1u);
    s = Summarise(*fresh, SummaryBy::SERVICE, true);
    EXPECT_EQ(s.research_residual.Packets(), 0u);
    EXPECT_EQ(s.packets, 2 * 7u);
    for (SummaryBy by : BREAKDOWNS) {
        SCOPED_TRACE(ByName(by));
        EXPECT_EQ(RowsOf(*fresh, by, true), Expected(by, {JP, US}, 2));
    }
}

// --rdns-from: the other store is only read, and an answer is never replaced by an older one.
TEST_F(IngestRdnsResearch, CopyRdnsCacheKeepsTheNewerAnswerAndOnlyReads) {
    const std::string old_path = (dir_ / "old.db").string();
    {
        auto old = Store::OpenSqlite(old_path);
        old->Begin();
        old->PutRdns({"93.184.5.5", "probe1.scan.lab.example", "ok", "2024-12-20T00:00:00Z"});
        old->PutRdns({"93.184.0.7", "old-name.isp.example", "ok", "2024-12-01T00:00:00Z"});
        old->PutRdns({"93.184.1.8", "", "nxdomain", "2024-12-20T00:00:00Z"});
        old->Commit();
    }
    auto into = OpenStore("new.db");
    into->Begin();
    into->PutRdns({"93.184.0.7", "new-name.isp.example", "ok", "2024-12-10T00:00:00Z"});
    into->Commit();

    RdnsCopyCounts counts;
    {
        auto old = Store::OpenSqliteReadOnly(old_path);
        EXPECT_THROW(old->PutRdns({"192.0.2.1", "x.example", "ok", ""}), StoreError);
        counts = CopyRdnsCache(*old, *into);
    }
    EXPECT_EQ(counts.copied, 2u);
    EXPECT_EQ(counts.kept_newer, 1u);
    std::map<std::string, std::string> names;
    into->ScanRdns([&](const Store::RdnsRecord &r) { names[r.address] = r.name + "|" + r.status; });
    EXPECT_EQ(names["93.184.5.5"], "probe1.scan.lab.example|ok");
    EXPECT_EQ(names["93.184.0.7"], "new-name.isp.example|ok");
    EXPECT_EQ(names["93.184.1.8"], "|nxdomain");
    size_t old_records = 0;
    Store::OpenSqlite(old_path)->ScanRdns([&](const Store::RdnsRecord &) { ++old_records; });
    EXPECT_EQ(old_records, 3u);  // the failed write left nothing

    // The copied names label the source at the next ingest into the new store.
    auto enrichment = testing::SmallEnrichment();
    EXPECT_EQ(LabelResearchForStore(*into, *enrichment), 1u);
    EXPECT_NE(enrichment->Lookup(*IpAddress::Parse("93.184.5.5")).research, 0);

    EXPECT_THROW(Store::OpenSqliteReadOnly((dir_ / "absent.db").string()), StoreError);  // never created
    EXPECT_FALSE(std::filesystem::exists(dir_ / "absent.db"));
}

}  // namespace darkscope
