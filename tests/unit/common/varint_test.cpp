#include "common/varint.hpp"

#include <gtest/gtest.h>

#include <random>

using namespace darkscope;

// The raw writer writes the bytes the string one writes, and VarintSize says how many: encoders size their
// output with it and then write unchecked, so a size one short would write past the end.
TEST(Varint, RawWriterAndSizeAgreeWithPutVarint) {
    std::mt19937_64 rng(7);
    std::vector<uint64_t> values = {0, 1, 127, 128, 16383, 16384, UINT32_MAX, uint64_t(1) << 63, UINT64_MAX};
    for (int i = 0; i < 5000; ++i) values.push_back(rng() >> (rng() % 64));
    for (uint64_t v : values) {
        std::string expected;
        PutVarint(expected, v);
        EXPECT_EQ(VarintSize(v), expected.size()) << v;
        char raw[VARINT_MAX_BYTES + 1] = {};
        const char *end = PutVarint(raw, v);
        EXPECT_EQ(std::string(raw, size_t(end - raw)), expected) << v;
        uint64_t back = 0;
        VarintReader in(expected);
        EXPECT_TRUE(in.Read(back) && in.AtEnd() && back == v) << v;
    }
}

// The reader takes its unchecked path with ten bytes ahead and its checked one nearer the end: both read the
// same values of every length, consume the same bytes and refuse the same bad input (a varint of more than ten
// bytes, one cut off by the end).
TEST(Varint, ReaderAgreesNearAndFarFromTheEnd) {
    std::vector<uint64_t> values = {0, 300, UINT64_MAX, 5, uint64_t(1) << 35, 127, 128};
    for (int bits = 7; bits < 64; bits += 7) {  // each length's first and last value
        values.push_back((uint64_t(1) << bits) - 1);
        values.push_back(uint64_t(1) << bits);
    }
    std::mt19937_64 rng(11);
    for (int i = 0; i < 2000; ++i) values.push_back(rng() >> (rng() % 64));
    std::string bytes;
    for (uint64_t v : values) PutVarint(bytes, v);
    VarintReader in(bytes);
    for (uint64_t expected : values) {
        uint64_t v = 0;
        ASSERT_TRUE(in.Read(v));
        EXPECT_EQ(v, expected);
    }
    uint64_t v = 0;
    EXPECT_FALSE(in.Read(v));  // at the end
    for (uint64_t expected : values)
        for (size_t pad = 0; pad <= 10; ++pad) {
            std::string one;
            PutVarint(one, expected);
            const size_t size = one.size();
            one.append(pad, '\xff');
            VarintReader r(one);
            ASSERT_TRUE(r.Read(v)) << expected << " pad " << pad;
            EXPECT_EQ(v, expected) << " pad " << pad;
            EXPECT_EQ(r.Remaining(), one.size() - size) << expected << " pad " << pad;
        }
    for (size_t pad = 0; pad <= 10; ++pad) {
        const std::string zero = std::string("\x80\x00", 2) + std::string(pad, '\0');  // not the shortest form
        VarintReader r(zero);
        ASSERT_TRUE(r.Read(v));
        EXPECT_EQ(v, 0u);
        EXPECT_EQ(r.Remaining(), pad);
    }
    for (size_t pad : {size_t(0), size_t(20)}) {
        SCOPED_TRACE(pad);
        const std::string overlong = std::string(11, '\x80') + '\x01' + std::string(pad, '\0');
        VarintReader bad(overlong);
        EXPECT_FALSE(bad.Read(v));
        const std::string cut = "\x80\x80";
        VarintReader short_one(cut);
        EXPECT_FALSE(short_one.Read(v));
    }
}

// Skip takes the bytes Read takes, near the end and far from it: the day build skips rows' sources with it, and a
// byte too many or too few would read the next row's sources as this one's.
TEST(Varint, SkipAgreesWithRead) {
    std::mt19937_64 rng(13);
    std::vector<uint64_t> values;
    for (int i = 0; i < 3000; ++i)
        values.push_back(rng() >> (rng() % 64));
    for (int bits = 0; bits < 64; bits += 7)
        values.push_back(uint64_t(1) << bits);
    std::string bytes;
    for (uint64_t v : values)
        PutVarint(bytes, v);
    for (size_t n = 0; n <= values.size(); n += n < 40 ? 1 : 97) {
        SCOPED_TRACE(n);
        VarintReader by_read(bytes), by_skip(bytes);
        for (size_t i = 0; i < n; ++i) {
            uint64_t v;
            ASSERT_TRUE(by_read.Read(v));
        }
        ASSERT_TRUE(by_skip.Skip(n));
        EXPECT_EQ(by_skip.Remaining(), by_read.Remaining());
    }
    VarintReader all(bytes);
    ASSERT_TRUE(all.Skip(values.size()));
    EXPECT_TRUE(all.AtEnd());
    VarintReader past(bytes);
    EXPECT_FALSE(past.Skip(values.size() + 1));                            // more than there are
    const std::string cut = std::string("\x05") + std::string(9, '\x80');  // the second one cut off by the end
    VarintReader cut_skip(cut);
    EXPECT_FALSE(cut_skip.Skip(2));
}
