#include "synth/generator.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "common/bytes.hpp"
#include "synth/address_space.hpp"
#include "synth/packet_builder.hpp"
#include "synth_test_util.hpp"

namespace darkscope::synth {
namespace {

using test::DecodeFrame;
using test::MemorySink;
using test::SmallScenario;

struct Run {
    Scenario sc;
    Truth truth;
    std::vector<test::Frame> frames;
    std::unordered_map<IpAddress, const SourceTruth *, IpAddressHash> by_address;
};

Run Generate(const std::string &body, uint64_t seed = 1, double scale = 1.0, const std::string &start = "2024-10-01",
             const std::string &end = "2024-10-02") {
    Run r;
    r.sc = ParseScenario(SmallScenario(body, start, end), "t.toml");
    Generator gen(r.sc, {seed, scale});
    MemorySink sink;
    gen.Run(sink);
    r.truth = gen.GetTruth();
    r.frames = std::move(sink.frames);
    for (auto &s : r.truth.sources)
        r.by_address[s.address] = &s;
    return r;
}

const SourceTruth *SourceOf(const Run &r, const IpAddress &a) {
    auto it = r.by_address.find(a);
    return it == r.by_address.end() ? nullptr : it->second;
}

// An independent checksum: big-endian words, added one by one (RFC 1071 as written).
uint16_t Rfc1071(const std::vector<uint8_t> &bytes) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < bytes.size(); i += 2)
        sum += uint32_t(bytes[i] << 8 | bytes[i + 1]);
    if (bytes.size() & 1) sum += uint32_t(bytes.back() << 8);
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return uint16_t(~sum);
}

// Verifies the IPv4 header checksum and the transport checksum; returns a failure description or "".
std::string CheckChecksums(const std::vector<uint8_t> &f) {
    uint16_t ethertype = uint16_t(f[12] << 8 | f[13]);
    if (ethertype == 0x0800) {
        const uint8_t *ip = f.data() + 14;
        size_t ihl = (ip[0] & 0x0F) * 4;
        if (Rfc1071({ip, ip + ihl}) != 0) return "IPv4 header checksum";
        size_t total = size_t(ip[2] << 8 | ip[3]);
        if (14 + total != f.size() && !(f.size() == 60 && 14 + total < 60)) return "IPv4 total length";
        for (size_t i = 14 + total; i < f.size(); ++i)
            if (f[i] != 0) return "padding not zero";
        uint8_t proto = ip[9];
        std::vector<uint8_t> seg(ip + ihl, ip + total);
        if (proto == 1) return Rfc1071(seg) == 0 ? "" : "ICMP checksum";
        std::vector<uint8_t> pseudo(ip + 12, ip + 20);
        pseudo.insert(pseudo.end(), {0, proto, uint8_t(seg.size() >> 8), uint8_t(seg.size())});
        pseudo.insert(pseudo.end(), seg.begin(), seg.end());
        return Rfc1071(pseudo) == 0 ? "" : (proto == 6 ? "TCP checksum" : "UDP checksum");
    }
    if (ethertype == 0x86dd) {
        const uint8_t *ip = f.data() + 14;
        size_t plen = size_t(ip[4] << 8 | ip[5]);
        if (14 + 40 + plen != f.size()) return "IPv6 payload length";
        std::vector<uint8_t> pseudo(ip + 8, ip + 40);
        pseudo.insert(pseudo.end(), {0, 0, uint8_t(plen >> 8), uint8_t(plen), 0, 0, 0, ip[6]});
        pseudo.insert(pseudo.end(), ip + 40, ip + 40 + plen);
        return Rfc1071(pseudo) == 0 ? "" : "IPv6 transport checksum";
    }
    return "not IP";
}

