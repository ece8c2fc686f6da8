// Ingest with the built-in rule set over a capture holding the worms and probes the synthetic
// telescope seeds (payloads as src/synth/payloads.cpp on the synth branch builds them): each is found
// under its sid and NPA category, with its source, through the threaded aggregation and the store.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "pipeline/ingest.hpp"
#include "report/summary.hpp"
#include "signature/matcher/matcher.hpp"
#include "signature/rule_parser.hpp"

namespace darkscope {
namespace {

void Put16(std::vector<uint8_t> &b, size_t at, uint16_t v) {
    b[at] = uint8_t(v >> 8);
    b[at + 1] = uint8_t(v);
}

// A raw IPv4 packet (link type RAW): 20-byte header, then the transport bytes.
std::vector<uint8_t> Ipv4(uint8_t proto, uint32_t src, uint32_t dst, uint8_t ttl, const std::vector<uint8_t> &l4) {
    std::vector<uint8_t> b(20 + l4.size());
    b[0] = 0x45;
    Put16(b, 2, uint16_t(b.size()));
    b[8] = ttl;
    b[9] = proto;
    for (int i = 0; i < 4; ++i) {
        b[12 + i] = uint8_t(src >> (24 - 8 * i));
        b[16 + i] = uint8_t(dst >> (24 - 8 * i));
    }
    std::copy(l4.begin(), l4.end(), b.begin() + 20);
    return b;
}

std::vector<uint8_t> Udp(uint16_t sport, uint16_t dport, const std::string &payload) {
    std::vector<uint8_t> b(8);
    Put16(b, 0, sport);
    Put16(b, 2, dport);
    Put16(b, 4, uint16_t(8 + payload.size()));
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

std::vector<uint8_t> IcmpEcho(const std::string &payload) {
    std::vector<uint8_t> b = {8, 0, 0, 0, 0x12, 0x34, 0, 1};
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

std::vector<uint8_t> TcpSyn(uint16_t dport, uint16_t window) {
    std::vector<uint8_t> b(20);
    Put16(b, 0, 40000);
    Put16(b, 2, dport);
    b[12] = 0x50;
    b[13] = 0x02;
    Put16(b, 14, window);
    return b;
}

std::string Slammer() {
    std::string p(376, '\0');
    p[0] = 0x04;
    for (size_t i = 1; i < 97; ++i) p[i] = 0x01;
    const char ret[] = {'\xdc', '\xc9', '\xb0', '\x42', '\xeb', '\x0e'};
    std::memcpy(p.data() + 97, ret, sizeof ret);
    for (size_t i = 103; i < p.size(); ++i) p[i] = char(0x70 + (i * 37) % 0x50);
    return p;
}

void WritePcap(const std::filesystem::path &path, const std::vector<std::vector<uint8_t>> &packets) {
    std::ofstream out(path, std::ios::binary);
    const uint32_t header[] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 101};
    out.write(reinterpret_cast<const char *>(header), sizeof header);
    uint32_t t = 1734480000;  // 2024-12-18
    for (auto &p : packets) {
        const uint32_t rec[] = {t++, 0, uint32_t(p.size()), uint32_t(p.size())};
        out.write(reinterpret_cast<const char *>(rec), sizeof rec);
        out.write(reinterpret_cast<const char *>(p.data()), std::streamsize(p.size()));
    }
}

}  // namespace

TEST(IngestSignatures, BuiltInSetFindsTheSeededWormsAndProbes) {
    const auto dir = std::filesystem::temp_directory_path() / "darkscope_ingest_signatures_test";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const uint32_t net = 0xC6336400;  // 198.51.100.0/24
    std::vector<std::vector<uint8_t>> packets = {
        Ipv4(17, 0x0A000001, net + 1, 110, Udp(1029, 1434, Slammer())),
        Ipv4(17, 0x0A000002, net + 2, 110, Udp(1029, 1434, Slammer())),
        Ipv4(1, 0x0A000003, net + 3, 120, IcmpEcho(std::string(64, '\xaa'))),
        Ipv4(17, 0x0A000004, net + 4, 50, Udp(6881, 51413, "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe")),
        Ipv4(17, 0x0A000005, net + 5, 50,
             Udp(5060, 5060, "OPTIONS sip:100@198.51.100.5 SIP/2.0\r\nUser-Agent: friendly-scanner\r\n\r\n")),
        Ipv4(6, 0x0A000006, net + 6, 120, TcpSyn(445, 65535)),
        Ipv4(6, 0x0A000007, net + 7, 50, TcpSyn(3128, 1024)),
        Ipv4(17, 0x0A000008, net + 8, 50, Udp(1, 2, "nothing to see")),  // matches no rule
    };
    const auto pcap = dir / "seeded.pcap";
    WritePcap(pcap, packets);

    sig::RuleSet set = sig::LoadRules(true, {}, sig::ParseOptions{});
    ASSERT_TRUE(set.errors.empty());
    sig::Matcher matcher(std::move(set.rules));
    auto store = Store::OpenSqlite((dir / "store.db").string());
    Sensor sensor;
    sensor.name = "s1";
    sensor.networks = {*IpNetwork::Parse("198.51.100.0/24")};
    sensor.addresses = 256;
    IngestOptions options;
    options.threads = 2;
    options.signatures = &matcher;
    IngestSummary result = Ingest(*store, SensorMap::FromSensors({sensor}), {pcap}, options);
    EXPECT_EQ(result.packets, packets.size());
    EXPECT_EQ(result.signature_packets, 7u);

    SummaryOptions by_sig;
    by_sig.by = SummaryBy::SIGNATURE;
    std::map<uint32_t, std::pair<uint64_t, uint64_t>> found;  // sid -> packets, sources
    for (auto &row : Summarize(*store, by_sig).rows) found[row.sid] = {row.packets, row.unique_sources};
    EXPECT_EQ(found[9200001], std::make_pair(uint64_t(2), uint64_t(2)));  // Slammer
    EXPECT_EQ(found[9200002], std::make_pair(uint64_t(1), uint64_t(1)));  // Nachi
    EXPECT_EQ(found[9200020], std::make_pair(uint64_t(1), uint64_t(1)));  // DHT
    EXPECT_EQ(found[9200064], std::make_pair(uint64_t(1), uint64_t(1)));  // SIP
    EXPECT_EQ(found[9200003], std::make_pair(uint64_t(1), uint64_t(1)));  // 445 SYN
    EXPECT_EQ(found[9200010], std::make_pair(uint64_t(1), uint64_t(1)));  // proxy port
    EXPECT_EQ(found.size(), 6u);

    SummaryOptions by_cat;
    by_cat.by = SummaryBy::CATEGORY;
    std::map<std::string, uint64_t> categories;
    for (auto &row : Summarize(*store, by_cat).rows) categories[row.key] = row.packets;
    EXPECT_EQ(categories["Worm"], 4u);
    EXPECT_EQ(categories["Scan(P2P)"], 1u);
    EXPECT_EQ(categories["Others"], 1u);
    EXPECT_EQ(categories["Scan"], 1u);
    store.reset();
    std::filesystem::remove_all(dir);
}

}  // namespace darkscope
