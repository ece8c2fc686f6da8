#include "report/report.hpp"
#include "report/summary.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../aggregate/test_packets.hpp"
#include "common/time.hpp"
#include "test_store.hpp"

namespace darkscope {
namespace {

using testing::DAY0;  // 2024-12-18, day 20075

ReportPeriod Period(std::string_view text) {
    std::string error;
    auto p = ParseReportPeriod(text, &error);
    EXPECT_TRUE(p) << error;
    return p.value_or(ReportPeriod{});
}

std::string Days(const ReportPeriod &p) { return FormatDay(p.from_day) + ".." + FormatDay(p.to_day); }

}  // namespace

TEST(ReportPeriod, QuartersMonthsWeeksDaysAndYears) {
    EXPECT_EQ(Days(Period("2024Q4")), "2024-10-01..2024-12-31");
    EXPECT_EQ(Days(Period("2024q1")), "2024-01-01..2024-03-31");
    EXPECT_EQ(Days(Period("2014-02")), "2014-02-01..2014-02-28");
    EXPECT_EQ(Days(Period("2024-02")), "2024-02-01..2024-02-29");
    // ISO weeks: week 1 holds 4 January; 2020 has 53 weeks, 2021 has 52.
    EXPECT_EQ(Days(Period("2024-W01")), "2024-01-01..2024-01-07");
    EXPECT_EQ(Days(Period("2024-W51")), "2024-12-16..2024-12-22");
    EXPECT_EQ(Days(Period("2020-W53")), "2020-12-28..2021-01-03");
    EXPECT_EQ(Days(Period("2021-W01")), "2021-01-04..2021-01-10");
    EXPECT_EQ(Days(Period("2024-12-03")), "2024-12-03..2024-12-03");
    EXPECT_EQ(Days(Period("2024")), "2024-01-01..2024-12-31");
    EXPECT_EQ(Period("2024Q4").Days(), 92);
    EXPECT_EQ(Days(Period("2024-12-01..2024-12-15")), "2024-12-01..2024-12-15");
}

TEST(ReportPeriod, RejectsWhatIsNoPeriod) {
    std::string error;
    for (const char *bad : {"", "24Q1", "2024Q5", "2024Q0", "2024-13", "2024-00", "2021-W53", "2024-W00", "2024-02-30",
                            "2024-1", "2024/01", "abcd", "2024-W5", "2024-12-15..2024-12-01", "2024-12-01..x"}) {
        EXPECT_FALSE(ParseReportPeriod(bad, &error)) << bad;
        EXPECT_NE(error.find(bad), std::string::npos) << "the message names the text: " << error;
    }
}

TEST(ReportPeriod, PreviousPeriodIsTheOneBefore) {
    EXPECT_EQ(PreviousReportPeriod(Period("2024Q1")).label, "2023Q4");
    EXPECT_EQ(PreviousReportPeriod(Period("2024Q3")).label, "2024Q2");
    EXPECT_EQ(PreviousReportPeriod(Period("2024-01")).label, "2023-12");
    EXPECT_EQ(Days(PreviousReportPeriod(Period("2024-03"))), "2024-02-01..2024-02-29");
    EXPECT_EQ(PreviousReportPeriod(Period("2021-W01")).label, "2020-W53");
    EXPECT_EQ(PreviousReportPeriod(Period("2024-01-01")).label, "2023-12-31");
    EXPECT_EQ(PreviousReportPeriod(Period("2024")).label, "2023");
    const ReportPeriod custom = DaysPeriod(*ParseDay("2024-12-01"), *ParseDay("2024-12-15"));
    EXPECT_EQ(custom.label, "2024-12-01..2024-12-15");
    EXPECT_EQ(Days(PreviousReportPeriod(custom)), "2024-11-16..2024-11-30");
}

namespace {

void Syn(AggregateShard &shard, const char *src, uint16_t dport, TimestampNs ts) {
    shard.Observe(testing::SynPacket(src, "198.51.100.7", dport, ts), testing::SynProbe(dport), 0);
}

// A SYN/ACK from a victim's port: the backscatter of a SYN flood spoofing a darknet address.
void SynAck(AggregateShard &shard, const char *victim, uint16_t sport, TimestampNs ts) {
    DecodedPacket p = testing::SynPacket(victim, "198.51.100.9", 40000, ts);
    p.sport = sport;
    p.tcp_flags = TCP_SYN | TCP_ACK;
    ClassifiedPacket c;
    c.service = ServiceKey::Make(ServiceKind::TCP, 40000);
    c.source_port = ServiceKey::Make(ServiceKind::TCP, sport);
    c.cls = TrafficClass::SYNACK_BACKSCATTER;
    shard.Observe(p, c, 0);
}

// Writes the shard's hours into the test store, as ingest does with a file.
void WriteHours(testing::SummaryTestStore &test_store, AggregateShard &shard) {
    CounterRows hourly;
    Rollup(shard, hourly);
    test_store.store->Begin();
    test_store.store->MergeHourlyCounters(hourly, test_store.ids, test_store.unattributed);
    test_store.store->Commit();
}

}  // namespace

// Two days, 2024-12-18 (the previous period) and 2024-12-19 (the report's), hand-counted.
TEST(Report, FiguresTablesSeriesAndBackscatterFromTheStore) {
    testing::SummaryTestStore test_store("darkscope_report_test.db");
    auto &store = test_store.store;
    AggregateShard shard;
    const TimestampNs day2 = DAY0 + 86400 * NS_PER_SEC;
    for (int i = 0; i < 4; ++i) Syn(shard, "192.0.2.1", 445, DAY0 + i);  // previous: 445 x4, 23 x2 (2 sources)
    Syn(shard, "192.0.2.2", 23, DAY0);
    Syn(shard, "192.0.2.3", 23, DAY0);
    for (int i = 0; i < 6; ++i) Syn(shard, "192.0.2.4", 23, day2 + i);  // report: 23 x6, 445 x1, 8080 x1
    Syn(shard, "192.0.2.1", 445, day2);
    Syn(shard, "192.0.2.5", 8080, day2);
    SynAck(shard, "203.0.113.80", 80, day2);  // backscatter: 80/TCP x2 from one victim, 443/TCP x1
    SynAck(shard, "203.0.113.80", 80, day2 + 1);
    SynAck(shard, "203.0.113.81", 443, day2 + 2);
    WriteHours(test_store, shard);

    ReportOptions options;
    options.period = Period("2024-12-19");
    options.top = 2;
    const nlohmann::json r = BuildReport(*store, options);
    EXPECT_EQ(r["schema"], "darkscope-report/1");
    EXPECT_EQ(r["previous"]["label"], "2024-12-18");
    EXPECT_EQ(r["monitored_addresses"], 256);
    const nlohmann::json &o = r["overview"];
    EXPECT_EQ(o["packets"], 11);  // 8 probes + 3 SYN/ACKs
    EXPECT_DOUBLE_EQ(o["per_day_per_ip"].get<double>(), 11.0 / 256);
    EXPECT_DOUBLE_EQ(o["previous_per_day_per_ip"].get<double>(), 6.0 / 256);
    EXPECT_NEAR(o["change_percent_per_day_per_ip"].get<double>(), 500.0 / 6, 1e-9);
    EXPECT_DOUBLE_EQ(o["unique_sources_per_day"].get<double>(), 5);  // .4 .1 .5 and two victims
    EXPECT_DOUBLE_EQ(o["previous_unique_sources_per_day"].get<double>(), 3);

    // Top 2 by packets: 23/TCP (was 2nd), 445/TCP... 40000/TCP (the backscatter's destination) has 3.
    const nlohmann::json &rows = r["services"]["rows"];
    ASSERT_GE(rows.size(), 2u);
    EXPECT_EQ(rows[0]["key"], "23/TCP");
    EXPECT_EQ(rows[0]["previous_rank"], 2);
    EXPECT_EQ(rows[0]["increase_rank"], 1);
    EXPECT_EQ(rows[1]["key"], "40000/TCP");
    EXPECT_TRUE(rows[1]["previous_rank"].is_null());
    bool smb_shown = false;  // 445/TCP fell from 4 to 1: the largest decrease, shown outside the top 2
    for (const auto &row : rows)
        if (row["key"] == "445/TCP") {
            smb_shown = true;
            EXPECT_TRUE(row["outside_top"].get<bool>());
            EXPECT_EQ(row["decrease_rank"], 1);
        }
    EXPECT_TRUE(smb_shown);

    const nlohmann::json &series = r["series"];
    ASSERT_EQ(series["days"].size(), 1u);
    EXPECT_EQ(series["services"][0]["key"], "23/TCP");
    EXPECT_DOUBLE_EQ(series["services"][0]["values"][0].get<double>(), 6.0 / 256);

    const nlohmann::json &b = r["backscatter"];
    EXPECT_EQ(b["packets"], 3);
    EXPECT_EQ(b["previous_packets"], 0);
    EXPECT_TRUE(b["change_percent_per_day_per_ip"].is_null());
    EXPECT_DOUBLE_EQ(b["unique_sources_per_day"].get<double>(), 2);
    ASSERT_EQ(b["by_source_port"].size(), 2u);
    EXPECT_EQ(b["by_source_port"][0]["key"], "80/TCP");
    EXPECT_EQ(b["by_source_port"][0]["packets"], 2);
    EXPECT_EQ(b["by_source_port"][0]["unique_sources"], 1);
    EXPECT_EQ(b["by_source_port"][1]["key"], "443/TCP");

    const nlohmann::json &ratio = r["ratios"]["services"];
    ASSERT_EQ(ratio["columns"].size(), 1u);  // one sensor, no location: all sensors only
    double sum = 0;
    for (const auto &s : ratio["columns"][0]["shares"]) sum += s.get<double>();
    EXPECT_NEAR(sum, 1.0, 1e-12);
    EXPECT_TRUE(r["signatures"].is_null());
    EXPECT_FALSE(r["phenomena"]["detectors_run"].get<bool>());
}

TEST(Report, SensorGroupCountsOnlyItsSensors) {
    testing::SummaryTestStore test_store("darkscope_report_group_test.db");
    auto &store = test_store.store;
    AggregateShard shard;
    Syn(shard, "192.0.2.1", 445, DAY0);
    WriteHours(test_store, shard);
    ReportOptions options;
    options.period = Period("2024-12-18");
    options.sensor_group = {"S1"};  // names match without regard to ASCII case
    EXPECT_EQ(BuildReport(*store, options)["overview"]["packets"], 1);
    options.sensor_group = {"elsewhere"};
    const nlohmann::json none = BuildReport(*store, options);
    EXPECT_EQ(none["overview"]["packets"], 0);
    EXPECT_TRUE(none["sensors"].empty());
}

TEST(ReportCsv, OneFilePerTableQuotedAndDefused) {
    nlohmann::json r = {
        {"overview",
         {{"packets", 3}, {"previous_packets", 1}, {"unique_sources", 2}, {"previous_unique_sources", 1},
          {"per_day_per_ip", 1.5}, {"previous_per_day_per_ip", 0.5}, {"change_per_day_per_ip", 1.0},
          {"change_percent_per_day_per_ip", 200.0}, {"unique_sources_per_day", 2.0},
          {"previous_unique_sources_per_day", 1.0}, {"change_unique_sources_per_day", 1.0},
          {"change_percent_unique_sources_per_day", 100.0}}},
        {"monitored_addresses", 2}, {"previous_monitored_addresses", 2}, {"unattributed_packets", 0}, {"non_ip_frames", 0},
        {"services", {{"rows", {{{"key", "23/TCP"}, {"name", "telnet, \"old\""}, {"packets", 3}}}}}},
        {"regions", {{"rows", nlohmann::json::array()}}},
        {"series", {{"days", {"2024-12-19"}}, {"services", nlohmann::json::array()}, {"regions", nlohmann::json::array()}}},
        {"ratios",
         {{"services", {{"keys", {"others"}}, {"columns", nlohmann::json::array()}}},
          {"regions", {{"keys", {"others"}}, {"columns", nlohmann::json::array()}}}}},
        {"region_service_mix", nlohmann::json::array()},
        {"backscatter",
         {{"series", {{"packets", {0}}, {"unique_sources", {0}}}},
          {"by_source_port", nlohmann::json::array()},
          {"by_region", nlohmann::json::array()}}},
        {"dns", {{"series", {{"queries", {1}}, {"responses", {2}}}}, {"responses_by_region", nlohmann::json::array()}}},
        {"signatures", nullptr},
        {"decode_events", nlohmann::json::array()},
        {"sensors", {{{"name", "=HYPERLINK(\"x\")"}, {"networks", "198.51.100.0/24"}, {"location", ""}, {"provider", ""},
                      {"addresses", 256}, {"implicit", false}}}},
        {"data_sources", {{"files", nlohmann::json::array()}}}};
    const auto dir = std::filesystem::temp_directory_path() / "darkscope_report_csv_test";
    std::filesystem::remove_all(dir);
    const auto files = WriteReportCsv(r, dir);
    EXPECT_GE(files.size(), 10u);
    auto read = [&](const char *name) {
        std::ifstream f(dir / name);
        std::stringstream s;
        s << f.rdbuf();
        return s.str();
    };
    EXPECT_NE(read("services.csv").find("23/TCP,\"telnet, \"\"old\"\"\""), std::string::npos) << read("services.csv");
    EXPECT_NE(read("sensors.csv").find("\"'=HYPERLINK(\"\"x\"\")\""), std::string::npos) << read("sensors.csv");
    EXPECT_NE(read("dns_daily.csv").find("2024-12-19,1,2\r\n"), std::string::npos);
    std::filesystem::remove_all(dir);
}

}  // namespace darkscope

