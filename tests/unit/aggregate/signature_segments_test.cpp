// Signature hits ride in the Observation and become SIGNATURE (key: sid) and SIGNATURE_CATEGORY
// (key: category) segments per hour and sensor, with exact unique sources.

#include <gtest/gtest.h>

#include <optional>

#include "aggregate/aggregator.hpp"
#include "test_packets.hpp"

namespace darkscope {
namespace {

using testing::DAY0;

Observation Hit(const char *src, TimestampNs ts, std::initializer_list<uint32_t> sids, uint8_t categories,
                SensorIndex sensor = 0) {
    Observation o = MakeObservation(testing::SynPacket(src, "198.51.100.1", 445, ts), testing::SynProbe(445), sensor);
    for (uint32_t sid : sids) o.signatures.sids[o.signatures.count++] = sid;
    o.signatures.categories = categories;
    return o;
}

std::optional<SegmentRowView> Row(CounterRows &rows, int32_t hour, Dimension dim, uint32_t key,
                                  SensorIndex sensor = 0) {
    auto it = rows.find(CounterKey{hour, sensor, dim});
    if (it == rows.end()) return std::nullopt;
    for (const SegmentRowView r : it->second.Rows())
        if (r.key == key) return r;
    return std::nullopt;
}

}  // namespace

TEST(SignatureSegments, HitsCountPerSidAndCategoryWithExactSources) {
    AggregateShard shard;
    const int32_t hour = int32_t(HourOf(DAY0));
    const TimestampNs s = NS_PER_SEC;
    shard.Observe(Hit("192.0.2.1", DAY0, {9200001, 9200003}, 1u << 1));  // two worm sids, one category
    shard.Observe(Hit("192.0.2.1", DAY0 + s, {9200001}, 1u << 1));
    shard.Observe(Hit("192.0.2.2", DAY0 + 2 * s, {9200001}, (1u << 1) | (1u << 2)));
    shard.Observe(Hit("192.0.2.3", DAY0 + 3 * s, {}, 0));  // no hit
    shard.Observe(Hit("192.0.2.4", DAY0 + 3600 * s, {9200010}, 1u << 2));  // the next hour
    CounterRows &rows = shard.HourlySegments();

    const auto slammer = Row(rows, hour, Dimension::SIGNATURE, 9200001);
    ASSERT_TRUE(slammer);
    EXPECT_EQ(slammer->packets, 3u);
    EXPECT_EQ(slammer->bytes, 180u);
    EXPECT_EQ(slammer->UniqueSources(), 2u);
    ASSERT_TRUE(Row(rows, hour, Dimension::SIGNATURE, 9200003));
    EXPECT_EQ(Row(rows, hour, Dimension::SIGNATURE, 9200003)->packets, 1u);
    EXPECT_FALSE(Row(rows, hour, Dimension::SIGNATURE, 9200010));

    const auto worm = Row(rows, hour, Dimension::SIGNATURE_CATEGORY, 1);
    ASSERT_TRUE(worm);
    EXPECT_EQ(worm->packets, 3u);  // a packet counts once per category however many sids it hit
    EXPECT_EQ(worm->UniqueSources(), 2u);
    ASSERT_TRUE(Row(rows, hour, Dimension::SIGNATURE_CATEGORY, 2));
    EXPECT_EQ(Row(rows, hour, Dimension::SIGNATURE_CATEGORY, 2)->packets, 1u);
    ASSERT_TRUE(Row(rows, hour + 1, Dimension::SIGNATURE_CATEGORY, 2));
    EXPECT_EQ(Row(rows, hour + 1, Dimension::SIGNATURE, 9200010)->UniqueSources(), 1u);
    // The other dimensions still count every packet.
    EXPECT_EQ((rows[CounterKey{hour, 0, Dimension::TOTAL}].Packets()), 4u);
}

TEST(SignatureSegments, MergedShardsUniteSources) {
    AggregateShard a, b;
    a.Observe(Hit("192.0.2.1", DAY0, {7}, 1u << 5));
    b.Observe(Hit("192.0.2.1", DAY0, {7}, 1u << 5));
    b.Observe(Hit("2001:db8::1", DAY0, {7}, 1u << 5));
    a.Merge(std::move(b));
    const auto row = Row(a.HourlySegments(), int32_t(HourOf(DAY0)), Dimension::SIGNATURE, 7);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->packets, 3u);
    EXPECT_EQ(row->UniqueSources(), 2u);
}

TEST(SignatureSegments, TruncatedHitsAreCountedAsAnEvent) {
    AggregateShard shard;
    Observation o = Hit("192.0.2.1", DAY0, {1, 2, 3, 4}, 1u << 7);
    o.signatures.truncated = true;
    shard.Observe(o);
    uint64_t truncated = 0;
    shard.Events().ForEach([&](const EventKey &k, uint64_t n) {
        if (k.event == EVENT_SIGNATURE_HITS_TRUNCATED) truncated += n;
    });
    EXPECT_EQ(truncated, 1u);
    EXPECT_EQ(EventName(EVENT_SIGNATURE_HITS_TRUNCATED), "signature.hits_truncated");
}

}  // namespace darkscope
