#include "detect/stream.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "../aggregate/test_packets.hpp"
#include "../enrich/test_enrichment.hpp"

namespace darkscope::detect {
namespace {

using darkscope::testing::DAY0;

// The telescope of these tests: 10.0.0.0/16, three sensors of it.
constexpr uint64_t MONITORED = 65536;
constexpr uint32_t DARKNET = 0x0A000000;  // 10.0.0.0
constexpr TimestampNs SEC = NS_PER_SEC;
constexpr TimestampNs MS = NS_PER_SEC / 1000;

StreamOptions Options() {
    StreamOptions o;
    o.monitored_addresses = MONITORED;
    return o;
}
std::vector<std::string> ThreeSensors() { return {"tokyo-1", "osaka-1", "sapporo-1"}; }

Observation Probe(const char *src, uint32_t dst_offset, ServiceKey service, TrafficClass cls, TimestampNs ts,
                  SensorIndex sensor = 0, uint8_t fingerprints = 0) {
    Observation o;
    o.ts = ts;
    o.src = *IpAddress::Parse(src);
    o.dst = IpAddress::V4(DARKNET + dst_offset);
    o.wire_len = 60;
    o.sensor = sensor;
    o.cp.service = service;
    o.cp.cls = cls;
    o.cp.fingerprints = fingerprints;
    return o;
}
Observation Syn(const char *src, uint32_t dst_offset, uint16_t dport, TimestampNs ts, uint8_t fingerprints = 0) {
    return Probe(src, dst_offset, ServiceKey::Make(ServiceKind::TCP, dport), TrafficClass::SYN_PROBE, ts, 0,
                 fingerprints);
}
Observation DnsQuery(const char *src, uint32_t dst_offset, TimestampNs ts, SensorIndex sensor) {
    return Probe(src, dst_offset, ServiceKey::Make(ServiceKind::UDP, 53), TrafficClass::DNS_QUERY, ts, sensor);
}
/// A SYN/ACK (or other backscatter) from `victim`'s port `sport` to a darknet address.
Observation Backscatter(const char *victim, uint32_t dst_offset, TimestampNs ts, uint16_t sport = 6667,
                        TrafficClass cls = TrafficClass::SYNACK_BACKSCATTER) {
    Observation o;
    o.ts = ts;
    o.src = *IpAddress::Parse(victim);
    o.dst = IpAddress::V4(DARKNET + dst_offset);
    o.wire_len = 60;
    o.sensor = 0;
    o.cp.service = ServiceKey::Make(ServiceKind::TCP, 40000);
    o.cp.source_port = ServiceKey::Make(ServiceKind::TCP, sport);
    o.cp.cls = cls;
    return o;
}

std::vector<DetectedEvent> OfKind(const std::vector<DetectedEvent> &events, EventKind kind) {
    std::vector<DetectedEvent> out;
    for (const DetectedEvent &e : events)
        if (e.kind == kind) out.push_back(e);
    return out;
}

TEST(StreamOptions, ScanThresholdScalesDurumericsHundredPerSlashEight) {
    StreamOptions o;
    o.monitored_addresses = uint64_t(1) << 24;
    EXPECT_EQ(o.ScanThreshold(), 100u);
    o.monitored_addresses = uint64_t(1) << 26;  // a /6: 400
    EXPECT_EQ(o.ScanThreshold(), 400u);
    o.monitored_addresses = 65536;  // a /16: 0.39, so the floor
    EXPECT_EQ(o.ScanThreshold(), 10u);
    o.monitored_addresses = 0;  // unknown
    EXPECT_EQ(o.ScanThreshold(), 10u);
}

// ---- Scans ----

TEST(StreamScan, TwoHundredDestinationsWithZmapMarksAreOneScan) {
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    const uint8_t zmap = RuleBit(FingerprintRule::ZMAP_IP_ID);
    // 200 addresses, each probed twice, one probe a second: 400 packets over 399 s.
    for (int i = 0; i < 400; ++i)
        d.Observe(Syn("198.51.100.7", uint32_t(i % 200) * 7, 23, DAY0 + i * SEC, zmap));
    EXPECT_TRUE(d.TakeEvents().empty());  // still open
    d.Finish();
    const auto events = d.TakeEvents();
    ASSERT_EQ(events.size(), 1u);
    const DetectedEvent &e = events[0];
    EXPECT_EQ(e.kind, EventKind::SCAN);
    EXPECT_EQ(e.detector, "scan");
    EXPECT_EQ(e.subject, "198.51.100.7");
    EXPECT_EQ(e.start, DAY0);
    EXPECT_EQ(e.end, DAY0 + 399 * SEC);
    EXPECT_EQ(e.packets, 400u);
    EXPECT_DOUBLE_EQ(e.magnitude, 200.0);
    EXPECT_EQ(e.evidence["service"], "23/TCP");
    EXPECT_EQ(e.evidence["distinct_destinations"], 200u);
    EXPECT_EQ(e.evidence["distinct_destinations_exact"], true);
    EXPECT_EQ(e.evidence["tool"], "zmap-old");
    const double rate = 400.0 / 399.0;
    EXPECT_NEAR(e.evidence["rate_pps"].get<double>(), rate, 1e-9);
    EXPECT_NEAR(e.evidence["coverage"].get<double>(), 200.0 / 65536.0, 1e-12);
    EXPECT_NEAR(e.evidence["estimated_ipv4_rate_pps"].get<double>(), rate * 65536.0, 1e-6);
    EXPECT_EQ(e.evidence["peak_packets_per_minute"], 60u);
    ASSERT_EQ(e.sensors, std::vector<std::string>{"tokyo-1"});
    EXPECT_TRUE(e.regions.empty());  // no enrichment
    EXPECT_NE(e.sentence_en.find("23/TCP"), std::string::npos) << e.sentence_en;
    EXPECT_NE(e.sentence_en.find("200 darknet addresses"), std::string::npos) << e.sentence_en;
    EXPECT_NE(e.sentence_ja.find("スキャン"), std::string::npos) << e.sentence_ja;
}

TEST(StreamScan, NoToolWithoutConsistentMarks) {
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    for (int i = 0; i < 100; ++i)
        d.Observe(Syn("198.51.100.7", uint32_t(i), 23, DAY0 + i * SEC,
                      i < 2 ? RuleBit(FingerprintRule::ZMAP_IP_ID) : uint8_t(0)));
    d.Finish();
    const auto events = d.TakeEvents();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_TRUE(events[0].evidence["tool"].is_null());
}

TEST(StreamScan, SameSpreadWithGapsBeyondTheTimeoutIsNoScan) {
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    for (int i = 0; i < 200; ++i)
        d.Observe(Syn("198.51.100.7", uint32_t(i), 23, DAY0 + i * 481 * SEC));
    d.Finish();
    EXPECT_TRUE(d.TakeEvents().empty());
}

TEST(StreamScan, GapClosesTheFirstScanAndStartsAnother) {
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    for (int i = 0; i < 20; ++i)
        d.Observe(Syn("198.51.100.7", uint32_t(i), 23, DAY0 + i * SEC));
    for (int i = 0; i < 30; ++i)
        d.Observe(Syn("198.51.100.7", uint32_t(i), 23, DAY0 + (1000 + i) * SEC));
    // The first scan closed when the packet 981 s later arrived.
    auto events = d.TakeEvents();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].packets, 20u);
    d.Finish();
    events = d.TakeEvents();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].packets, 30u);
    EXPECT_EQ(events[0].start, DAY0 + 1000 * SEC);
}