const std::string TOOLS = R"(
[[population]]
name = "scanners"
tools = { "zmap-old" = 1, "zmap-new" = 1, masscan = 1, "masscan-mss" = 1, mirai = 1, nmap = 1, linux = 1, windows = 1, bsd = 1, "windows-xp" = 1 }
sources = 200
rate_tail = 0
countries = { CN = 1, US = 1, JP = 1 }
services = { "23/TCP" = 3, "445/TCP" = 1, "123/UDP" = 1, "8/ICMP" = 1, "5060/UDP" = 1, "161/UDP" = 1, "1900/UDP" = 1, "137/UDP" = 1 }
rate = 20000

[[population]]
name = "v6"
tool = "linux"
sources = 5
ipv6 = 1
countries = { CN = 1 }
sensors = ["uni"]
services = { "22/TCP" = 1, "8/ICMP" = 1, "53/UDP" = 1 }
rate = 500
)";

const std::string EVENTS = R"(
[[event]]
name = "amp"
kind = "spoofed-dns"
start = 2024-10-01T02:00:00Z
end = 2024-10-01T04:00:00Z
sources = 3
countries = { CA = 1, NL = 1 }
qtype = "ANY"
edns = true
rate = 600

[[event]]
name = "refl"
kind = "open-resolver"
start = 2024-10-01T05:00:00Z
end = 2024-10-01T07:00:00Z
sources = 20
countries = { JP = 1 }
providers = ["cloud X"]
qtype = "ANY"
rate = 3000

[[event]]
name = "dos"
kind = "backscatter"
start = 2024-10-01T08:00:00Z
end = 2024-10-01T09:00:00Z
sources = 1
countries = { US = 1 }
port = "6667/TCP"
responses = { synack = 1, rst = 1, rstack = 1, icmp-unreachable = 1, icmp-time-exceeded = 1 }
rate = 5000

[[event]]
name = "udp-dos"
kind = "backscatter"
start = 2024-10-01T09:00:00Z
end = 2024-10-01T10:00:00Z
sources = 2
countries = { DE = 1 }
port = "27015/UDP"
rate = 1000

[[event]]
name = "torture"
kind = "water-torture"
start = 2024-10-01T10:00:00Z
end = 2024-10-01T11:00:00Z
sources = 5
countries = { CN = 1 }
zone = "victim.example"
rate = 1000

[[event]]
name = "nx"
kind = "dns-response"
start = 2024-10-01T10:00:00Z
end = 2024-10-01T11:00:00Z
sources = 5
countries = { US = 1 }
zone = "victim.example"
rate = 500

[[population]]
name = "slammer"
kind = "worm"
worm = "slammer"
sources = 5
countries = { KR = 1 }
rate = 300

[[population]]
name = "conficker"
kind = "worm"
worm = "conficker"
sources = 5
countries = { CN = 1 }
rate = 300

[[population]]
name = "nachi"
kind = "worm"
worm = "nachi"
sources = 5
countries = { CN = 1 }
rate = 300

[[population]]
name = "dht"
kind = "dht"
sources = 20
countries = { RU = 1 }
rate = 300

[[event]]
name = "new"
kind = "new-service"
start = 2024-10-01T12:00:00Z
end = 2024-10-02
shape = "ramp-up"
sources = 50
countries = { KR = 1 }
services = { "5000/TCP" = 1 }
rate = 4000
)";

uint64_t Fnv(const std::vector<test::Frame> &frames) {
    uint64_t h = 1469598103934665603ull;
    for (auto &f : frames) {
        for (int i = 0; i < 8; ++i)
            h = (h ^ uint8_t(uint64_t(f.ts) >> (8 * i))) * 1099511628211ull;
        for (uint8_t b : f.bytes)
            h = (h ^ b) * 1099511628211ull;
    }
    return h;
}

}  // namespace

