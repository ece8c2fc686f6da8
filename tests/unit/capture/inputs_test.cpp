// ExpandInputs and SortByFirstTimestamp over a scratch folder.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "capture/capture_reader.hpp"
#include "capture_test_util.hpp"

namespace darkscope::testing {
namespace {

namespace fs = std::filesystem;

class InputsTest : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() / ("darkscope_inputs_" + std::to_string(::getpid()));
        fs::remove_all(root_);
        fs::create_directories(root_ / "sub" / "deeper");
        fs::create_directories(root_ / ".hidden_dir");
    }
    void TearDown() override { fs::remove_all(root_); }

    fs::path Write(const fs::path &relative, const std::vector<uint8_t> &bytes) {
        fs::path p = root_ / relative;
        std::ofstream out(p, std::ios::binary);
        out.write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
        return p;
    }
    static std::vector<uint8_t> PcapAt(uint32_t first_second) {
        PcapFile f;
        f.Record(first_second, 0, Payload(20));
        return f.Bytes();
    }
    static std::vector<std::string> Names(const std::vector<fs::path> &files) {
        std::vector<std::string> names;
        for (const auto &f : files) names.push_back(f.filename().string());
        return names;
    }

    fs::path root_;
};

TEST_F(InputsTest, DirectoriesAreSearchedRecursivelySkippingHiddenFiles) {
    Write("a.pcap", PcapAt(1));
    Write("sub/b.pcap", PcapAt(2));
    Write("sub/deeper/c.pcap.gz", PcapAt(3));
    Write(".hidden.pcap", PcapAt(4));
    Write(".hidden_dir/d.pcap", PcapAt(5));
    std::vector<std::string> errors;
    auto files = ExpandInputs({root_.string()}, errors);
    EXPECT_TRUE(errors.empty());
    auto names = Names(files);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"a.pcap", "b.pcap", "c.pcap.gz"}));
}

TEST_F(InputsTest, GlobPatternsAndMissingInputs) {
    Write("x1.pcap", PcapAt(1));
    Write("x2.pcap", PcapAt(2));
    Write("y.pcap", PcapAt(3));
    std::vector<std::string> errors;
    auto files = ExpandInputs({(root_ / "x*.pcap").string(), (root_ / "nothing*.pcap").string(),
                               (root_ / "missing.pcap").string()},
                              errors);
    EXPECT_EQ(Names(files), (std::vector<std::string>{"x1.pcap", "x2.pcap"}));
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_NE(errors[0].find("no files match"), std::string::npos) << errors[0];
    EXPECT_NE(errors[1].find("no such file"), std::string::npos) << errors[1];
}

TEST_F(InputsTest, DuplicatesAreReadOnce) {
    fs::path a = Write("a.pcap", PcapAt(1));
    fs::create_symlink(a, root_ / "sub" / "link.pcap");
    std::vector<std::string> errors;
    auto files = ExpandInputs({a.string(), (root_ / "sub" / ".." / "a.pcap").string(), (root_ / "*.pcap").string(),
                               (root_ / "sub" / "link.pcap").string()},
                              errors);
    EXPECT_TRUE(errors.empty());
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0], a);
}

TEST_F(InputsTest, SortByFirstTimestampPutsFilesWithoutPacketsFirst) {
    // Names in reverse time order, so only the timestamps can give the expected order.
    Write("a.pcap", PcapAt(300));
    Write("b.pcap", PcapAt(200));
    PcapngFile ng;
    ng.Section().Interface(LINKTYPE_ETHERNET).Enhanced(0, 100000000, Payload(4));  // 100 s in microseconds
    Write("c.pcapng", ng.Bytes());
    Write("d_empty.pcap", PcapFile().Bytes());
    fs::path garbage = Write("e_garbage.pcap", {1, 2, 3, 4, 5});
    Write("f.pcap", PcapAt(200));  // same time as b: by path
    std::vector<std::string> errors;
    auto files = ExpandInputs({root_.string(), garbage.string()}, errors);  // the garbage also by name
    SortByFirstTimestamp(files);
    EXPECT_EQ(Names(files), (std::vector<std::string>{"d_empty.pcap", "e_garbage.pcap", "c.pcapng", "b.pcap",
                                                      "f.pcap", "a.pcap"}));
}

// A folder holds more than captures (synth writes its ground truth and sensors file beside them):
// files found in a folder or by a pattern are kept only if their first bytes are a capture's or a
// compressed file's; a file named as it is is kept whatever it holds, so that reading it can say why.
TEST_F(InputsTest, FilesThatAreNotCapturesAreLeftOutOfFoldersAndPatterns) {
    Write("a.pcap", PcapAt(1));
    Write("b.pcap.gz", {0x1f, 0x8b, 8, 0, 0, 0, 0, 0});
    Write("run.truth.json", {'{', '"', 'a', '"', ':', '1', '}'});
    Write("sub/run.sensors.toml", {'[', '[', 's', ']', ']'});
    Write("sub/empty", {});
    fs::path named = Write("sub/notes.txt", {'h', 'e', 'l', 'l', 'o'});
    std::vector<std::string> errors;
    std::vector<fs::path> skipped;
    auto files = ExpandInputs({root_.string()}, errors, &skipped);
    EXPECT_TRUE(errors.empty());
    auto names = Names(files);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"a.pcap", "b.pcap.gz"}));
    auto skipped_names = Names(skipped);
    std::sort(skipped_names.begin(), skipped_names.end());
    EXPECT_EQ(skipped_names, (std::vector<std::string>{"empty", "notes.txt", "run.sensors.toml", "run.truth.json"}));

    skipped.clear();
    files = ExpandInputs({(root_ / "*").string(), named.string()}, errors, &skipped);
    names = Names(files);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"a.pcap", "b.pcap.gz", "notes.txt"}));
    skipped_names = Names(skipped);
    std::sort(skipped_names.begin(), skipped_names.end());
    EXPECT_EQ(skipped_names, (std::vector<std::string>{"empty", "run.sensors.toml", "run.truth.json"}));
}

}  // namespace
}  // namespace darkscope::testing
