#include "detect/series.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "../aggregate/test_packets.hpp"
#include "../report/test_store.hpp"
#include "classify/traffic_class.hpp"
#include "enrich/country.hpp"
#include "store/store.hpp"

namespace darkscope::detect {
namespace {

constexpr int64_t HOUR0 = testing::DAY0 / (NS_PER_SEC * SECONDS_PER_HOUR);  // 2024-12-18T00:00Z
constexpr TimestampNs NS_PER_HOUR = SECONDS_PER_HOUR * NS_PER_SEC;
const uint32_t TCP_5000 = ServiceKey::Make(ServiceKind::TCP, 5000).packed;

Series MakeSeries(std::vector<double> packets, Dimension dim = Dimension::SERVICE, uint32_t key = TCP_5000) {
    Series s;
    s.dim = dim;
    s.key = key;
    s.first_period = HOUR0;
    // Sources move with packets, as when a population grows: a rise brings new sources (min_source_rise).
    for (double p : packets) s.sources.push_back(std::max(1.0, p / 2));
    s.packets = std::move(packets);
    return s;
}

// Most tests were written against the median/MAD baseline; the default is the moving average (ewma).
SeriesOptions Mad() {
    SeriesOptions o;
    o.method = "mad";
    return o;
}

std::vector<double> Zeros(size_t n) { return std::vector<double>(n, 0); }

}  // namespace

// Seven periods of 10 and then 50: the median is 10, the MAD 0, so the Poisson floor sqrt(10) + 1 is the
// scale; the moving average of a constant history is the same 10 with no variance, so both agree.
TEST(SeriesScore, MadAndEwmaOnAFlatHistoryUseThePoissonFloor) {
    const std::vector<double> values = {10, 10, 10, 10, 10, 10, 10, 50};
    const double expected = 40 / (std::sqrt(10.0) + 1);
    for (const char *method : {"mad", "ewma"}) {
        SeriesOptions o = Mad();
        o.method = method;
        const Baseline b = ScoreSeries(values, o);
        for (size_t i = 0; i < 6; ++i) EXPECT_FALSE(b.scored[i]) << method << " " << i;  // min_history 6
        EXPECT_TRUE(b.scored[6]);
        EXPECT_NEAR(b.score[6], 0, 1e-12) << method;
        EXPECT_NEAR(b.expected[7], 10, 1e-12) << method;
        EXPECT_NEAR(b.score[7], expected, 1e-9) << method;
        EXPECT_EQ(Score(values, o), b.score);
    }
}

// The MAD scale follows the spread of the history, so a noisy series needs a larger rise.
TEST(SeriesScore, MadScalesWithTheSpread) {
    SeriesOptions o = Mad();
    const std::vector<double> values = {100, 140, 60, 120, 80, 100, 130, 70, 100, 200};
    const Baseline b = ScoreSeries(values, o);
    // History 100 140 60 120 80 100 130 70 100: median 100, deviations 0 40 40 20 20 0 30 30 0 -> MAD 20.
    EXPECT_DOUBLE_EQ(b.expected[9], 100);
    EXPECT_DOUBLE_EQ(b.scale[9], 1.4826 * 20);
    EXPECT_NEAR(b.score[9], 100 / (1.4826 * 20), 1e-9);
}

// The trailing window forgets: with window 4, a level that held for four periods is the baseline.
TEST(SeriesScore, MadWindowIsTrailing) {
    SeriesOptions o = Mad();
    o.window = 4;
    o.min_history = 4;
    const Baseline b = ScoreSeries({0, 0, 0, 0, 0, 0, 80, 80, 80, 80, 80}, o);
    EXPECT_DOUBLE_EQ(b.expected[6], 0);
    EXPECT_DOUBLE_EQ(b.expected[10], 80);
    EXPECT_DOUBLE_EQ(b.score[10], 0);
}

// A surge's first periods enter the moving average clipped at the threshold, so a step is still anomalous
// a few periods in, and the average does move towards the new level.
TEST(SeriesScore, EwmaClipsTheRiseItLearns) {
    SeriesOptions o = Mad();
    o.method = "ewma";
    std::vector<double> values(30, 100);
    for (size_t i = 20; i < 30; ++i) values[i] = 400;
    const Baseline b = ScoreSeries(values, o);
    EXPECT_GE(b.score[20], o.threshold);
    EXPECT_GE(b.score[22], o.threshold);
    EXPECT_GT(b.expected[25], b.expected[20]);
    EXPECT_LT(b.expected[25], 400);
}

TEST(SeriesScore, UnknownMethodThrows) {
    SeriesOptions o = Mad();
    o.method = "orion";
    EXPECT_THROW(Score({1, 2, 3}, o), std::invalid_argument);
}

// Two anomalous runs one quiet period apart are one event; two quiet periods apart, two.
TEST(SeriesEvents, RunsJoinAcrossTheGap) {
    SeriesOptions o = Mad();
    std::vector<double> one = Zeros(20);
    for (double v : {100, 100, 0, 100}) one.push_back(v);
    one.resize(30, 0);
    const auto joined = DetectInSeries(MakeSeries(one), o);
    ASSERT_EQ(joined.size(), 1u);
    EXPECT_EQ(joined[0].start, testing::DAY0 + 20 * NS_PER_HOUR);
    EXPECT_EQ(joined[0].end, testing::DAY0 + 24 * NS_PER_HOUR);
    EXPECT_EQ(joined[0].packets, 300u);  // excess over a baseline of 0
    EXPECT_EQ(joined[0].sources, 50u);  // at the peak (100 packets; MakeSeries gives half as many sources)
    EXPECT_EQ(joined[0].evidence["periods"], 4);

    std::vector<double> two = Zeros(20);
    for (double v : {100, 100, 0, 0, 100}) two.push_back(v);
    two.resize(30, 0);
    const auto split = DetectInSeries(MakeSeries(two), o);
    ASSERT_EQ(split.size(), 2u);
    EXPECT_EQ(split[1].start, testing::DAY0 + 24 * NS_PER_HOUR);

    o.gap = 2;
    EXPECT_EQ(DetectInSeries(MakeSeries(two), o).size(), 1u);
}

// The peak is the period of the highest score, and the magnitude that score.
TEST(SeriesEvents, PeakIsTheHighestScore) {
    std::vector<double> v = Zeros(20);
    for (double x : {50, 300, 120}) v.push_back(x);
    const auto events = DetectInSeries(MakeSeries(v), Mad());
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].peak, testing::DAY0 + 21 * NS_PER_HOUR);
    EXPECT_NEAR(events[0].magnitude, 300, 1e-9);  // (300 - 0) / (sqrt(0) + 1)
    EXPECT_EQ(events[0].evidence["observed_at_peak"], 300.0);
}

