#include "report/summary.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "../aggregate/test_packets.hpp"

namespace darkscope {
namespace {

using testing::DAY0;

void Add(AggregateShard &shard, const char *src, const char *dst, uint16_t dport, TimestampNs ts,
         SensorIndex sensor) {
    shard.Observe(testing::SynPacket(src, dst, dport, ts), testing::SynProbe(dport), sensor);
}

}  // namespace

TEST(Summary, PerDayPerIpUsesDaysAndMonitoredAddresses) {
    auto path = std::filesystem::temp_directory_path() / "darkscope_summary_test.db";
    for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
    {
        auto store = Store::OpenSqlite(path.string());
        Sensor s;
        s.name = "s1";
        s.networks = {*IpNetwork::Parse("198.51.100.0/24")};
        s.addresses = 256;
        auto ids = store->SaveSensors({s});
        auto unattributed = store->UnattributedSensorId();
        AggregateShard shard;
        // Two days: 445/TCP 3 packets from 2 sources, 23/TCP 1 packet; 1 packet to no sensor.
        Add(shard, "192.0.2.1", "198.51.100.1", 445, DAY0, 0);
        Add(shard, "192.0.2.2", "198.51.100.2", 445, DAY0 + 10, 0);
        Add(shard, "192.0.2.1", "198.51.100.3", 445, DAY0 + 86400 * NS_PER_SEC, 0);
        Add(shard, "192.0.2.3", "198.51.100.4", 23, DAY0 + 86400 * NS_PER_SEC, 0);
        Add(shard, "192.0.2.9", "203.0.113.1", 23, DAY0, UNATTRIBUTED);
        CounterRows hourly, daily;
        Rollup(shard, hourly, daily);
        store->Begin();
        store->MergeCounters(Granularity::HOUR, hourly, ids, unattributed);
        store->MergeCounters(Granularity::DAY, daily, ids, unattributed);
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
    for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
}

}  // namespace darkscope
