// pcapng: sections, interfaces, timestamp resolutions, packet block kinds and block validation.

#include <gtest/gtest.h>

#include "capture/capture_reader.hpp"
#include "capture_test_util.hpp"

namespace darkscope::testing {
namespace {

constexpr uint16_t OPT_IF_TSRESOL = 9;
constexpr uint16_t OPT_IF_TSOFFSET = 14;

class PcapngByteOrder : public ::testing::TestWithParam<bool> {};

TEST_P(PcapngByteOrder, EnhancedSimpleAndObsoletePackets) {
    PcapngFile f(GetParam());
    f.Section();                                       // 28 bytes at 0
    f.Interface(LINKTYPE_ETHERNET, 96);                // 20 bytes at 28
    f.Block(0x00000004, Payload(16));                  // a name resolution block, skipped
    f.Enhanced(0, 1700000000123456ull, Payload(60));   // microseconds by default
    f.Simple(Payload(200), 300);                       // cut to the snaplen 96
    f.Obsolete(0, 1700000001000000ull, Payload(10));
    f.Block(0x40000bad, Payload(8));                   // a custom block, skipped
    for (const ReadResult &r : {ReadBytes(f.Bytes()), ReadMemory(f.Bytes())}) {
        ASSERT_TRUE(r.opened) << r.open_error.message;
        EXPECT_EQ(r.format, CaptureFormat::PCAPNG);
        EXPECT_FALSE(r.error) << r.error->message;
        ASSERT_EQ(r.packets.size(), 3u);
        EXPECT_EQ(r.packets[0].ts, 1700000000123456000);
        EXPECT_EQ(r.packets[0].data, Payload(60));
        EXPECT_EQ(r.packets[0].offset, 28u + 20 + 28);
        EXPECT_EQ(r.packets[1].ts, 0);  // simple packet blocks have no timestamp
        EXPECT_EQ(r.packets[1].data, Payload(96));
        EXPECT_EQ(r.packets[1].wire_len, 300u);
        EXPECT_EQ(r.packets[2].ts, 1700000001000000000);
        EXPECT_EQ(r.packets[2].data, Payload(10));
    }
}

TEST_P(PcapngByteOrder, SectionsRestartInterfaceNumbering) {
    PcapngFile f(GetParam());
    f.Section().Interface(LINKTYPE_ETHERNET).Interface(LINKTYPE_RAW);
    f.Enhanced(1, 5, Payload(20));
    // The second section is written in the other byte order, as in pcapng-test-generator's difficult_test202.
    PcapngFile second(!GetParam());
    second.Section().Interface(LINKTYPE_LINUX_SLL2).Enhanced(0, 7, Payload(30));
    f.Bytes().insert(f.Bytes().end(), second.Bytes().begin(), second.Bytes().end());
    ReadResult r = ReadBytes(f.Bytes());
    EXPECT_FALSE(r.error) << r.error->message;
    ASSERT_EQ(r.packets.size(), 2u);
    EXPECT_EQ(r.packets[0].interface_id, 1u);
    EXPECT_EQ(r.packets[0].link_type, LINKTYPE_RAW);
    EXPECT_EQ(r.packets[1].interface_id, 0u);
    EXPECT_EQ(r.packets[1].link_type, LINKTYPE_LINUX_SLL2);
    EXPECT_EQ(r.packets[1].ts, 7000);
}

TEST_P(PcapngByteOrder, PacketOnInterfaceOfPreviousSectionIsAnError) {
    PcapngFile f(GetParam());
    f.Section().Interface(LINKTYPE_ETHERNET).Interface(LINKTYPE_ETHERNET).Enhanced(1, 0, Payload(4));
    f.Section().Interface(LINKTYPE_ETHERNET).Enhanced(1, 0, Payload(4));  // interface 1 is not defined here
    ReadResult r = ReadBytes(f.Bytes());
    ASSERT_EQ(r.packets.size(), 1u);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("undefined interface 1"), std::string::npos) << r.error->message;
}

INSTANTIATE_TEST_SUITE_P(Pcapng, PcapngByteOrder, ::testing::Values(false, true),
                         [](const auto &info) { return info.param ? "BigEndian" : "LittleEndian"; });

struct ResolutionCase {
    uint8_t tsresol;
    uint64_t units;
    TimestampNs expected_ns;
};

class PcapngResolution : public ::testing::TestWithParam<ResolutionCase> {};

TEST_P(PcapngResolution, ConvertsToNanoseconds) {
    const ResolutionCase c = GetParam();
    PcapngFile f;
    f.Section().Interface(LINKTYPE_ETHERNET, 0, f.Option(OPT_IF_TSRESOL, {c.tsresol}));
    f.Enhanced(0, c.units, Payload(4));
    ReadResult r = ReadBytes(f.Bytes());
    ASSERT_EQ(r.packets.size(), 1u);
    EXPECT_EQ(r.packets[0].ts, c.expected_ns);
}

INSTANTIATE_TEST_SUITE_P(
    Pcapng, PcapngResolution,
    ::testing::Values(ResolutionCase{0, 1700000000, 1700000000 * NS_PER_SEC},            // seconds
                      ResolutionCase{3, 1700000000123, 1700000000123000000},             // milliseconds
                      ResolutionCase{6, 1700000000123456, 1700000000123456000},          // microseconds
                      ResolutionCase{9, 1700000000123456789, 1700000000123456789},       // nanoseconds
                      ResolutionCase{12, 1700000000123456789ull, 1700000000123456},      // picoseconds
                      ResolutionCase{0x80 | 10, 1024 * 1700000000ull + 512, 1700000000500000000},  // 2^-10
                      ResolutionCase{0x80 | 30, (uint64_t(1700000000) << 30) | (1u << 29),
                                     1700000000500000000},                                   // 2^-30
                      ResolutionCase{0x80 | 0, 1700000000, 1700000000 * NS_PER_SEC}));    // 2^0 = seconds

TEST(PcapngReader, TimestampOffsetInSeconds) {
    PcapngFile f;
    std::vector<uint8_t> options = f.Option(OPT_IF_TSRESOL, {9});
    std::vector<uint8_t> offset = f.Option(OPT_IF_TSOFFSET, f.Int64Value(1600000000));
    options.insert(options.end(), offset.begin(), offset.end());
    f.Section().Interface(LINKTYPE_ETHERNET, 0, options).Enhanced(0, 250, Payload(4));
    ReadResult r = ReadBytes(f.Bytes());
    ASSERT_EQ(r.packets.size(), 1u);
    EXPECT_EQ(r.packets[0].ts, 1600000000 * NS_PER_SEC + 250);
}

TEST(PcapngReader, TimestampBeyond2106) {
    // 2^32 seconds in microseconds needs the upper timestamp word: no 32-bit seconds overflow.
    PcapngFile f;
    f.Section().Interface(LINKTYPE_ETHERNET).Enhanced(0, (uint64_t(1) << 32) * 1000000, Payload(4));
    ReadResult r = ReadBytes(f.Bytes());
    ASSERT_EQ(r.packets.size(), 1u);
    EXPECT_EQ(r.packets[0].ts, (int64_t(1) << 32) * NS_PER_SEC);
}

TEST(PcapngReader, EmptySectionsAreValid) {
    PcapngFile f;
    f.Section().Section().Interface(LINKTYPE_ETHERNET);
    ReadResult r = ReadBytes(f.Bytes());
    ASSERT_TRUE(r.opened);
    EXPECT_TRUE(r.packets.empty());
    EXPECT_FALSE(r.error);
}

TEST(PcapngReader, BlockLengthNotMultipleOfFour) {
    PcapngFile f;
    f.Section().Interface(LINKTYPE_ETHERNET).Enhanced(0, 0, Payload(8));
    size_t bad_at = f.Bytes().size();
    f.w.U32(6).U32(45);  // an EPB claiming 45 bytes
    f.w.Raw(Payload(37));
    ReadResult r = ReadBytes(f.Bytes());
    ASSERT_EQ(r.packets.size(), 1u);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->offset, bad_at);
    EXPECT_NE(r.error->message.find("bad block length 45"), std::string::npos) << r.error->message;
}