TEST(Generator, SameSeedSameBytesOtherSeedOtherBytes) {
    auto a = Generate(TOOLS + EVENTS, 5);
    auto b = Generate(TOOLS + EVENTS, 5);
    auto c = Generate(TOOLS + EVENTS, 6);
    ASSERT_GT(a.frames.size(), 10000u);
    EXPECT_EQ(a.frames.size(), b.frames.size());
    EXPECT_EQ(Fnv(a.frames), Fnv(b.frames));
    EXPECT_NE(Fnv(a.frames), Fnv(c.frames));
}

TEST(Generator, FramesAreInTimeOrderInsideTheScenario) {
    auto r = Generate(TOOLS + EVENTS);
    for (size_t i = 1; i < r.frames.size(); ++i)
        ASSERT_LE(r.frames[i - 1].ts, r.frames[i].ts) << i;
    EXPECT_GE(r.frames.front().ts, r.sc.start);
    EXPECT_LT(r.frames.back().ts, r.sc.end);
    EXPECT_EQ(r.truth.packets, r.frames.size());
}

TEST(Generator, EveryChecksumIsValid) {
    auto r = Generate(TOOLS + EVENTS);
    std::map<std::string, int> failures;
    for (auto &f : r.frames) {
        auto why = CheckChecksums(f.bytes);
        if (!why.empty()) ++failures[why];
    }
    EXPECT_TRUE(failures.empty()) << failures.begin()->first << " x" << failures.begin()->second;
}

TEST(Generator, HeaderFieldsMatchTheClaimedTool) {
    auto r = Generate(TOOLS);
    std::map<Tool, int> seen;
    std::map<IpAddress, std::set<uint16_t>> sports;
    std::map<IpAddress, std::vector<uint16_t>> ids;
    int zmap_new_54321 = 0, zmap_new = 0;
    for (auto &f : r.frames) {
        auto d = DecodeFrame(f);
        ASSERT_EQ(d.events, 0u) << "decode events on a synthetic frame";
        const SourceTruth *s = SourceOf(r, d.src);
        ASSERT_NE(s, nullptr);
        EXPECT_EQ(d.ttl, s->ttl);
        if (d.ip_version == 4) ids[d.src].push_back(d.ip_id);
        if (d.proto != IPPROTO_NUM_TCP || d.ip_version != 4) continue;
        ASSERT_EQ(d.tcp_flags, 0x02);
        ++seen[s->tool];
        sports[d.src].insert(d.sport);
        uint32_t dst = d.dst.V4HostOrder();
        switch (s->tool) {
            case Tool::ZMAP_OLD:
                EXPECT_EQ(d.ip_id, 54321);
                EXPECT_EQ(d.window, 65535);
                EXPECT_EQ(d.tcp_options_len, 0);
                EXPECT_TRUE(d.ttl >= 255 - 24 && d.ttl <= 255 - 6);
                break;
            case Tool::ZMAP_NEW:
                ++zmap_new;
                zmap_new_54321 += d.ip_id == 54321;
                EXPECT_EQ(d.window, 65535);
                break;
            case Tool::MASSCAN:
            case Tool::MASSCAN_MSS:
                EXPECT_EQ(d.ip_id, uint16_t(dst ^ d.dport ^ d.seq));
                EXPECT_EQ(d.window, 1024);
                EXPECT_EQ(d.has_mss, s->tool == Tool::MASSCAN_MSS);
                EXPECT_TRUE(d.ttl >= 255 - 24);
                break;
            case Tool::MIRAI:
                EXPECT_EQ(d.seq, dst);
                EXPECT_EQ(d.tcp_options_len, 0);
                EXPECT_EQ(d.sport, s->sport);
                break;
            case Tool::NMAP:
                EXPECT_EQ(d.window, 1024);
                EXPECT_TRUE(d.has_mss && d.mss == 1460);
                EXPECT_EQ(d.tcp_options_len, 4);
                EXPECT_EQ(d.sport, s->sport);
                EXPECT_TRUE(d.ttl >= 37 - 24 && d.ttl <= 59 - 6);
                break;
            case Tool::LINUX:
                EXPECT_EQ(d.window, 64240);
                EXPECT_TRUE(d.sack_permitted && d.has_timestamp);
                EXPECT_EQ(d.window_scale, 7);
                EXPECT_TRUE(d.ttl >= 64 - 24 && d.ttl <= 64 - 6);
                EXPECT_TRUE(d.sport >= 32768 && d.sport <= 60999);
                break;
            case Tool::WINDOWS:
                EXPECT_EQ(d.window, 64240);
                EXPECT_EQ(d.window_scale, 8);
                EXPECT_FALSE(d.has_timestamp);
                EXPECT_TRUE(d.ttl >= 128 - 24 && d.ttl <= 128 - 6);
                EXPECT_GE(d.sport, 49152);
                break;
            case Tool::BSD:
                EXPECT_EQ(d.window, 65535);
                EXPECT_EQ(d.window_scale, 6);
                EXPECT_TRUE(d.has_timestamp);
                break;
            case Tool::WINDOWS_XP:
                EXPECT_EQ(d.window, 65535);
                EXPECT_EQ(d.window_scale, 0xFF);
                EXPECT_TRUE(d.sport >= 1025 && d.sport <= 5000);
                break;
            case Tool::COUNT:
                break;
        }
    }
    EXPECT_EQ(seen.size(), size_t(Tool::COUNT)) << "every tool sent SYNs";
    EXPECT_GT(zmap_new, 100);
    EXPECT_LT(zmap_new_54321, 3) << "new ZMap's IP ID is random";
    // Windows stacks count their IP IDs up by one per packet; Linux with DF does not.
    for (auto &s : r.truth.sources) {
        if (s.tool != Tool::WINDOWS || ids[s.address].size() < 3) continue;
        auto &v = ids[s.address];
        for (size_t i = 1; i < v.size(); ++i)
            ASSERT_EQ(uint16_t(v[i - 1] + 1), v[i]);
    }
    // nmap and mirai keep one source port per source; ZMap draws a new one per probe.
    for (auto &s : r.truth.sources) {
        if (sports[s.address].empty()) continue;
        if (s.tool == Tool::NMAP || s.tool == Tool::MIRAI || s.tool == Tool::MASSCAN) {
            EXPECT_EQ(sports[s.address].size(), 1u);
        }
        if (s.tool == Tool::ZMAP_OLD && s.packets > 50) {
            EXPECT_GT(sports[s.address].size(), 10u);
        }
    }
}