namespace darkscope {

TEST(Report, SensorGroupsByNameLocationCountryOrProvider) {
    Sensor s;
    s.name = "tokyo-1";
    s.location = "Tokyo, JP";
    s.provider = "cloud provider X";
    EXPECT_TRUE(InSensorGroup(s, {}));
    EXPECT_TRUE(InSensorGroup(s, {"TOKYO-1"}));
    EXPECT_TRUE(InSensorGroup(s, {"tokyo, jp"}));
    EXPECT_TRUE(InSensorGroup(s, {"JP"}));
    EXPECT_TRUE(InSensorGroup(s, {"osaka-1", "cloud provider x"}));
    EXPECT_FALSE(InSensorGroup(s, {"Tokyo"}));
    EXPECT_FALSE(InSensorGroup(s, {"P"}));
    EXPECT_FALSE(InSensorGroup(s, {"cloud"}));
}

}  // namespace darkscope

namespace darkscope {

// Long periods are read by several threads, each through its own connection, split by days: the document
// must not depend on how many.
TEST(ReportThreads, SplitByDaysGivesTheSameReport) {
    testing::SummaryTestStore test_store("darkscope_report_threads_test.db");
    AggregateShard shard;
    const char *sources[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3", "203.0.113.5"};
    for (int day = 0; day < 24; ++day)
        for (int i = 0; i <= day % 5; ++i) {
            const TimestampNs ts = DAY0 + int64_t(day) * 86400 * NS_PER_SEC + i;
            Syn(shard, sources[(day + i) % 4], uint16_t(22 + day % 3), ts);
            if (day % 4 == 0) SynAck(shard, sources[3], uint16_t(80 + i), ts);
        }
    WriteHours(test_store, shard);
    ReportOptions options;
    options.period = DaysPeriod(*ParseDay("2024-12-18"), *ParseDay("2025-01-10"));
    nlohmann::json one = BuildReport(*test_store.store, options);
    options.threads = 3;
    nlohmann::json three = BuildReport(*test_store.store, options);
    one.erase("generated_at");
    three.erase("generated_at");
    EXPECT_EQ(one, three);
    EXPECT_EQ(one["overview"]["packets"], three["overview"]["packets"]);
    EXPECT_GT(one["backscatter"]["packets"].get<uint64_t>(), 0u);
}

}  // namespace darkscope