// A service from nothing is new; one that rises from a real baseline surges; the DNS responses are
// reflection; a rise below min_excess, or by less than min_rise of the baseline, is no event at all.
TEST(SeriesEvents, KindAndGuards) {
    SeriesOptions o = Mad();
    std::vector<double> fresh = Zeros(30);
    fresh.resize(36, 200);
    auto events = DetectInSeries(MakeSeries(fresh), o);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, EventKind::NEW_SERVICE);
    EXPECT_TRUE(events[0].evidence["from_zero"].get<bool>());

    std::vector<double> busy(30, 50);
    busy.resize(36, 200);
    events = DetectInSeries(MakeSeries(busy), o);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, EventKind::SURGE);
    EXPECT_EQ(events[0].packets, 6u * 150);

    // Almost nothing before (a stray packet now and then) is still near zero.
    std::vector<double> stray = Zeros(30);
    stray[3] = 1;
    stray[17] = 2;
    stray.resize(36, 200);
    EXPECT_EQ(DetectInSeries(MakeSeries(stray), o).at(0).kind, EventKind::NEW_SERVICE);

    const uint32_t dns = ClassSourcePortKey(uint8_t(TrafficClass::DNS_RESPONSE), ServiceKey::Make(ServiceKind::UDP, 53).packed);
    events = DetectInSeries(MakeSeries(fresh, Dimension::CLASS_SOURCE_PORT, dns), o);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, EventKind::DNS_REFLECTION);
    EXPECT_EQ(events[0].subject, "53/UDP responses");

    // A country from nothing is a surge of that region, not a new service.
    events = DetectInSeries(MakeSeries(fresh, Dimension::COUNTRY, CountryIndex("CN")), o);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, EventKind::SURGE);
    EXPECT_EQ(events[0].regions, std::vector<std::string>{"CN"});

    std::vector<double> small = Zeros(30);
    small.resize(36, 15);  // score 15, but 15 < min_excess 20
    EXPECT_TRUE(DetectInSeries(MakeSeries(small), o).empty());

    std::vector<double> large(30, 10000);
    large.resize(36, 12000);  // score 20, excess 2000, but only a fifth of the baseline
    EXPECT_TRUE(DetectInSeries(MakeSeries(large), o).empty());

    std::vector<double> fall(30, 500);
    fall.resize(36, 0);
    EXPECT_TRUE(DetectInSeries(MakeSeries(fall), o).empty());
}

