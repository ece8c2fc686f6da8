// Signature hits ride in the Observation and become SIGNATURE (key: sid) and SIGNATURE_CATEGORY
// (key: category) segments per hour and sensor, with exact unique sources; with enrichment also
// SIGNATURE_COUNTRY (key: country) and SIGNATURE_CATEGORY_COUNTRY, and research mirrors of all four.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../enrich/test_enrichment.hpp"
#include "aggregate/aggregator.hpp"
#include "enrich/country.hpp"
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

// (packets, unique sources) of a key; (0, 0) when the key has no row.
std::pair<uint64_t, uint64_t> Count(CounterRows &rows, int32_t hour, Dimension dim, uint32_t key) {
    const auto r = Row(rows, hour, dim, key);
    return r ? std::pair<uint64_t, uint64_t>(r->packets, r->UniqueSources()) : std::pair<uint64_t, uint64_t>(0, 0);
}

constexpr uint8_t WORM = 1u << 1, SCAN = 1u << 2;  // sig::Category bits

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

// SmallEnrichment: 93.184.0.0/24 JP, the rest of 93.184/16 US, 93.184.2.0/24 the research scanner "Lab".
TEST(SignatureSegments, CountryDimensionsCountEachPacketOncePerCountryWithExactSources) {
    auto enrichment = testing::SmallEnrichment();
    AggregateShard shard;
    shard.SetEnrichment(enrichment.get());
    const int32_t hour = int32_t(HourOf(DAY0));
    const TimestampNs s = NS_PER_SEC;
    shard.Observe(Hit("93.184.0.5", DAY0, {9200001, 9200003}, WORM));  // JP: two sids, one packet
    shard.Observe(Hit("93.184.0.5", DAY0 + s, {9200001}, WORM));
    shard.Observe(Hit("93.184.1.5", DAY0 + 2 * s, {9200001}, WORM | SCAN));  // US
    shard.Observe(Hit("93.184.1.6", DAY0 + 3 * s, {9200010}, SCAN));         // US
    shard.Observe(Hit("93.184.2.9", DAY0 + 4 * s, {9200010}, SCAN));         // US, research
    shard.Observe(Hit("93.184.2.9", DAY0 + 5 * s, {9200010}, SCAN));
    shard.Observe(Hit("93.184.1.7", DAY0 + 6 * s, {}, 0));                   // US, no hit
    shard.Observe(Hit("2001:db8::1", DAY0 + 7 * s, {9200010}, SCAN));        // documentation space: no country
    CounterRows &rows = shard.HourlySegments();
    using P = std::pair<uint64_t, uint64_t>;
    const uint16_t jp = CountryIndex("JP"), us = CountryIndex("US");

    EXPECT_EQ(Count(rows, hour, Dimension::SIGNATURE_COUNTRY, jp), P(2, 1));  // not 3: once per packet
    EXPECT_EQ(Count(rows, hour, Dimension::SIGNATURE_COUNTRY, us), P(4, 3));
    EXPECT_EQ(Count(rows, hour, Dimension::SIGNATURE_COUNTRY, UNKNOWN_COUNTRY), P(1, 1));
    ASSERT_TRUE(Row(rows, hour, Dimension::SIGNATURE_COUNTRY, jp));
    EXPECT_EQ(Row(rows, hour, Dimension::SIGNATURE_COUNTRY, jp)->bytes, 120u);
    EXPECT_EQ(Count(rows, hour, Dimension::SIGNATURE_CATEGORY_COUNTRY, CountryCategoryKey(jp, 1)), P(2, 1));
    EXPECT_EQ(Count(rows, hour, Dimension::SIGNATURE_CATEGORY_COUNTRY, CountryCategoryKey(us, 1)), P(1, 1));
    EXPECT_EQ(Count(rows, hour, Dimension::SIGNATURE_CATEGORY_COUNTRY, CountryCategoryKey(us, 2)), P(4, 3));
    EXPECT_EQ(Count(rows, hour, Dimension::SIGNATURE_CATEGORY_COUNTRY, CountryCategoryKey(jp, 2)), P(0, 0));
    EXPECT_EQ(Count(rows, hour, Dimension::SIGNATURE_CATEGORY_COUNTRY, CountryCategoryKey(UNKNOWN_COUNTRY, 2)), P(1, 1));

    // The research scanner's hits, once more under every signature dimension's mirror, and nobody else's.
    EXPECT_EQ(Count(rows, hour, ResearchDimension(Dimension::SIGNATURE), 9200010), P(2, 1));
    EXPECT_EQ(Count(rows, hour, ResearchDimension(Dimension::SIGNATURE), 9200001), P(0, 0));
    EXPECT_EQ(Count(rows, hour, ResearchDimension(Dimension::SIGNATURE_CATEGORY), 2), P(2, 1));
    EXPECT_EQ(Count(rows, hour, ResearchDimension(Dimension::SIGNATURE_CATEGORY), 1), P(0, 0));
    EXPECT_EQ(Count(rows, hour, ResearchDimension(Dimension::SIGNATURE_COUNTRY), us), P(2, 1));
    EXPECT_EQ(Count(rows, hour, ResearchDimension(Dimension::SIGNATURE_COUNTRY), jp), P(0, 0));
    EXPECT_EQ(Count(rows, hour, ResearchDimension(Dimension::SIGNATURE_CATEGORY_COUNTRY), CountryCategoryKey(us, 2)),
              P(2, 1));
    // The plain signature dimensions are as without enrichment.
    EXPECT_EQ(Count(rows, hour, Dimension::SIGNATURE, 9200001), P(3, 2));
    EXPECT_EQ(Count(rows, hour, Dimension::SIGNATURE_CATEGORY, 2), P(5, 4));
}

