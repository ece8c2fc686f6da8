#include "aggregate/source_set.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace darkscope {

TEST(SourceSet, CountsExactlyAcrossFamiliesAndMergesThroughSerialisation) {
    SourceSet a, b;
    for (uint32_t i = 0; i < 1000; ++i) a.Add(IpAddress::V4(0x0A000000 + i));
    for (uint32_t i = 500; i < 1500; ++i) b.Add(IpAddress::V4(0x0A000000 + i));
    a.Add(*IpAddress::Parse("2001:db8::1"));
    a.Add(*IpAddress::Parse("2001:db8::1"));
    b.Add(*IpAddress::Parse("2001:db8::2"));
    EXPECT_EQ(a.Cardinality(), 1001u);
    EXPECT_EQ(b.Cardinality(), 1001u);

    SourceSet restored;
    ASSERT_TRUE(restored.MergeSerialized(a.SerializeV4(), a.SerializeV6()));
    ASSERT_TRUE(restored.MergeSerialized(b.SerializeV4(), b.SerializeV6()));
    EXPECT_EQ(restored.Cardinality(), 1500u + 2u);
}

TEST(SourceSet, RejectsMalformedBlobs) {
    SourceSet s;
    EXPECT_FALSE(s.MergeSerialized("", std::string(15, 'x')));  // not a whole IPv6 address
    EXPECT_FALSE(s.MergeSerialized("garbage-not-roaring", ""));
    EXPECT_EQ(s.Cardinality(), 0u);
}

TEST(SmallU32Set, StaysInlineThenSpillsWithoutLosingValues) {
    SmallU32Set s;
    for (uint32_t v : {5u, 5u, 7u, 9u}) s.Add(v);
    EXPECT_EQ(s.Cardinality(), 3u);
    for (uint32_t v = 100; v < 200; ++v) s.Add(v);
    EXPECT_EQ(s.Cardinality(), 103u);
    SmallU32Set t;
    t.Add(5);
    t.Add(1000);
    t.Merge(s);
    EXPECT_EQ(t.Cardinality(), 104u);
    auto values = t.SortedValues();
    EXPECT_TRUE(std::binary_search(values.begin(), values.end(), 1000u));
}

// Inline, array and bitmap modes, and merges between them, against std::set over random inputs.
TEST(SmallU32Set, EveryModeAndMergeAgreesWithAnOrderedSet) {
    std::mt19937 rng(11);
    for (int round = 0; round < 200; ++round) {
        const uint32_t span = 1 + rng() % (round % 4 == 0 ? 5000 : 300);
        SmallU32Set a, b;
        std::set<uint32_t> want_a, want_b;
        const int steps = 1 + int(rng() % 40);
        for (int step = 0; step < steps; ++step) {
            SmallU32Set &set = rng() % 2 ? a : b;
            std::set<uint32_t> &want = &set == &a ? want_a : want_b;
            if (rng() % 3 == 0) {
                const uint32_t v = rng() % span;
                set.Add(v);
                want.insert(v);
            } else {
                std::set<uint32_t> batch;
                const size_t n = rng() % 120;
                for (size_t i = 0; i < n; ++i) batch.insert(rng() % span);
                const std::vector<uint32_t> sorted(batch.begin(), batch.end());
                set.AddSorted(sorted);
                want.insert(batch.begin(), batch.end());
            }
        }
        ASSERT_EQ(a.SortedValues(), std::vector<uint32_t>(want_a.begin(), want_a.end())) << "round " << round;
        ASSERT_EQ(b.Cardinality(), want_b.size()) << "round " << round;
        a.Merge(b);
        want_a.insert(want_b.begin(), want_b.end());
        ASSERT_EQ(a.SortedValues(), std::vector<uint32_t>(want_a.begin(), want_a.end())) << "round " << round;
        ASSERT_EQ(a.Cardinality(), want_a.size());
        SmallU32Set moved = std::move(a);
        EXPECT_EQ(moved.Cardinality(), want_a.size());
        EXPECT_EQ(a.Cardinality(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty by design
    }
}

}  // namespace darkscope
