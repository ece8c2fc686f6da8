// Classic pcap: byte orders, time units, lengths, truncation and link types, from hand-built files.

#include <gtest/gtest.h>

#include "capture/capture_reader.hpp"
#include "capture_test_util.hpp"

namespace darkscope::testing {
namespace {

struct PcapVariant {
    bool big_endian;
    bool nano;
};

class PcapVariants : public ::testing::TestWithParam<PcapVariant> {};

TEST_P(PcapVariants, ReadsRecordsInOrder) {
    const auto [big_endian, nano] = GetParam();
    PcapFile f(big_endian, nano);
    f.Record(1700000000, nano ? 123456789 : 123456, Payload(60, 0x10));  // offset 24
    f.Record(1700000001, 0, Payload(1, 0x20), 1514);                     // offset 24 + 16 + 60 = 100
    f.Record(0, 0, {});                                                  // empty record at offset 117
    for (const ReadResult &r : {ReadBytes(f.Bytes()), ReadMemory(f.Bytes())}) {
        ASSERT_TRUE(r.opened) << r.open_error.message;
        EXPECT_EQ(r.format, CaptureFormat::PCAP);
        EXPECT_FALSE(r.error) << r.error->message;
        ASSERT_EQ(r.packets.size(), 3u);
        EXPECT_EQ(r.packets[0].ts, 1700000000 * NS_PER_SEC + (nano ? 123456789 : 123456000));
        EXPECT_EQ(r.packets[0].data, Payload(60, 0x10));
        EXPECT_EQ(r.packets[0].offset, 24u);
        EXPECT_EQ(r.packets[0].link_type, LINKTYPE_ETHERNET);
        EXPECT_EQ(r.packets[1].ts, 1700000001 * NS_PER_SEC);
        EXPECT_EQ(r.packets[1].wire_len, 1514u);
        EXPECT_EQ(r.packets[1].offset, 100u);
        EXPECT_TRUE(r.packets[2].data.empty());
        EXPECT_EQ(r.packets[2].offset, 117u);
    }
}

INSTANTIATE_TEST_SUITE_P(ByteOrderAndUnit, PcapVariants,
                         ::testing::Values(PcapVariant{false, false}, PcapVariant{false, true},
                                           PcapVariant{true, false}, PcapVariant{true, true}),
                         [](const auto &info) {
                             return std::string(info.param.big_endian ? "BigEndian" : "LittleEndian") +
                                    (info.param.nano ? "Nano" : "Micro");
                         });

TEST(PcapReader, HeaderOnlyIsValidAndEmpty) {
    PcapFile f;
    ReadResult r = ReadBytes(f.Bytes());
    ASSERT_TRUE(r.opened);
    EXPECT_TRUE(r.packets.empty());
    EXPECT_FALSE(r.error);
}

TEST(PcapReader, ZeroByteFileIsAnError) {
    ReadResult r = ReadBytes({});
    EXPECT_FALSE(r.opened);
    EXPECT_EQ(r.open_error.message, "empty file");
}

TEST(PcapReader, UnknownMagicNamesTheFirstBytes) {
    ReadResult r = ReadBytes({'G', 'E', 'T', ' ', '/'});
    EXPECT_FALSE(r.opened);
    EXPECT_EQ(r.open_error.message, "not a pcap or pcapng file (first bytes: 47 45 54 20)");
}

TEST(PcapReader, FileHeaderCutShort) {
    PcapFile f;
    f.Bytes().resize(10);
    ReadResult r = ReadBytes(f.Bytes());
    EXPECT_FALSE(r.opened);
    EXPECT_NE(r.open_error.message.find("truncated"), std::string::npos) << r.open_error.message;
}

TEST(PcapReader, TruncatedRecordDataKeepsEarlierRecords) {
    PcapFile f;
    f.Record(1, 0, Payload(40)).Record(2, 0, Payload(40));  // second record at offset 24 + 56 = 80
    f.Bytes().erase(f.Bytes().end() - 5, f.Bytes().end());   // 5 bytes of its data missing
    for (const ReadResult &r : {ReadBytes(f.Bytes()), ReadMemory(f.Bytes())}) {
        ASSERT_TRUE(r.opened);
        ASSERT_EQ(r.packets.size(), 1u);
        ASSERT_TRUE(r.error);
        EXPECT_EQ(r.error->offset, 80u);
        EXPECT_EQ(r.error->message.rfind("truncated: file ends inside record at offset 80", 0), 0u)
            << r.error->message;
        EXPECT_NE(r.error->message.find("1 earlier packets kept"), std::string::npos);
    }
}

TEST(PcapReader, TruncatedRecordHeader) {
    PcapFile f;
    f.Record(1, 0, Payload(40));
    f.Bytes().insert(f.Bytes().end(), {0x01, 0x02});  // 2 of 16 header bytes, as ndpi__fuzz-2021-10-13.pcap
    ReadResult r = ReadBytes(f.Bytes());
    ASSERT_EQ(r.packets.size(), 1u);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->offset, 80u);
}

TEST(PcapReader, AbsurdRecordLengthIsCorruption) {
    PcapFile f;
    f.Record(1, 0, Payload(20));
    // Record header at offset 24 + 16 + 20 = 60 claims 0xffffffff bytes.
    f.w.U32(2).U32(0).U32(0xffffffff).U32(60);
    f.w.Raw(Payload(60));
    ReadResult r = ReadBytes(f.Bytes());
    ASSERT_EQ(r.packets.size(), 1u);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->offset, 60u);
    EXPECT_NE(r.error->message.find("record length 4294967295"), std::string::npos) << r.error->message;
}

