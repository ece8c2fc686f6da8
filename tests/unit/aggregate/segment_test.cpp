#include "aggregate/segment.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <map>
#include <random>
#include <set>

namespace darkscope {
namespace {

Segment Make(std::initializer_list<std::tuple<uint32_t, uint64_t, std::vector<uint32_t>>> rows,
             std::vector<SegmentRow> more = {}) {
    for (auto &[key, packets, sources] : rows) more.push_back(SegmentRow{key, packets, packets * 60, sources, {}});
    return Segment::FromRows(std::move(more));
}

std::vector<uint32_t> V4(const SegmentRowView &row) { return {row.v4.begin(), row.v4.end()}; }

}  // namespace

TEST(Segment, EncodeDecodeRoundTripsAndNormalises) {
    // Key 23 twice: the rows sum, and the repeated IPv6 source counts once.
    Segment s = Make({{445, 3, {9, 7, 9}}, {23, 1, {0xFFFFFFFF}}, {0, 4, {9, 7, 9, 0xFFFFFFFF}}},
                     {SegmentRow{23, 0, 0, {}, {Ipv6Bytes{0x20, 0x01, 0x0d, 0xb8}, Ipv6Bytes{0x20, 0x01, 0x0d, 0xb8}}}});
    std::string blob = s.Encode();
    auto back = Segment::Decode(blob);
    ASSERT_TRUE(back);
    ASSERT_EQ(back->Size(), 3u);
    EXPECT_EQ(back->Rows()[0].key, 0u);  // sorted by key
    EXPECT_EQ(V4(back->Rows()[0]), (std::vector<uint32_t>{7, 9, 0xFFFFFFFF}));
    EXPECT_EQ(back->Rows()[1].key, 23u);
    EXPECT_EQ(back->Rows()[1].UniqueSources(), 2u);  // one IPv4, one IPv6 (the repeat is gone)
    EXPECT_EQ(back->Rows()[2].packets, 3u);
    EXPECT_EQ(back->Rows()[2].bytes, 180u);
    EXPECT_EQ(back->Packets(), 8u);
}

TEST(Segment, MergeOfNormalisedSegmentsIsAnOrderedUnion) {
    Segment a = Make({{80, 2, {1, 5}}, {443, 1, {5}}});
    Segment b = Make({{22, 1, {2}}, {80, 3, {5, 6}}});
    a.Merge(b);
    auto back = Segment::Decode(a.Encode());
    ASSERT_TRUE(back);
    ASSERT_EQ(back->Size(), 3u);
    EXPECT_EQ(back->Rows()[0].key, 22u);
    EXPECT_EQ(back->Rows()[1].packets, 5u);
    EXPECT_EQ(V4(back->Rows()[1]), (std::vector<uint32_t>{1, 5, 6}));
    EXPECT_EQ(V4(back->Rows()[2]), (std::vector<uint32_t>{5}));
}

// Unions are done in place; compare them with std::set_union over many shapes: disjoint, nested,
// interleaved, one side above the other, equal, empty.
TEST(Segment, MergeUnitesSourcesLikeSetUnion) {
    std::mt19937 rng(3);
    for (int round = 0; round < 300; ++round) {
        auto random_set = [&](uint32_t base, uint32_t span, size_t n) {
            std::vector<uint32_t> v;
            for (size_t i = 0; i < n; ++i) v.push_back(base + rng() % span);
            std::sort(v.begin(), v.end());
            v.erase(std::unique(v.begin(), v.end()), v.end());
            return v;
        };
        const uint32_t span = 1 + rng() % 200;
        const auto a4 = random_set(rng() % 100, span, rng() % 60);
        const auto b4 = random_set(rng() % 100, span, rng() % 60);
        std::vector<SegmentRow> ra, rb;
        ra.push_back(SegmentRow{7, 1, 10, a4, {}});
        rb.push_back(SegmentRow{7, 2, 20, b4, {}});
        if (round % 3 == 0) rb.push_back(SegmentRow{9, 1, 1, {5}, {}});  // a key only the other has
        Segment a = Segment::FromRows(ra), b = Segment::FromRows(rb);
        a.Merge(b);
        std::vector<uint32_t> want;
        std::set_union(a4.begin(), a4.end(), b4.begin(), b4.end(), std::back_inserter(want));
        ASSERT_EQ(V4(a.Rows()[0]), want) << "round " << round;
        EXPECT_EQ(a.Rows()[0].packets, 3u);
        EXPECT_EQ(a.Rows().size(), round % 3 == 0 ? 2u : 1u);
    }
}

TEST(Segment, RowsMadeFromUnsortedPartsAreNormalised) {
    Segment a = Make({{80, 2, {5, 1}}});
    Segment b = Make({{80, 3, {6, 5}}, {22, 1, {2}}});
    a.Merge(std::move(b));
    EXPECT_TRUE(b.Empty());
    auto back = Segment::Decode(a.Encode());
    ASSERT_TRUE(back);
    EXPECT_EQ(V4(back->Rows()[1]), (std::vector<uint32_t>{1, 5, 6}));
}

TEST(Segment, RejectsCorruptBlobsWithoutReadingPastThem) {
    Segment s = Make({{445, 3, {1, 2, 3}}, {23, 1, {4}}});
    std::string blob = s.Encode();
    for (size_t cut = 1; cut < blob.size(); ++cut) {
        EXPECT_FALSE(Segment::Decode(blob.substr(0, cut))) << cut;
        EXPECT_FALSE(Segment::DecodePacked(blob.substr(0, cut))) << cut;
    }
    // DecodePacked keeps the bytes: the same segment, packed.
    auto packed = Segment::DecodePacked(blob);
    ASSERT_TRUE(packed);
    EXPECT_TRUE(packed->Packed());
    EXPECT_EQ(packed->Encode(), blob);
    EXPECT_EQ(packed->Packets(), s.Packets());
    EXPECT_EQ(packed->Size(), s.Size());
    EXPECT_FALSE(Segment::DecodePacked(std::string("\x01\x01\x01\x01\x3c\x02\x00\x07\x00", 9)));  // repeated source
    EXPECT_TRUE(Segment::DecodePacked(std::string("\x01\x01\x01\x01\x3c\x02\x00\x07\x01", 9)));
    EXPECT_FALSE(Segment::DecodePacked(blob + "x"));
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

// The heads stored apart (counters_daily_heads) must read as the whole encoding's counts do, and be
// refused cut short or with bytes after them.
TEST(Segment, HeadsScanAsTheWholeEncodingsCounts) {
    Segment s = Make({{445, 3, {1, 2, 3}}, {23, 1, {4}}, {70000, 9, {}}},
                     {SegmentRow{23, 2, 0, {}, {Ipv6Bytes{0x20, 0x01}}}});
    const std::string blob = s.Encode();
    using Counts = std::vector<std::tuple<uint32_t, uint64_t, uint64_t, uint64_t>>;
    auto collect = [](auto scan, std::string_view bytes, Counts &out) {
        return scan(bytes, [&](const Segment::RowCounts &r) { out.emplace_back(r.key, r.packets, r.bytes, r.unique_sources); });
    };
    Counts whole, heads;
    ASSERT_TRUE(collect(Segment::ScanCounts, blob, whole));
    const auto prefix = Segment::Heads(blob);
    ASSERT_TRUE(prefix);
    EXPECT_LT(prefix->size(), blob.size());
    EXPECT_EQ(blob.substr(0, prefix->size()), *prefix);
    ASSERT_TRUE(collect(Segment::ScanHeads, *prefix, heads));
    EXPECT_EQ(heads, whole);
    EXPECT_EQ(whole, (Counts{{23, 3, 60, 2}, {445, 3, 180, 3}, {70000, 9, 540, 0}}));
    for (size_t cut = 1; cut < prefix->size(); ++cut) {
        Counts partial;
        EXPECT_FALSE(collect(Segment::ScanHeads, prefix->substr(0, cut), partial)) << cut;
    }
    Counts extra;
    EXPECT_FALSE(collect(Segment::ScanHeads, std::string(*prefix) + "x", extra));  // sources are not heads
    EXPECT_FALSE(Segment::Heads(blob.substr(0, blob.size() - 1)));                  // its sources cut short
    EXPECT_EQ(Segment::Heads(""), std::optional<std::string_view>(""));
}

// A packed segment merges by streaming its encoding: every mix of packed and unpacked operands, IPv6
// included, must encode to the same bytes as the merge of plain segments, and read back the same rows.
TEST(Segment, PackedMergesEqualPlainMerges) {
    std::mt19937 rng(5);
    auto random_segment = [&] {
        std::vector<SegmentRow> rows;
        const size_t n = rng() % 30;
        for (size_t i = 0; i < n; ++i) {
            SegmentRow r{uint32_t(rng() % 50), 1 + rng() % 9, rng() % 900, {}, {}};
            for (size_t k = rng() % 12; k > 0; --k) r.v4.push_back(rng() % (rng() % 2 ? 40 : 4000000000u));
            for (size_t k = rng() % 3 == 0 ? rng() % 3 : 0; k > 0; --k) r.v6.push_back(Ipv6Bytes{0x20, 0x01, uint8_t(rng() % 4)});
            rows.push_back(std::move(r));
        }
        return Segment::FromRows(std::move(rows));
    };
    for (int round = 0; round < 300; ++round) {
        const Segment a = random_segment(), b = random_segment(), c = random_segment();
        Segment plain = a;
        plain.Merge(b);
        plain.Merge(c);
        Segment packed = a;
        packed.Pack();
        EXPECT_EQ(packed.Packets(), a.Packets());  // a packed segment still knows its totals
        EXPECT_EQ(packed.Bytes(), a.Bytes());
        EXPECT_EQ(packed.Size(), a.Size());
        packed.Merge(b);  // packed with plain
        Segment packed_c = c;
        packed_c.Pack();
        if (round % 2) {
            (void)packed.Rows()[0];  // an unpacked read copy must not survive the next merge
        }
        packed.Merge(std::move(packed_c));  // packed with packed
        if (!a.Empty()) {
            EXPECT_TRUE(packed.Packed());  // merging into it keeps it packed
        }
        ASSERT_EQ(packed.Encode(), plain.Encode()) << "round " << round;
        EXPECT_EQ(packed.Size(), plain.Size());
        EXPECT_EQ(packed.Packets(), plain.Packets());
        EXPECT_EQ(packed.Bytes(), plain.Bytes());
        for (size_t i = 0; i < plain.Size(); ++i) {
            EXPECT_EQ(packed.Rows()[i].key, plain.Rows()[i].key);
            EXPECT_EQ(V4(packed.Rows()[i]), V4(plain.Rows()[i]));
        }
        // Many small hours into one packed day: they wait as pending arrays, read through at any time.
        Segment day = a, plain_day = a;
        day.Pack();
        for (int hour = 0; hour < 12; ++hour) {
            const Segment h = random_segment();
            day.Merge(h);
            plain_day.Merge(h);
            if (hour % 5 == 0) {
                ASSERT_EQ(day.Packets(), plain_day.Packets());
                ASSERT_EQ(day.Size(), plain_day.Size());
            }
        }
        ASSERT_EQ(day.Encode(), plain_day.Encode()) << "round " << round;
        Segment unpacked_into = b;  // a plain segment taking a packed one
        Segment packed_a = a;
        packed_a.Pack();
        unpacked_into.Merge(packed_a);
        Segment want = b;
        want.Merge(a);
        EXPECT_EQ(unpacked_into.Encode(), want.Encode());
    }
}

}  // namespace darkscope

namespace darkscope {

// The builder sorts on the key half only when sources came in ascending order; both paths (and the
// small-input one) must give each key its sorted, unique sources and summed counts.
TEST(SegmentBuilder, BuildsTheSameRowsWhateverTheOrderOfSources) {
    for (bool ascending : {true, false}) {
        for (size_t n : {100u, 20000u}) {
            std::mt19937 rng(uint32_t(n) + ascending);
            std::vector<std::pair<uint32_t, uint32_t>> pairs;  // (source, key)
            for (size_t i = 0; i < n; ++i) pairs.emplace_back(rng() % 5000, rng() % 70000);
            if (ascending) std::sort(pairs.begin(), pairs.end());
            // IPv6 sources from the same numbers, in the same order: the bytes' order is the numbers' order.
            auto v6_of = [](uint32_t src) {
                Ipv6Bytes a{0x20, 0x01, 0x0d, 0xb8};
                a[6] = uint8_t(src >> 12);
                a[15] = uint8_t(src);
                a[14] = uint8_t(src >> 8 & 0x0F);
                return a;
            };
            std::map<uint32_t, std::pair<uint64_t, std::set<uint32_t>>> want;
            SegmentBuilder builder, builder6;
            for (auto [src, key] : pairs) {
                builder.AddV4(key, 1, 10, src);
                builder6.AddV6(key, 1, 10, v6_of(src));
                want[key].first += 1;
                want[key].second.insert(src);
            }
            for (SegmentBuilder *b : {&builder, &builder6}) {
                const bool v6 = b == &builder6;
                Segment got = b->Build();
                ASSERT_EQ(got.Size(), want.size());
                size_t i = 0;
                for (auto &[key, w] : want) {
                    const SegmentRowView row = got.Rows()[i++];
                    ASSERT_EQ(row.key, key);
                    EXPECT_EQ(row.packets, w.first);
                    EXPECT_EQ(row.bytes, 10 * w.first);
                    if (!v6) {
                        EXPECT_EQ(V4(row), std::vector<uint32_t>(w.second.begin(), w.second.end()));
                        continue;
                    }
                    std::vector<Ipv6Bytes> expected;
                    for (uint32_t src : w.second)
                        expected.push_back(v6_of(src));
                    EXPECT_TRUE(std::equal(row.v6.begin(), row.v6.end(), expected.begin(), expected.end())) << key;
                }
                // The builder is reused hour after hour: a second build starts empty.
                EXPECT_TRUE(b->Build().Empty());
            }
        }
    }
}

TEST(Ipv6Less, OrdersAsTheBytesDo) {
    std::mt19937 rng(11);
    auto random_address = [&] {
        Ipv6Bytes a{};
        // Few distinct bytes, so that equal prefixes (and equal addresses) are common; high bits set too.
        for (auto &b : a) b = uint8_t(std::array<int, 4>{0x00, 0x01, 0x7f, 0xff}[rng() % 4]);
        return a;
    };
    for (int i = 0; i < 20000; ++i) {
        const Ipv6Bytes a = random_address(), b = random_address();
        EXPECT_EQ(Ipv6Less{}(a, b), a < b);
        EXPECT_EQ(Ipv6Less{}(b, a), b < a);
    }
}

// IPv6 sources stay sorted and unique, in the bytes' order, through the builder, merges and a day's union.
TEST(Segment, Ipv6SourcesKeepTheBytesOrder) {
    std::mt19937 rng(12);
    auto address = [&] {
        Ipv6Bytes a{0x20, 0x01};
        a[7] = uint8_t(rng() % 3 ? 0x80 : 0x01);
        a[8] = uint8_t(rng() % 256);
        a[15] = uint8_t(rng() % 4);
        return a;
    };
    // Per hour, each key's sources; key 2 has none in hour 3, so that UniteMany's runs skip an hour.
    std::vector<std::map<uint32_t, std::set<Ipv6Bytes>>> sources;
    std::vector<Segment> hours;
    for (int hour = 0; hour < 7; ++hour) {
        SegmentBuilder builder;
        auto &expected = sources.emplace_back();
        for (int i = 0; i < 400; ++i) {
            const uint32_t key = rng() % 3;
            if (key == 2 && hour == 3) continue;
            const Ipv6Bytes a = address();
            builder.AddV6(key, 1, 60, a);
            expected[key].insert(a);
        }
        hours.push_back(builder.Build());
    }
    auto check = [&](const Segment &s, size_t n) {
        std::map<uint32_t, std::set<Ipv6Bytes>> expected;
        for (size_t h = 0; h < n; ++h)
            for (const auto &[key, set] : sources[h]) expected[key].insert(set.begin(), set.end());
        ASSERT_EQ(s.Size(), expected.size());
        for (const SegmentRowView row : s.Rows()) {
            const std::set<Ipv6Bytes> &want = expected.at(row.key);
            EXPECT_TRUE(std::equal(row.v6.begin(), row.v6.end(), want.begin(), want.end())) << "key " << row.key;
        }
    };
    Segment merged = hours[0];
    for (size_t i = 1; i < hours.size(); ++i) merged.Merge(hours[i]);
    check(merged, hours.size());
    Segment packed = hours[0];
    packed.Pack();
    for (size_t i = 1; i < hours.size(); ++i) packed.Merge(hours[i]);
    check(packed, hours.size());
    // UniteMany merges each key's sorted runs, one per hour: an odd and an even number of them, and one.
    for (size_t n = 1; n <= hours.size(); ++n) {
        SCOPED_TRACE(n);
        check(Segment::UniteMany(std::vector<Segment>(hours.begin(), hours.begin() + long(n))), n);
    }
}

}  // namespace darkscope

// The radix sort orders as std::sort does, whatever bits vary: below and above its cut-over to a comparison
// sort, values that differ only in high or only in low bits, all equal, and 64-bit extremes.
TEST(RadixSort, OrdersAsStdSort) {
    std::mt19937_64 rng(11);
    std::vector<uint64_t> scratch;
    for (size_t n : {size_t(0), size_t(1), size_t(1000), size_t(1024), size_t(5000), size_t(70000)}) {
        for (int shape = 0; shape < 5; ++shape) {
            SCOPED_TRACE(testing::Message() << "n " << n << " shape " << shape);
            std::vector<uint64_t> v(n);
            for (uint64_t &x : v) {
                switch (shape) {
                    case 0: x = rng(); break;
                    case 1: x = uint32_t(rng()); break;                             // sources of a unite
                    case 2: x = (rng() % 3000) << 32 | 0x1234; break;               // keys only
                    case 3: x = 42; break;                                          // all equal
                    case 4: x = rng() % 2 ? UINT64_MAX - rng() % 5000 : rng() % 5000; break;
                }
            }
            std::vector<uint64_t> expected = v;
            std::sort(expected.begin(), expected.end());
            // The 32-bit sort (a day's IPv4 sources) on the low halves.
            std::vector<uint32_t> v32(v.begin(), v.end()), scratch32;
            std::vector<uint32_t> expected32 = v32;
            std::sort(expected32.begin(), expected32.end());
            darkscope::RadixSort(v, scratch);
            EXPECT_EQ(v, expected);
            darkscope::RadixSort(v32, scratch32);
            EXPECT_EQ(v32, expected32);
        }
    }
}

// With from_bit, the bits below it are not sorted on: the order they came in is kept among equal upper bits.
TEST(RadixSort, FromBitKeepsTheLowerBitsInTheirOrder) {
    std::mt19937_64 rng(12);
    for (size_t n : {size_t(100), size_t(5000)}) {
        std::vector<uint64_t> v(n), scratch;
        for (size_t i = 0; i < n; ++i) v[i] = (rng() % 50) << 32 | uint32_t(n - i);  // lower halves descending
        std::vector<uint64_t> expected = v;
        std::stable_sort(expected.begin(), expected.end(), [](uint64_t a, uint64_t b) { return a >> 32 < b >> 32; });
        darkscope::RadixSort(v, scratch, 32);
        if (n < 1024) std::sort(expected.begin(), expected.end());  // a comparison sort orders on every bit
        EXPECT_EQ(v, expected) << n;
    }
}

namespace darkscope {

// The workers' parts of an hour are united straight into an encoding: it must be byte for byte what merging
// them and encoding the result gives, whatever the keys and sources share (rows on one side only, rows on
// both with common and separate sources, IPv6 sources, rows with no source at all).
TEST(Segment, PackedUnionEncodesAsMergeThenEncode) {
    std::mt19937 rng(21);
    auto random_segment = [&](int keys) {
        std::vector<SegmentRow> rows;
        for (int k = 0; k < keys; ++k) {
            SegmentRow r;
            r.key = rng() % 400;
            r.packets = 1 + rng() % 1000;
            r.bytes = r.packets * 60;
            const int kind = int(rng() % 4);
            for (int s = kind == 0 ? 0 : int(rng() % 50); s > 0; --s) r.v4.push_back(rng() % 3000 * 1000003u);
            if (kind == 3)
                for (int s = int(rng() % 5); s > 0; --s) r.v6.push_back(Ipv6Bytes{0x20, 0x01, 0, 0, uint8_t(rng() % 4)});
            rows.push_back(std::move(r));
        }
        return Segment::FromRows(std::move(rows));
    };
    for (int round = 0; round < 50; ++round) {
        SCOPED_TRACE(round);
        const Segment a = random_segment(int(rng() % 300)), b = random_segment(int(rng() % 300));
        Segment merged = a;
        merged.Merge(b);
        const Segment united = Segment::PackedUnion(a, b);
        EXPECT_TRUE(united.Packed() || merged.Empty());
        EXPECT_EQ(united.Encode(), merged.Encode());
        EXPECT_EQ(united.Size(), merged.Size());
        EXPECT_EQ(united.Packets(), merged.Packets());
        EXPECT_EQ(united.Bytes(), merged.Bytes());
    }
    EXPECT_TRUE(Segment::PackedUnion(Segment(), Segment()).Empty());
}

// A day's largest pair is united in ranges of keys on several threads, and the ranges' encodings joined: the
// result must be byte for byte the one-thread union, whatever the number of pieces (more than the keys, too),
// with keys shared by every hour or by some, key 0 and the largest key, IPv6 sources, and empty hours.
TEST(Segment, UniteManyInPiecesEncodesAsInOne) {
    std::mt19937 rng(23);
    auto random_hour = [&](int keys, uint32_t key_range) {
        std::vector<SegmentRow> rows;
        for (int k = 0; k < keys; ++k) {
            SegmentRow r;
            const int where = int(rng() % 10);
            r.key = where == 0 ? 0u : where == 1 ? UINT32_MAX : uint32_t(rng() % key_range);
            r.packets = 1 + rng() % 1000;
            r.bytes = r.packets * 60;
            for (int s = int(rng() % 40); s > 0; --s)
                r.v4.push_back(uint32_t(rng() % 5000) * 859433u);
            if (rng() % 4 == 0)
                for (int s = 1 + int(rng() % 3); s > 0; --s)
                    r.v6.push_back(Ipv6Bytes{0x20, 0x01, 0, 0, uint8_t(rng() % 8)});
            rows.push_back(std::move(r));
        }
        return Segment::FromRows(std::move(rows));
    };
    for (int round = 0; round < 40; ++round) {
        SCOPED_TRACE(round);
        const uint32_t key_range = round % 4 == 0 ? 3 : 1 + rng() % 2000;
        std::vector<Segment> hours;
        for (int h = int(1 + rng() % 24); h > 0; --h)
            hours.push_back(random_hour(int(rng() % 400), key_range));
        if (round % 5 == 0) hours.emplace_back();
        const Segment one = Segment::UniteMany(hours);
        for (unsigned pieces : {2u, 3u, 7u, 64u}) {
            SCOPED_TRACE(pieces);
            const Segment split = Segment::UniteMany(hours, pieces);
            EXPECT_EQ(split.Encode(), one.Encode());
            EXPECT_EQ(split.Size(), one.Size());
            EXPECT_EQ(split.Packets(), one.Packets());
            EXPECT_EQ(split.Bytes(), one.Bytes());
        }
    }
    EXPECT_TRUE(Segment::UniteMany({}, 4).Empty());
}

}  // namespace darkscope
