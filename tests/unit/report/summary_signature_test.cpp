// summary --by signature|category: hits named from the stored rules, sources exact across days.

#include <gtest/gtest.h>

#include <filesystem>

#include "../aggregate/test_packets.hpp"
#include "test_store.hpp"
#include "report/summary.hpp"

namespace darkscope {

TEST(SummarySignatures, BySignatureAndByCategory) {
    using testing::DAY0;
    {
        testing::SummaryTestStore test_store("darkscope_summary_signature_test.db");
        auto &store = test_store.store;
        const auto &ids = test_store.ids;
        const int64_t unattributed = test_store.unattributed;
        store->Begin();
        store->SaveSignatures({{9200001, 1, 1, "WORM SQL Slammer", "shellcode-detect", 1, "darkscope.rules:9"},
                               {9200020, 1, 1, "P2P BitTorrent DHT", "", 3, "darkscope.rules:20"}});
        store->Commit();
        AggregateShard shard;
        auto hit = [&](const char *src, TimestampNs ts, uint32_t sid, uint8_t category) {
            Observation o = MakeObservation(testing::SynPacket(src, "198.51.100.1", 1434, ts),
                                            testing::SynProbe(1434), 0);
            o.signatures.sids[o.signatures.count++] = sid;
            o.signatures.categories = uint8_t(1u << category);
            shard.Observe(o);
        };
        hit("192.0.2.1", DAY0, 9200001, 1);
        hit("192.0.2.1", DAY0 + 86400 * NS_PER_SEC, 9200001, 1);  // the next day, same source
        hit("192.0.2.2", DAY0, 9200001, 1);
        hit("192.0.2.3", DAY0, 9200020, 3);
        hit("192.0.2.4", DAY0, 4242, 7);  // a sid the store does not name
        CounterRows hourly;
        Rollup(shard, hourly);
        store->Begin();
        store->MergeHourlyCounters(hourly, ids, unattributed);
        store->Commit();

        SummaryOptions by_sig;
        by_sig.by = SummaryBy::SIGNATURE;
        Summary sum = Summarize(*store, by_sig);
        ASSERT_EQ(sum.rows.size(), 3u);
        EXPECT_EQ(sum.rows[0].key, "WORM SQL Slammer [9200001]");
        EXPECT_EQ(sum.rows[0].sid, 9200001u);
        EXPECT_EQ(sum.rows[0].category, "Worm");
        EXPECT_EQ(sum.rows[0].packets, 3u);
        EXPECT_EQ(sum.rows[0].unique_sources, 2u);
        EXPECT_EQ(sum.rows[2].key, "sid 4242");
        auto json = SummaryToJson(sum);
        EXPECT_EQ(json["rows"][0]["sid"], 9200001);
        EXPECT_NE(SummaryToText(sum).find("WORM SQL Slammer [9200001]"), std::string::npos);

        SummaryOptions by_cat;
        by_cat.by = SummaryBy::CATEGORY;
        Summary cats = Summarize(*store, by_cat);
        ASSERT_EQ(cats.rows.size(), 3u);
        EXPECT_EQ(cats.rows[0].key, "Worm");
        EXPECT_EQ(cats.rows[0].unique_sources, 2u);
        EXPECT_EQ(cats.rows[1].key, "Others");
        EXPECT_EQ(cats.rows[2].key, "Scan(P2P)");
        EXPECT_EQ(ParseSummaryBy("category"), SummaryBy::CATEGORY);

        // The latest load of a sid wins.
        store->SaveSignatures({{9200001, 1, 2, "WORM SQL Slammer v2", "", 1, "x.rules:1"}});
        auto stored = store->LoadSignatures();
        ASSERT_EQ(stored.size(), 2u);
        EXPECT_EQ(stored[0].msg, "WORM SQL Slammer v2");
        EXPECT_EQ(stored[0].rev, 2u);
    }
}

}  // namespace darkscope