TEST(PcapReader, RecordLongerThanSnaplenButWithinLibpcapLimitIsKept) {
    PcapFile f(false, false, LINKTYPE_ETHERNET, /*snaplen=*/64);
    f.Record(1, 0, Payload(1000));
    ReadResult r = ReadBytes(f.Bytes());
    ASSERT_EQ(r.packets.size(), 1u);
    EXPECT_EQ(r.packets[0].data.size(), 1000u);
    EXPECT_FALSE(r.error);
}

TEST(PcapReader, SnaplenZeroMeansLibpcapLimit) {
    PcapFile f(false, false, LINKTYPE_ETHERNET, /*snaplen=*/0);
    f.Record(1, 0, Payload(262144));
    f.Record(2, 0, Payload(262145));
    ReadResult r = ReadBytes(f.Bytes());
    ASSERT_EQ(r.packets.size(), 1u);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("262145"), std::string::npos);
}

TEST(PcapReader, RecordLargerThanTheBufferIsRead) {
    // A snaplen above 256 KiB raises the limit; records larger than the 1 MiB read buffer still come back whole.
    PcapFile f(false, false, LINKTYPE_ETHERNET, /*snaplen=*/4u << 20);
    f.Record(1, 0, Payload(100));
    f.Record(2, 0, Payload(3u << 20));
    f.Record(3, 0, Payload(100));
    ReadResult r = ReadBytes(f.Bytes());
    EXPECT_FALSE(r.error);
    ASSERT_EQ(r.packets.size(), 3u);
    EXPECT_EQ(r.packets[1].data, Payload(3u << 20));
    EXPECT_EQ(r.packets[2].offset, 24u + 116 + 16 + (3u << 20));
}

TEST(PcapReader, ManyRecordsAcrossBufferRefills) {
    PcapFile f;
    constexpr int COUNT = 50000;  // ~3.7 MB: several refills of the 1 MiB buffer, records straddling each edge
    for (int i = 0; i < COUNT; ++i) f.Record(uint32_t(i), 0, Payload(size_t(40 + i % 50), uint8_t(i)));
    ReadResult r = ReadBytes(f.Bytes());
    EXPECT_FALSE(r.error);
    ASSERT_EQ(r.packets.size(), size_t(COUNT));
    for (int i = 0; i < COUNT; ++i) {
        ASSERT_EQ(r.packets[i].ts, i * NS_PER_SEC);
        ASSERT_EQ(r.packets[i].data, Payload(size_t(40 + i % 50), uint8_t(i))) << i;
    }
}

TEST(PcapReader, OrigLenBelowInclLenIsRaisedToInclLen) {
    PcapFile f;
    f.Record(1, 0, Payload(60), /*orig_len=*/20);
    ReadResult r = ReadBytes(f.Bytes());
    ASSERT_EQ(r.packets.size(), 1u);
    EXPECT_EQ(r.packets[0].wire_len, 60u);
}

TEST(PcapReader, OldFormatHasLengthsSwapped) {
    // Format 2.2 stores orig_len before incl_len (libpcap swaps them back, as we do).
    PcapFile f(false, false, LINKTYPE_ETHERNET, 65535, 2, 2);
    f.w.U32(1).U32(0).U32(1500).U32(30).Raw(Payload(30));
    ReadResult r = ReadBytes(f.Bytes());
    EXPECT_FALSE(r.error);
    ASSERT_EQ(r.packets.size(), 1u);
    EXPECT_EQ(r.packets[0].data.size(), 30u);
    EXPECT_EQ(r.packets[0].wire_len, 1500u);
}

TEST(PcapReader, UnsupportedLinkTypeFailsOpen) {
    PcapFile f(false, false, /*link_type=*/160);
    f.Record(1, 0, Payload(10));
    ReadResult r = ReadBytes(f.Bytes());
    EXPECT_FALSE(r.opened);
    EXPECT_EQ(r.open_error.message, "unsupported link type 160 (USER13) on interface 0: file skipped");
}

TEST(PcapReader, LinkTypeUpperBitsAreFcsInformation) {
    PcapFile f(false, false, /*link_type=*/0x14000000 | LINKTYPE_RAW);  // FCS present, 4 bytes
    f.Record(1, 0, Payload(20));
    ReadResult r = ReadBytes(f.Bytes());
    ASSERT_EQ(r.packets.size(), 1u);
    EXPECT_EQ(r.packets[0].link_type, LINKTYPE_RAW);
}

TEST(PcapReader, EveryDecodableLinkTypeOpens) {
    for (uint32_t link : {0u, 1u, 12u, 14u, 101u, 108u, 113u, 228u, 229u, 276u}) {
        PcapFile f(false, false, link);
        ReadResult r = ReadBytes(f.Bytes());
        EXPECT_TRUE(r.opened) << link << ": " << r.open_error.message;
        EXPECT_TRUE(IsSupportedLinkType(link));
    }
    EXPECT_FALSE(IsSupportedLinkType(9));
    EXPECT_STREQ(LinkTypeName(LINKTYPE_LINUX_SLL2), "LINUX_SLL2");
    EXPECT_STREQ(LinkTypeName(4242), "unknown link type 4242");
}

}  // namespace
}  // namespace darkscope::testing