TEST(Generator, EventsStayInTheirWindowsSensorsAndPorts) {
    auto r = Generate(EVENTS);
    std::map<std::string, const Component *> by_name;
    for (auto &c : r.sc.components)
        by_name[c.name] = &c;
    std::map<IpAddress, std::set<std::string>> sensors_of_amp_source;
    int quoted = 0, nxdomain = 0, slammer = 0;
    for (auto &f : r.frames) {
        auto d = DecodeFrame(f);
        const SourceTruth *s = SourceOf(r, d.src);
        ASSERT_NE(s, nullptr);
        const Component &c = r.sc.components[s->component];
        ASSERT_GE(f.ts, c.start) << c.name;
        ASSERT_LT(f.ts, c.end) << c.name;
        std::string sensor = d.dst.V4HostOrder() >> 8 == 0xC63364 ? "uni" : "cloud";
        if (c.name == "amp") {
            EXPECT_EQ(d.dport, 53);
            sensors_of_amp_source[d.src].insert(sensor);
        }
        if (c.name == "refl") {
            EXPECT_EQ(sensor, "cloud") << "open-resolver responses reach only the cloud provider's sensor";
            EXPECT_EQ(d.sport, 53);
            EXPECT_TRUE(d.payload_len > 12 && (d.payload[2] & 0x80)) << "QR bit set";
        }
        if (c.name == "dos") {
            if (d.proto == IPPROTO_NUM_TCP) {
                EXPECT_EQ(d.sport, 6667);
                EXPECT_TRUE(d.tcp_flags == 0x12 || d.tcp_flags == 0x04 || d.tcp_flags == 0x14);
            } else {
                ASSERT_TRUE(d.has_quoted);
                EXPECT_EQ(d.quoted.dport, 6667);
                EXPECT_EQ(d.quoted.src, d.dst) << "the quoted packet came (spoofed) from the darknet address";
                EXPECT_EQ(d.quoted.dst, d.src);
                ++quoted;
            }
        }
        if (c.name == "udp-dos") {
            ASSERT_TRUE(d.has_quoted);
            EXPECT_EQ(d.icmp_type, 3);
            EXPECT_EQ(d.icmp_code, 3);
            EXPECT_EQ(d.quoted.proto, IPPROTO_NUM_UDP);
            EXPECT_EQ(d.quoted.dport, 27015);
        }
        if (c.name == "torture") {
            std::string qname(reinterpret_cast<const char *>(d.payload) + 12, d.payload_len - 12);
            EXPECT_NE(qname.find("\x06victim\x07"
                                 "example"),
                      std::string::npos);
        }
        if (c.name == "nx") nxdomain += (d.payload[3] & 0x0F) == 3;
        if (c.name == "slammer") {
            EXPECT_EQ(d.dport, 1434);
            EXPECT_EQ(d.payload_len, 376u);
            EXPECT_EQ(d.payload[0], 0x04);
            ++slammer;
        }
        if (c.name == "conficker") {
            EXPECT_EQ(d.dport, 445);
        }
        if (c.name == "nachi") {
            EXPECT_EQ(d.icmp_type, 8);
            EXPECT_EQ(d.payload_len, 64u);
        }
        if (c.name == "new") {
            EXPECT_EQ(d.dport, 5000);
        }
    }
    EXPECT_GT(quoted, 100);
    EXPECT_GT(nxdomain, 100);
    EXPECT_GT(slammer, 100);
    ASSERT_EQ(sensors_of_amp_source.size(), 3u);
    for (auto &[src, sensors] : sensors_of_amp_source)
        EXPECT_EQ(sensors.size(), 2u) << "spoofed DNS reaches every sensor";
    // The ground truth counts what was written.
    uint64_t sum = 0;
    for (auto &ct : r.truth.components)
        sum += ct.packets;
    EXPECT_EQ(sum, r.frames.size());
}

