#include "detect/event.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace darkscope::detect {
namespace {

// The object built field by field, as ToJson did before the text was written directly: what the store's
// `detail` column held, and what every reader of it expects.
nlohmann::ordered_json AsTree(const DetectedEvent &e) {
    nlohmann::ordered_json j;
    j["kind"] = EventKindName(e.kind);
    j["detector"] = e.detector;
    j["subject"] = e.subject;
    j["start"] = FormatTimestamp(e.start);
    j["peak"] = FormatTimestamp(e.peak);
    j["end"] = FormatTimestamp(e.end);
    j["start_ns"] = e.start;
    j["peak_ns"] = e.peak;
    j["end_ns"] = e.end;
    j["magnitude"] = e.magnitude;
    j["packets"] = e.packets;
    j["sources"] = e.sources;
    auto &top = j["top_sources"] = nlohmann::ordered_json::array();
    for (auto &s : e.top_sources)
        top.push_back({{"address", s.address}, {"country", s.country}, {"packets", s.packets}});
    j["regions"] = e.regions;
    j["sensors"] = e.sensors;
    j["evidence"] = e.evidence;
    j["sentence_en"] = e.sentence_en;
    j["sentence_ja"] = e.sentence_ja;
    return j;
}

DetectedEvent Example() {
    DetectedEvent e;
    e.kind = EventKind::SCAN;
    e.detector = "scan";
    e.subject = "192.0.2.1";
    e.start = 1709251218423546000;
    e.peak = e.start + 1;
    e.end = 1709251822379814000;
    e.magnitude = 10;
    e.packets = 10;
    e.sources = 1;
    e.top_sources = {{"192.0.2.1", "CN", 10}, {"2001:db8::1", "", 3}};
    e.regions = {"CN"};
    e.sensors = {"tokyo-1", "osaka-2"};
    e.evidence = {{"service", "1433/TCP"}, {"rate_pps", 0.01655749021881167},         {"coverage", 0.00244140625},
                  {"tool", nullptr},       {"tags", nlohmann::ordered_json::array()}, {"exact", true}};
    e.sentence_en = "192.0.2.1 scanned 1433/TCP: 10 packets to 10 darknet addresses at 0.02 packets/s.";
    e.sentence_ja = "2024年3月1日 00:00から00:10まで (UTC)、192.0.2.1 から 1433/TCP に対するスキャンを観測した。";
    return e;
}

TEST(EventJson, TextIsTheTreesDump) {
    std::vector<DetectedEvent> events;
    events.push_back(Example());
    DetectedEvent bare;  // nothing set: empty strings and lists, zero times
    events.push_back(bare);
    DetectedEvent odd = Example();
    odd.kind = EventKind::WATER_TORTURE;
    odd.start = -86400'000'000'001;  // before 1970
    odd.sensors = {"a \"quoted\" \\ name", "tab\there", "line\nbreak", "bell\x07", "del\x7f", "ünï", ""};
    odd.subject = "example.jp.";
    odd.top_sources = {{"x", "\x1f", UINT64_MAX}};
    events.push_back(odd);
    DetectedEvent wide = Example();  // every length of UTF-8 sequence, at the ends of strings too
    wide.sensors = {"\xC2\x80",     "\xDF\xBF",         "\xE0\xA0\x80",     "\xEF\xBF\xBF",
                    "\xED\x9F\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF", "\xF0\x9F\x93\xA1 telescope",
                    "観測\"点\""};
    events.push_back(wide);
    for (const double magnitude :
         {0.0, -0.0, 1e-7, 123456789012345678.0, 1e300, 0.1, 2.5, -3.0, std::numeric_limits<double>::quiet_NaN(),
          std::numeric_limits<double>::infinity(), std::numeric_limits<double>::denorm_min()}) {
        DetectedEvent e = Example();
        e.magnitude = magnitude;
        events.push_back(e);
    }
    for (const DetectedEvent &e : events) {
        const std::string text = ToJsonText(e);
        EXPECT_EQ(text, AsTree(e).dump());
        EXPECT_EQ(ToJson(e).dump(), text);
        if (!std::isfinite(e.magnitude)) continue;  // written as null, which reads back as no number (as before)
        const DetectedEvent back = EventFromJson(ToJson(e));
        EXPECT_EQ(ToJsonText(back), text);
    }
}

TEST(EventJson, InvalidUtf8IsRefusedAsBefore) {
    DetectedEvent e = Example();
    // A stray continuation, overlong forms, a surrogate, past U+10FFFF, leads cut short (in the middle and at the
    // end), and bytes that never begin a sequence.
    for (const char *bad : {"bad \xff byte", "\x80", "\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xE0\x9F\xBF",
                            "\xED\xA0\x80", "\xED\xBF\xBF", "\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80",
                            "\xE3\x81", "\xE3\x81 x", "\xF0\x9F\x93", "ok \xC2", "\xC2\xC2\x80"}) {
        e.sensors = {bad};
        EXPECT_THROW(AsTree(e).dump(), nlohmann::json::type_error) << bad;
        EXPECT_THROW(ToJsonText(e), nlohmann::json::type_error) << bad;
    }
}

}  // namespace
}  // namespace darkscope::detect
