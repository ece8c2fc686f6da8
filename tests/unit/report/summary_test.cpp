#include "report/summary.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "../aggregate/test_packets.hpp"
#include "test_store.hpp"

namespace darkscope {
namespace {

using testing::DAY0;

void Add(AggregateShard &shard, const char *src, const char *dst, uint16_t dport, TimestampNs ts,
         SensorIndex sensor) {
    shard.Observe(testing::SynPacket(src, dst, dport, ts), testing::SynProbe(dport), sensor);
}

}  // namespace

TEST(Summary, PerDayPerIpUsesDaysAndMonitoredAddresses) {
    {
        testing::SummaryTestStore test_store("darkscope_summary_test.db");
        auto &store = test_store.store;
        const auto &ids = test_store.ids;
        const int64_t unattributed = test_store.unattributed;
        AggregateShard shard;
        // Two days: 445/TCP 3 packets from 2 sources, 23/TCP 1 packet; 1 packet to no sensor.
        Add(shard, "192.0.2.1", "198.51.100.1", 445, DAY0, 0);
        Add(shard, "192.0.2.2", "198.51.100.2", 445, DAY0 + 10, 0);
        Add(shard, "192.0.2.1", "198.51.100.3", 445, DAY0 + 86400 * NS_PER_SEC, 0);
        Add(shard, "192.0.2.3", "198.51.100.4", 23, DAY0 + 86400 * NS_PER_SEC, 0);
        Add(shard, "192.0.2.9", "203.0.113.1", 23, DAY0, UNATTRIBUTED);
        CounterRows hourly;
        Rollup(shard, hourly);
        store->Begin();
        store->MergeHourlyCounters(hourly, ids, unattributed);
        auto chunks = ToSourceChunks(shard.Sources(), ids);
        store->MergeSources(chunks);
        store->Commit();

        Summary sum = Summarize(*store, SummaryOptions{});
        EXPECT_EQ(sum.days, 2);
        EXPECT_EQ(sum.monitored_addresses, 256u);
        EXPECT_EQ(sum.packets, 4u);
        EXPECT_EQ(sum.unique_sources, 3u);
        EXPECT_EQ(sum.unattributed_packets, 1u);
        ASSERT_EQ(sum.rows.size(), 2u);
        EXPECT_EQ(sum.rows[0].key, "445/TCP");
        EXPECT_EQ(sum.rows[0].unique_sources, 2u);  // over both days, not 2 + 1
        EXPECT_DOUBLE_EQ(sum.rows[0].per_day_per_ip, 3.0 / 2 / 256);
        EXPECT_DOUBLE_EQ(sum.rows[0].share, 0.75);

        SummaryOptions one_day;
        one_day.from_day = one_day.to_day = 20076;
        one_day.by = SummaryBy::SOURCE;
        Summary second = Summarize(*store, one_day);
        EXPECT_EQ(second.packets, 2u);
        ASSERT_EQ(second.rows.size(), 2u);

        SummaryOptions by_source;
        by_source.by = SummaryBy::SOURCE;
        Summary sources = Summarize(*store, by_source);
        ASSERT_FALSE(sources.rows.empty());
        EXPECT_EQ(sources.rows[0].key, "192.0.2.1");
        EXPECT_EQ(sources.rows[0].packets, 2u);
        EXPECT_EQ(sources.rows[0].destinations, 2u);
        EXPECT_DOUBLE_EQ(sources.rows[0].mean_interarrival_s, 86400.0);
        auto json = SummaryToJson(sources);
        EXPECT_EQ(json["rows"][0]["first_seen"], "2024-12-18T00:00:00Z");
        EXPECT_NE(SummaryToText(sum).find("445/TCP"), std::string::npos);
    }
}

}  // namespace darkscope

#include "../enrich/test_enrichment.hpp"
#include "pipeline/ingest.hpp"

