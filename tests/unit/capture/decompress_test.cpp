// gzip, zstd and xz: round trips through the same libraries, concatenated streams, truncation and corruption.

#include <gtest/gtest.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <stdexcept>

#include "capture/capture_reader.hpp"
#include "capture_test_util.hpp"

namespace darkscope::testing {
namespace {

std::vector<uint8_t> Gzip(const std::vector<uint8_t> &in) {
    z_stream s{};
    EXPECT_EQ(deflateInit2(&s, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::vector<uint8_t> out(deflateBound(&s, uLong(in.size())) + 64);
    s.next_in = const_cast<uint8_t *>(in.data());
    s.avail_in = uInt(in.size());
    s.next_out = out.data();
    s.avail_out = uInt(out.size());
    EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
    out.resize(s.total_out);
    deflateEnd(&s);
    return out;
}

std::vector<uint8_t> Zstd(const std::vector<uint8_t> &in) {
    std::vector<uint8_t> out(ZSTD_compressBound(in.size()));
    size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
    EXPECT_FALSE(ZSTD_isError(n));
    out.resize(n);
    return out;
}

std::vector<uint8_t> Xz(const std::vector<uint8_t> &in) {
    std::vector<uint8_t> out(lzma_stream_buffer_bound(in.size()));
    size_t pos = 0;
    EXPECT_EQ(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, nullptr, in.data(), in.size(), out.data(), &pos,
                                      out.size()),
              LZMA_OK);
    out.resize(pos);
    return out;
}

/// A pcap of `count` records whose compressed form spans several reads of the compressed input.
std::vector<uint8_t> SamplePcap(int count) {
    PcapFile f;
    for (int i = 0; i < count; ++i) f.Record(uint32_t(i), 0, Payload(size_t(60 + i % 30), uint8_t(i * 7)));
    return f.Bytes();
}

using Compressor = std::vector<uint8_t> (*)(const std::vector<uint8_t> &);
struct CompressionCase {
    const char *name;
    Compressor compress;
    Compression expected;
};

class Compressed : public ::testing::TestWithParam<CompressionCase> {};

TEST_P(Compressed, RoundTripMatchesUncompressed) {
    std::vector<uint8_t> plain = SamplePcap(40000);  // ~3.6 MB, beyond one buffer
    std::vector<uint8_t> packed = GetParam().compress(plain);
    ReadResult expected = ReadBytes(plain);
    for (const ReadResult &r : {ReadBytes(packed), ReadMemory(packed)}) {
        ASSERT_TRUE(r.opened) << r.open_error.message;
        EXPECT_EQ(r.compression, GetParam().expected);
        EXPECT_FALSE(r.error) << r.error->message;
        ASSERT_EQ(r.packets.size(), expected.packets.size());
        for (size_t i = 0; i < r.packets.size(); ++i) {
            ASSERT_EQ(r.packets[i].data, expected.packets[i].data) << i;
            ASSERT_EQ(r.packets[i].offset, expected.packets[i].offset) << i;
        }
    }
}

TEST_P(Compressed, PcapngInside) {
    PcapngFile f;
    f.Section().Interface(LINKTYPE_RAW).Enhanced(0, 42, Payload(20));
    ReadResult r = ReadBytes(GetParam().compress(f.Bytes()));
    ASSERT_TRUE(r.opened) << r.open_error.message;
    EXPECT_EQ(r.format, CaptureFormat::PCAPNG);
    ASSERT_EQ(r.packets.size(), 1u);
}

TEST_P(Compressed, ConcatenatedStreamsReadAsOne) {
    std::vector<uint8_t> plain = SamplePcap(100);
    PcapFile more;
    more.Record(1000, 0, Payload(50));
    std::vector<uint8_t> second(more.Bytes().begin() + 24, more.Bytes().end());  // records only, no file header
    std::vector<uint8_t> packed = GetParam().compress(plain);
    std::vector<uint8_t> packed2 = GetParam().compress(second);
    packed.insert(packed.end(), packed2.begin(), packed2.end());
    ReadResult r = ReadBytes(packed);
    EXPECT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(r.packets.size(), 101u);
}

TEST_P(Compressed, TruncatedStreamIsAnErrorWithPacketsKept) {
    std::vector<uint8_t> packed = GetParam().compress(SamplePcap(20000));
    packed.resize(packed.size() * 2 / 3);
    ReadResult r = ReadBytes(packed);
    ASSERT_TRUE(r.opened) << r.open_error.message;
    EXPECT_GT(r.packets.size(), 1000u);
    EXPECT_LT(r.packets.size(), 20000u);
    ASSERT_TRUE(r.error);
}

TEST_P(Compressed, CorruptStreamIsAnError) {
    std::vector<uint8_t> packed = GetParam().compress(SamplePcap(20000));
    for (size_t i = packed.size() / 2; i < packed.size() / 2 + 64; ++i) packed[i] ^= 0x5a;
    ReadResult r = ReadMemory(packed);
    if (!r.opened) {
        // The damage fell within the first buffer the reader decompresses while opening.
        EXPECT_FALSE(r.open_error.message.empty());
        return;
    }
    EXPECT_LT(r.packets.size(), 20000u);
    ASSERT_TRUE(r.error);
}

TEST_P(Compressed, EmptyContentIsEmptyFile) {
    ReadResult r = ReadBytes(GetParam().compress({}));
    EXPECT_FALSE(r.opened);
    EXPECT_EQ(r.open_error.message.rfind("empty file", 0), 0u) << r.open_error.message;
}

/// Opens bytes as a file with hashing on, reads up to `max_packets` records, and returns the content hash.
std::string HashWhileReading(const std::vector<uint8_t> &bytes, size_t max_packets = SIZE_MAX) {
    TempFile file(bytes);
    CaptureError error;
    auto reader = CaptureReader::Open(file.Path(), error, true);
    EXPECT_TRUE(reader) << error.message;
    if (!reader) return "";
    RawPacket p;
    for (size_t n = 0; n < max_packets && reader->Next(p); ++n) {
    }
    return reader->ContentHash();
}

// Ingest takes a file's content hash from the parse that reads it: whether the parse reads to the end, stops
// at damage, or leaves a compressed stream's tail unread, the hash is that of every byte of the file.
TEST_P(Compressed, ContentHashOfTheParseIsTheFilesHash) {
    const std::vector<uint8_t> packed = GetParam().compress(SamplePcap(40000));
    EXPECT_EQ(HashWhileReading(packed), HashOf(packed));
    EXPECT_EQ(HashWhileReading(packed, 10), HashOf(packed));
    std::vector<uint8_t> truncated = packed;
    truncated.resize(truncated.size() * 2 / 3);
    EXPECT_EQ(HashWhileReading(truncated), HashOf(truncated));
    std::vector<uint8_t> padded = packed;
    padded.resize(padded.size() + 3000, 0);
    EXPECT_EQ(HashWhileReading(padded), HashOf(padded));
}

TEST(ContentHash, PlainFilesWholeDamagedOrReadInPart) {
    const std::vector<uint8_t> plain = SamplePcap(40000);  // beyond one read buffer
    EXPECT_EQ(HashWhileReading(plain), HashOf(plain));
    EXPECT_EQ(HashWhileReading(plain, 3), HashOf(plain));
    std::vector<uint8_t> damaged = plain;
    for (size_t i = 40 + 16 * 10; i < 40 + 16 * 10 + 4; ++i)
        damaged[i] = 0xFF;  // a record length early on
    EXPECT_EQ(HashWhileReading(damaged), HashOf(damaged));
    EXPECT_NE(HashOf(damaged), HashOf(plain));
}

TEST(ContentHash, OnlyWhenAskedFor) {
    TempFile file(SamplePcap(3));
    CaptureError error;
    auto reader = CaptureReader::Open(file.Path(), error);
    ASSERT_TRUE(reader) << error.message;
    EXPECT_THROW(reader->ContentHash(), std::logic_error);
}

INSTANTIATE_TEST_SUITE_P(Capture, Compressed,
                         ::testing::Values(CompressionCase{"gzip", Gzip, Compression::GZIP},
                                           CompressionCase{"zstd", Zstd, Compression::ZSTD},
                                           CompressionCase{"xz", Xz, Compression::XZ}),
                         [](const auto &info) { return std::string(info.param.name); });

TEST(Compressed, GzipTrailingZerosAreIgnored) {
    std::vector<uint8_t> packed = Gzip(SamplePcap(10));
    packed.resize(packed.size() + 512, 0);  // tape-style padding, which gzip(1) ignores too
    ReadResult r = ReadBytes(packed);
    EXPECT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(r.packets.size(), 10u);
}

TEST(Compressed, DiskBytesReadCountsCompressedBytes) {
    std::vector<uint8_t> plain = SamplePcap(20000);
    std::vector<uint8_t> packed = Zstd(plain);
    TempFile file(packed);
    CaptureError error;
    auto reader = CaptureReader::Open(file.Path(), error);
    ASSERT_TRUE(reader);
    EXPECT_EQ(reader->DiskSize(), packed.size());
    RawPacket p;
    while (reader->Next(p)) {
    }
    EXPECT_EQ(reader->DiskBytesRead(), packed.size());
    EXPECT_EQ(reader->PacketsRead(), 20000u);
    EXPECT_STREQ(CompressionName(reader->GetCompression()), "zstd");
    EXPECT_STREQ(CaptureFormatName(reader->Format()), "pcap");
}

}  // namespace
}  // namespace darkscope::testing