TEST(StreamScan, BelowTheThresholdIsNoScanAndBackscatterNeverScans) {
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    for (int i = 0; i < 9; ++i)
        d.Observe(Syn("198.51.100.7", uint32_t(i), 23, DAY0 + i * SEC));
    // 100 distinct destinations, but as backscatter (too few per minute to be an attack).
    for (int i = 0; i < 100; ++i)
        d.Observe(Backscatter("203.0.113.9", uint32_t(i), DAY0 + i * 10 * SEC));
    d.Finish();
    EXPECT_TRUE(OfKind(d.TakeEvents(), EventKind::SCAN).empty());
}

TEST(StreamScan, LargeScansAreCountedApproximatelyPastTheExactCap) {
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    for (int i = 0; i < 20000; ++i)
        d.Observe(Syn("198.51.100.7", uint32_t(i), 445, DAY0 + i * MS));
    d.Finish();
    const auto events = d.TakeEvents();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].evidence["distinct_destinations_exact"], false);
    EXPECT_EQ(events[0].packets, 20000u);
    // HyperLogLog of 1024 registers: 3.3% standard error; 10% is three of them.
    EXPECT_NEAR(events[0].magnitude, 20000.0, 2000.0);
}

TEST(StreamScan, PortSweepFoldsIntoOneManyPortsState) {
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    // One source, 1000 ports, one destination each.
    for (int port = 1; port <= 1000; ++port) {
        d.Observe(Syn("198.51.100.7", uint32_t(port), uint16_t(port), DAY0 + port * 10 * MS));
        ASSERT_LE(d.ActiveStates(), 17u);
    }
    d.Finish();
    const auto events = d.TakeEvents();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].evidence["many_ports"], true);
    EXPECT_TRUE(events[0].evidence["service"].is_null());
    EXPECT_DOUBLE_EQ(events[0].magnitude, 1000.0 - 16.0);
}

// ---- DoS backscatter ----

TEST(StreamBackscatter, RsDosThresholdsMetGiveOneAttack) {
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    // 120 SYN/ACKs from 6667/TCP over 119 s (one a second: 60 in the busiest minute), then 10 RSTs from 80/TCP.
    for (int i = 0; i < 120; ++i)
        d.Observe(Backscatter("203.0.113.9", uint32_t(i * 13), DAY0 + i * SEC));
    for (int i = 0; i < 10; ++i)
        d.Observe(Backscatter("203.0.113.9", uint32_t(i), DAY0 + (120 + i) * SEC, 80, TrafficClass::RST_BACKSCATTER));
    d.Finish();
    const auto events = d.TakeEvents();
    ASSERT_EQ(events.size(), 1u);
    const DetectedEvent &e = events[0];
    EXPECT_EQ(e.kind, EventKind::BACKSCATTER);
    EXPECT_EQ(e.detector, "rsdos");
    EXPECT_EQ(e.subject, "203.0.113.9");
    EXPECT_EQ(e.packets, 130u);
    EXPECT_EQ(e.start, DAY0);
    EXPECT_EQ(e.end, DAY0 + 129 * SEC);
    const double observed = 130.0 / 129.0;
    EXPECT_NEAR(e.evidence["observed_rate_pps"].get<double>(), observed, 1e-9);
    EXPECT_NEAR(e.magnitude, observed * 4294967296.0 / double(MONITORED), 1e-6);
    EXPECT_EQ(e.evidence["extrapolated"], true);
    ASSERT_EQ(e.evidence["ports"].size(), 2u);
    EXPECT_EQ(e.evidence["ports"][0]["port"], "6667/TCP");
    EXPECT_EQ(e.evidence["ports"][0]["packets"], 120u);
    EXPECT_EQ(e.evidence["ports"][1]["port"], "80/TCP");
    EXPECT_EQ(e.evidence["responses"]["synack-backscatter"], 120u);
    EXPECT_EQ(e.evidence["responses"]["rst-backscatter"], 10u);
    EXPECT_EQ(e.evidence["peak_packets_per_minute"], 60u);
    EXPECT_NE(e.sentence_en.find("SYN/ACK and RST packets from 6667/TCP"), std::string::npos) << e.sentence_en;
    EXPECT_NE(e.sentence_en.find("an estimated 66,"), std::string::npos) << e.sentence_en;
    EXPECT_NE(e.sentence_ja.find("6667/TCP などを送信元とする"), std::string::npos) << e.sentence_ja;
}