// Hits of several hours flushed at once, and a second flush of the same hour: each finds its source's
// country, and the second merges into the first's rows with sources united.
TEST(SignatureSegments, CountryOfHitsAcrossHoursAndFlushes) {
    auto enrichment = testing::SmallEnrichment();
    AggregateShard shard;
    shard.SetEnrichment(enrichment.get());
    const int32_t hour = int32_t(HourOf(DAY0));
    const TimestampNs h = 3600 * NS_PER_SEC;
    shard.Observe(Hit("93.184.0.5", DAY0, {1}, WORM));
    shard.Observe(Hit("93.184.1.5", DAY0 + h, {1}, WORM));
    shard.Observe(Hit("93.184.0.6", DAY0 + 2 * h, {1}, WORM));
    shard.Flush();
    shard.Observe(Hit("93.184.0.5", DAY0 + 1, {1}, WORM));
    shard.Observe(Hit("93.184.0.7", DAY0 + 2, {1}, WORM));
    CounterRows &rows = shard.HourlySegments();
    using P = std::pair<uint64_t, uint64_t>;
    const uint16_t jp = CountryIndex("JP"), us = CountryIndex("US");
    EXPECT_EQ(Count(rows, hour, Dimension::SIGNATURE_COUNTRY, jp), P(3, 2));
    EXPECT_EQ(Count(rows, hour + 1, Dimension::SIGNATURE_COUNTRY, us), P(1, 1));
    EXPECT_EQ(Count(rows, hour + 1, Dimension::SIGNATURE_COUNTRY, jp), P(0, 0));
    EXPECT_EQ(Count(rows, hour + 2, Dimension::SIGNATURE_COUNTRY, jp), P(1, 1));
    EXPECT_EQ(Count(rows, hour + 2, Dimension::SIGNATURE_CATEGORY_COUNTRY, CountryCategoryKey(jp, 1)), P(1, 1));
}