namespace darkscope {

// Country, country x service and AS dimensions with exact unique sources, fingerprint tags with
// their evidence, and --exclude-research subtracting the research list's sources exactly.
TEST(Summary, CountriesAsnTagsAndExcludeResearch) {
    auto enrichment = testing::SmallEnrichment();
    {
        testing::SummaryTestStore test_store("darkscope_summary_enrich_test.db");
        auto &store = test_store.store;
        const auto &ids = test_store.ids;
        const int64_t unattributed = test_store.unattributed;
        store->SaveResearchNames({"Other"});  // so that the list's entry 1 gets store id 2
        LabelResearchForStore(*store, *enrichment);
        AggregateShard shard;
        shard.SetEnrichment(enrichment.get());
        auto add = [&](const char *src, uint16_t dport, int n, uint8_t fingerprints) {
            for (int i = 0; i < n; ++i) {
                ClassifiedPacket cp = testing::SynProbe(dport);
                cp.fingerprints = fingerprints;
                shard.Observe(testing::SynPacket(src, "198.51.100.1", dport, DAY0 + i * NS_PER_SEC), cp, 0);
            }
        };
        const uint8_t masscan = RuleBit(FingerprintRule::MASSCAN_IP_ID) | RuleBit(FingerprintRule::SYN_NO_OPTIONS);
        add("93.184.0.5", 23, 3, masscan);  // JP, AS64500, masscan on every packet
        add("93.184.1.5", 80, 2, 0);        // US, AS64500
        add("93.184.2.9", 23, 4, 0);        // US, AS64500, research ("Lab")
        add("93.184.200.1", 23, 1, 0);      // US, AS64501
        add("93.184.1.6", 23, 2, RuleBit(FingerprintRule::MASSCAN_IP_ID));  // two chance matches: no tag
        CounterRows hourly;
        Rollup(shard, hourly);
        store->Begin();
        store->MergeHourlyCounters(hourly, ids, unattributed);
        auto chunks = ToSourceChunks(shard.Sources(), ids);
        store->MergeSources(chunks);
        FileRecord f;
        f.content_hash = "ab";
        f.path = "x.pcap";
        f.format = "pcap";
        f.compression = "none";
        f.status = "complete";
        f.packets = 12;
        f.first_ts = DAY0;
        f.last_ts = DAY0;
        f.enrichment = enrichment->Describe();
        store->InsertFile(f);
        store->Commit();

        auto rows = [&](SummaryBy by, bool exclude) {
            SummaryOptions o;
            o.by = by;
            o.exclude_research = exclude;
            o.top = 0;
            std::map<std::string, std::pair<uint64_t, uint64_t>> out;
            Summary sum = Summarize(*store, o);
            for (auto &r : sum.rows) out[r.key] = {r.packets, r.unique_sources};
            return std::make_pair(sum, out);
        };
        using P = std::pair<uint64_t, uint64_t>;
        auto [by_country, country] = rows(SummaryBy::COUNTRY, false);
        EXPECT_EQ(country["JP"], P(3, 1));
        EXPECT_EQ(country["US"], P(9, 4));
        auto [by_cs, cs] = rows(SummaryBy::COUNTRY_SERVICE, false);
        EXPECT_EQ(cs["JP 23/TCP"], P(3, 1));
        EXPECT_EQ(cs["US 23/TCP"], P(7, 3));
        EXPECT_EQ(cs["US 80/TCP"], P(2, 1));
        auto [by_asn, asn] = rows(SummaryBy::ASN, false);
        EXPECT_EQ(asn["AS64500"], P(11, 4));
        EXPECT_EQ(asn["AS64501"], P(1, 1));
        EXPECT_NE(SummaryToText(by_asn).find("test AS"), std::string::npos);  // which data decided

        auto [excluded, ex] = rows(SummaryBy::COUNTRY, true);
        EXPECT_EQ(ex["US"], P(5, 3));
        EXPECT_EQ(ex["JP"], P(3, 1));
        EXPECT_EQ(excluded.packets, 8u);
        EXPECT_EQ(excluded.unique_sources, 4u);
        EXPECT_EQ(excluded.research_packets_excluded, 4u);
        auto [excluded_cs, exs] = rows(SummaryBy::COUNTRY_SERVICE, true);
        EXPECT_EQ(exs["US 23/TCP"], P(3, 2));

        auto [tags, tag] = rows(SummaryBy::TAG, false);
        EXPECT_EQ(tag.size(), 2u);
        EXPECT_EQ(tag["masscan"], P(3, 1));
        EXPECT_EQ(tag["irregular-syn"], P(3, 1));
        auto [sources, src] = rows(SummaryBy::SOURCE, false);
        for (auto &r : sources.rows) {
            if (r.key == "93.184.0.5") {
                ASSERT_EQ(r.tags.size(), 2u);
                EXPECT_EQ(r.tags[0], "masscan (masscan-ip-id 3/3)");
                EXPECT_EQ(r.name, "JP AS64500");
            }
            if (r.key == "93.184.2.9") {
                EXPECT_EQ(r.research, "Lab");
            }
        }
        auto [no_research, nr] = rows(SummaryBy::SOURCE, true);
        EXPECT_EQ(nr.count("93.184.2.9"), 0u);
        EXPECT_EQ(nr.size(), 4u);
    }
}

}  // namespace darkscope