TEST(StreamBackscatter, Ipv6VictimIsNotExtrapolated) {
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    for (int i = 0; i < 120; ++i)
        d.Observe(Backscatter("2001:db8::9", uint32_t(i), DAY0 + i * SEC));
    d.Finish();
    const auto events = d.TakeEvents();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].evidence["extrapolated"], false);
    EXPECT_TRUE(events[0].evidence["estimated_rate_pps"].is_null());
    EXPECT_NEAR(events[0].magnitude, 120.0 / 119.0, 1e-9);
}

TEST(StreamBackscatter, BelowAnyThresholdIsNoAttack) {
    struct Case {
        const char *name;
        int packets;
        TimestampNs spacing;
        uint64_t min_peak;  // the peak threshold: lowered where the case is about another one
        bool attack;
    };
    // With the default peak of 30 a minute, 25 packets can never be an attack; so the packet count's
    // own threshold shows only with the peak lowered. Each shape once just below and once just above.
    const Case cases[] = {
        {"24 packets", 24, 3 * SEC, 10, false},       // 69 s, peak 20
        {"25 packets", 25, 3 * SEC, 10, true},        // 72 s, peak 20
        {"under 60 s", 100, 500 * MS, 30, false},     // 49.5 s
        {"60 s", 121, 500 * MS, 30, true},            // 60 s
        {"peak under 30", 40, 7500 * MS, 30, false},  // 292.5 s, at most 8 in any minute
        {"peak 30", 40, 2 * SEC, 30, true},           // 78 s, 30 in the busiest minute
    };
    for (const Case &c : cases) {
        StreamOptions options = Options();
        options.rsdos_min_peak_per_minute = c.min_peak;
        StreamDetectors d(options, ThreeSensors(), nullptr);
        for (int i = 0; i < c.packets; ++i)
            d.Observe(Backscatter("203.0.113.9", uint32_t(i), DAY0 + i * c.spacing));
        d.Finish();
        EXPECT_EQ(d.TakeEvents().size(), c.attack ? 1u : 0u) << c.name;
    }
}

TEST(StreamBackscatter, FlowsSplitAfterThreeHundredSecondsOfSilence) {
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    // Two halves of 20 packets, each enough only together.
    for (int i = 0; i < 20; ++i)
        d.Observe(Backscatter("203.0.113.9", uint32_t(i), DAY0 + i * SEC));
    for (int i = 0; i < 20; ++i)
        d.Observe(Backscatter("203.0.113.9", uint32_t(i), DAY0 + (320 + i) * SEC));
    d.Finish();
    EXPECT_TRUE(d.TakeEvents().empty());
}

// ---- Multi-sensor campaigns ----

TEST(StreamCampaign, SpoofedSourceReachingThreeSensorsInFiveRoundsIsOneCampaign) {
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    EXPECT_EQ(d.CampaignSensors(), 3u);
    // Each round: one query to each sensor within 0.2 s; a round every 30 s.
    for (int round = 0; round < 5; ++round)
        for (SensorIndex s = 0; s < 3; ++s)
            d.Observe(DnsQuery("192.0.2.53", uint32_t(s) << 12, DAY0 + round * 30 * SEC + s * 100 * MS, s));
    d.Finish();
    const auto events = d.TakeEvents();
    ASSERT_EQ(events.size(), 1u);  // and no scan: three destinations
    const DetectedEvent &e = events[0];
    EXPECT_EQ(e.kind, EventKind::CAMPAIGN);
    EXPECT_EQ(e.subject, "192.0.2.53");
    EXPECT_DOUBLE_EQ(e.magnitude, 3.0);
    EXPECT_EQ(e.packets, 15u);
    EXPECT_EQ(e.start, DAY0);
    EXPECT_EQ(e.end, DAY0 + 120 * SEC + 200 * MS);
    EXPECT_EQ(e.evidence["service"], "53/UDP");
    EXPECT_EQ(e.evidence["rounds"], 5u);
    EXPECT_EQ(e.sensors.size(), 3u);
    const auto &flow = e.evidence["flow"];
    ASSERT_EQ(flow.size(), 3u);
    for (const auto &f : flow) {
        EXPECT_EQ(f["packets"], 5u);
        EXPECT_EQ(f["from"], "");  // no enrichment
    }
    EXPECT_EQ(flow[0]["to"], "tokyo-1");
    EXPECT_NE(e.sentence_en.find("reached 3 sensors"), std::string::npos) << e.sentence_en;
    EXPECT_NE(e.sentence_ja.find("DNS リフレクション"), std::string::npos) << e.sentence_ja;
}

TEST(StreamCampaign, FlowAndRegionsComeFromTheEnrichment) {
    const auto enrichment = darkscope::testing::SmallEnrichment();  // 93.184.0.0/24 is JP
    StreamDetectors d(Options(), ThreeSensors(), enrichment.get());
    for (int round = 0; round < 3; ++round)
        for (SensorIndex s = 0; s < 3; ++s)
            d.Observe(DnsQuery("93.184.0.53", uint32_t(s) << 12, DAY0 + round * 60 * SEC + s * 50 * MS, s));
    d.Finish();
    const auto events = d.TakeEvents();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].regions, std::vector<std::string>{"JP"});
    ASSERT_EQ(events[0].top_sources.size(), 1u);
    EXPECT_EQ(events[0].top_sources[0].country, "JP");
    EXPECT_EQ(events[0].top_sources[0].packets, 9u);
    for (const auto &f : events[0].evidence["flow"])
        EXPECT_EQ(f["from"], "JP");
    EXPECT_NE(events[0].sentence_en.find("within 2 s, 3 times"), std::string::npos) << events[0].sentence_en;
}

