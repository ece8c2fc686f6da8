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
    for (double p : packets)
        s.sources.push_back(std::max(1.0, p / 2));
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
        for (size_t i = 0; i < 6; ++i)
            EXPECT_FALSE(b.scored[i]) << method << " " << i;  // min_history 6
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
    for (size_t i = 20; i < 30; ++i)
        values[i] = 400;
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
    for (double v : {100, 100, 0, 100})
        one.push_back(v);
    one.resize(30, 0);
    const auto joined = DetectInSeries(MakeSeries(one), o);
    ASSERT_EQ(joined.size(), 1u);
    EXPECT_EQ(joined[0].start, testing::DAY0 + 20 * NS_PER_HOUR);
    EXPECT_EQ(joined[0].end, testing::DAY0 + 24 * NS_PER_HOUR);
    EXPECT_EQ(joined[0].packets, 300u);  // excess over a baseline of 0
    EXPECT_EQ(joined[0].sources, 50u);   // at the peak (100 packets; MakeSeries gives half as many sources)
    EXPECT_EQ(joined[0].evidence["periods"], 4);

    std::vector<double> two = Zeros(20);
    for (double v : {100, 100, 0, 0, 100})
        two.push_back(v);
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
    for (double x : {50, 300, 120})
        v.push_back(x);
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

    const uint32_t dns =
        ClassSourcePortKey(uint8_t(TrafficClass::DNS_RESPONSE), ServiceKey::Make(ServiceKind::UDP, 53).packed);
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

// A store in the temporary directory with the given sensors, removed when done; `destinations[i]` is an address of
// sensor i.
class SeriesTestStore : public testing::SummaryTestStore {
public:
    SeriesTestStore(const std::string &file, const std::vector<Sensor> &sensors, std::vector<std::string> destinations)
        : SummaryTestStore(file, sensors), destinations_(std::move(destinations)) {}

    // `count` SYNs to `dport` at sensor `sensor` in `hour` (hours after DAY0), from `sources` distinct addresses
    // 192.0.2.first_source, ...
    void Syn(int sensor, uint16_t dport, int64_t hour, int count, int sources, int first_source = 1) {
        for (int i = 0; i < count; ++i)
            Observe(sensor, "192.0.2." + std::to_string(first_source + i % sources), dport, hour, i);
    }
    // `count` SYNs to `dport` at `sensor` in `hour`, all from `src`.
    void SynFrom(int sensor, const std::string &src, uint16_t dport, int64_t hour, int count) {
        for (int i = 0; i < count; ++i)
            Observe(sensor, src, dport, hour, i);
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
    void Observe(int sensor, const std::string &src, uint16_t dport, int64_t hour, int i) {
        shard_.Observe(testing::SynPacket(src.c_str(), destinations_[size_t(sensor)].c_str(), dport,
                                          testing::DAY0 + hour * NS_PER_HOUR + i),
                       testing::SynProbe(dport), SensorIndex(sensor));
    }
    std::vector<std::string> destinations_;
    AggregateShard shard_;
};

// Two sensors: tokyo-1 (0) and cloud-1 (1).
class TwoSensorStore : public SeriesTestStore {
public:
    TwoSensorStore()
        : SeriesTestStore("darkscope_series_test.db",
                          {Sensor24("tokyo-1", "198.51.100.0/24"), Sensor24("cloud-1", "203.0.113.0/24")},
                          {"198.51.100.7", "203.0.113.7"}) {}
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
    for (int hour = 0; hour < 48; ++hour)
        t.Syn(0, 445, hour, 100 + (hour * 7) % 11, 30);
    t.Write();
    EXPECT_TRUE(DetectSurges(*t.store, HOUR0, HOUR0 + 47, Mad()).empty());
    EXPECT_TRUE(DetectSurges(*t.store, HOUR0 + 100, HOUR0 + 200, Mad()).empty());
    EXPECT_TRUE(
        DetectSurges(*t.store, HOUR0 / 24, HOUR0 / 24 + 1, SeriesOptions::ForGranularity(Granularity::DAY)).empty());
}

}  // namespace darkscope::detect

