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

// A scanner's day over a /20: the set turns into bits over its range, grows that range both ways, and
// turns into a Roaring bitmap once a far value would leave the bits sparse. Each step against std::set.
TEST(SmallU32Set, DenseRangeGrowsBothWaysThenGivesWayToTheBitmap) {
    for (const uint32_t base : {0u, 198u << 24 | 18u << 16 | 16u << 8, UINT32_MAX - 8191}) {
        SmallU32Set s;
        std::set<uint32_t> want;
        auto add = [&](std::vector<uint32_t> batch) {
            std::sort(batch.begin(), batch.end());
            batch.erase(std::unique(batch.begin(), batch.end()), batch.end());
            s.AddSorted(batch);
            want.insert(batch.begin(), batch.end());
            ASSERT_EQ(s.SortedValues(), std::vector<uint32_t>(want.begin(), want.end())) << base;
            ASSERT_EQ(s.Cardinality(), want.size()) << base;
        };
        std::mt19937 rng(base);
        std::vector<uint32_t> hour;
        for (int i = 0; i < 40; ++i)
            hour.push_back(base + 4096 + 64 + rng() % 1024);
        add(hour);
        EXPECT_EQ(s.HeldAs(), SmallU32Set::Form::ARRAY);
        hour.clear();
        for (int i = 0; i < 60; ++i)
            hour.push_back(base + 4096 + 64 + rng() % 1024);
        add(hour);
        ASSERT_EQ(s.HeldAs(), SmallU32Set::Form::DENSE) << base;
        // Values already held, below the range (not on a word boundary), and above it.
        add({base + 4096 + 64 + 7, base + 4096 + 3, base + 4096 + 2000});
        hour.clear();
        for (int i = 0; i < 3000; ++i)
            hour.push_back(base + 2 + rng() % 8000);
        add(hour);
        EXPECT_EQ(s.HeldAs(), SmallU32Set::Form::DENSE) << base;
        // A value far from the range: bits for it would be mostly zeros.
        add({base < (1u << 31) ? base + (1u << 30) : base - (1u << 30)});
        EXPECT_EQ(s.HeldAs(), SmallU32Set::Form::BITMAP) << base;
        add({base + 8191});
        SmallU32Set other;
        other.AddSorted(std::vector<uint32_t>(want.begin(), want.end()));
        other.Merge(s);
        EXPECT_EQ(other.SortedValues(), std::vector<uint32_t>(want.begin(), want.end()));
    }
}

// Sets merged into a dense one, and a dense one into the other forms.
TEST(SmallU32Set, DenseMergesWithEveryForm) {
    std::vector<uint32_t> dense_values;
    for (uint32_t v = 1000; v < 1400; v += 3)
        dense_values.push_back(v);
    auto make = [](std::vector<uint32_t> values) {
        SmallU32Set s;
        s.AddSorted(values);
        return s;
    };
    const std::vector<std::vector<uint32_t>> others = {{5}, {999, 1401}, {10, 20, 30, 40, 50, 60}, [] {
                                                           std::vector<uint32_t> v;
                                                           for (uint32_t x = 0; x < 3000; ++x)
                                                               v.push_back(x * 977);
                                                           return v;
                                                       }()};
    for (const auto &values : others) {
        std::set<uint32_t> want(dense_values.begin(), dense_values.end());
        want.insert(values.begin(), values.end());
        SmallU32Set a = make(dense_values);
        ASSERT_EQ(a.HeldAs(), SmallU32Set::Form::DENSE);
        a.Merge(make(values));
        EXPECT_EQ(a.SortedValues(), std::vector<uint32_t>(want.begin(), want.end()));
        SmallU32Set b = make(values);
        b.Merge(make(dense_values));
        EXPECT_EQ(b.SortedValues(), std::vector<uint32_t>(want.begin(), want.end()));
        EXPECT_EQ(b.Cardinality(), want.size());
    }
}

}  // namespace darkscope