TEST(Generator, TruthCountsPerDaySensorAndSource) {
    auto r = Generate(TOOLS + EVENTS, 3, 0.3, "2024-09-30T18:00:00Z", "2024-10-02T06:00:00Z");
    std::map<std::pair<size_t, int64_t>, uint64_t> per_day;
    std::map<IpAddress, uint64_t> per_source, syn_per_source;
    for (auto &f : r.frames) {
        auto d = DecodeFrame(f);
        ++per_day[{SourceOf(r, d.src)->component, DayOf(f.ts) - DayOf(r.sc.start)}];
        ++per_source[d.src];
        // What the classifier calls a SYN probe, read back by the decoder: the SYN fingerprint rules' denominator.
        const bool syn = d.l4 == L4State::PRESENT && d.proto == IPPROTO_NUM_TCP &&
                         (d.tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN;
        syn_per_source[d.src] += syn;
    }
    for (size_t ci = 0; ci < r.truth.components.size(); ++ci) {
        auto &ct = r.truth.components[ci];
        ASSERT_EQ(ct.by_day.size(), 3u);  // 18:00 on the 30th to 06:00 on the 2nd touches three days
        uint64_t sensors = 0;
        for (auto n : ct.by_sensor)
            sensors += n;
        EXPECT_EQ(sensors, ct.packets);
        for (size_t day = 0; day < ct.by_day.size(); ++day)
            EXPECT_EQ(ct.by_day[day], (per_day[{ci, int64_t(day)}])) << r.sc.components[ci].name << " day " << day;
    }
    bool some_syn = false, some_other = false;
    for (auto &s : r.truth.sources) {
        EXPECT_EQ(s.packets, per_source[s.address]);
        EXPECT_EQ(s.syn_probes, syn_per_source[s.address]) << s.address.ToString();
        some_syn |= s.syn_probes > 0;
        some_other |= s.packets > s.syn_probes;
    }
    EXPECT_TRUE(some_syn && some_other) << "the scenario has SYN probes and other packets (backscatter, UDP, ICMP)";
}

// Walks a DNS message (header, questions, resource records with compression pointers) and says whether every
// byte is accounted for: what tshark calls well formed.
bool DnsWellFormed(const uint8_t *p, size_t n) {
    if (n < 12) return false;
    size_t off = 12;
    auto name = [&](size_t &o) {
        for (int labels = 0; labels < 128; ++labels) {
            if (o >= n) return false;
            uint8_t len = p[o];
            if (len == 0) {
                ++o;
                return true;
            }
            if ((len & 0xC0) == 0xC0) {
                if (o + 2 > n || size_t((len & 0x3F) << 8 | p[o + 1]) >= n) return false;
                o += 2;
                return true;
            }
            if (len > 63) return false;
            o += 1 + len;
        }
        return false;
    };
    uint16_t qd = LoadBe16(p + 4), rr = uint16_t(LoadBe16(p + 6) + LoadBe16(p + 8) + LoadBe16(p + 10));
    for (int i = 0; i < qd; ++i)
        if (!name(off) || (off += 4) > n) return false;
    for (int i = 0; i < rr; ++i) {
        if (!name(off) || off + 10 > n) return false;
        size_t rdlen = LoadBe16(p + off + 8);
        off += 10 + rdlen;
        if (off > n) return false;
    }
    return off == n;
}

TEST(Generator, DnsPayloadsAreWellFormed) {
    auto r = Generate(EVENTS + R"(
[[population]]
name = "q"
kind = "dns-query"
countries = { US = 1 }
qnames = ["example.com", "isc.org"]
qtype = "TXT"
rate = 2000
)");
    int dns = 0;
    for (auto &f : r.frames) {
        auto d = DecodeFrame(f);
        if (d.proto != IPPROTO_NUM_UDP || (d.sport != 53 && d.dport != 53)) continue;
        ++dns;
        ASSERT_TRUE(DnsWellFormed(d.payload, d.payload_len)) << "frame at " << f.ts;
    }
    EXPECT_GT(dns, 1000);
}

TEST(Generator, ServiceSharesFollowTheWeights) {
    auto r = Generate(R"(
[[population]]
name = "mix"
tool = "linux"
sources = 500
countries = { CN = 1 }
services = { "23/TCP" = 5, "445/TCP" = 3, "22/TCP" = 2 }
rate = 20000
)");
    std::map<uint16_t, double> n;
    for (auto &f : r.frames)
        ++n[DecodeFrame(f).dport];
    double total = double(r.frames.size());
    // About 480k packets: a share's standard error is below 0.1%; 1% is a wide margin that still catches a bug.
    EXPECT_NEAR(n[23] / total, 0.5, 0.01);
    EXPECT_NEAR(n[445] / total, 0.3, 0.01);
    EXPECT_NEAR(n[22] / total, 0.2, 0.01);
    // The total is Poisson around the rate integral.
    double expected = r.truth.components[0].expected_packets;
    EXPECT_NEAR(expected, 20000.0 * 24, 1.0);
    EXPECT_LT(std::abs(total - expected), 5 * std::sqrt(expected));
}

TEST(Generator, PerSourceGapsAreExponentialWithTheSourceRate) {
    auto r = Generate(R"(
[[population]]
name = "tail"
tool = "masscan"
sources = 200
rate_tail = 1.2
countries = { US = 1 }
services = { "80/TCP" = 1 }
rate = 30000
)");
    std::map<IpAddress, std::vector<TimestampNs>> times;
    for (auto &f : r.frames)
        times[DecodeFrame(f).src].push_back(f.ts);
    int checked = 0;
    std::vector<double> weights;
    for (auto &s : r.truth.sources) {
        weights.push_back(s.weight);
        auto &t = times[s.address];
        if (t.size() < 2000) continue;
        double rate_per_s = 30000.0 / 3600 * s.weight;
        double mean = double(t.back() - t.front()) / double(t.size() - 1) / 1e9;
        double var = 0;
        for (size_t i = 1; i < t.size(); ++i) {
            double g = double(t[i] - t[i - 1]) / 1e9 - mean;
            var += g * g;
        }
        double cv = std::sqrt(var / double(t.size() - 2)) / mean;
        // Mean gap 1/rate (standard error 1/sqrt(n) < 2.3%), and an exponential's coefficient of variation of 1.
        EXPECT_NEAR(mean * rate_per_s, 1.0, 0.1) << s.address.ToString();
        EXPECT_NEAR(cv, 1.0, 0.1) << s.address.ToString();
        ++checked;
    }
    EXPECT_GE(checked, 3);
    // Heavy tail: the busiest 10% of the sources send far more than 10% of the packets.
    std::sort(weights.rbegin(), weights.rend());
    double top = 0;
    for (size_t i = 0; i < weights.size() / 10; ++i)
        top += weights[i];
    EXPECT_GT(top, 0.3);
}

TEST(Generator, ShapesAndScaleChangeTheRate) {
    auto r = Generate(R"(
[[event]]
name = "ramp"
kind = "surge"
shape = "ramp-up"
tool = "zmap-old"
countries = { CN = 1 }
services = { "23/TCP" = 1 }
rate = 10000
)",
                      1, 2.0);
    uint64_t first_half = 0, second_half = 0;
    for (auto &f : r.frames)
        (f.ts < r.sc.start + 12 * 3600 * NS_PER_SEC ? first_half : second_half)++;
    // Linear ramp from 0: a quarter of the packets in the first half, three quarters in the second; --scale 2
    // doubles the integral 10000 * 24 / 2.
    EXPECT_NEAR(double(first_half) / double(first_half + second_half), 0.25, 0.01);
    EXPECT_NEAR(r.truth.components[0].expected_packets, 240000, 240000 * 0.01);
}