// A busy scanner lands on two sensors within one window now and then by chance (the demo's masscan
// sources did, thousands of times in two days): most of its windows hold one sensor, so it is no campaign.
TEST(StreamCampaign, ScannerThatMeetsTwoSensorsByChanceIsNoCampaign) {
    StreamDetectors d(Options(), {"a", "b"}, nullptr);
    // A packet every 4 s for two hours, alternating sensors, and every tenth one 1 s after the one before:
    // 180 windows reach both sensors, 1,440 only one.
    TimestampNs t = DAY0;
    for (int i = 0; i < 1800; ++i) {
        t += (i % 10 == 9) ? 1 * SEC : 4 * SEC;
        d.Observe(DnsQuery("192.0.2.77", uint32_t(i), t, SensorIndex(i % 2)));
    }
    d.Finish();
    for (const DetectedEvent &e : d.TakeEvents())
        EXPECT_NE(e.kind, EventKind::CAMPAIGN) << e.sentence_en;
}

TEST(StreamCampaign, ScannerPassingThreeSensorsOnceIsNoCampaign) {
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    for (SensorIndex s = 0; s < 3; ++s)
        d.Observe(Probe("198.51.100.7", uint32_t(s) << 12, ServiceKey::Make(ServiceKind::TCP, 23),
                        TrafficClass::SYN_PROBE, DAY0 + s * 100 * MS, s));
    d.Finish();
    EXPECT_TRUE(d.TakeEvents().empty());
}

TEST(StreamCampaign, TwoRoundsAreTooFewAndSilenceResetsTheCount) {
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    auto round = [&](TimestampNs t) {
        for (SensorIndex s = 0; s < 3; ++s)
            d.Observe(DnsQuery("192.0.2.53", uint32_t(s) << 12, t + s * MS, s));
    };
    round(DAY0);
    round(DAY0 + 30 * SEC);
    round(DAY0 + 7 * 3600 * SEC);  // more than the timeout (6 hours) after the last round: a new count
    round(DAY0 + 7 * 3600 * SEC + 30 * SEC);
    d.Finish();
    EXPECT_TRUE(d.TakeEvents().empty());
}

TEST(StreamCampaign, NoCampaignsWithOneSensor) {
    StreamDetectors d(Options(), {"tokyo-1"}, nullptr);
    EXPECT_EQ(d.CampaignSensors(), 0u);
    for (int round = 0; round < 5; ++round)
        for (int i = 0; i < 3; ++i)
            d.Observe(DnsQuery("192.0.2.53", uint32_t(i), DAY0 + round * 30 * SEC, 0));
    d.Finish();
    EXPECT_TRUE(d.TakeEvents().empty());
    // Two sensors: K = 2.
    EXPECT_EQ(StreamDetectors(Options(), {"a", "b"}, nullptr).CampaignSensors(), 2u);
}

// ---- Bounded state and disorder ----

// 100,000 one-packet sources over two simulated hours (one every 72 ms), half probing and half
// backscatter: the open states must stay near the sources of the last timeout (480 s of probes,
// 300 s of backscatter, plus a sweep interval), never grow towards every source seen.
void CheckBoundedState(bool call_expire) {
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    constexpr int SOURCES = 100000;
    constexpr TimestampNs SPACING = 72 * MS;
    const size_t within_timeout = size_t((480 * SEC + StreamDetectors::SWEEP_INTERVAL) / SPACING) + 1;
    size_t most = 0;
    for (int i = 0; i < SOURCES; ++i) {
        const TimestampNs ts = DAY0 + i * SPACING;
        const IpAddress src = IpAddress::V4(0xC6000000u + uint32_t(i));  // 198.0.0.0 + i
        const std::string text = src.ToString();
        if (i % 2 == 0)
            d.Observe(Syn(text.c_str(), uint32_t(i % 65536), 445, ts));
        else
            d.Observe(Backscatter(text.c_str(), uint32_t(i % 65536), ts));
        if (call_expire && i % 50000 == 49999) d.Expire(ts);  // an hour closes
        most = std::max(most, d.ActiveStates());
        ASSERT_LE(d.ActiveStates(), within_timeout) << "after source " << i;
    }
    EXPECT_GT(most, within_timeout / 2);  // the bound is not vacuous
    d.Expire(DAY0 + SOURCES * SPACING + 3600 * SEC);
    EXPECT_EQ(d.ActiveStates(), 0u);
    EXPECT_TRUE(d.TakeEvents().empty());
}

TEST(StreamState, BoundedBySourcesWithinTheTimeoutWithExpire) { CheckBoundedState(true); }
TEST(StreamState, BoundedBySourcesWithinTheTimeoutWithoutExpire) { CheckBoundedState(false); }