// Many more (rule, source) pairs in one hour than FlushSignatures' table of pairs holds, each repeated in rounds
// and in a scattered order, so that pairs are summed, evicted and met again: every row as counted one packet at a
// time (sources in 93.184/16: the third byte 0 is JP, 2 the research scanner, the rest US).
TEST(SignatureSegments, ManyRepeatedPairsCountAsOnePacketAtATime) {
    auto enrichment = testing::SmallEnrichment();
    AggregateShard shard;
    shard.SetEnrichment(enrichment.get());
    const int32_t hour = int32_t(HourOf(DAY0));
    struct Want {
        uint64_t packets = 0, bytes = 0;
        std::set<std::string> sources;
    };
    std::map<std::pair<Dimension, uint32_t>, Want> want;
    const uint16_t jp = CountryIndex("JP"), us = CountryIndex("US");
    constexpr uint32_t SOURCES = 20000;
    uint64_t n = 0;
    for (uint32_t round = 0; round < 3; ++round) {
        for (uint32_t k = 0; k < SOURCES; ++k) {
            const uint32_t i = uint32_t((uint64_t(k) * 7919 + round * 101) % SOURCES);
            const std::string src = fmt::format("93.184.{}.{}", i / 256, i % 256);
            std::vector<uint32_t> sids = {9200001};
            if (i % 3 == 0) sids.push_back(9200002 + i % 5);
            const uint8_t categories = uint8_t(WORM | (i % 2 ? SCAN : 0));
            const Observation o = Hit(src.c_str(), DAY0 + TimestampNs(++n) * 1000, {}, categories);
            Observation with = o;
            for (uint32_t sid : sids)
                with.signatures.sids[with.signatures.count++] = sid;
            shard.Observe(with);
            const uint64_t bytes = o.wire_len;
            const uint16_t country = i / 256 == 0 ? jp : us;
            const bool research = i / 256 == 2;
            auto count = [&](Dimension dim, uint32_t key) {
                for (Dimension d : {dim, ResearchDimension(dim)}) {
                    if (d != dim && !research) continue;
                    Want &w = want[{d, key}];
                    ++w.packets;
                    w.bytes += bytes;
                    w.sources.insert(src);
                }
            };
            for (uint32_t sid : sids)
                count(Dimension::SIGNATURE, sid);
            for (uint8_t c : {uint8_t(1), uint8_t(2)}) {
                if (!(categories & (1u << c))) continue;
                count(Dimension::SIGNATURE_CATEGORY, c);
                count(Dimension::SIGNATURE_CATEGORY_COUNTRY, CountryCategoryKey(country, c));
            }
            count(Dimension::SIGNATURE_COUNTRY, country);
        }
    }
    CounterRows &rows = shard.HourlySegments();
    size_t keys = 0;
    for (const auto &[key, segment] : rows) {
        const auto it = std::find_if(want.begin(), want.end(), [&](const auto &w) { return w.first.first == key.dim; });
        if (it == want.end()) continue;  // not a signature dimension
        for (const SegmentRowView r : segment.Rows()) {
            ++keys;
            const auto w = want.find({key.dim, r.key});
            ASSERT_NE(w, want.end()) << int(key.dim) << " " << r.key;
            EXPECT_EQ(r.packets, w->second.packets) << int(key.dim) << " " << r.key;
            EXPECT_EQ(r.bytes, w->second.bytes) << int(key.dim) << " " << r.key;
            EXPECT_EQ(r.UniqueSources(), w->second.sources.size()) << int(key.dim) << " " << r.key;
        }
    }
    EXPECT_EQ(keys, want.size());
    EXPECT_EQ(Count(rows, hour, Dimension::SIGNATURE, 9200001), (std::pair<uint64_t, uint64_t>(3 * SOURCES, SOURCES)));
}

// ingest --no-enrich: no country, so no country dimensions and no research mirrors, as for COUNTRY.
TEST(SignatureSegments, WithoutEnrichmentNoCountryDimensionsNorMirrors) {
    AggregateShard shard;
    shard.Observe(Hit("93.184.2.9", DAY0, {9200010}, SCAN));  // the research scanner's address, unlooked-up
    CounterRows &rows = shard.HourlySegments();
    const int32_t hour = int32_t(HourOf(DAY0));
    EXPECT_EQ(Count(rows, hour, Dimension::SIGNATURE, 9200010), (std::pair<uint64_t, uint64_t>(1, 1)));
    for (Dimension dim : {Dimension::SIGNATURE_COUNTRY, Dimension::SIGNATURE_CATEGORY_COUNTRY,
                          ResearchDimension(Dimension::SIGNATURE), ResearchDimension(Dimension::SIGNATURE_CATEGORY),
                          ResearchDimension(Dimension::SIGNATURE_COUNTRY),
                          ResearchDimension(Dimension::SIGNATURE_CATEGORY_COUNTRY), Dimension::COUNTRY})
        EXPECT_EQ(rows.count(CounterKey{hour, 0, dim}), 0u) << int(dim);
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