TEST(Generator, SourcesLieInTheirCountryOrResearchRanges) {
    auto r = Generate(R"(
[[population]]
name = "cn"
countries = { CN = 1, SC = 1 }
services = { "23/TCP" = 1 }
sources = 300
rate = 10

[[population]]
name = "censys"
research = "censys"
services = { "80/TCP" = 1 }
sources = 30
rate = 10
)");
    std::set<IpAddress> distinct;
    for (auto &s : r.truth.sources) {
        distinct.insert(s.address);
        std::vector<std::string_view> blocks;
        if (s.research)
            blocks.assign(s.research->v4.begin(), s.research->v4.end());
        else
            blocks.assign(FindCountry(s.country)->v4.begin(), FindCountry(s.country)->v4.end());
        bool inside = false;
        for (auto b : blocks)
            inside |= IpNetwork::Parse(b)->Contains(s.address);
        EXPECT_TRUE(inside) << s.address.ToString() << " " << s.country;
        EXPECT_FALSE(IsReservedV4(s.address.V4HostOrder()));
        if (s.research) {
            EXPECT_EQ(s.research->asn, 398324u);
        }
    }
    EXPECT_EQ(distinct.size(), r.truth.sources.size()) << "every source address is distinct";
}

TEST(Generator, SourcesWithLifetimesSendOnlyWhileActive) {
    auto r = Generate(R"(
[[population]]
name = "churn"
tool = "linux"
sources = 2000
lifetime_hours = 12
countries = { CN = 1 }
services = { "445/TCP" = 1 }
rate = 4000
)",
                      1, 1.0, "2024-10-01", "2024-10-05");
    std::map<int64_t, std::set<IpAddress>> per_day;
    for (auto &f : r.frames) {
        auto d = DecodeFrame(f);
        const SourceTruth *s = SourceOf(r, d.src);
        ASSERT_TRUE(f.ts >= s->active_start && f.ts < s->active_end);
        per_day[DayOf(f.ts)].insert(d.src);
    }
    // Activity is spread evenly: each day sees (24 + 12) / (96 + 12) = 1/3 of the sources, not all of them.
    ASSERT_EQ(per_day.size(), 4u);
    for (auto &[day, sources] : per_day)
        EXPECT_NEAR(double(sources.size()), 2000.0 / 3, 2000.0 / 3 * 0.2);
    // The component's volume does not depend on churn.
    double expected = r.truth.components[0].expected_packets;
    EXPECT_LT(std::abs(double(r.frames.size()) - expected), 5 * std::sqrt(expected));
}

