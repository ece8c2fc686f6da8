#pragma once
/// Timestamps are nanoseconds since the Unix epoch, UTC, in a signed 64-bit integer
/// (good until 2262; pcapng's 2106 limit fits).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace darkscope {

using TimestampNs = int64_t;
constexpr int64_t NS_PER_SEC = 1'000'000'000;
constexpr int64_t SECONDS_PER_HOUR = 3600;
constexpr int64_t SECONDS_PER_DAY = 86400;

/// Hours and days are counted from the epoch, rounding towards minus infinity.
inline int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
inline int64_t HourOf(TimestampNs ts) { return FloorDiv(ts, NS_PER_SEC * SECONDS_PER_HOUR); }
inline int64_t DayOf(TimestampNs ts) { return FloorDiv(ts, NS_PER_SEC * SECONDS_PER_DAY); }

/// "2024-12-18" for a day number.
std::string FormatDay(int64_t day);
/// "2024-12-18T05:00:00Z" for a timestamp (seconds precision).
std::string FormatTimestamp(TimestampNs ts);
/// Parses "YYYY-MM-DD" into a day number.
std::optional<int64_t> ParseDay(std::string_view text);

}  // namespace darkscope
