#include "common/ip_address.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <chrono>
#include <cstdio>

#include "common/time.hpp"

namespace darkscope {

TEST(IpAddress, ParsesAndPrintsBothFamilies) {
    auto v4 = IpAddress::Parse("192.0.2.7");
    ASSERT_TRUE(v4);
    EXPECT_TRUE(v4->IsV4());
    EXPECT_EQ(v4->V4HostOrder(), 0xC0000207u);
    EXPECT_EQ(v4->ToString(), "192.0.2.7");
    auto v6 = IpAddress::Parse("2001:db8::1");
    ASSERT_TRUE(v6);
    EXPECT_TRUE(v6->IsV6());
    EXPECT_EQ(v6->ToString(), "2001:db8::1");
    EXPECT_FALSE(IpAddress::Parse("192.0.2"));
    EXPECT_FALSE(IpAddress::Parse("2001:db8:::1"));
}

// IPv4 is written digit by digit, not through inet_ntop: every octet value in every position, as inet_ntop
// writes it, and the text parses back to the address.
TEST(IpAddress, PrintsEveryIpv4OctetAsInetNtop) {
    for (uint32_t v = 0; v < 256; ++v) {
        for (int position = 0; position < 4; ++position) {
            const uint32_t host = (0x0A141E28u & ~(0xFFu << (8 * position))) | v << (8 * position);
            const IpAddress a = IpAddress::V4(host);
            char expected[INET_ADDRSTRLEN] = {};
            ASSERT_NE(inet_ntop(AF_INET, a.bytes.data(), expected, sizeof expected), nullptr);
            EXPECT_EQ(a.ToString(), expected);
            EXPECT_EQ(IpAddress::Parse(a.ToString()), a);
        }
    }
    EXPECT_EQ(IpAddress::V4(0).ToString(), "0.0.0.0");
    EXPECT_EQ(IpAddress::V4(0xFFFFFFFFu).ToString(), "255.255.255.255");
    EXPECT_EQ(IpAddress{}.ToString(), "-");
}

TEST(IpNetwork, ContainsAndSize) {
    auto net = IpNetwork::Parse("198.51.100.77/24");
    ASSERT_TRUE(net);
    EXPECT_EQ(net->ToString(), "198.51.100.0/24");  // host bits cleared
    EXPECT_EQ(net->Size(), 256u);
    EXPECT_TRUE(net->Contains(*IpAddress::Parse("198.51.100.255")));
    EXPECT_FALSE(net->Contains(*IpAddress::Parse("198.51.101.0")));
    EXPECT_FALSE(net->Contains(*IpAddress::Parse("::1")));
    auto odd = IpNetwork::Parse("10.0.0.0/13");
    ASSERT_TRUE(odd);
    EXPECT_TRUE(odd->Contains(*IpAddress::Parse("10.7.255.255")));
    EXPECT_FALSE(odd->Contains(*IpAddress::Parse("10.8.0.0")));
    auto v6 = IpNetwork::Parse("2001:db8::/32");
    ASSERT_TRUE(v6);
    EXPECT_TRUE(v6->Contains(*IpAddress::Parse("2001:db8:ffff::1")));
    EXPECT_EQ(IpNetwork::Parse("::/0")->Size(), uint64_t(1) << 63);  // saturates
    EXPECT_FALSE(IpNetwork::Parse("10.0.0.0/33"));
    EXPECT_FALSE(IpNetwork::Parse("10.0.0.0/"));
    EXPECT_FALSE(IpNetwork::Parse("10.0.0.0/2x"));
}

TEST(Time, DaysAndHoursRoundTowardsMinusInfinity) {
    EXPECT_EQ(DayOf(0), 0);
    EXPECT_EQ(DayOf(-1), -1);
    EXPECT_EQ(HourOf(3600 * NS_PER_SEC - 1), 0);
    EXPECT_EQ(FormatDay(0), "1970-01-01");
    EXPECT_EQ(FormatDay(20075), "2024-12-18");
    EXPECT_EQ(ParseDay("2024-12-18"), 20075);
    EXPECT_FALSE(ParseDay("2024-02-30"));
    EXPECT_FALSE(ParseDay("2024-2-3"));
    EXPECT_EQ(FormatTimestamp(int64_t(20075) * 86400 * NS_PER_SEC + 5 * 3600 * NS_PER_SEC), "2024-12-18T05:00:00Z");
}

// Days and times are written digit by digit; std::chrono's calendar and printf are the reference: days from year
// -1 to past 9999, times at each second's edges.
TEST(Time, FormatsAsTheCalendarAndPrintfDo) {
    auto expected_day = [](int64_t day) {
        const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{day}}};
        char buf[32];
        std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", int(ymd.year()), unsigned(ymd.month()), unsigned(ymd.day()));
        return std::string(buf);
    };
    std::vector<int64_t> days = {-719529, -719528, -719162, -1, 0, 1, 10956, 11016, 20075, 2932896, 2932897};
    for (int64_t day = -800000; day < 3000000; day += 997)
        days.push_back(day);
    for (const int64_t day : days) {
        SCOPED_TRACE(day);
        EXPECT_EQ(FormatDay(day), expected_day(day));
        if (day < -106000 || day > 106000) continue;  // nanoseconds in 64 bits: 1677 to 2262
        for (const int64_t second : {int64_t(0), int64_t(59), int64_t(3599), int64_t(45296), int64_t(86399)}) {
            char time[16];
            std::snprintf(time, sizeof time, "T%02d:%02d:%02dZ", int(second / 3600), int(second / 60 % 60),
                          int(second % 60));
            const TimestampNs ts = (day * 86400 + second) * NS_PER_SEC + (second == 86399 ? NS_PER_SEC - 1 : 0);
            EXPECT_EQ(FormatTimestamp(ts), expected_day(day) + time);
        }
    }
}

}  // namespace darkscope