TEST(Generator, EachSourceProbesItsOwnFewServices) {
    auto r = Generate(R"(
[[population]]
name = "campaigns"
tool = "zmap-old"
sources = 300
services_per_source = 2
countries = { US = 1 }
services = { "22/TCP" = 1, "23/TCP" = 1, "80/TCP" = 1, "443/TCP" = 1, "3389/TCP" = 1, "8080/TCP" = 1 }
rate = 20000
)");
    std::map<IpAddress, std::set<uint16_t>> ports;
    for (auto &f : r.frames) {
        auto d = DecodeFrame(f);
        ports[d.src].insert(d.dport);
    }
    std::set<std::set<uint16_t>> combinations;
    for (auto &s : r.truth.sources) {
        ASSERT_EQ(s.services.size(), 2u);
        std::set<uint16_t> own;
        for (auto i : s.services)
            own.insert(r.sc.components[0].services[i].key.Value());
        for (uint16_t p : ports[s.address])
            EXPECT_TRUE(own.count(p)) << s.address.ToString() << " probed " << p;
        combinations.insert(own);
    }
    EXPECT_GT(combinations.size(), 10u) << "sources differ in the services they probe (15 pairs possible)";
}

TEST(Generator, SpoofedRoundsSkipSensorsWithoutIpv4) {
    auto sc = ParseScenario(
        "[scenario]\nname = \"v6\"\nstart = 2024-10-01\nend = 2024-10-01T02:00:00Z\n"
        "[[sensor]]\nname = \"a\"\nnetworks = [\"192.0.2.0/24\"]\n"
        "[[sensor]]\nname = \"b\"\nnetworks = [\"2001:db8::/120\"]\n"
        "[[event]]\nname = \"amp\"\nkind = \"spoofed-dns\"\ncountries = { CA = 1 }\nrate = 100\n",
        "t.toml");
    Generator gen(sc, {});
    MemorySink sink;
    gen.Run(sink);
    EXPECT_GT(sink.frames.size(), 100u);
    EXPECT_EQ(gen.GetTruth().components[0].by_sensor[1], 0u);
}

TEST(Generator, ImpossibleRequestsAreErrors) {
    auto sc = ParseScenario(SmallScenario(R"(
[[population]]
name = "v6"
ipv6 = 1
countries = { NL = 1 }
services = { "22/TCP" = 1 }
rate = 10
)"),
                            "t.toml");
    EXPECT_THROW(Generator(sc, {}), std::runtime_error);  // NL has no IPv6 blocks in the table
    sc = ParseScenario(SmallScenario(R"(
[[population]]
name = "shodan"
research = "shodan"
sources = 100
services = { "22/TCP" = 1 }
rate = 10
)"),
                       "t.toml");
    EXPECT_THROW(Generator(sc, {}), std::runtime_error);  // Shodan has 8 addresses in the table
}

}  // namespace darkscope::synth