TEST(SeriesEvents, SentencesNameTheSubjectAndTheTime) {
    SeriesOptions o = Mad();
    std::vector<double> fresh = Zeros(36);
    fresh.resize(48, 200);
    auto events = DetectInSeries(MakeSeries(fresh), o, "jp-3");
    ASSERT_EQ(events.size(), 1u);
    const DetectedEvent &e = events[0];
    EXPECT_EQ(e.subject, "5000/TCP");
    EXPECT_EQ(e.detector, "surge.mad");
    EXPECT_EQ(e.sensors, std::vector<std::string>{"jp-3"});
    EXPECT_NE(e.sentence_en.find("5000/TCP appeared at sensor jp-3 on 2024-12-19 at 12:00 UTC"), std::string::npos)
        << e.sentence_en;
    EXPECT_NE(e.sentence_ja.find("2024年12月19日12時(UTC)"), std::string::npos) << e.sentence_ja;
    EXPECT_NE(e.sentence_ja.find("5000/TCP宛てのパケット"), std::string::npos) << e.sentence_ja;

    std::vector<double> busy(30, 50);
    busy.resize(36, 260);
    const uint32_t cn_telnet = CountryServiceKey(CountryIndex("CN"), ServiceKey::Make(ServiceKind::TCP, 23));
    events = DetectInSeries(MakeSeries(busy, Dimension::COUNTRY_SERVICE, cn_telnet), o);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].subject, "CN 23/TCP");
    EXPECT_NE(events[0].sentence_en.find("CN 23/TCP rose to 5.2 times its baseline"), std::string::npos)
        << events[0].sentence_en;
    EXPECT_NE(events[0].sentence_ja.find("CNから23/TCP宛てのパケットが急増しました（ベースラインの5.2倍）"),
              std::string::npos)
        << events[0].sentence_ja;

    o.granularity = Granularity::DAY;
    Series daily = MakeSeries(busy);
    daily.first_period = testing::DAY0 / (NS_PER_SEC * SECONDS_PER_DAY);
    events = DetectInSeries(daily, o);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_NE(events[0].sentence_en.find("on 2025-01-17 (score"), std::string::npos) << events[0].sentence_en;
    EXPECT_EQ(events[0].evidence["granularity"], "day");
}

namespace {

// A store in the temporary directory with two sensors, tokyo-1 and cloud-1, removed when done.
class TwoSensorStore : public testing::SummaryTestStore {
public:
    TwoSensorStore()
        : SummaryTestStore("darkscope_series_test.db", {Sensor24("tokyo-1", "198.51.100.0/24"),
                                                        Sensor24("cloud-1", "203.0.113.0/24")}) {}

    // `count` SYNs to `dport` at sensor 0 (tokyo-1) or 1 (cloud-1) in `hour` (hours after DAY0), from
    // `sources` distinct addresses.
    void Syn(int sensor, uint16_t dport, int hour, int count, int sources) {
        const char *dst = sensor == 0 ? "198.51.100.7" : "203.0.113.7";
        for (int i = 0; i < count; ++i) {
            const std::string src = "192.0.2." + std::to_string(i % sources + 1);
            shard_.Observe(testing::SynPacket(src.c_str(), dst, dport, testing::DAY0 + hour * NS_PER_HOUR + i),
                           testing::SynProbe(dport), SensorIndex(sensor));
        }
    }
    // `count` SYNs to `dport` at `sensor` in `hour`, all from `src`.
    void SynFrom(int sensor, const std::string &src, uint16_t dport, int hour, int count) {
        const char *dst = sensor == 0 ? "198.51.100.7" : "203.0.113.7";
        for (int i = 0; i < count; ++i)
            shard_.Observe(testing::SynPacket(src.c_str(), dst, dport, testing::DAY0 + hour * NS_PER_HOUR + i),
                           testing::SynProbe(dport), SensorIndex(sensor));
    }
    // The hours' counters and the per-source day records, as ingest writes them.
    void Write() {
        CounterRows hourly;
        Rollup(shard_, hourly);
        auto chunks = ToSourceChunks(shard_.Sources(), ids);
        store->Begin();
        store->MergeHourlyCounters(hourly, ids, unattributed);
        store->MergeSources(chunks);
        store->Commit();
    }

private:
    AggregateShard shard_;
};

}  // namespace

