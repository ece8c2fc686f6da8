#include "aggregate/source_set.hpp"

#include <gtest/gtest.h>

#include <algorithm>

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

}  // namespace darkscope
