#include "aggregate/segment.hpp"

#include <gtest/gtest.h>

namespace darkscope {
namespace {

Segment Make(std::initializer_list<std::tuple<uint32_t, uint64_t, std::vector<uint32_t>>> rows) {
    Segment s;
    for (auto &[key, packets, sources] : rows) {
        SegmentRow &r = s.Row(key);
        r.packets += packets;
        r.bytes += packets * 60;
        r.v4.insert(r.v4.end(), sources.begin(), sources.end());
    }
    return s;
}

}  // namespace

TEST(Segment, EncodeDecodeRoundTripsAndNormalises) {
    Segment s = Make({{445, 3, {9, 7, 9}}, {23, 1, {0xFFFFFFFF}}, {0, 4, {9, 7, 9, 0xFFFFFFFF}}});
    SegmentRow &r = s.Row(23);
    r.v6.push_back(Ipv6Bytes{0x20, 0x01, 0x0d, 0xb8});
    r.v6.push_back(Ipv6Bytes{0x20, 0x01, 0x0d, 0xb8});
    std::string blob = s.Encode();
    auto back = Segment::Decode(blob);
    ASSERT_TRUE(back);
    ASSERT_EQ(back->Size(), 3u);
    EXPECT_EQ(back->Rows()[0].key, 0u);  // sorted by key
    EXPECT_EQ(back->Rows()[0].v4, (std::vector<uint32_t>{7, 9, 0xFFFFFFFF}));
    EXPECT_EQ(back->Rows()[1].key, 23u);
    EXPECT_EQ(back->Rows()[1].UniqueSources(), 2u);  // one IPv4, one IPv6 (the repeat is gone)
    EXPECT_EQ(back->Rows()[2].packets, 3u);
    EXPECT_EQ(back->Rows()[2].bytes, 180u);
    EXPECT_EQ(back->Packets(), 8u);
}

TEST(Segment, MergeOfNormalisedSegmentsIsAnOrderedUnion) {
    Segment a = Make({{80, 2, {1, 5}}, {443, 1, {5}}});
    Segment b = Make({{22, 1, {2}}, {80, 3, {5, 6}}});
    a.Normalize();
    b.Normalize();
    a.Merge(b);
    auto back = Segment::Decode(a.Encode());
    ASSERT_TRUE(back);
    ASSERT_EQ(back->Size(), 3u);
    EXPECT_EQ(back->Rows()[0].key, 22u);
    EXPECT_EQ(back->Rows()[1].packets, 5u);
    EXPECT_EQ(back->Rows()[1].v4, (std::vector<uint32_t>{1, 5, 6}));
    EXPECT_EQ(back->Rows()[2].v4, (std::vector<uint32_t>{5}));
}

TEST(Segment, MergeOfUnnormalisedSegmentsIsEqual) {
    Segment a = Make({{80, 2, {5, 1}}});
    Segment b = Make({{80, 3, {6, 5}}, {22, 1, {2}}});
    a.Merge(b);  // neither normalised: appended, then normalised by Encode
    auto back = Segment::Decode(a.Encode());
    ASSERT_TRUE(back);
    EXPECT_EQ(back->Rows()[1].v4, (std::vector<uint32_t>{1, 5, 6}));
}

TEST(Segment, RejectsCorruptBlobsWithoutReadingPastThem) {
    Segment s = Make({{445, 3, {1, 2, 3}}, {23, 1, {4}}});
    std::string blob = s.Encode();
    for (size_t cut = 1; cut < blob.size(); ++cut) EXPECT_FALSE(Segment::Decode(blob.substr(0, cut))) << cut;
    EXPECT_FALSE(Segment::Decode(std::string("\x02", 1)));                        // unknown version
    EXPECT_FALSE(Segment::Decode(std::string("\x01\xff\xff\xff\xff\x0f", 6)));    // absurd row count
    std::string extra = blob + "x";
    EXPECT_FALSE(Segment::Decode(extra));                                          // trailing bytes
    // A duplicate source (delta 0) breaks the order a merge relies on.
    // version 1, 1 row: key 1, 1 packet, 60 bytes, 2 IPv4 sources, 0 IPv6; sources 7, then 7 + 0
    EXPECT_FALSE(Segment::Decode(std::string("\x01\x01\x01\x01\x3c\x02\x00\x07\x00", 9)));
    EXPECT_TRUE(Segment::Decode(std::string("\x01\x01\x01\x01\x3c\x02\x00\x07\x01", 9)));  // 7, 8: fine
    EXPECT_TRUE(Segment::Decode(""));  // empty: no rows
}

}  // namespace darkscope
