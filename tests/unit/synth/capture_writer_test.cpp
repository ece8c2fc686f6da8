#include "synth/capture_writer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "capture/capture_reader.hpp"
#include "synth_test_util.hpp"

namespace darkscope::synth {
namespace {

namespace fs = std::filesystem;

fs::path TempDir(const std::string &name) {
    auto dir = fs::temp_directory_path() / ("darkscope_synth_" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

std::vector<test::Frame> SomeFrames() {
    auto sc = ParseScenario(test::SmallScenario(R"(
[[population]]
name = "p"
countries = { CN = 1 }
services = { "23/TCP" = 1, "53/UDP" = 1, "8/ICMP" = 1 }
sources = 50
ipv6 = 0.2
rate = 2000
)",
                                                "2024-10-01T22:00:00Z", "2024-10-02T01:00:00Z"),
                            "t.toml");
    Generator gen(sc, {});
    test::MemorySink sink;
    gen.Run(sink);
    return sink.frames;
}

std::vector<test::Frame> ReadBack(const fs::path &path) {
    CaptureError error;
    auto reader = CaptureReader::Open(path, error);
    EXPECT_TRUE(reader) << error.message;
    std::vector<test::Frame> out;
    if (!reader) return out;
    RawPacket p;
    while (reader->Next(p)) {
        EXPECT_EQ(p.caplen, p.wire_len);
        out.push_back({p.ts, {p.data, p.data + p.caplen}});
    }
    EXPECT_FALSE(reader->Error()) << reader->Error()->message;
    return out;
}

}  // namespace

TEST(CaptureWriter, EveryFormatAndCompressionReadsBackThroughTheCaptureReader) {
    auto frames = SomeFrames();
    ASSERT_GT(frames.size(), 1000u);
    for (auto format : {synth::CaptureFormat::PCAP, synth::CaptureFormat::PCAPNG}) {
        for (auto compression : {synth::Compression::NONE, synth::Compression::GZIP, synth::Compression::ZSTD}) {
            WriterOptions o{format, compression, false, 0};
            auto dir = TempDir("formats");
            {
                CaptureWriter w(dir, "x", o);
                for (auto &f : frames)
                    w.Write(f.ts, f.bytes.data(), f.bytes.size());
                w.Close();
                ASSERT_EQ(w.Files().size(), 1u);
                EXPECT_EQ(w.Files()[0].filename(), CaptureFileName("x", o, std::nullopt));
            }
            auto back = ReadBack(dir / CaptureFileName("x", o, std::nullopt));
            ASSERT_EQ(back.size(), frames.size());
            for (size_t i = 0; i < frames.size(); ++i) {
                ASSERT_EQ(back[i].bytes, frames[i].bytes);
                // pcap keeps microseconds, pcapng (if_tsresol 9) nanoseconds.
                TimestampNs want = format == synth::CaptureFormat::PCAP ? frames[i].ts / 1000 * 1000 : frames[i].ts;
                ASSERT_EQ(back[i].ts, want);
            }
        }
    }
}

TEST(CaptureWriter, HourlyRotationStartsAFileEachHour) {
    auto frames = SomeFrames();
    WriterOptions o{synth::CaptureFormat::PCAP, synth::Compression::ZSTD, true, 0};
    auto dir = TempDir("rotate");
    std::vector<fs::path> files;
    {
        CaptureWriter w(dir, "t", o);
        for (auto &f : frames)
            w.Write(f.ts, f.bytes.data(), f.bytes.size());
        w.Close();
        files = w.Files();
    }
    ASSERT_EQ(files.size(), 3u);
    EXPECT_EQ(files[0].filename(), "t-2024100122.pcap.zst");
    EXPECT_EQ(files[1].filename(), "t-2024100123.pcap.zst");
    EXPECT_EQ(files[2].filename(), "t-2024100200.pcap.zst");
    size_t total = 0;
    for (size_t i = 0; i < files.size(); ++i) {
        auto back = ReadBack(files[i]);
        total += back.size();
        for (auto &f : back)
            EXPECT_EQ(HourOf(f.ts), HourOf(frames.front().ts) + int64_t(i));
    }
    EXPECT_EQ(total, frames.size());
}

TEST(CaptureWriter, OutputBytesAreReproducible) {
    auto frames = SomeFrames();
    std::string bytes[2];
    for (int k = 0; k < 2; ++k) {
        auto dir = TempDir("repro");
        {
            CaptureWriter w(dir, "r", {synth::CaptureFormat::PCAPNG, synth::Compression::GZIP, false, 0});
            for (auto &f : frames)
                w.Write(f.ts, f.bytes.data(), f.bytes.size());
        }  // the destructor closes
        std::ifstream in(dir / "r.pcapng.gz", std::ios::binary);
        bytes[k].assign(std::istreambuf_iterator<char>(in), {});
    }
    EXPECT_GT(bytes[0].size(), 1000u);
    EXPECT_EQ(bytes[0], bytes[1]);
}

TEST(CaptureWriter, UnwritableDirectoryIsAClearError) {
    CaptureWriter w("/nonexistent-dir/x", "t", {});
    uint8_t frame[60] = {};
    try {
        w.Write(0, frame, sizeof frame);
        FAIL();
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x/t.pcap: cannot create"), std::string::npos)
            << e.what();
    }
}

}  // namespace darkscope::synth
