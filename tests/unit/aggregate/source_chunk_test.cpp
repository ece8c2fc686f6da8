#include "aggregate/source_chunk.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

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

namespace darkscope {

TEST(SourceChunk, Version2KeepsFingerprintEvidenceAndOrigin) {
    std::vector<SourceDay> records = {Record("192.0.2.9", 10, 100, 300, {1}), Record("198.51.100.1", 1, 1, 1, {})};
    records[0].syn_packets = 9;
    records[0].rule_packets[size_t(FingerprintRule::MASSCAN_IP_ID)] = 9;
    records[0].rule_packets[size_t(FingerprintRule::SYN_TTL_OVER_200)] = 8;
    records[0].country = 300;
    records[0].asn = 4200000000u;
    records[0].research = 2;
    std::string blob = EncodeSourceChunk(records);
    EXPECT_EQ(blob[0], 2);
    auto back = DecodeSourceChunk(blob);
    ASSERT_TRUE(back);
    const SourceDay &d = (*back)[0];
    EXPECT_EQ(d.syn_packets, 9u);
    EXPECT_EQ(d.rule_packets[size_t(FingerprintRule::MASSCAN_IP_ID)], 9u);
    EXPECT_EQ(d.rule_packets[size_t(FingerprintRule::SYN_TTL_OVER_200)], 8u);
    EXPECT_EQ(d.rule_packets[size_t(FingerprintRule::ZMAP_IP_ID)], 0u);
    EXPECT_EQ(d.country, 300);
    EXPECT_EQ(d.asn, 4200000000u);
    EXPECT_EQ(d.research, 2);
    EXPECT_EQ((*back)[1].country, 0);
    for (size_t cut = 0; cut < blob.size(); ++cut) EXPECT_FALSE(DecodeSourceChunk(blob.substr(0, cut))) << cut;

    // Merging two days' parts of the same source adds the evidence and keeps the origin.
    SourceDay other = Record("192.0.2.9", 5, 400, 500, {2});
    other.syn_packets = 5;
    other.rule_packets[size_t(FingerprintRule::MASSCAN_IP_ID)] = 5;
    auto merged = MergeSourceChunks(std::move(*back), {other});
    EXPECT_EQ(merged[0].syn_packets, 14u);
    EXPECT_EQ(merged[0].rule_packets[size_t(FingerprintRule::MASSCAN_IP_ID)], 14u);
    EXPECT_EQ(merged[0].asn, 4200000000u);
}

// Chunks written before enrichment (version 1) still read, with no evidence and no origin.
TEST(SourceChunk, Version1ChunksStillRead) {
    const std::string v1 = {
        1, 1,                        // version 1, one record
        4, char(192), 0, 2, 9,       // 192.0.2.9
        3, char(180), 1,             // packets 3, bytes 180
        char(200), 1, char(200), 1,  // first_ts 100 (zigzag 200), span 200
        1, 7,                        // destinations {7}
        1, 5,                        // services {5}
        1, 1,                        // sensors {1}
    };
    auto back = DecodeSourceChunk(v1);
    ASSERT_TRUE(back);
    ASSERT_EQ(back->size(), 1u);
    EXPECT_EQ((*back)[0].packets, 3u);
    EXPECT_EQ((*back)[0].last_ts, 300);
    EXPECT_EQ((*back)[0].syn_packets, 0u);
    EXPECT_EQ((*back)[0].country, 0);
}

// The workers' parts of a bucket hold disjoint sources: interleaved as bytes, they make the chunk that decoding,
// merging and encoding them made, for any number of parts, both families and every field. Parts that share a
// source, or are not version 2 chunks, or do not parse, are left to that slower way.
TEST(SourceChunk, InterleavingDisjointPartsEqualsMergingThem) {
    std::vector<SourceDay> all;
    for (uint32_t i = 0; i < 60; ++i) {
        const std::string src =
            i % 7 == 3 ? fmt::format("2001:db8::{:x}", i * 977) : fmt::format("192.0.{}.{}", i % 5, i * 37 % 251);
        SourceDay r = Record(src.c_str(), 1 + i, TimestampNs(i) * 1000 - 3000, TimestampNs(i) * 2000, {});
        for (uint32_t d = 0; d < i % 9 * 40; ++d)
            r.destinations.push_back(d * (i + 1));
        r.services = {0x10017, 0x10000 + i};
        r.syn_packets = i / 2;
        if (i % 3 == 0) r.rule_packets[i % FINGERPRINT_RULES] = i + 1;
        r.country = uint16_t(i % 4 * 17);
        r.asn = i * 1000003u;
        r.research = uint16_t(i % 11 == 0);
        all.push_back(r);
    }
    std::sort(all.begin(), all.end(), [](const SourceDay &a, const SourceDay &b) { return a.src < b.src; });
    all.erase(
        std::unique(all.begin(), all.end(), [](const SourceDay &a, const SourceDay &b) { return a.src == b.src; }),
        all.end());
    std::vector<SourceDay> copy = all;
    const std::string whole = EncodeSourceChunk(copy);
    for (size_t parts : {1u, 2u, 3u, 5u}) {
        std::vector<std::vector<SourceDay>> split(parts);
        for (size_t i = 0; i < all.size(); ++i)
            split[(i * 7 + i / 3) % parts].push_back(all[i]);
        std::vector<std::string> encoded;
        for (auto &records : split)
            encoded.push_back(EncodeSourceChunk(records));
        auto interleaved = InterleaveSourceChunks(encoded);
        ASSERT_TRUE(interleaved) << parts;
        EXPECT_EQ(*interleaved, whole) << parts;
    }
    std::vector<SourceDay> a = {all[0], all[2]}, b = {all[1], all[2]};
    EXPECT_FALSE(InterleaveSourceChunks(std::vector<std::string>{EncodeSourceChunk(a), EncodeSourceChunk(b)}));
    std::vector<SourceDay> c = {all[3]}, d = {all[4], all[5]};
    const std::string cd[] = {EncodeSourceChunk(c), EncodeSourceChunk(d)};
    EXPECT_TRUE(InterleaveSourceChunks(cd));
    for (size_t cut = 0; cut < cd[1].size(); ++cut)
        EXPECT_FALSE(InterleaveSourceChunks(std::vector<std::string>{cd[0], cd[1].substr(0, cut)})) << cut;
    EXPECT_FALSE(InterleaveSourceChunks(std::vector<std::string>{cd[0], cd[1] + "x"}));
    const std::string v1 = {1, 1, 4, char(192), 0, 2, 9, 3, char(180), 1, char(200), 1, char(200), 1, 1, 7, 1, 5, 1, 1};
    EXPECT_FALSE(InterleaveSourceChunks(std::vector<std::string>{cd[0], v1}));
    // A part whose records are out of address order.
    std::vector<SourceDay> first = {all[4]}, second = {all[5]};
    const std::string reversed =
        std::string{char(2), char(2)} + EncodeSourceChunk(second).substr(2) + EncodeSourceChunk(first).substr(2);
    EXPECT_FALSE(InterleaveSourceChunks(std::vector<std::string>{cd[0], reversed}));
}

}  // namespace darkscope