namespace darkscope {

// Signature hits by source country (the NPA's table 3-2) and by category and country, and
// --exclude-research subtracting the research scanner's hits from every signature breakdown.
TEST(Summary, SignatureCountriesAndExcludeResearch) {
    auto enrichment = testing::SmallEnrichment();
    {
        testing::SummaryTestStore test_store("darkscope_summary_signature_country_test.db");
        auto &store = test_store.store;
        const auto &ids = test_store.ids;
        const int64_t unattributed = test_store.unattributed;
        LabelResearchForStore(*store, *enrichment);
        AggregateShard shard;
        shard.SetEnrichment(enrichment.get());
        auto add = [&](const char *src, int n, std::initializer_list<uint32_t> sids, uint8_t categories) {
            for (int i = 0; i < n; ++i) {
                Observation o = MakeObservation(testing::SynPacket(src, "198.51.100.1", 445, DAY0 + i * NS_PER_SEC),
                                                testing::SynProbe(445), 0);
                for (uint32_t sid : sids) o.signatures.sids[o.signatures.count++] = sid;
                o.signatures.categories = categories;
                shard.Observe(o);
            }
        };
        const uint8_t worm = 1u << 1, scan = 1u << 2;
        add("93.184.0.5", 3, {9200003, 9200011}, worm | scan);  // JP
        add("93.184.1.5", 2, {9200003}, worm);                  // US
        add("93.184.2.9", 4, {9200011}, scan);                  // US, research ("Lab")
        add("93.184.1.6", 5, {}, 0);                            // US, no hit
        CounterRows hourly;
        Rollup(shard, hourly);
        store->Begin();
        store->MergeHourlyCounters(hourly, ids, unattributed);
        store->Commit();

        auto rows = [&](SummaryBy by, bool exclude) {
            SummaryOptions o;
            o.by = by;
            o.exclude_research = exclude;
            o.top = 0;
            std::map<std::string, std::pair<uint64_t, uint64_t>> out;
            for (auto &r : Summarize(*store, o).rows) out[r.key] = {r.packets, r.unique_sources};
            return out;
        };
        using P = std::pair<uint64_t, uint64_t>;
        using Rows = std::map<std::string, P>;
        EXPECT_EQ(rows(SummaryBy::SIGNATURE_COUNTRY, false), (Rows{{"JP", P(3, 1)}, {"US", P(6, 2)}}));
        EXPECT_EQ(rows(SummaryBy::SIGNATURE_COUNTRY, true), (Rows{{"JP", P(3, 1)}, {"US", P(2, 1)}}));
        EXPECT_EQ(rows(SummaryBy::CATEGORY_COUNTRY, false),
                  (Rows{{"JP Worm", P(3, 1)}, {"JP Scan", P(3, 1)}, {"US Worm", P(2, 1)}, {"US Scan", P(4, 1)}}));
        EXPECT_EQ(rows(SummaryBy::CATEGORY_COUNTRY, true),
                  (Rows{{"JP Worm", P(3, 1)}, {"JP Scan", P(3, 1)}, {"US Worm", P(2, 1)}}));  // US Scan was all Lab's
        EXPECT_EQ(rows(SummaryBy::CATEGORY, true), (Rows{{"Worm", P(5, 2)}, {"Scan", P(3, 1)}}));
        auto sids = rows(SummaryBy::SIGNATURE, true);
        ASSERT_EQ(sids.size(), 2u);
        EXPECT_EQ(sids["sid 9200011"], P(3, 1));  // 7 packets from 2 sources, less Lab's 4 from 1
        EXPECT_EQ(sids["sid 9200003"], P(5, 2));

        SummaryOptions o;
        o.by = SummaryBy::SIGNATURE_COUNTRY;
        const Summary sum = Summarize(*store, o);
        EXPECT_EQ(SummaryToJson(sum)["by"], "signature-country");
        EXPECT_NE(SummaryToText(sum).find("country (signature hits)"), std::string::npos);
        EXPECT_EQ(ParseSummaryBy("signature-country"), SummaryBy::SIGNATURE_COUNTRY);
        EXPECT_EQ(ParseSummaryBy("category-country"), SummaryBy::CATEGORY_COUNTRY);
    }
}

// --compare: NPA Table 2-1's columns against the day before, and the rows outside the top N that are among
// the largest increases or decreases, a key gone since included.
TEST(Summary, CompareRanksChangesAndMovers) {
    {
        testing::SummaryTestStore test_store("darkscope_summary_compare_test.db");
        auto &store = test_store.store;
        const auto &ids = test_store.ids;
        const int64_t unattributed = test_store.unattributed;
        AggregateShard shard;
        const TimestampNs day2 = DAY0 + 86400 * NS_PER_SEC;
        auto add = [&](uint16_t port, int packets, TimestampNs ts) {
            for (int i = 0; i < packets; ++i) Add(shard, "192.0.2.1", "198.51.100.1", port, ts + i, 0);
        };
        add(445, 3, DAY0);  // day 1: 445 x3, 80 x2, 23 x1
        add(80, 2, DAY0);
        add(23, 1, DAY0);
        add(23, 4, day2);  // day 2: 23 x4, 445 x1, 8080 x1; 80 gone
        add(445, 1, day2);
        add(8080, 1, day2);
        CounterRows hourly;
        Rollup(shard, hourly);
        store->Begin();
        store->MergeHourlyCounters(hourly, ids, unattributed);
        store->Commit();

        SummaryOptions options;
        options.from_day = options.to_day = 20076;
        options.top = 1;
        options.compare = true;
        Summary sum = Summarize(*store, options);
        ASSERT_TRUE(sum.previous);
        EXPECT_EQ(sum.previous->from_day, 20075);
        EXPECT_EQ(sum.previous->packets, 6u);
        std::map<std::string, SummaryRow> rows;
        for (const SummaryRow &r : sum.rows) rows[r.key] = r;
        ASSERT_EQ(sum.rows.size(), 4u);
        EXPECT_EQ(sum.rows[0].key, "23/TCP");
        EXPECT_FALSE(sum.rows[0].outside_top);
        const SummaryRow &telnet = rows.at("23/TCP");
        EXPECT_EQ(telnet.rank, 1u);
        EXPECT_EQ(telnet.previous_rank, 3u);
        EXPECT_DOUBLE_EQ(telnet.change_per_day_per_ip, 3.0 / 256);
        EXPECT_DOUBLE_EQ(*telnet.change_percent, 300.0);
        EXPECT_EQ(telnet.increase_rank, 1u);
        EXPECT_EQ(telnet.decrease_rank, 0u);
        const SummaryRow &alt = rows.at("8080/TCP");  // new: no percentage
        EXPECT_TRUE(alt.outside_top);
        EXPECT_EQ(alt.previous_rank, 0u);
        EXPECT_FALSE(alt.change_percent);
        EXPECT_EQ(alt.increase_rank, 2u);
        const SummaryRow &smb = rows.at("445/TCP");
        EXPECT_EQ(smb.rank, 2u);
        EXPECT_EQ(smb.previous_rank, 1u);
        EXPECT_NEAR(*smb.change_percent, -200.0 / 3, 1e-9);
        EXPECT_EQ(smb.decrease_rank, 1u);  // -2 per day per IP like 80/TCP; ties go by key
        const SummaryRow &http = rows.at("80/TCP");  // gone since the day before
        EXPECT_EQ(http.rank, 0u);
        EXPECT_EQ(http.packets, 0u);
        EXPECT_EQ(http.previous_rank, 2u);
        EXPECT_DOUBLE_EQ(*http.change_percent, -100.0);
        EXPECT_EQ(http.decrease_rank, 2u);

        const nlohmann::json j = SummaryToJson(sum);
        EXPECT_EQ(j["previous"]["to"], "2024-12-18");
        EXPECT_EQ(j["rows"][3]["key"], "80/TCP");
        EXPECT_TRUE(j["rows"][3]["rank"].is_null());
        EXPECT_EQ(j["rows"][3]["previous_rank"], 2);
        EXPECT_TRUE(j["rows"][2]["change_percent"].is_null());  // 8080/TCP, new
        EXPECT_EQ(j["rows"][0]["increase_rank"], 1);
        const std::string text = SummaryToText(sum);
        EXPECT_NE(text.find("up"), std::string::npos);
        EXPECT_NE(text.find("+300.0%"), std::string::npos);
        EXPECT_NE(text.find("new"), std::string::npos);

        options.top = 0;  // every key in the top: none outside it
        for (const SummaryRow &r : Summarize(*store, options).rows) EXPECT_EQ(r.outside_top, r.rank == 0) << r.key;
    }
}

}  // namespace darkscope