// Long scans keep their states while tens of thousands of one-packet sources around them come and go:
// the tables' erases must leave every surviving state findable (a lost state would split a scan).
TEST(StreamState, SurvivingStatesStayWholeWhileOthersExpire) {
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    constexpr int SCANNERS = 500, MINUTES = 30, FLEETING_PER_SECOND = 20;
    uint32_t fleeting = 0;
    for (int minute = 0; minute < MINUTES; ++minute) {
        for (int second = 0; second < 60; ++second) {
            const TimestampNs t = DAY0 + (minute * 60 + second) * SEC;
            for (int k = 0; k < FLEETING_PER_SECOND; ++k) {
                const std::string src = IpAddress::V4(0xC6000000u + fleeting++).ToString();
                d.Observe(Syn(src.c_str(), fleeting % 65536, 445, t + k * MS));
            }
            for (int s = second; s < SCANNERS; s += 60) {
                const std::string src = IpAddress::V4(0xC6120000u + uint32_t(s)).ToString();  // 198.18.0.0 + s
                d.Observe(Syn(src.c_str(), uint32_t(minute * SCANNERS + s), 23, t + 500 * MS));
            }
        }
    }
    d.Finish();
    const auto events = d.TakeEvents();
    ASSERT_EQ(events.size(), size_t(SCANNERS));
    for (const DetectedEvent &e : events) {
        EXPECT_EQ(e.packets, uint64_t(MINUTES)) << e.subject;
        EXPECT_DOUBLE_EQ(e.magnitude, double(MINUTES)) << e.subject;
    }
}

TEST(StreamState, TimestampsGoingBackwardsNeitherCrashNorGiveNegativeDurations) {
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    // Files read slightly out of order: time steps back 30 s, then an hour, then forwards again.
    const TimestampNs steps[] = {0, 30, 0, -3600, 10, 20, 40, -5, 50, 60, 70, 90, 120, -7200, 130};
    for (int pass = 0; pass < 10; ++pass) {
        for (size_t i = 0; i < std::size(steps); ++i) {
            const TimestampNs ts = DAY0 + (pass * 10 + steps[i]) * SEC;
            d.Observe(Syn("198.51.100.7", uint32_t(pass * 16 + i), 23, ts));
            d.Observe(Backscatter("203.0.113.9", uint32_t(i), ts));
            d.Observe(Backscatter("203.0.113.9", uint32_t(i), ts + 500 * MS));
            d.Observe(DnsQuery("192.0.2.53", uint32_t(i % 3) << 12, ts, SensorIndex(i % 3)));
        }
        d.Expire(DAY0 + pass * 5 * SEC);
    }
    d.Finish();
    const auto events = d.TakeEvents();
    EXPECT_FALSE(events.empty());
    for (const DetectedEvent &e : events) {
        EXPECT_LE(e.start, e.end) << e.sentence_en;
        EXPECT_GE(e.peak, e.start) << e.sentence_en;
        if (e.evidence.contains("duration_s")) {
            EXPECT_GE(e.evidence["duration_s"].get<double>(), 0.0);
        }
        EXPECT_GE(e.magnitude, 0.0);
    }
    EXPECT_EQ(d.ActiveStates(), 0u);
}

// ---- States carried across ingest runs ----