// Two days as the demo has them: a flat 445/TCP background at both sensors, 5000/TCP appearing at both
// at 12:00 on day 2 (hour 36), and 23/TCP, busy at tokyo-1, appearing at cloud-1 alone from hour 30: too
// small a rise in the sum, an event at that one sensor.
TEST(DetectSurges, NewServiceAtBothSensorsAndASurgeAtOne) {
    TwoSensorStore t;
    for (int hour = 0; hour < 48; ++hour) {
        t.Syn(0, 445, hour, 30 + hour % 3, 10);
        t.Syn(1, 445, hour, 28 + hour % 4, 10);
        t.Syn(0, 23, hour, 400 + hour % 5, 50);
        if (hour >= 30) t.Syn(1, 23, hour, 60, 20);
        if (hour >= 36) {
            t.Syn(0, 5000, hour, 40, 8);
            t.Syn(1, 5000, hour, 40, 12);
        }
    }
    t.Write();

    SeriesOptions o = Mad();
    o.dims = {Dimension::SERVICE, Dimension::CLASS_SOURCE_PORT};
    const auto events = DetectSurges(*t.store, HOUR0 - 24, HOUR0 + 72, o);
    ASSERT_EQ(events.size(), 2u);

    const DetectedEvent &telnet = events[0];  // starts first
    EXPECT_EQ(telnet.subject, "23/TCP");
    EXPECT_EQ(telnet.kind, EventKind::NEW_SERVICE);  // new at this sensor
    EXPECT_EQ(telnet.start, testing::DAY0 + 30 * NS_PER_HOUR);
    EXPECT_EQ(telnet.sensors, std::vector<std::string>{"cloud-1"});
    EXPECT_EQ(telnet.evidence["sensor"], "cloud-1");
    EXPECT_EQ(telnet.sources, 20u);
    EXPECT_NE(telnet.sentence_en.find("at sensor cloud-1"), std::string::npos);

    const DetectedEvent &fresh = events[1];
    EXPECT_EQ(fresh.subject, "5000/TCP");
    EXPECT_EQ(fresh.kind, EventKind::NEW_SERVICE);
    EXPECT_EQ(fresh.start, testing::DAY0 + 36 * NS_PER_HOUR);
    EXPECT_EQ(fresh.end, testing::DAY0 + 48 * NS_PER_HOUR);
    EXPECT_EQ(fresh.packets, 12u * 80);
    EXPECT_EQ(fresh.sources, 12u);  // the union of 8 and 12 addresses from the same 192.0.2.1-12
    EXPECT_EQ(fresh.evidence["sensor"], "all");
    // Both sensors found it on their own too: folded into this event, not reported again.
    EXPECT_EQ(fresh.evidence["sensors_detected"].size(), 2u);
    EXPECT_EQ(fresh.sensors.size(), 2u);

    // Without per-sensor detection the one-sensor event is not found, and the shared one still is.
    o.per_sensor = false;
    const auto sums = DetectSurges(*t.store, HOUR0 - 24, HOUR0 + 72, o);
    ASSERT_EQ(sums.size(), 1u);
    EXPECT_EQ(sums[0].subject, "5000/TCP");
    EXPECT_EQ(sums[0].sensors.size(), 2u);  // the sensors whose series rose at the peak

    o.per_sensor = true;
    o.method = "ewma";
    const auto ewma = DetectSurges(*t.store, HOUR0 - 24, HOUR0 + 72, o);
    ASSERT_EQ(ewma.size(), 2u);
    EXPECT_EQ(ewma[1].start, testing::DAY0 + 36 * NS_PER_HOUR);
    EXPECT_EQ(ewma[1].detector, "surge.ewma");
}

// A flat series (and a range with no data) gives no event.
TEST(DetectSurges, FlatSeriesGivesNone) {
    TwoSensorStore t;
    for (int hour = 0; hour < 48; ++hour) t.Syn(0, 445, hour, 100 + (hour * 7) % 11, 30);
    t.Write();
    EXPECT_TRUE(DetectSurges(*t.store, HOUR0, HOUR0 + 47, Mad()).empty());
    EXPECT_TRUE(DetectSurges(*t.store, HOUR0 + 100, HOUR0 + 200, Mad()).empty());
    EXPECT_TRUE(DetectSurges(*t.store, HOUR0 / 24, HOUR0 / 24 + 1, SeriesOptions::ForGranularity(Granularity::DAY))
                    .empty());
}

}  // namespace darkscope::detect

