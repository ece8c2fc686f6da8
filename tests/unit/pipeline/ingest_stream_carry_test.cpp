// The stream detectors across ingest runs into one store: hourly captures ingested one run at a time, the usual
// way a telescope ingests, must give the events one run over all of them gives. A scan or an attack split over
// two runs is one event (and not none when each half is below the thresholds, nor two when both reach them);
// a gap longer than the timeout still splits; the number of threads may change between runs.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "detect/stream.hpp"
#include "pipeline/ingest.hpp"
#include "synth/capture_writer.hpp"
#include "synth/packet_builder.hpp"

namespace darkscope {
namespace {

constexpr TimestampNs HOUR0 = 1734480000LL * NS_PER_SEC;  // 2024-12-18T00:00:00Z
constexpr TimestampNs SEC = NS_PER_SEC;
constexpr TimestampNs HOUR = SECONDS_PER_HOUR * NS_PER_SEC;
constexpr uint32_t DARKNET = 0xC6336400;  // 198.51.100.0/24, the one sensor: 256 addresses, so scans need 10

struct Packet {
    TimestampNs ts = 0;
    uint32_t src = 0;
    uint32_t dst = 0;     // host order
    bool synack = false;  // a victim's SYN/ACK from 80/TCP (backscatter), else a SYN to 23/TCP
};

// `count` SYNs from `src` to darknet addresses first_dst, first_dst + 1, ..., `spacing` apart from `start` (after
// HOUR0).
void Syns(std::vector<Packet> &out, const char *src, uint32_t first_dst, int count, TimestampNs start,
          TimestampNs spacing) {
    for (int i = 0; i < count; ++i)
        out.push_back(Packet{HOUR0 + start + i * spacing, IpAddress::Parse(src)->V4HostOrder(),
                             DARKNET + ((first_dst + uint32_t(i)) & 0xFF), false});
}
void SynAcks(std::vector<Packet> &out, const char *victim, int count, TimestampNs start, TimestampNs spacing) {
    for (int i = 0; i < count; ++i)
        out.push_back(Packet{HOUR0 + start + i * spacing, IpAddress::Parse(victim)->V4HostOrder(),
                             DARKNET + uint32_t(i * 7 % 256), true});
}

std::filesystem::path WriteCapture(const std::filesystem::path &dir, const std::string &stem,
                                   std::vector<Packet> packets) {
    std::stable_sort(packets.begin(), packets.end(), [](const Packet &a, const Packet &b) { return a.ts < b.ts; });
    synth::CaptureWriter writer(dir, stem, synth::WriterOptions{});
    uint8_t frame[synth::MAX_FRAME];
    uint16_t id = 1;
    for (const Packet &p : packets) {
        synth::Ipv4Header ip;
        ip.src = p.src;
        ip.dst = p.dst;
        ip.id = id++;
        synth::TcpHeader tcp;
        tcp.sport = p.synack ? 80 : 40000;
        tcp.dport = p.synack ? 40000 : 23;
        tcp.flags = p.synack ? uint8_t(synth::TCP_SYN | synth::TCP_ACK) : synth::TCP_SYN;
        tcp.seq = 1000u + id;
        tcp.ack = p.synack ? 555u : 0u;
        tcp.window = 1024;
        const size_t l4 = synth::TcpLength(tcp);
        synth::WriteEthIpv4(frame, ip, synth::PROTO_TCP, l4);
        synth::WriteTcp(frame, synth::ETH_LEN, false, tcp);
        writer.Write(p.ts, frame, synth::ETH_LEN + synth::IPV4_LEN + l4);
    }
    writer.Close();
    return writer.Files().at(0);
}

class IngestStreamCarry : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ =
            std::filesystem::temp_directory_path() / ("darkscope_stream_carry_" + std::to_string(::getpid()) + "_" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        sensor_.name = "s1";
        sensor_.networks = {*IpNetwork::Parse("198.51.100.0/24")};
        sensor_.addresses = 256;
        detectors_.monitored_addresses = 256;  // as `darkscope ingest` sums the sensors'
        store_ = Store::OpenSqlite((dir_ / "store.db").string());
    }
    void TearDown() override {
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    // One `darkscope ingest` run over `files`.
    IngestSummary Run(const std::vector<std::filesystem::path> &files, unsigned threads = 0, bool detect = true) {
        IngestOptions options;
        options.threads = threads;
        options.detectors = detect ? &detectors_ : nullptr;
        options.log = [&](const std::string &line) { log_.push_back(line); };
        return Ingest(*store_, SensorMap::FromSensors({sensor_}), files, options);
    }
    std::vector<detect::DetectedEvent> Events(detect::EventKind kind) {
        std::vector<detect::DetectedEvent> out;
        store_->ScanDetectedEvents(0, INT64_MAX / 2, [&](const StoredEvent &e) {
            if (e.event.kind == kind) out.push_back(e.event);
        });
        return out;
    }
    bool Logged(const std::string &a, const std::string &b) const {
        for (const std::string &line : log_)
            if (line.find(a) != std::string::npos && line.find(b) != std::string::npos) return true;
        return false;
    }
    std::filesystem::path Capture(const std::string &stem, const std::vector<Packet> &packets) {
        return WriteCapture(dir_, stem, packets);
    }

    std::filesystem::path dir_;
    Sensor sensor_;
    detect::StreamOptions detectors_;
    std::unique_ptr<Store> store_;
    std::vector<std::string> log_;
};

// Six addresses in the last minute of one hourly file and six in the first of the next: below the ten a scan
// needs in each file, one scan of twelve across both.
TEST_F(IngestStreamCarry, ScanHalvesBelowTheThresholdInTwoRunsAreOneScan) {
    std::vector<Packet> a, b;
    Syns(a, "203.0.113.7", 0, 6, HOUR - 60 * SEC, 10 * SEC);
    Syns(b, "203.0.113.7", 6, 6, HOUR + 5 * SEC, 10 * SEC);
    const IngestSummary first = Run({Capture("a", a)});
    EXPECT_EQ(first.detected_events, 0u);
    EXPECT_GE(first.carried_out, 1u);
    EXPECT_TRUE(Events(detect::EventKind::SCAN).empty());

    const IngestSummary second = Run({Capture("b", b)});
    EXPECT_GE(second.carried_in, 1u);
    const auto scans = Events(detect::EventKind::SCAN);
    ASSERT_EQ(scans.size(), 1u);
    EXPECT_EQ(scans[0].subject, "203.0.113.7");
    EXPECT_EQ(scans[0].start, HOUR0 + HOUR - 60 * SEC);
    EXPECT_EQ(scans[0].end, HOUR0 + HOUR + 55 * SEC);
    EXPECT_EQ(scans[0].packets, 12u);
    EXPECT_DOUBLE_EQ(scans[0].magnitude, 12.0);
}

// Fifteen and fifteen: the first run stores a scan of fifteen as it ends; the second replaces it with the
// scan of thirty, not a second event.
TEST_F(IngestStreamCarry, ScanHalvesThatQualifyInTwoRunsAreOneScanNotTwo) {
    std::vector<Packet> a, b;
    Syns(a, "203.0.113.7", 0, 15, HOUR - 150 * SEC, 10 * SEC);
    Syns(b, "203.0.113.7", 100, 15, HOUR + 5 * SEC, 10 * SEC);
    EXPECT_EQ(Run({Capture("a", a)}).detected_events, 1u);
    ASSERT_EQ(Events(detect::EventKind::SCAN).size(), 1u);
    const IngestSummary second = Run({Capture("b", b)});
    EXPECT_EQ(second.merged_events, 1u);
    const auto scans = Events(detect::EventKind::SCAN);
    ASSERT_EQ(scans.size(), 1u);
    EXPECT_EQ(scans[0].start, HOUR0 + HOUR - 150 * SEC);
    EXPECT_EQ(scans[0].end, HOUR0 + HOUR + 145 * SEC);
    EXPECT_EQ(scans[0].packets, 30u);
    EXPECT_DOUBLE_EQ(scans[0].magnitude, 30.0);
}

// A victim's SYN/ACKs, 20 in the first file's last 20 s and 50 in the next file's first 50 s: neither half has
// the 25 packets and 60 s of an attack; together they are one.
TEST_F(IngestStreamCarry, DosBackscatterSplitOverTwoRunsIsOneAttack) {
    std::vector<Packet> a, b;
    SynAcks(a, "192.0.2.80", 20, HOUR - 20 * SEC, SEC);
    SynAcks(b, "192.0.2.80", 50, HOUR, SEC);
    Run({Capture("a", a)});
    EXPECT_TRUE(Events(detect::EventKind::BACKSCATTER).empty());
    Run({Capture("b", b)});
    const auto attacks = Events(detect::EventKind::BACKSCATTER);
    ASSERT_EQ(attacks.size(), 1u);
    EXPECT_EQ(attacks[0].subject, "192.0.2.80");
    EXPECT_EQ(attacks[0].packets, 70u);
    EXPECT_EQ(attacks[0].start, HOUR0 + HOUR - 20 * SEC);
    EXPECT_EQ(attacks[0].end, HOUR0 + HOUR + 49 * SEC);
}

// Scans that stop for longer than the gap between the two files stay apart: two events where both halves
// qualify, none where neither does. A state idle past its timeout when its run ends is not carried at all.
TEST_F(IngestStreamCarry, GapLongerThanTheTimeoutBetweenRunsKeepsThemApart) {
    std::vector<Packet> a, b;
    Syns(a, "203.0.113.7", 0, 15, 0, 10 * SEC);  // ends 140 s into the hour
    Syns(a, "203.0.113.8", 0, 6, 0, 10 * SEC);
    Syns(a, "203.0.113.99", 50, 1, HOUR - SEC, SEC);  // the file runs to the end of its hour
    Syns(b, "203.0.113.7", 100, 15, HOUR + 5 * SEC, 10 * SEC);
    Syns(b, "203.0.113.8", 100, 6, HOUR + 5 * SEC, 10 * SEC);
    const IngestSummary first = Run({Capture("a", a)});
    EXPECT_EQ(first.carried_out, 1u);  // only 203.0.113.99's scan, open at the file's end
    const IngestSummary second = Run({Capture("b", b)});
    EXPECT_EQ(second.merged_events, 0u);
    const auto scans = Events(detect::EventKind::SCAN);
    ASSERT_EQ(scans.size(), 2u);
    for (const auto &scan : scans) {
        EXPECT_EQ(scan.subject, "203.0.113.7");
        EXPECT_EQ(scan.packets, 15u);
    }
}

// Eight scanners, each split six and six: the first run's one worker carries them all; the second run's two
// must each take up the states of their own sources (and back).
TEST_F(IngestStreamCarry, ThreadsMayChangeBetweenRuns) {
    for (auto [first_threads, second_threads] : {std::pair{1u, 2u}, std::pair{2u, 1u}, std::pair{0u, 3u}}) {
        store_.reset();
        for (auto suffix : {"", "-wal", "-shm"})
            std::filesystem::remove((dir_ / "store.db").string() + suffix);
        store_ = Store::OpenSqlite((dir_ / "store.db").string());
        std::vector<Packet> a, b;
        std::vector<std::string> sources;
        for (int s = 0; s < 8; ++s) {
            sources.push_back("203.0.113." + std::to_string(10 + s));
            Syns(a, sources.back().c_str(), uint32_t(s * 20), 6, HOUR - 60 * SEC + s * SEC, 10 * SEC);
            Syns(b, sources.back().c_str(), uint32_t(s * 20 + 6), 6, HOUR + 5 * SEC + s * SEC, 10 * SEC);
        }
        const std::string tag = std::to_string(first_threads) + "-" + std::to_string(second_threads);
        Run({Capture("a" + tag, a)}, first_threads);
        Run({Capture("b" + tag, b)}, second_threads);
        std::map<std::string, uint64_t> packets;
        for (const auto &scan : Events(detect::EventKind::SCAN))
            packets[scan.subject] += scan.packets;
        EXPECT_EQ(packets.size(), 8u) << tag;
        for (const auto &[subject, n] : packets)
            EXPECT_EQ(n, 12u) << tag << " " << subject;
    }
}

// --no-detect neither reads nor writes the carry; a run of files already ingested keeps it as it was.
TEST_F(IngestStreamCarry, NoDetectAndDuplicateRunsLeaveTheCarry) {
    std::vector<Packet> a, b, other;
    Syns(a, "203.0.113.7", 0, 6, HOUR - 60 * SEC, 10 * SEC);
    Syns(other, "198.18.0.1", 0, 40, HOUR - 30 * SEC, SEC);
    Syns(b, "203.0.113.7", 6, 6, HOUR + 5 * SEC, 10 * SEC);
    const auto file_a = Capture("a", a);
    Run({file_a});
    const auto saved = store_->LoadStreamCarry();
    ASSERT_TRUE(saved);
    ASSERT_FALSE(saved->states.empty());
    auto same = [&](const std::optional<StreamCarry> &now) {
        ASSERT_TRUE(now);
        EXPECT_EQ(now->settings, saved->settings);
        EXPECT_EQ(now->at, saved->at);
        ASSERT_EQ(now->states.size(), saved->states.size());
        for (size_t i = 0; i < now->states.size(); ++i) {
            EXPECT_EQ(now->states[i].state, saved->states[i].state);
            EXPECT_EQ(now->states[i].event_id, saved->states[i].event_id);
        }
    };
    Run({Capture("other", other)}, 0, false);
    same(store_->LoadStreamCarry());
    Run({file_a});  // skipped: already ingested
    same(store_->LoadStreamCarry());
    Run({Capture("b", b)});
    const auto scans = Events(detect::EventKind::SCAN);
    ASSERT_EQ(scans.size(), 1u);
    EXPECT_EQ(scans[0].packets, 12u);
}

// States made under other thresholds are not continued: the run says so and starts afresh.
TEST_F(IngestStreamCarry, OtherSettingsDropTheCarryWithAMessage) {
    std::vector<Packet> a, b;
    Syns(a, "203.0.113.7", 0, 6, HOUR - 60 * SEC, 10 * SEC);
    Syns(b, "203.0.113.7", 6, 6, HOUR + 5 * SEC, 10 * SEC);
    Run({Capture("a", a)});
    detectors_.scan_gap += SEC;
    const IngestSummary second = Run({Capture("b", b)});
    EXPECT_EQ(second.carried_in, 0u);
    EXPECT_TRUE(Logged("stream_carry", "other detector settings")) << ::testing::PrintToString(log_);
    EXPECT_TRUE(Events(detect::EventKind::SCAN).empty());
}

// A corrupt state in the table is left out with a message that names the table; the run goes on.
TEST_F(IngestStreamCarry, CorruptCarryIsLeftOutWithAMessage) {
    std::vector<Packet> a, b;
    Syns(a, "203.0.113.7", 0, 6, HOUR - 60 * SEC, 10 * SEC);
    Syns(a, "203.0.113.8", 0, 6, HOUR - 60 * SEC, 10 * SEC);
    Syns(b, "203.0.113.7", 6, 6, HOUR + 5 * SEC, 10 * SEC);
    Syns(b, "203.0.113.8", 6, 6, HOUR + 5 * SEC, 10 * SEC);
    Run({Capture("a", a)});
    store_.reset();
    sqlite3 *db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "store.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "UPDATE stream_carry SET state = x'01ffffffffffffffffffff' WHERE source = '203.0.113.8'; "
                           "INSERT INTO stream_carry VALUES ('nonsense', '203.0.113.9', 0, 0, NULL, x'01');",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    store_ = Store::OpenSqlite((dir_ / "store.db").string());
    const IngestSummary second = Run({Capture("b", b)});
    EXPECT_EQ(second.Count(FileStatus::INGESTED), 1u);
    EXPECT_TRUE(Logged("stream_carry", "corrupt")) << ::testing::PrintToString(log_);
    EXPECT_TRUE(Logged("stream_carry", "nonsense")) << ::testing::PrintToString(log_);
    const auto scans = Events(detect::EventKind::SCAN);
    ASSERT_EQ(scans.size(), 1u);  // 203.0.113.7's, whole; 203.0.113.8's halves stay apart
    EXPECT_EQ(scans[0].subject, "203.0.113.7");
}

}  // namespace
}  // namespace darkscope
