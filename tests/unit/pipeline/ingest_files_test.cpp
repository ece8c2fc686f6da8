// Ingest knows a file by the hash of its bytes. It hashes an input in a pass of its own before parsing it only
// when a stored file has the same size (only such a file can have the same content); otherwise the parse hashes
// what it reads. Either way the stored hash must be the file's, so that the same content is skipped later,
// under any name, and different content of the same size is not.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "../capture/capture_test_util.hpp"
#include "pipeline/ingest.hpp"

namespace darkscope {
namespace {

class IngestFiles : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ =
            std::filesystem::temp_directory_path() / ("darkscope_ingest_files_" + std::to_string(::getpid()) + "_" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        store_ = Store::OpenSqlite((dir_ / "store.db").string());
    }
    void TearDown() override {
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    /// A pcap of `records` frames; `twist` changes one byte of one frame, not the size.
    static std::vector<uint8_t> Capture(int records, uint8_t twist = 0) {
        testing::PcapFile f;
        for (int i = 0; i < records; ++i) {
            std::vector<uint8_t> frame = testing::Payload(64, uint8_t(i));
            if (i == records / 2) frame[40] ^= twist;
            f.Record(1734480000u + uint32_t(i), 0, frame);
        }
        return f.Bytes();
    }
    std::filesystem::path Write(const std::string &name, const std::vector<uint8_t> &bytes) {
        const std::filesystem::path path = dir_ / name;
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
        return path;
    }
    /// One run over `files`: each file's outcome by its name.
    std::map<std::string, FileStatus> Run(const std::vector<std::filesystem::path> &files) {
        IngestOptions options;
        options.log = [](const std::string &) {};
        const IngestSummary summary = Ingest(*store_, SensorMap::Implicit(), files, options);
        std::map<std::string, FileStatus> out;
        for (const FileOutcome &f : summary.files)
            out[f.path.filename().string()] = f.status;
        return out;
    }
    std::map<std::string, std::string> StoredHashes() {
        std::map<std::string, std::string> out;
        for (const FileRecord &f : store_->ListFiles())
            out[std::filesystem::path(f.path).filename().string()] = f.content_hash;
        return out;
    }

    std::filesystem::path dir_;
    std::unique_ptr<Store> store_;
};

TEST_F(IngestFiles, TheStoredHashIsTheFilesWhetherTheParseOrItsOwnPassMadeIt) {
    const std::vector<uint8_t> a = Capture(50), b = Capture(50, 0x5A), d = Capture(51);
    ASSERT_EQ(a.size(), b.size());
    ASSERT_NE(testing::HashOf(a), testing::HashOf(b));

    // An empty store holds no file of a's size: the parse hashes a.
    EXPECT_EQ(Run({Write("a.pcap", a)}), (std::map<std::string, FileStatus>{{"a.pcap", FileStatus::INGESTED}}));
    EXPECT_EQ(StoredHashes().at("a.pcap"), testing::HashOf(a));

    // b and a copy of a have a's size: each is hashed first. The copy is skipped, b is not.
    EXPECT_EQ(
        Run({Write("b.pcap", b), Write("a-copy.pcap", a)}),
        (std::map<std::string, FileStatus>{{"a-copy.pcap", FileStatus::DUPLICATE}, {"b.pcap", FileStatus::INGESTED}}));
    EXPECT_EQ(StoredHashes().at("b.pcap"), testing::HashOf(b));

    // d differs in size from everything stored: hashed by its parse, and recognised by that hash in a later run.
    EXPECT_EQ(Run({Write("d.pcap", d)}), (std::map<std::string, FileStatus>{{"d.pcap", FileStatus::INGESTED}}));
    EXPECT_EQ(StoredHashes().at("d.pcap"), testing::HashOf(d));
    EXPECT_EQ(Run({Write("d-again.pcap", d)}),
              (std::map<std::string, FileStatus>{{"d-again.pcap", FileStatus::DUPLICATE}}));
    EXPECT_EQ(store_->ListFiles().size(), 3u);
}

// Two copies in one run: the first is hashed by its parse and committed before the second is looked at.
TEST_F(IngestFiles, ACopyLaterInTheSameRunIsSkipped) {
    const std::vector<uint8_t> a = Capture(20);
    EXPECT_EQ(
        Run({Write("one.pcap", a), Write("two.pcap", a)}),
        (std::map<std::string, FileStatus>{{"one.pcap", FileStatus::INGESTED}, {"two.pcap", FileStatus::DUPLICATE}}));
    ASSERT_EQ(store_->ListFiles().size(), 1u);
    EXPECT_EQ(store_->ListFiles()[0].content_hash, testing::HashOf(a));
}

}  // namespace
}  // namespace darkscope