TEST(PcapngReader, BlockLengthBelowMinimum) {
    PcapngFile f;
    f.Section();
    f.w.U32(1).U32(8).U32(8);
    ReadResult r = ReadBytes(f.Bytes());
    EXPECT_FALSE(r.opened);  // found while reading the header blocks
    EXPECT_EQ(r.open_error.offset, 28u);
}

TEST(PcapngReader, TrailingLengthMustMatch) {
    PcapngFile f;
    f.Section().Interface(LINKTYPE_ETHERNET).Enhanced(0, 0, Payload(8)).Enhanced(0, 0, Payload(8));
    f.Bytes()[f.Bytes().size() - 4] ^= 0x04;  // last block's trailing length
    ReadResult r = ReadBytes(f.Bytes());
    ASSERT_EQ(r.packets.size(), 1u);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("trailing length"), std::string::npos) << r.error->message;
}

TEST(PcapngReader, CapturedLengthBeyondBlock) {
    PcapngFile f;
    f.Section().Interface(LINKTYPE_ETHERNET);
    ByteWriter epb;
    epb.U32(0).U32(0).U32(0).U32(500).U32(500).Raw(Payload(8));  // claims 500 bytes, carries 8
    f.Block(6, epb.Bytes());
    ReadResult r = ReadBytes(f.Bytes());
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("captured length 500"), std::string::npos) << r.error->message;
}

