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
// same values and refuse the same bad input (a varint of more than ten bytes, one cut off by the end).
TEST(Varint, ReaderAgreesNearAndFarFromTheEnd) {
    std::string bytes;
    const std::vector<uint64_t> values = {0, 300, UINT64_MAX, 5, uint64_t(1) << 35, 127, 128};
    for (uint64_t v : values) PutVarint(bytes, v);
    VarintReader in(bytes);
    for (uint64_t expected : values) {
        uint64_t v = 0;
        ASSERT_TRUE(in.Read(v));
        EXPECT_EQ(v, expected);
    }
    uint64_t v = 0;
    EXPECT_FALSE(in.Read(v));  // at the end
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