namespace darkscope::detect {

// One heavy source arriving is the scan detector's event, not a surge: the same rise in packets with one new
// source is none, with ten new sources one.
TEST(SeriesEvents, RiseCarriedByOneSourceIsNoSurge) {
    std::vector<double> packets(30, 20);
    for (size_t i = 20; i < 24; ++i)
        packets[i] = 200;
    Series s = MakeSeries(packets);
    s.sources.assign(packets.size(), 5);
    for (size_t i = 20; i < 24; ++i)
        s.sources[i] = 6;
    for (const char *method : {"mad", "ewma"}) {
        SeriesOptions o;
        o.method = method;
        EXPECT_TRUE(DetectInSeries(s, o).empty()) << method;
        for (size_t i = 20; i < 24; ++i)
            s.sources[i] = 15;
        const auto events = DetectInSeries(s, o);
        ASSERT_EQ(events.size(), 1u) << method;
        EXPECT_EQ(events[0].evidence["sources_before"], 5.0);
        for (size_t i = 20; i < 24; ++i)
            s.sources[i] = 6;
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

// A ramp starts where it left the noise, not where the score first passed the threshold: 30 quiet hours, then
// 3, 6, 10 (2 to 6 deviations: below the threshold or below min_excess) and 30, 60, 90. The detector fires at 30
// (hour 33); the rise began at hour 30. A sudden rise starts where it fires (RunsJoinAcrossTheGap).
TEST(SeriesEvents, RampStartsWhereItLeftTheNoise) {
    std::vector<double> v = Zeros(30);
    for (double x : {3, 6, 10, 30, 60, 90})
        v.push_back(x);
    v.resize(40, 0);
    for (const char *method : {"mad", "ewma"}) {
        SeriesOptions o;
        o.method = method;
        const auto events = DetectInSeries(MakeSeries(v), o);
        ASSERT_EQ(events.size(), 1u) << method;
        EXPECT_EQ(events[0].start, testing::DAY0 + 30 * NS_PER_HOUR) << method;
        EXPECT_EQ(events[0].detected, testing::DAY0 + 33 * NS_PER_HOUR) << method;
        EXPECT_EQ(events[0].evidence["detected_at"], FormatTimestamp(testing::DAY0 + 33 * NS_PER_HOUR)) << method;
        EXPECT_EQ(events[0].packets, 199u) << method;  // 3 + 6 + 10 + 30 + 60 + 90 over a baseline of 0
        EXPECT_EQ(events[0].evidence["periods"], 6) << method;
    }
    // One period at 1 deviation (the Poisson floor of a zero baseline is 1) is noise: the onset stops there.
    v[30] = 1;
    const auto events = DetectInSeries(MakeSeries(v), Mad());
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].start, testing::DAY0 + 31 * NS_PER_HOUR);
}

// Before a day of history the baseline has not seen the time of day's swing: a rise must score twice the threshold.
// Hours of 2, then one of 22: (22 - 2) / (sqrt(2) + 1) = 8.3 deviations, an event after 24 hours, not before.
TEST(SeriesEvents, BeforeADayOfHistoryTheThresholdDoubles) {
    for (size_t at : {10, 30}) {
        std::vector<double> v(40, 2);
        v[at] = 22;
        const auto events = DetectInSeries(MakeSeries(v), Mad());
        EXPECT_EQ(events.size(), at < 24 ? 0u : 1u) << at;
        SeriesOptions no_cycle = Mad();
        no_cycle.cycle = 0;
        EXPECT_EQ(DetectInSeries(MakeSeries(v), no_cycle).size(), 1u) << at;
    }
}

}  // namespace darkscope::detect