TEST(PcapngReader, TruncatedBlockKeepsEarlierPackets) {
    PcapngFile f;
    f.Section().Interface(LINKTYPE_ETHERNET).Enhanced(0, 0, Payload(8)).Enhanced(0, 0, Payload(100));
    f.Bytes().erase(f.Bytes().end() - 30, f.Bytes().end());
    ReadResult r = ReadMemory(f.Bytes());
    ASSERT_EQ(r.packets.size(), 1u);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->message.rfind("truncated: file ends inside block", 0), 0u) << r.error->message;
}

TEST(PcapngReader, PacketBeforeAnyInterface) {
    PcapngFile f;
    f.Section().Simple(Payload(10));
    ReadResult r = ReadBytes(f.Bytes());
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("undefined interface 0"), std::string::npos);
}

TEST(PcapngReader, UnsupportedLinkTypeInFirstSectionFailsOpen) {
    PcapngFile f;
    f.Section().Interface(LINKTYPE_ETHERNET).Interface(160).Enhanced(0, 0, Payload(8));
    ReadResult r = ReadBytes(f.Bytes());
    EXPECT_FALSE(r.opened);
    EXPECT_EQ(r.open_error.message, "unsupported link type 160 (USER13) on interface 1: file skipped");
}

TEST(PcapngReader, UnsupportedLinkTypeLaterStopsNext) {
    PcapngFile f;
    f.Section().Interface(LINKTYPE_ETHERNET).Enhanced(0, 0, Payload(8)).Interface(239);
    ReadResult r = ReadBytes(f.Bytes());
    ASSERT_TRUE(r.opened);
    ASSERT_EQ(r.packets.size(), 1u);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("unsupported link type 239 (NFLOG)"), std::string::npos);
}

TEST(PcapngReader, BadByteOrderMagic) {
    PcapngFile f;
    f.Section();
    f.Bytes()[8] = 0x00;
    ReadResult r = ReadBytes(f.Bytes());
    EXPECT_FALSE(r.opened);
    EXPECT_NE(r.open_error.message.find("byte-order magic"), std::string::npos);
}

TEST(PcapngReader, MalformedOptionsKeepDefaults) {
    PcapngFile f;
    ByteWriter options;
    options.U16(OPT_IF_TSRESOL).U16(200);  // an option longer than the block
    f.Section().Interface(LINKTYPE_ETHERNET, 0, options.Bytes()).Enhanced(0, 1000000, Payload(4));
    ReadResult r = ReadBytes(f.Bytes());
    EXPECT_FALSE(r.error);
    ASSERT_EQ(r.packets.size(), 1u);
    EXPECT_EQ(r.packets[0].ts, NS_PER_SEC);  // microseconds, the default
}

}  // namespace
}  // namespace darkscope::testing