namespace darkscope::detect {

// One heavy source arriving is the scan detector's event, not a surge: the same rise in packets with one new
// source is none, with ten new sources one.
TEST(SeriesEvents, RiseCarriedByOneSourceIsNoSurge) {
    std::vector<double> packets(30, 20);
    for (size_t i = 20; i < 24; ++i) packets[i] = 200;
    Series s = MakeSeries(packets);
    s.sources.assign(packets.size(), 5);
    for (size_t i = 20; i < 24; ++i) s.sources[i] = 6;
    for (const char *method : {"mad", "ewma"}) {
        SeriesOptions o;
        o.method = method;
        EXPECT_TRUE(DetectInSeries(s, o).empty()) << method;
        for (size_t i = 20; i < 24; ++i) s.sources[i] = 15;
        const auto events = DetectInSeries(s, o);
        ASSERT_EQ(events.size(), 1u) << method;
        EXPECT_EQ(events[0].evidence["sources_before"], 5.0);
        for (size_t i = 20; i < 24; ++i) s.sources[i] = 6;
    }
}

// Daily series: the peak must also hold twice the sources of the median day before (min_source_ratio), since a
// day's count holds its whole churn of background scanners. 40 days of 2,000 packets from 100 sources, then a day
// of 8,000: from 160 sources (1.6x) it is a few heavy scanners and no event; from 250 (2.5x) a surge.
TEST(SeriesEvents, DailyPeakNeedsTwiceTheSources) {
    std::vector<double> packets(40, 2000);
    packets[35] = 8000;
    Series s = MakeSeries(packets);
    s.first_period = HOUR0 / 24;  // days
    s.sources.assign(packets.size(), 100);
    s.sources[35] = 160;
    const SeriesOptions day = SeriesOptions::ForGranularity(Granularity::DAY);
    EXPECT_EQ(day.min_source_ratio, 2);
    EXPECT_EQ(SeriesOptions().min_source_ratio, 1);  // hours: no ratio
    EXPECT_TRUE(DetectInSeries(s, day).empty());
    SeriesOptions no_ratio = day;
    no_ratio.min_source_ratio = 1;
    EXPECT_EQ(DetectInSeries(s, no_ratio).size(), 1u);
    s.sources[35] = 250;
    const auto events = DetectInSeries(s, day);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].evidence["sources_before"], 100.0);
    EXPECT_EQ(events[0].evidence["min_source_ratio"], 2.0);
}

}  // namespace darkscope::detect

