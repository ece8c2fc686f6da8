#include "common/time.hpp"

#include <charconv>
#include <cstdio>

namespace darkscope {
namespace {

// Howard Hinnant's civil-date algorithms: exact for the proleptic Gregorian calendar.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = unsigned(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + int64_t(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t &y, unsigned &m, unsigned &d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = unsigned(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = int64_t(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp + (mp < 10 ? 3 : -9);
    y += m <= 2;
}

}  // namespace

namespace {
// Two digits of 0-99 at p. snprintf took about 4,000 instructions a timestamp, and every detected event
// formats several (its JSON, its sentences).
void TwoDigits(char *p, int64_t v) {
    p[0] = char('0' + v / 10);
    p[1] = char('0' + v % 10);
}
}  // namespace

std::string FormatDay(int64_t day) {
    int64_t y;
    unsigned m, d;
    CivilFromDays(day, y, m, d);
    if (y < 0 || y > 9999) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
        return buf;
    }
    std::string out(10, '-');
    TwoDigits(&out[0], y / 100);
    TwoDigits(&out[2], y % 100);
    TwoDigits(&out[5], m);
    TwoDigits(&out[8], d);
    return out;
}

std::string FormatTimestamp(TimestampNs ts) {
    int64_t secs = FloorDiv(ts, NS_PER_SEC);
    int64_t day = FloorDiv(secs, SECONDS_PER_DAY);
    int64_t rem = secs - day * SECONDS_PER_DAY;
    std::string out = FormatDay(day);
    const size_t at = out.size();
    out.append("T00:00:00Z");
    TwoDigits(&out[at + 1], rem / 3600);
    TwoDigits(&out[at + 4], rem / 60 % 60);
    TwoDigits(&out[at + 7], rem % 60);
    return out;
}

std::optional<int64_t> ParseDay(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
    int y = 0, m = 0, d = 0;
    auto parse = [](std::string_view s, int &out) {
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        return ec == std::errc() && end == s.data() + s.size();
    };
    if (!parse(text.substr(0, 4), y) || !parse(text.substr(5, 2), m) || !parse(text.substr(8, 2), d)) return std::nullopt;
    if (m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
    int64_t day = DaysFromCivil(y, unsigned(m), unsigned(d));
    if (FormatDay(day) != text) return std::nullopt;  // rejects 2024-02-30
    return day;
}

}  // namespace darkscope