namespace darkscope::detect {

namespace {

// Four sensors of two providers: uni-1 and uni-2 ("university", Tokyo), cloud-1 and cloud-2 ("cloud X", Osaka
// and Tokyo), in this order.
class FourSensorStore : public SeriesTestStore {
public:
    FourSensorStore()
        : SeriesTestStore("darkscope_series_groups.db", Sensors(),
                          {"198.51.100.7", "198.51.101.7", "203.0.113.7", "203.0.114.7"}) {}

    static std::vector<Sensor> Sensors() {
        std::vector<Sensor> out = {Sensor24("uni-1", "198.51.100.0/24"), Sensor24("uni-2", "198.51.101.0/24"),
                                   Sensor24("cloud-1", "203.0.113.0/24"), Sensor24("cloud-2", "203.0.114.0/24")};
        out[0].provider = out[1].provider = "university";
        out[2].provider = out[3].provider = "cloud X";
        out[0].location = out[1].location = out[3].location = "Tokyo";
        out[2].location = "Osaka";
        return out;
    }
};

}  // namespace

// 23/TCP: 400 an hour at each university sensor, 5 at each cloud sensor; from hour 30 each cloud sensor gets 15 more
// from 6 sources of its own. Too little at either cloud sensor alone (15 < min_excess 20) and nothing against every
// sensor's 810; the cloud provider's two sensors together rise from 10 to 40: one event, for that group.
TEST(DetectSurges, ARiseOnlyAProvidersSensorsSeeTogetherIsTheirGroupsEvent) {
    FourSensorStore t;
    for (int hour = 0; hour < 48; ++hour) {
        for (int uni : {0, 1})
            t.Syn(uni, 23, hour, 400 + hour % 7, 50, 1);
        for (int cloud : {2, 3}) {
            t.Syn(cloud, 23, hour, 5, 5, 60 + 10 * cloud);
            if (hour >= 30) t.Syn(cloud, 23, hour, 15, 6, 100 + 10 * cloud);
        }
    }
    t.Write();

    SeriesOptions o = Mad();
    o.dims = {Dimension::SERVICE};
    const auto events = DetectSurges(*t.store, HOUR0 - 24, HOUR0 + 72, o);
    ASSERT_EQ(events.size(), 1u);
    const DetectedEvent &e = events[0];
    EXPECT_EQ(e.subject, "23/TCP");
    EXPECT_EQ(e.start, testing::DAY0 + 30 * NS_PER_HOUR);
    EXPECT_EQ(e.evidence["sensor"], "group");
    EXPECT_EQ(e.evidence["sensor_group"]["by"], "provider");
    EXPECT_EQ(e.evidence["sensor_group"]["name"], "cloud X");
    EXPECT_EQ(e.sensors, (std::vector<std::string>{"cloud-1", "cloud-2"}));
    EXPECT_EQ(e.sources, 22u);  // the union at the peak: 5 + 6 at each sensor, none shared
    EXPECT_NE(e.sentence_en.find("at the sensors of cloud X (cloud-1, cloud-2)"), std::string::npos) << e.sentence_en;
    EXPECT_NE(e.sentence_ja.find("cloud Xのセンサー"), std::string::npos) << e.sentence_ja;

    // Its top sources are read from the group's sensors: the 12 new ones, none of the background's.
    std::vector<DetectedEvent> with_sources = events;
    AddTopSources(*t.store, with_sources, 12);
    EXPECT_EQ(with_sources[0].top_sources.size(), 12u);
    EXPECT_EQ(with_sources[0].evidence["new_sources_at_peak"], 12);
    EXPECT_TRUE(with_sources[0].evidence["top_sources_not_new"].empty());

    o.per_group = false;
    EXPECT_TRUE(DetectSurges(*t.store, HOUR0 - 24, HOUR0 + 72, o).empty());
}

// A group event that every sensor's sum sees too folds into that one; the location group of uni-1, uni-2 and cloud-2
// (Tokyo) is a group of its own, and a set of sensors already grouped by provider is not grouped again.
TEST(DetectSurges, AGroupsEventFoldsIntoTheAllSensorEvent) {
    FourSensorStore t;
    for (int hour = 0; hour < 48; ++hour)
        for (int sensor = 0; sensor < 4; ++sensor) {
            t.Syn(sensor, 445, hour, 10, 5, 1 + 10 * sensor);
            if (hour >= 36) t.Syn(sensor, 5000, hour, 40, 8, 100 + 10 * sensor);
        }
    t.Write();
    SeriesOptions o = Mad();
    o.dims = {Dimension::SERVICE};
    const auto events = DetectSurges(*t.store, HOUR0 - 24, HOUR0 + 72, o);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].evidence["sensor"], "all");
    EXPECT_EQ(events[0].sources, 32u);
    const auto &groups = events[0].evidence["groups_detected"];
    EXPECT_EQ(groups.size(), 3u) << groups.dump();  // provider university, provider cloud X, location Tokyo
    EXPECT_NE(std::find(groups.begin(), groups.end(), "location Tokyo"), groups.end()) << groups.dump();
    EXPECT_EQ(events[0].evidence["sensors_detected"].size(), 4u);
}

