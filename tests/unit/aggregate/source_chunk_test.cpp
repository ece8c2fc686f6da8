#include "aggregate/source_chunk.hpp"

#include <gtest/gtest.h>

namespace darkscope {
namespace {

SourceDay Record(const char *src, uint64_t packets, TimestampNs first, TimestampNs last, std::vector<uint32_t> dsts) {
    SourceDay d;
    d.src = *IpAddress::Parse(src);
    d.packets = packets;
    d.bytes = packets * 60;
    d.first_ts = first;
    d.last_ts = last;
    d.destinations = std::move(dsts);
    d.services = {0x10017};
    d.sensors = {1};
    return d;
}

}  // namespace

TEST(SourceChunk, RoundTripsBothFamiliesInAddressOrder) {
    std::vector<SourceDay> records = {Record("192.0.2.9", 3, 100, 300, {1, 2, 3}),
                                      Record("2001:db8::1", 1, -5, -5, {7}),  // before 1970: zigzag
                                      Record("192.0.2.1", 1, 50, 50, {})};
    auto back = DecodeSourceChunk(EncodeSourceChunk(records));
    ASSERT_TRUE(back);
    ASSERT_EQ(back->size(), 3u);
    // Ordered by address bytes: 2001:db8::1 starts with 0x20, before 192.
    EXPECT_EQ((*back)[0].src.ToString(), "2001:db8::1");
    EXPECT_EQ((*back)[0].first_ts, -5);
    EXPECT_EQ((*back)[1].src.ToString(), "192.0.2.1");
    EXPECT_EQ((*back)[2].destinations, (std::vector<uint32_t>{1, 2, 3}));
    EXPECT_DOUBLE_EQ((*back)[2].MeanInterArrivalSeconds(), 100e-9);
}

TEST(SourceChunk, MergeUnitesEqualSources) {
    std::vector<SourceDay> a = {Record("192.0.2.1", 2, 100, 200, {1, 5})};
    std::vector<SourceDay> b = {Record("192.0.2.1", 1, 50, 60, {5, 6}), Record("192.0.2.2", 1, 70, 70, {9})};
    auto merged = MergeSourceChunks(a, b);
    ASSERT_EQ(merged.size(), 2u);
    EXPECT_EQ(merged[0].packets, 3u);
    EXPECT_EQ(merged[0].first_ts, 50);
    EXPECT_EQ(merged[0].last_ts, 200);
    EXPECT_EQ(merged[0].destinations, (std::vector<uint32_t>{1, 5, 6}));
}

TEST(SourceChunk, RejectsEveryTruncationAndBadSets) {
    std::vector<SourceDay> records = {Record("192.0.2.9", 3, 100, 300, {1, 2, 3}), Record("198.51.100.1", 1, 1, 1, {})};
    std::string blob = EncodeSourceChunk(records);
    for (size_t cut = 0; cut < blob.size(); ++cut) EXPECT_FALSE(DecodeSourceChunk(blob.substr(0, cut))) << cut;
    EXPECT_FALSE(DecodeSourceChunk(blob + "x"));
    std::string bad_family = blob;
    bad_family[2] = 5;  // the first record's family byte
    EXPECT_FALSE(DecodeSourceChunk(bad_family));
}

TEST(SourceChunk, BucketsIpv4ByFirstOctetAndIpv6Apart) {
    EXPECT_EQ(SourceBucket(*IpAddress::Parse("192.0.2.1")), 192);
    uint16_t v6 = SourceBucket(*IpAddress::Parse("2001:db8::1"));
    EXPECT_GE(v6, 256);
    EXPECT_LT(v6, SOURCE_BUCKETS);
}

}  // namespace darkscope