namespace darkscope::detect {

namespace {

const DetectedEvent *Find(const std::vector<DetectedEvent> &events, std::string_view subject) {
    for (const DetectedEvent &e : events)
        if (e.subject == subject) return &e;
    return nullptr;
}

std::vector<std::string> Addresses(const DetectedEvent &e) {
    std::vector<std::string> out;
    for (const EventSource &s : e.top_sources) out.push_back(s.address);
    return out;
}

}  // namespace

// A surge carried by new sources over a background of old, heavier ones: its top sources are the new ones only,
// ranked by their packets of the peak's day over every service. 23/TCP: five background sources (480 packets each
// on day 2) all along, then from 12:00 on day 2 six new sources at 40 to 90 packets an hour, half at each sensor;
// the lightest of them, 198.18.0.1, also sent 1,000 SYNs to 8080/TCP that morning. 80/TCP: four background sources,
// then three new ones, all at tokyo-1: fewer new sources than five, so the two heaviest old ones fill the list,
// marked as not new.
TEST(AddTopSources, SurgeListsItsNewSourcesByTheirPacketsOfTheDay) {
    TwoSensorStore t;
    for (int hour = 0; hour < 48; ++hour) {
        for (int b = 1; b <= 5; ++b) t.SynFrom(b % 2, "192.0.2." + std::to_string(b), 23, hour, 20);
        for (int b = 1; b <= 4; ++b) t.SynFrom(0, "192.0.2." + std::to_string(20 + b), 80, hour, 8 + 2 * b);
        if (hour >= 36 && hour < 40) {
            for (int k = 1; k <= 6; ++k) t.SynFrom(k % 2, "198.18.0." + std::to_string(k), 23, hour, 30 + 10 * k);
            for (int k = 1; k <= 3; ++k) t.SynFrom(0, "198.18.1." + std::to_string(k), 80, hour, 26 + 2 * k);
        }
    }
    t.SynFrom(0, "198.18.0.1", 8080, 30, 1000);
    t.Write();

    SeriesOptions o;
    o.dims = {Dimension::SERVICE};
    auto events = DetectSurges(*t.store, HOUR0 - 24, HOUR0 + 72, o);
    AddTopSources(*t.store, events);

    const DetectedEvent *telnet = Find(events, "23/TCP");
    ASSERT_NE(telnet, nullptr);
    EXPECT_EQ(telnet->kind, EventKind::SURGE);
    EXPECT_EQ(telnet->peak, testing::DAY0 + 36 * NS_PER_HOUR);
    // 198.18.0.1: 4 x 40 on 23/TCP and 1,000 on 8080/TCP; the others 4 x (30 + 10k); 198.18.0.2 (200) is sixth.
    EXPECT_EQ(Addresses(*telnet),
              (std::vector<std::string>{"198.18.0.1", "198.18.0.6", "198.18.0.5", "198.18.0.4", "198.18.0.3"}));
    std::vector<uint64_t> packets;
    for (const EventSource &s : telnet->top_sources) packets.push_back(s.packets);
    EXPECT_EQ(packets, (std::vector<uint64_t>{1160, 360, 320, 280, 240}));
    EXPECT_EQ(telnet->top_sources[0].country, "");  // no country data in this store
    EXPECT_EQ(telnet->evidence["new_sources_at_peak"], 6u);
    EXPECT_TRUE(telnet->evidence["top_sources_not_new"].empty());
    EXPECT_NE(telnet->evidence["top_sources_rank"].get<std::string>().find("packets on 2024-12-19"), std::string::npos)
        << telnet->evidence["top_sources_rank"];

    const DetectedEvent *web = Find(events, "80/TCP");
    ASSERT_NE(web, nullptr);
    // New first (4 x 32, 30, 28), then the heaviest old ones (24 x 16 and 24 x 14 on day 2).
    EXPECT_EQ(Addresses(*web),
              (std::vector<std::string>{"198.18.1.3", "198.18.1.2", "198.18.1.1", "192.0.2.24", "192.0.2.23"}));
    EXPECT_EQ(web->top_sources[3].packets, 384u);
    EXPECT_EQ(web->evidence["new_sources_at_peak"], 3u);
    EXPECT_EQ(web->evidence["top_sources_not_new"], nlohmann::ordered_json({"192.0.2.24", "192.0.2.23"}));

    // Events that already have their sources keep them (AddTopReflectors runs first).
    std::vector<DetectedEvent> again = events;
    again[0].top_sources = {{"192.0.2.99", "", 1}};
    AddTopSources(*t.store, again);
    EXPECT_EQ(again[0].top_sources.size(), 1u);
}

// "New" is judged against the whole baseline window: a source that was in the series in the window's first hours,
// silent for a day, and back at the peak is not new.
TEST(AddTopSources, ASourceSeenEarlierInTheWindowIsNotNew) {
    TwoSensorStore t;
    for (int hour = 0; hour < 48; ++hour) {
        for (int b = 1; b <= 5; ++b) t.SynFrom(0, "192.0.2." + std::to_string(b), 23, hour, 20);
        if (hour < 3) t.SynFrom(0, "198.18.0.9", 23, hour, 1);
        if (hour >= 36 && hour < 40) {
            for (int k = 1; k <= 5; ++k) t.SynFrom(0, "198.18.0." + std::to_string(k), 23, hour, 30 + 10 * k);
            t.SynFrom(0, "198.18.0.9", 23, hour, 200);  // the heaviest at the peak, but no newcomer
        }
    }
    t.Write();
    SeriesOptions o;
    o.dims = {Dimension::SERVICE};
    auto events = DetectSurges(*t.store, HOUR0 - 24, HOUR0 + 72, o);
    AddTopSources(*t.store, events);
    const DetectedEvent *telnet = Find(events, "23/TCP");
    ASSERT_NE(telnet, nullptr);
    EXPECT_EQ(Addresses(*telnet),
              (std::vector<std::string>{"198.18.0.5", "198.18.0.4", "198.18.0.3", "198.18.0.2", "198.18.0.1"}));
    EXPECT_EQ(telnet->evidence["new_sources_at_peak"], 5u);
}

}  // namespace darkscope::detect
