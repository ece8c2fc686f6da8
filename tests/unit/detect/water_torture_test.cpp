// Water torture over stored zone-hours: distinct names and their share decide, runs join across one quiet
// hour, and a popular zone asked about under few names is no event.

#include <gtest/gtest.h>

#include "../report/test_store.hpp"
#include "detect/water_torture.hpp"

namespace darkscope::detect {
namespace {

dns::ZoneHour Zone(int64_t hour, const std::string &zone, uint64_t queries, uint64_t names, uint64_t responses = 0,
                   uint64_t first_name = 0) {
    dns::ZoneHour z;
    z.hour = hour;
    z.zone = zone;
    z.queries = queries;
    z.responses = responses;
    for (uint64_t i = 0; i < names; ++i) z.names.Add(first_name + i);
    for (uint64_t i = 0; i < 3; ++i) z.sources.Add(1000 + i);
    if (responses) z.rcodes[3] = responses;
    z.examples = {"a1." + zone};
    return z;
}

TEST(WaterTorture, DistinctNamesAndTheirShareDecide) {
    testing::SummaryTestStore t("water_torture_test.db");
    const int64_t h0 = 17106 * 24;
    t.store->Begin();
    t.store->MergeDnsZones({
        Zone(h0, "victim.example", 120, 110),             // a flood: 110 names in 120 queries
        Zone(h0 + 2, "victim.example", 300, 290, 0, 500),  // one quiet hour between: the same event
        Zone(h0 + 6, "victim.example", 80, 79, 0, 900),    // three quiet hours: a second event
        Zone(h0, "example.com", 5000, 1),                 // popular, one name
        Zone(h0, "probe.example", 400, 60),               // 60 names but 15% of its queries
        Zone(h0 + 1, "few.example", 40, 40),              // all distinct but under 50
        Zone(h0 + 3, "spoofed.example", 0, 200, 220),      // answers to spoofed queries: backscatter
    });
    t.store->Commit();
    const auto events = DetectWaterTorture(*t.store, h0, h0 + 23);
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].subject, "victim.example");
    EXPECT_EQ(events[0].evidence["hours"], 2);  // hours that met the bar
    EXPECT_EQ(events[0].evidence["queries"], 420);
    EXPECT_EQ(events[0].packets, 420u);
    EXPECT_EQ(events[0].magnitude, 290.0);  // the peak hour's names
    EXPECT_EQ(events[0].sources, 3u);
    EXPECT_EQ(events[0].end, (h0 + 3) * 3600 * NS_PER_SEC - 1);
    EXPECT_EQ(events[1].subject, "spoofed.example");
    EXPECT_NE(events[1].sentence_en.find("backscatter"), std::string::npos);
    EXPECT_EQ(events[2].subject, "victim.example");
    EXPECT_EQ(events[2].start, (h0 + 6) * 3600 * NS_PER_SEC);

    WaterTortureOptions strict;
    strict.min_names = 100;
    EXPECT_EQ(DetectWaterTorture(*t.store, h0, h0 + 23, strict).size(), 2u);  // the third run's 79 names drop
}

}  // namespace
}  // namespace darkscope::detect