std::vector<std::string> EventTexts(const std::vector<DetectedEvent> &events) {
    std::vector<std::string> out;
    for (const DetectedEvent &e : events)
        out.push_back(ToJson(e).dump());
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<DetectedEvent> OneRun(const std::vector<Observation> &packets, const StreamOptions &options,
                                  const std::vector<std::string> &sensors) {
    StreamDetectors d(options, sensors, nullptr);
    for (const Observation &o : packets)
        d.Observe(o);
    d.Finish();
    return d.TakeEvents();
}

/// Two ingest runs into one store, as ingest makes them: the first ends with FinishCarrying and its events are
/// "stored" (event i gets id 1000 + i); the second takes the carried states up in fresh detectors, reads on
/// and finishes; the events it emits replace the stored ones it supersedes.
struct TwoRuns {
    std::vector<DetectedEvent> first;  // stored by the first run
    std::vector<CarriedState> carried;
    std::vector<DetectedEvent> second;
    std::vector<int64_t> superseded;
    std::vector<DetectedEvent> stored;  // what the store holds after both

    TwoRuns(const std::vector<Observation> &packets, size_t split, const StreamOptions &options = Options(),
            const std::vector<std::string> &sensors = ThreeSensors()) {
        StreamDetectors a(options, sensors, nullptr);
        TimestampNs end = 0;
        for (size_t i = 0; i < split; ++i) {
            a.Observe(packets[i]);
            end = std::max(end, packets[i].ts);
        }
        carried = a.FinishCarrying(end);
        first = a.TakeEvents();
        EXPECT_TRUE(a.TakeSuperseded().empty());
        EXPECT_EQ(a.ActiveStates(), 0u);
        for (CarriedState &c : carried) {
            if (c.event == CarriedState::NO_EVENT) continue;
            EXPECT_LT(c.event, first.size());
            c.event_id = 1000 + int64_t(c.event);
            c.event = CarriedState::NO_EVENT;
        }
        StreamDetectors b(options, sensors, nullptr);
        for (const CarriedState &c : carried)
            EXPECT_EQ(b.Restore(c), "") << CarriedKindName(c.kind);
        EXPECT_EQ(b.CarriedStates(), carried.size());
        for (size_t i = split; i < packets.size(); ++i)
            b.Observe(packets[i]);
        b.Finish();
        second = b.TakeEvents();
        superseded = b.TakeSuperseded();
        EXPECT_EQ(b.CarriedStates(), 0u);
        for (size_t i = 0; i < first.size(); ++i)
            if (std::find(superseded.begin(), superseded.end(), 1000 + int64_t(i)) == superseded.end())
                stored.push_back(first[i]);
        for (const DetectedEvent &e : second)
            stored.push_back(e);
    }
};

// Every split of the input into two runs stores what one run over all of it stores: the carried states hold
// everything the events are made of.
void ExpectSplitsAsOneRun(const std::vector<Observation> &packets, const std::vector<size_t> &splits,
                          const StreamOptions &options = Options(),
                          const std::vector<std::string> &sensors = ThreeSensors()) {
    const std::vector<std::string> whole = EventTexts(OneRun(packets, options, sensors));
    ASSERT_FALSE(whole.empty());
    for (size_t split : splits) {
        const TwoRuns runs(packets, split, options, sensors);
        EXPECT_FALSE(runs.carried.empty()) << "split " << split;
        EXPECT_EQ(EventTexts(runs.stored), whole) << "split " << split;
    }
}

// A worker's sweeps free idle service states, and a source's 17th service folds into "many ports" only while
// its 16 others are held. Which sources share the worker (and how many workers there are) must not change
// that: the sweeps come at multiples of their interval in packet time, not at whichever packet passes one.
TEST(StreamState, OtherSourcesInTheWorkerDoNotChangeASourcesScans) {
    constexpr const char *SCANNER = "198.51.100.7";
    std::vector<Observation> alone;
    for (int port = 1; port <= 16; ++port)
        alone.push_back(Syn(SCANNER, uint32_t(port), uint16_t(port), DAY0 + port * SEC));
    // 485 s after its last probe (past the 480 s scan gap), 300 destinations on one more port.
    for (int i = 0; i < 300; ++i)
        alone.push_back(Syn(SCANNER, uint32_t(1000 + i), 9999, DAY0 + 501 * SEC + i * 50 * MS));
    // Beside it in its worker, a source that sends one probe between the two.
    std::vector<Observation> shared = alone;
    shared.insert(shared.begin() + 16, Syn("203.0.113.9", 5, 80, DAY0 + 300 * SEC));

    auto scans_of_scanner = [&](const std::vector<Observation> &packets) {
        std::vector<DetectedEvent> out;
        for (const DetectedEvent &e : OfKind(OneRun(packets, Options(), ThreeSensors()), EventKind::SCAN))
            if (e.subject == SCANNER) out.push_back(e);
        return EventTexts(out);
    };
    const auto by_itself = scans_of_scanner(alone);
    ASSERT_EQ(by_itself.size(), 1u);
    EXPECT_EQ(scans_of_scanner(shared), by_itself);
}

// 3,000 destinations (past the 1,024 exact ones: the HyperLogLog is carried), with zmap's marks, at two
// sensors (campaigns off: a scanner at two sensors is the campaign tests' business).
TEST(StreamCarry, ScanSplitAcrossRunsIsTheOneRunScan) {
    std::vector<Observation> packets;
    const uint8_t zmap = RuleBit(FingerprintRule::ZMAP_IP_ID);
    for (int i = 0; i < 3000; ++i)
        packets.push_back(Probe("198.51.100.7", uint32_t(i) * 3, ServiceKey::Make(ServiceKind::TCP, 23),
                                TrafficClass::SYN_PROBE, DAY0 + i * 400 * MS, SensorIndex(i % 7 == 0), zmap));
    StreamOptions options = Options();
    options.campaigns = false;
    ExpectSplitsAsOneRun(packets, {5, 500, 1024, 1500, 2999}, options, {"tokyo-1", "osaka-1"});

    const TwoRuns runs(packets, 1500, options, {"tokyo-1", "osaka-1"});
    ASSERT_EQ(runs.first.size(), 1u);  // what the first run saw was a scan already, stored as it ended
    ASSERT_EQ(runs.second.size(), 1u);
    EXPECT_EQ(runs.superseded, std::vector<int64_t>{1000});  // and the whole scan replaced it
    EXPECT_EQ(runs.second[0].start, DAY0);
    EXPECT_EQ(runs.second[0].packets, 3000u);
    EXPECT_EQ(runs.second[0].evidence["distinct_destinations_exact"], false);
    EXPECT_EQ(runs.second[0].evidence["tool"], "zmap-old");
}

TEST(StreamCarry, HalvesBelowTheThresholdJoinIntoOneScan) {
    std::vector<Observation> packets;
    for (int i = 0; i < 12; ++i)
        packets.push_back(Syn("198.51.100.7", uint32_t(i), 23, DAY0 + i * 30 * SEC));
    const TwoRuns runs(packets, 6);
    EXPECT_TRUE(runs.first.empty());     // 6 destinations: no scan when the first run ended
    ASSERT_EQ(runs.carried.size(), 2u);  // the scan, and the round its last packet opened
    const auto scan = std::find_if(runs.carried.begin(), runs.carried.end(),
                                   [](const CarriedState &c) { return c.kind == CarriedState::Kind::SCAN; });
    ASSERT_NE(scan, runs.carried.end());
    EXPECT_EQ(scan->event_id, 0);
    EXPECT_EQ(scan->last, DAY0 + 150 * SEC);
    EXPECT_EQ(scan->service, ServiceKey::Make(ServiceKind::TCP, 23).packed);
    ASSERT_EQ(runs.second.size(), 1u);
    EXPECT_TRUE(runs.superseded.empty());
    EXPECT_EQ(runs.second[0].start, DAY0);
    EXPECT_EQ(runs.second[0].end, DAY0 + 330 * SEC);
    EXPECT_DOUBLE_EQ(runs.second[0].magnitude, 12.0);
}

// Twelve attacked ports (four past the eight a flow names), three response types, a peak that straddles the split.
TEST(StreamCarry, VictimSplitAcrossRunsIsTheOneRunAttack) {
    std::vector<Observation> packets;
    const TrafficClass classes[] = {TrafficClass::SYNACK_BACKSCATTER, TrafficClass::RST_BACKSCATTER,
                                    TrafficClass::ICMP_BACKSCATTER};
    for (int i = 0; i < 200; ++i)
        packets.push_back(
            Backscatter("203.0.113.9", uint32_t(i * 13), DAY0 + i * 700 * MS, uint16_t(6660 + i % 12), classes[i % 3]));
    ExpectSplitsAsOneRun(packets, {10, 30, 100, 199});
    const TwoRuns runs(packets, 30);  // 21 s: below every threshold
    EXPECT_TRUE(runs.first.empty());
    ASSERT_EQ(runs.second.size(), 1u);
    EXPECT_EQ(runs.second[0].packets, 200u);
    EXPECT_EQ(runs.second[0].evidence["ports"].size(), 8u);
    EXPECT_GT(runs.second[0].evidence["other_port_packets"].get<uint64_t>(), 0u);
}

// Rounds of spoofed DNS queries at three sensors, split between rounds, inside a round's window, and after a
// campaign had qualified.
TEST(StreamCarry, CampaignSplitAcrossRunsIsTheOneRunCampaign) {
    std::vector<Observation> packets;
    for (int round = 0; round < 6; ++round)
        for (SensorIndex s = 0; s < 3; ++s)
            packets.push_back(
                DnsQuery("192.0.2.53", uint32_t(s) << 12 | uint32_t(round), DAY0 + round * 40 * SEC + s * 300 * MS, s));
    ExpectSplitsAsOneRun(packets, {2, 6, 7, 10, 12, 16});
    const TwoRuns runs(packets, 13);  // four rounds and the first query of the fifth
    ASSERT_EQ(OfKind(runs.first, EventKind::CAMPAIGN).size(), 1u);
    EXPECT_EQ(runs.superseded.size(), runs.first.size());  // the campaign, and the scan of its 13 destinations
    const auto campaigns = OfKind(runs.second, EventKind::CAMPAIGN);
    ASSERT_EQ(campaigns.size(), 1u);
    EXPECT_EQ(campaigns[0].evidence["rounds"], 6u);
    EXPECT_EQ(campaigns[0].packets, 18u);
}

// Three rounds at three sensors and then ten windows at one: a campaign when the first run ends after the
// rounds, none once the windows outnumber them. The second run withdraws the first's event, as one run over
// both emits none.
TEST(StreamCarry, CampaignThatStopsQualifyingWithdrawsItsEvent) {
    std::vector<Observation> packets;
    for (int round = 0; round < 3; ++round)
        for (SensorIndex s = 0; s < 3; ++s)
            packets.push_back(
                DnsQuery("192.0.2.53", uint32_t(s) << 12 | uint32_t(round), DAY0 + round * 40 * SEC + s * 300 * MS, s));
    for (int w = 0; w < 10; ++w)
        packets.push_back(DnsQuery("192.0.2.53", uint32_t(100 + w), DAY0 + (120 + w * 40) * SEC, 0));
    EXPECT_TRUE(OfKind(OneRun(packets, Options(), ThreeSensors()), EventKind::CAMPAIGN).empty());
    ExpectSplitsAsOneRun(packets, {9, 12});
    const TwoRuns runs(packets, 9);
    ASSERT_EQ(OfKind(runs.first, EventKind::CAMPAIGN).size(), 1u);
    EXPECT_TRUE(OfKind(runs.second, EventKind::CAMPAIGN).empty());
    EXPECT_EQ(runs.superseded.size(), runs.first.size());
}

// A carried state that sees no packet again is not emitted a second time: not when it expires in the next run,
// and not when that run ends while it is still open, in which case it is carried on with the same event.
TEST(StreamCarry, CarriedStateWithoutNewPacketsIsNotEmittedAgain) {
    std::vector<Observation> packets;
    for (int i = 0; i < 20; ++i)
        packets.push_back(Syn("198.51.100.7", uint32_t(i), 23, DAY0 + i * SEC));
    for (int i = 0; i < 40; ++i)
        packets.push_back(Backscatter("203.0.113.9", uint32_t(i), DAY0 + i * 2 * SEC));
    // The next run: another source only, 20 minutes on (past every timeout).
    packets.push_back(Syn("192.0.2.1", 1, 80, DAY0 + 1200 * SEC));
    const TwoRuns runs(packets, packets.size() - 1);
    EXPECT_EQ(runs.first.size(), 2u);
    EXPECT_EQ(runs.carried.size(), 2u);
    EXPECT_TRUE(runs.second.empty());
    EXPECT_TRUE(runs.superseded.empty());

    // A short next run that ends a minute on: both still open, carried on with their events.
    StreamDetectors b(Options(), ThreeSensors(), nullptr);
    for (const CarriedState &c : runs.carried)
        ASSERT_EQ(b.Restore(c), "");
    b.Observe(Syn("192.0.2.1", 1, 80, DAY0 + 100 * SEC));
    const auto again = b.FinishCarrying(DAY0 + 100 * SEC);
    EXPECT_TRUE(b.TakeEvents().empty());
    EXPECT_TRUE(b.TakeSuperseded().empty());
    size_t carried_on = 0;
    for (const CarriedState &c : again) {
        if (c.source.ToString() == "192.0.2.1") {  // the new source's scan and round
            EXPECT_EQ(c.event_id, 0);
            continue;
        }
        ++carried_on;
        EXPECT_EQ(c.event, CarriedState::NO_EVENT);
        const auto before = std::find_if(runs.carried.begin(), runs.carried.end(),
                                         [&](const CarriedState &p) { return p.kind == c.kind; });
        ASSERT_NE(before, runs.carried.end());
        EXPECT_EQ(c.event_id, before->event_id);
        EXPECT_GE(c.event_id, 1000);
        EXPECT_EQ(c.state, before->state);
    }
    EXPECT_EQ(carried_on, 2u);
}

TEST(StreamCarry, StatesIdlePastTheirTimeoutAtTheRunsEndAreNotCarried) {
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    for (int i = 0; i < 20; ++i)
        d.Observe(Syn("198.51.100.7", uint32_t(i), 23, DAY0 + i * SEC));
    d.Observe(Syn("192.0.2.1", 1, 80, DAY0 + 600 * SEC));
    const auto carried = d.FinishCarrying(DAY0 + 600 * SEC);  // the scan has been idle 581 s, past the 480 s gap
    ASSERT_FALSE(carried.empty());
    for (const CarriedState &c : carried) {  // the other source's scan and round only
        EXPECT_EQ(c.source.ToString(), "192.0.2.1");
        EXPECT_EQ(c.event, CarriedState::NO_EVENT);
    }
    const auto events = d.TakeEvents();
    ASSERT_EQ(events.size(), 1u);  // the scan, closed as usual
    EXPECT_EQ(events[0].subject, "198.51.100.7");
}

// A run over an earlier stretch of time (a backfill) does not continue states carried from a later one.
TEST(StreamCarry, AnEarlierStretchDoesNotGoOnFromLaterStates) {
    std::vector<Observation> packets;
    for (int i = 0; i < 6; ++i)
        packets.push_back(Syn("198.51.100.7", uint32_t(i), 23, DAY0 + 8 * 3600 * SEC + i * SEC));
    for (int i = 0; i < 6; ++i)
        packets.push_back(Syn("198.51.100.7", uint32_t(100 + i), 23, DAY0 + i * SEC));
    const TwoRuns runs(packets, 6);
    EXPECT_TRUE(runs.stored.empty());  // two halves of six, eight hours apart (past the longest timeout, 6 hours)
}

TEST(StreamCarry, SettingsTextFollowsTheOptionsAndTheSensors) {
    const std::string base = StreamDetectors(Options(), ThreeSensors(), nullptr).CarrySettings();
    EXPECT_EQ(StreamDetectors(Options(), ThreeSensors(), nullptr).CarrySettings(), base);
    StreamOptions gap = Options();
    gap.scan_gap += SEC;
    EXPECT_NE(StreamDetectors(gap, ThreeSensors(), nullptr).CarrySettings(), base);
    StreamOptions share = Options();
    share.campaign_min_round_share = 0.6;
    EXPECT_NE(StreamDetectors(share, ThreeSensors(), nullptr).CarrySettings(), base);
    StreamOptions monitored = Options();
    monitored.monitored_addresses += 256;
    EXPECT_NE(StreamDetectors(monitored, ThreeSensors(), nullptr).CarrySettings(), base);
    EXPECT_NE(StreamDetectors(Options(), {"tokyo-1", "sapporo-1", "osaka-1"}, nullptr).CarrySettings(), base);
}

// The carry table is read like a packet: whatever its bytes, Restore takes the state up or says why not, and
// the detectors go on working.
TEST(StreamCarry, CorruptStatesAreRefusedWithAReason) {
    StreamDetectors a(Options(), ThreeSensors(), nullptr);
    for (int i = 0; i < 2000; ++i)
        a.Observe(Probe("198.51.100.7", uint32_t(i), ServiceKey::Make(ServiceKind::UDP, 53), TrafficClass::DNS_QUERY,
                        DAY0 + i * 100 * MS, SensorIndex(i % 3)));
    for (int i = 0; i < 50; ++i) {
        Observation o = Backscatter("203.0.113.9", uint32_t(i), DAY0 + i * SEC, uint16_t(80 + i));
        o.sensor = 2;
        a.Observe(o);
    }
    const std::vector<CarriedState> good = a.FinishCarrying(DAY0 + 200 * SEC);
    ASSERT_EQ(good.size(), 3u);  // scan (sketch), campaign, victim

    auto restore = [](const CarriedState &c, const std::vector<std::string> &sensors = ThreeSensors()) {
        StreamDetectors d(Options(), sensors, nullptr);
        const std::string fault = d.Restore(c);
        // Whatever was taken up closes without harm.
        d.Observe(Syn("192.0.2.1", 1, 80, DAY0 + 201 * SEC));
        d.Finish();
        for (const DetectedEvent &e : d.TakeEvents())
            EXPECT_LE(e.start, e.end);
        return fault;
    };
    for (const CarriedState &c : good) {
        EXPECT_EQ(restore(c), "");
        CarriedState bad = c;
        bad.state.clear();
        EXPECT_EQ(restore(bad), "empty");
        bad.state = c.state;
        bad.state[0] = 2;
        EXPECT_NE(restore(bad).find("encoding 2"), std::string::npos);
        bad.state = c.state + '\0';
        EXPECT_EQ(restore(bad), "bytes after the state");
        for (size_t n = 1; n < c.state.size(); ++n) {
            bad.state = c.state.substr(0, n);
            EXPECT_FALSE(restore(bad).empty()) << CarriedKindName(c.kind) << " cut at " << n;
        }
        // Every byte changed, one at a time, to a few values: taken up or refused, never a crash.
        for (size_t at = 1; at < c.state.size(); ++at)
            for (uint8_t v : {0x00, 0x01, 0x7F, 0x80, 0xFF}) {
                bad.state = c.state;
                bad.state[at] = char(v);
                restore(bad);
            }
        // Sensor indexes of a deployment with fewer sensors.
        EXPECT_FALSE(restore(c, {"tokyo-1"}).empty()) << CarriedKindName(c.kind);
    }
    StreamDetectors d(Options(), ThreeSensors(), nullptr);
    EXPECT_EQ(d.Restore(good[0]), "");
    EXPECT_EQ(d.Restore(good[0]), "carried twice");
}

}  // namespace
}  // namespace darkscope::detect