// A daily event's start is refined to the hour: 5000/TCP appears at 09:00 on the eleventh day, 15 packets an hour from
// 10 sources; the daily series fires that day (225 packets against none), and its hours say 09:00.
TEST(DetectSurges, ADailyEventStartsAtTheHourItsRiseBegan) {
    FourSensorStore t;
    for (int64_t hour = 0; hour < 12 * 24; ++hour) {
        t.Syn(0, 445, hour, 5, 5, 1 + int(hour % 24));
        if (hour >= 10 * 24 + 9) t.Syn(0, 5000, hour, 15, 10, 100);
    }
    t.Write();
    SeriesOptions o = SeriesOptions::ForGranularity(Granularity::DAY);
    o.dims = {Dimension::SERVICE};
    const int64_t day0 = HOUR0 / 24;
    const auto events = DetectSurges(*t.store, day0 - 28, day0 + 12, o);
    auto it =
        std::find_if(events.begin(), events.end(), [](const DetectedEvent &d) { return d.subject == "5000/TCP"; });
    ASSERT_NE(it, events.end());
    const DetectedEvent *e = &*it;
    EXPECT_EQ(e->kind, EventKind::NEW_SERVICE);
    EXPECT_EQ(e->detected, testing::DAY0 + 10 * 24 * NS_PER_HOUR);
    EXPECT_EQ(e->start, testing::DAY0 + (10 * 24 + 9) * NS_PER_HOUR);
    EXPECT_GE(e->peak, e->start);
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
    for (const EventSource &s : e.top_sources)
        out.push_back(s.address);
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
        for (int b = 1; b <= 5; ++b)
            t.SynFrom(b % 2, "192.0.2." + std::to_string(b), 23, hour, 20);
        for (int b = 1; b <= 4; ++b)
            t.SynFrom(0, "192.0.2." + std::to_string(20 + b), 80, hour, 8 + 2 * b);
        if (hour >= 36 && hour < 40) {
            for (int k = 1; k <= 6; ++k)
                t.SynFrom(k % 2, "198.18.0." + std::to_string(k), 23, hour, 30 + 10 * k);
            for (int k = 1; k <= 3; ++k)
                t.SynFrom(0, "198.18.1." + std::to_string(k), 80, hour, 26 + 2 * k);
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
    for (const EventSource &s : telnet->top_sources)
        packets.push_back(s.packets);
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
        for (int b = 1; b <= 5; ++b)
            t.SynFrom(0, "192.0.2." + std::to_string(b), 23, hour, 20);
        if (hour < 3) t.SynFrom(0, "198.18.0.9", 23, hour, 1);
        if (hour >= 36 && hour < 40) {
            for (int k = 1; k <= 5; ++k)
                t.SynFrom(0, "198.18.0." + std::to_string(k), 23, hour, 30 + 10 * k);
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
