// The readers against real captures in ../shared/data/pcap (counts from capinfos, as listed in PROVENANCE.md).

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "capture/capture_reader.hpp"
#include "capture_test_util.hpp"
#include "common/shared_data.hpp"

namespace darkscope::testing {
namespace {

namespace fs = std::filesystem;

fs::path DataDir() { return SharedDataDir(DARKSCOPE_SHARED_DATA); }

#define REQUIRE_SHARED_DATA()                                                                                 \
    if (DataDir().empty()) GTEST_SKIP() << "shared test data not found (set DARKSCOPE_SHARED_DATA to the " \
                                           "folder holding pcap/ and PROVENANCE.md)"

struct RealFile {
    const char *path;
    CaptureFormat format;
    size_t packets;
};

class RealFiles : public ::testing::TestWithParam<RealFile> {};

TEST_P(RealFiles, PacketCountMatchesCapinfos) {
    REQUIRE_SHARED_DATA();
    const RealFile &f = GetParam();
    ReadResult r = ReadFile(DataDir() / f.path);
    ASSERT_TRUE(r.opened) << f.path << ": " << r.open_error.message;
    EXPECT_EQ(r.format, f.format) << "format must come from the magic number, not the extension";
    EXPECT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(r.packets.size(), f.packets);
}

INSTANTIATE_TEST_SUITE_P(
    Capture, RealFiles,
    ::testing::Values(
        // Extensions that lie.
        RealFile{"pcap/attacks/stopddos__amp.UDP.snmp.src161.pcapng", CaptureFormat::PCAP, 4373},
        RealFile{"pcap/attacks/ndpi__tcp_scan.pcapng", CaptureFormat::PCAP, 30},
        RealFile{"pcap/attacks/ndpi__snmp.pcap", CaptureFormat::PCAPNG, 72},
        RealFile{"pcap/attacks/ndpi__netbios.pcap", CaptureFormat::PCAPNG, 261},
        RealFile{"pcap/attacks/stopddos__pkt.TCP.synflood.spoofed.pcap", CaptureFormat::PCAP, 37841},
        RealFile{"pcap/edge/ndpi__nano.pcapng", CaptureFormat::PCAPNG, 6},
        RealFile{"pcap/edge/tcpdump__pptp.pcap", CaptureFormat::PCAP, 23},
        RealFile{"pcap/edge/tcpdump__tcp-handshake-nano.pcap", CaptureFormat::PCAP, 3},
        RealFile{"pcap/edge/tcpdump__empty.pcap", CaptureFormat::PCAP, 0},
        RealFile{"pcap/edge/tcpdump__empty.pcapng", CaptureFormat::PCAPNG, 0},
        RealFile{"pcap/edge/zeek__pcapng-multi-interface.pcapng", CaptureFormat::PCAPNG, 6},
        RealFile{"pcap/edge/tcpdump__time_2106_overflow.pcapng", CaptureFormat::PCAPNG, 1}),
    [](const auto &info) {
        std::string name = fs::path(info.param.path).filename().string();
        for (char &c : name) {
            if (!isalnum(static_cast<unsigned char>(c))) c = '_';
        }
        return name;
    });

TEST(RealFiles, BigEndianPcap) {
    REQUIRE_SHARED_DATA();
    ReadResult r = ReadFile(DataDir() / "pcap/edge/tcpdump__pptp.pcap");
    ASSERT_EQ(r.packets.size(), 23u);
    EXPECT_EQ(r.packets[0].link_type, LINKTYPE_ETHERNET);
    EXPECT_EQ(r.packets[0].ts / NS_PER_SEC / 100000000, 9);  // a 1990s capture, so the fields were swapped right
}

TEST(RealFiles, NanosecondPcap) {
    REQUIRE_SHARED_DATA();
    ReadResult r = ReadFile(DataDir() / "pcap/edge/tcpdump__tcp-handshake-nano.pcap");
    ASSERT_EQ(r.packets.size(), 3u);
    EXPECT_EQ(r.packets[0].link_type, LINKTYPE_LINUX_SLL);
    EXPECT_NE(r.packets[0].ts % 1000, 0) << "nanosecond digits must survive";
}

TEST(RealFiles, TimestampBeyond2106) {
    REQUIRE_SHARED_DATA();
    ReadResult r = ReadFile(DataDir() / "pcap/edge/tcpdump__time_2106_overflow.pcapng");
    ASSERT_EQ(r.packets.size(), 1u);
    EXPECT_EQ(r.packets[0].ts, (int64_t(1) << 32) * NS_PER_SEC);  // tshark: 4294967296.000000000
}

TEST(RealFiles, MultiInterfacePcapng) {
    REQUIRE_SHARED_DATA();
    ReadResult r = ReadFile(DataDir() / "pcap/edge/zeek__pcapng-multi-interface.pcapng");
    ASSERT_EQ(r.packets.size(), 6u);
    std::set<uint32_t> interfaces;
    for (const auto &p : r.packets) interfaces.insert(p.interface_id);
    EXPECT_EQ(interfaces.size(), 2u);
}

TEST(RealFiles, TruncatedAtEndKeepsRecords) {
    REQUIRE_SHARED_DATA();
    ReadResult r = ReadFile(DataDir() / "pcap/edge/ndpi__fuzz-2021-10-13.pcap");
    ASSERT_TRUE(r.opened) << r.open_error.message;
    EXPECT_EQ(r.packets.size(), 1u);  // a format-2.0 file: lengths stored swapped, as libpcap reads them
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->message.rfind("truncated: file ends inside record at offset 237", 0), 0u)
        << r.error->message;
}

TEST(RealFiles, UnsupportedLinkTypeIsSkippedWithAMessage) {
    REQUIRE_SHARED_DATA();
    ReadResult r = ReadFile(DataDir() / "pcap/edge/tcpdump__unsupported-link-type-160.pcap");
    EXPECT_FALSE(r.opened);
    EXPECT_EQ(r.open_error.message, "unsupported link type 160 (USER13) on interface 0: file skipped");
}

/// hadrielk/pcapng-test-generator: packet counts (capinfos), and for the hardest file the per-packet interface,
/// captured length and timestamp as tshark shows them.
TEST(RealFiles, PcapngTestGenerator) {
    REQUIRE_SHARED_DATA();
    const std::pair<const char *, size_t> expected[] = {
        {"advanced_test100", 5}, {"basic_test001", 4}, {"basic_test002", 0}, {"basic_test003", 0},
        {"basic_test004", 4},    {"basic_test006", 5}, {"basic_test007", 1}, {"basic_test008", 4},
        {"basic_test010", 4},    {"basic_test013", 0}, {"basic_test016", 4}, {"difficult_test200", 0},
        {"difficult_test202", 8},
    };
    for (const char *order : {"output_le", "output_be"}) {
        for (const auto &[name, count] : expected) {
            fs::path path = DataDir() / "pcap/edge/pcapng-test-generator" / order / (std::string(name) + ".pcapng");
            ReadResult r = ReadFile(path);
            ASSERT_TRUE(r.opened) << path << ": " << r.open_error.message;
            EXPECT_FALSE(r.error) << path << ": " << r.error->message;
            EXPECT_EQ(r.packets.size(), count) << path;
        }
        // SHB, IDB, NRB, IDB, CB, NRB, EPB, ISB, EPB, EPB, SHB (other byte order), IDB, SPB, EPB, DCB, NRB, NRB,
        // ISB, SPB, EPB, SHB, NRB, IDB, DCB, IDB, ISB, ISB, EPB
        ReadResult r = ReadFile(DataDir() / "pcap/edge/pcapng-test-generator" / order / "difficult_test202.pcapng");
        ASSERT_EQ(r.packets.size(), 8u);
        constexpr TimestampNs T0 = 1340954905298858000;
        const struct {
            TimestampNs ts;
            uint32_t interface_id;
            size_t caplen;
        } want[] = {{T0, 0, 96},        {T0, 0, 96}, {T0 + 3000000, 1, 168}, {0, 0, 128},
                    {T0, 0, 128},       {0, 0, 128}, {T0, 0, 128},           {T0 + 3000000, 1, 168}};
        for (size_t i = 0; i < 8; ++i) {
            EXPECT_EQ(r.packets[i].ts, want[i].ts) << order << " packet " << i;
            EXPECT_EQ(r.packets[i].interface_id, want[i].interface_id) << order << " packet " << i;
            EXPECT_EQ(r.packets[i].data.size(), want[i].caplen) << order << " packet " << i;
        }
    }
}

/// Every capture listed in PROVENANCE.md: the reader agrees with capinfos, or skips the file for its link type.
TEST(RealFiles, EveryListedCaptureMatchesCapinfos) {
    REQUIRE_SHARED_DATA();
    std::ifstream provenance(DataDir() / "PROVENANCE.md");
    ASSERT_TRUE(provenance) << "PROVENANCE.md missing";
    const std::regex entry(R"(^- \*\*`(pcap/[^`]+)`\*\*)");
    const std::regex count(R"(^  - format .*capinfos packets (\d+))");  // the entry's own format line
    std::string line, current;
    int checked = 0;
    while (std::getline(provenance, line)) {
        std::smatch m;
        if (std::regex_search(line, m, entry)) {
            current = m[1];
            continue;
        }
        if (line.rfind("#", 0) == 0) current.clear();
        if (current.empty() || !std::regex_search(line, m, count)) continue;
        size_t expected = std::stoul(m[1]);
        fs::path path = DataDir() / current;
        current.clear();
        if (!fs::exists(path)) continue;
        ReadResult r = ReadFile(path);
        ++checked;
        if (!r.opened) {
            EXPECT_NE(r.open_error.message.find("unsupported link type"), std::string::npos)
                << path << ": " << r.open_error.message;
            continue;
        }
        EXPECT_EQ(r.packets.size(), expected) << path;
        if (r.error) {
            EXPECT_EQ(path.filename(), "ndpi__fuzz-2021-10-13.pcap") << path << ": " << r.error->message;
        }
    }
    EXPECT_GT(checked, 100);
}

}  // namespace
}  // namespace darkscope::testing
