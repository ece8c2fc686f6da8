#include "report/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <chrono>
#include <fstream>
#include <functional>
#include <iterator>
#include <future>
#include <thread>
#include <map>
#include <set>
#include <span>
#include <tuple>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "aggregate/dimension.hpp"
#include "classify/service_key.hpp"
#include "classify/traffic_class.hpp"
#include "common/time.hpp"
#include "detect/event.hpp"
#include "dns/study.hpp"
#include "enrich/country.hpp"
#include "report/iana.hpp"
#include "signature/category.hpp"
#include "report/summary.hpp"

namespace darkscope {

namespace {

int64_t FloorMod(int64_t a, int64_t b) { return ((a % b) + b) % b; }

int64_t DayOfDate(int year, int month, int day) {
    // Months outside 1-12 roll into the neighbouring years (month 0 is the December before).
    year += int(std::floor((month - 1) / 12.0));
    month = int(FloorMod(month - 1, 12)) + 1;
    return *ParseDay(fmt::format("{:04}-{:02}-{:02}", year, month, day));
}

struct Date {
    int year = 0, month = 0, day = 0;
};

Date DateOf(int64_t day) {
    const std::string s = FormatDay(day);  // YYYY-MM-DD
    Date d;
    std::from_chars(s.data(), s.data() + 4, d.year);
    std::from_chars(s.data() + 5, s.data() + 7, d.month);
    std::from_chars(s.data() + 8, s.data() + 10, d.day);
    return d;
}

// Monday of ISO week 1: the week that holds 4 January. 1970-01-01 (day 0) was a Thursday.
int64_t IsoWeekOneMonday(int year) {
    const int64_t jan4 = DayOfDate(year, 1, 4);
    return jan4 - FloorMod(jan4 + 3, 7);
}

ReportPeriod MakeQuarter(int year, int quarter) {
    year += int(std::floor((quarter - 1) / 4.0));
    quarter = int(FloorMod(quarter - 1, 4)) + 1;
    const int64_t from = DayOfDate(year, 3 * (quarter - 1) + 1, 1);
    return {ReportPeriod::Kind::QUARTER, fmt::format("{}Q{}", year, quarter), from, DayOfDate(year, 3 * quarter + 1, 1) - 1};
}

ReportPeriod MakeMonth(int year, int month) {
    const int64_t from = DayOfDate(year, month, 1);
    const Date d = DateOf(from);
    return {ReportPeriod::Kind::MONTH, fmt::format("{:04}-{:02}", d.year, d.month), from, DayOfDate(d.year, d.month + 1, 1) - 1};
}

// The ISO week holding `day` (any day of it).
ReportPeriod MakeWeekOf(int64_t day) {
    const int64_t monday = day - FloorMod(day + 3, 7);
    const int iso_year = DateOf(monday + 3).year;  // the year of the week's Thursday
    const int64_t week = (monday - IsoWeekOneMonday(iso_year)) / 7 + 1;
    return {ReportPeriod::Kind::WEEK, fmt::format("{:04}-W{:02}", iso_year, week), monday, monday + 6};
}

ReportPeriod MakeDay(int64_t day) { return {ReportPeriod::Kind::DAY, FormatDay(day), day, day}; }

ReportPeriod MakeYear(int year) {
    return {ReportPeriod::Kind::YEAR, fmt::format("{:04}", year), DayOfDate(year, 1, 1), DayOfDate(year + 1, 1, 1) - 1};
}

// Digits only, exactly `n` of them.
std::optional<int> Number(std::string_view text, size_t n) {
    if (text.size() != n || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    int v = 0;
    std::from_chars(text.data(), text.data() + n, v);
    return v;
}

}  // namespace

std::optional<ReportPeriod> ParseReportPeriod(std::string_view text, std::string *error) {
    auto fail = [&](std::string why) -> std::optional<ReportPeriod> {
        if (error) *error = fmt::format("'{}': {}", text, why);
        return std::nullopt;
    };
    if (const size_t dots = text.find(".."); dots != std::string_view::npos) {
        const auto from = ParseDay(text.substr(0, dots)), to = ParseDay(text.substr(dots + 2));
        if (!from || !to) return fail("expected FIRST..LAST as YYYY-MM-DD..YYYY-MM-DD");
        if (*from > *to) return fail("the first day is after the last");
        return DaysPeriod(*from, *to);
    }
    const auto year = text.size() >= 4 ? Number(text.substr(0, 4), 4) : std::nullopt;
    if (!year) return fail("expected a period such as 2024Q4, 2014-02, 2024-W51, 2024-12-03, 2024 or 2024-12-01..2024-12-15");
    if (*year < 1970 || *year > 9998) return fail("the year is out of range (1970-9998)");
    const std::string_view rest = text.substr(4);
    if (rest.empty()) return MakeYear(*year);
    if ((rest[0] == 'Q' || rest[0] == 'q') && rest.size() == 2) {
        const auto q = Number(rest.substr(1), 1);
        if (!q || *q < 1 || *q > 4) return fail("a quarter is Q1 to Q4");
        return MakeQuarter(*year, *q);
    }
    if (rest.size() == 4 && rest.substr(0, 2) == "-W") {
        const auto w = Number(rest.substr(2), 2);
        const int64_t monday = IsoWeekOneMonday(*year) + 7 * (int64_t(w.value_or(0)) - 1);
        if (!w || *w < 1 || monday >= IsoWeekOneMonday(*year + 1))
            return fail(fmt::format("{} has ISO weeks W01 to W{:02}", *year,
                                    (IsoWeekOneMonday(*year + 1) - IsoWeekOneMonday(*year)) / 7));
        return MakeWeekOf(monday);
    }
    if (rest.size() == 3 && rest[0] == '-') {
        const auto m = Number(rest.substr(1), 2);
        if (!m || *m < 1 || *m > 12) return fail("a month is 01 to 12");
        return MakeMonth(*year, *m);
    }
    if (rest.size() == 6 && rest[0] == '-') {
        if (auto day = ParseDay(text)) return MakeDay(*day);
        return fail("not a valid date (YYYY-MM-DD)");
    }
    return fail("expected a period such as 2024Q4, 2014-02, 2024-W51, 2024-12-03, 2024 or 2024-12-01..2024-12-15");
}

ReportPeriod DaysPeriod(int64_t from_day, int64_t to_day) {
    if (from_day == to_day) return MakeDay(from_day);
    return {ReportPeriod::Kind::DAYS, FormatDay(from_day) + ".." + FormatDay(to_day), from_day, to_day};
}

ReportPeriod PreviousReportPeriod(const ReportPeriod &p) {
    const Date d = DateOf(p.from_day);
    switch (p.kind) {
        case ReportPeriod::Kind::QUARTER: return MakeQuarter(d.year, (d.month - 1) / 3);
        case ReportPeriod::Kind::MONTH: return MakeMonth(d.year, d.month - 1);
        case ReportPeriod::Kind::WEEK: return MakeWeekOf(p.from_day - 7);
        case ReportPeriod::Kind::DAY: return MakeDay(p.from_day - 1);
        case ReportPeriod::Kind::YEAR: return MakeYear(d.year - 1);
        case ReportPeriod::Kind::DAYS: break;
    }
    return DaysPeriod(p.from_day - p.Days(), p.from_day - 1);
}

namespace {

using nlohmann::json;

// Distinct sources of a cell over many days. Each stored segment's row brings its sources sorted and unique,
// so they are kept as sorted runs, and a run is united with the one before it while that one is not longer
// (a binary counter's carries): each source is moved about log2(runs) times, in sequential passes, and
// repeats across days drop out at the first union. Adding each day's sources to a roaring bitmap allocated
// and freed a container for every /16 a day touched: malloc and free were a fifth of a quarter report.
class SourceUnion {
public:
    void AddV4(std::span<const uint32_t> sorted) { Push(v4_, std::vector<uint32_t>(sorted.begin(), sorted.end())); }
    void AddV6(std::span<const Ipv6Bytes> sorted) {
        if (!sorted.empty()) Push(v6_, std::vector<Ipv6Bytes>(sorted.begin(), sorted.end()));
    }
    void Merge(const SourceUnion &other) {
        for (const auto &run : other.v4_) Push(v4_, run);
        for (const auto &run : other.v6_) Push(v6_, run);
    }
    void Merge(SourceUnion &&other) {
        for (auto &run : other.v4_) Push(v4_, std::move(run));
        for (auto &run : other.v6_) Push(v6_, std::move(run));
        other = SourceUnion();
    }
    // Unites what runs are left: a cell is read once its collect is done, so this runs once per cell.
    uint64_t Cardinality() const { return Collapse(v4_) + Collapse(v6_); }

private:
    template <typename T>
    static void UniteLastTwo(std::vector<std::vector<T>> &runs) {
        std::vector<T> &a = runs[runs.size() - 2], &b = runs.back();
        std::vector<T> united;
        united.reserve(a.size() + b.size());
        std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(united));
        runs.pop_back();
        runs.back() = std::move(united);
    }
    template <typename T>
    static void Push(std::vector<std::vector<T>> &runs, std::vector<T> run) {
        if (run.empty()) return;
        runs.push_back(std::move(run));
        while (runs.size() >= 2 && runs[runs.size() - 2].size() <= runs.back().size()) UniteLastTwo(runs);
    }
    template <typename T>
    static uint64_t Collapse(std::vector<std::vector<T>> &runs) {
        while (runs.size() >= 2) UniteLastTwo(runs);
        return runs.empty() ? 0 : runs.front().size();
    }
    // Mutable: uniting the runs changes how they are held, not which sources they hold.
    mutable std::vector<std::vector<uint32_t>> v4_;
    mutable std::vector<std::vector<Ipv6Bytes>> v6_;
};

// What one scan gathers per cell: everything, and separately what research scanners sent (a subset,
// so subtracting it is exact for packets and for distinct sources).
// The source sets exist only where sources are counted: a day has a hundred thousand service keys.
struct Cell {
    uint64_t packets = 0, bytes = 0;
    uint64_t research_packets = 0, research_bytes = 0;
    std::unique_ptr<SourceUnion> sources, research_sources;
    uint64_t Packets() const { return packets - research_packets; }
    uint64_t Bytes() const { return bytes - research_bytes; }
    uint64_t Sources() const {
        return (sources ? sources->Cardinality() : 0) - (research_sources ? research_sources->Cardinality() : 0);
    }
};

// Cells by (split, key): the split is the day, the sensor id, or 0 for the whole period.
enum class Split { NONE, DAY, SENSOR };
struct CellKeyHash {
    size_t operator()(const std::pair<int64_t, uint32_t> &k) const {
        return std::hash<uint64_t>()(uint64_t(k.first) * 0x9E3779B97F4A7C15ull ^ k.second);
    }
};
using Cells = std::unordered_map<std::pair<int64_t, uint32_t>, Cell, CellKeyHash>;
// Maps a stored key to the key it counts under, or nothing to leave it out.
using KeyMap = std::function<std::optional<uint32_t>(uint32_t)>;

struct Scope {
    Store &store;
    bool exclude_research = false;
    // Scans of more than a few days are split by days over this many threads, each reading through a
    // connection of its own (a SQLite connection serves one thread at a time).
    unsigned threads = 1;
};

// One key's counts in a count-only collect.
struct KeyCounts {
    uint32_t key = 0;
    uint64_t packets = 0, bytes = 0, research_packets = 0, research_bytes = 0;
    void Add(const KeyCounts &o) {
        packets += o.packets;
        bytes += o.bytes;
        research_packets += o.research_packets;
        research_bytes += o.research_bytes;
    }
};

// Adds rows sorted by key (a key at most once) into `into`, also sorted by key, by one linear merge.
void MergeSortedCounts(std::vector<KeyCounts> &into, const std::vector<KeyCounts> &rows, std::vector<KeyCounts> &scratch) {
    scratch.clear();
    scratch.reserve(into.size() + rows.size());
    auto a = into.cbegin();
    auto b = rows.cbegin();
    while (a != into.cend() && b != rows.cend()) {
        if (a->key < b->key) scratch.push_back(*a++);
        else if (b->key < a->key) scratch.push_back(*b++);
        else {
            scratch.push_back(*a++);
            scratch.back().Add(*b++);
        }
    }
    scratch.insert(scratch.end(), a, into.cend());
    scratch.insert(scratch.end(), b, rows.cend());
    into.swap(scratch);
}

// Count-only collects add each stored segment's rows, which come in key order, to a key-sorted array per
// part by a linear merge. A hash-table probe per row was most of a quarter report's time: the service mix
// reads 90 days of country x service heads (86 million rows) into half a million cells, a cache miss each.
Cells CollectCounts(Store &store, bool exclude_research, Dimension dim, int64_t from, int64_t to,
                    const std::unordered_set<int64_t> &sensors, Split split, const KeyMap &map) {
    std::map<int64_t, std::vector<KeyCounts>> parts;
    std::vector<KeyCounts> segment, scratch;
    int64_t period = INT64_MIN, sensor_id = INT64_MIN;
    auto flush = [&] {
        if (segment.empty()) return;
        // A key map may send several keys to one (the "others") and break the order.
        auto by_key = [](const KeyCounts &x, const KeyCounts &y) { return x.key < y.key; };
        if (!std::is_sorted(segment.begin(), segment.end(), by_key)) std::sort(segment.begin(), segment.end(), by_key);
        size_t out = 0;
        for (size_t i = 0; i < segment.size(); ++i) {
            if (out > 0 && segment[out - 1].key == segment[i].key) segment[out - 1].Add(segment[i]);
            else segment[out++] = segment[i];
        }
        segment.resize(out);
        const int64_t part = split == Split::DAY ? period : split == Split::SENSOR ? sensor_id : 0;
        MergeSortedCounts(parts[part], segment, scratch);
        segment.clear();
    };
    bool wanted = false;  // the segment's sensor is one of `sensors`
    auto scan = [&](Dimension d, bool research) {
        store.ScanCounts(Granularity::DAY, d, from, to, [&](const CounterRecord &r) {
            if (r.period != period || r.sensor_id != sensor_id) {
                flush();
                period = r.period;
                sensor_id = r.sensor_id;
                wanted = sensors.count(r.sensor_id) != 0;
            }
            if (!wanted) return;
            std::optional<uint32_t> key = map ? map(r.key) : std::optional<uint32_t>(r.key);
            if (!key) return;
            KeyCounts &c = segment.emplace_back();
            c.key = *key;
            (research ? c.research_packets : c.packets) = r.packets;
            (research ? c.research_bytes : c.bytes) = r.bytes;
        });
        flush();
        period = sensor_id = INT64_MIN;
    };
    scan(dim, false);
    if (exclude_research) scan(ResearchDimension(dim), true);
    Cells cells;
    size_t n = 0;
    for (const auto &[part, counts] : parts) n += counts.size();
    cells.reserve(n);
    for (const auto &[part, counts] : parts)
        for (const KeyCounts &k : counts) {
            Cell &c = cells[{part, k.key}];
            c.packets = k.packets;
            c.bytes = k.bytes;
            c.research_packets = k.research_packets;
            c.research_bytes = k.research_bytes;
        }
    return cells;
}

Cells CollectDays(Store &store, bool exclude_research, Dimension dim, int64_t from, int64_t to,
                  const std::unordered_set<int64_t> &sensors, Split split, bool with_sources, const KeyMap &map) {
    if (!with_sources) return CollectCounts(store, exclude_research, dim, from, to, sensors, split, map);
    Cells cells;
    auto scan = [&](Dimension d, bool research) {
        store.ScanCounters(Granularity::DAY, d, from, to, [&](const CounterRecord &r) {
            if (!sensors.count(r.sensor_id)) return;
            std::optional<uint32_t> key = map ? map(r.key) : std::optional<uint32_t>(r.key);
            if (!key) return;
            const int64_t part = split == Split::DAY ? r.period : split == Split::SENSOR ? r.sensor_id : 0;
            Cell &c = cells[{part, *key}];
            (research ? c.research_packets : c.packets) += r.packets;
            (research ? c.research_bytes : c.bytes) += r.bytes;
            std::unique_ptr<SourceUnion> &slot = research ? c.research_sources : c.sources;
            if (!slot) slot = std::make_unique<SourceUnion>();
            slot->AddV4(r.sources_v4);
            slot->AddV6(r.sources_v6);
        });
    };
    scan(dim, false);
    if (exclude_research) scan(ResearchDimension(dim), true);
    return cells;
}

void MergeCells(Cells &into, Cells &&part) {
    if (into.empty()) {
        into = std::move(part);
        return;
    }
    auto unite = [](std::unique_ptr<SourceUnion> &to, std::unique_ptr<SourceUnion> &from) {
        if (!from) return;
        if (!to) to = std::move(from);
        else to->Merge(std::move(*from));
    };
    for (auto &[k, c] : part) {
        Cell &d = into[k];
        d.packets += c.packets;
        d.bytes += c.bytes;
        d.research_packets += c.research_packets;
        d.research_bytes += c.research_bytes;
        unite(d.sources, c.sources);
        unite(d.research_sources, c.research_sources);
    }
}

// Packets, bytes and (with_sources) distinct sources per cell of dimension `dim` over the days [from, to],
// summed over `sensors`, keys mapped by `map`; research scanners subtracted when the scope says so.
Cells Collect(const Scope &scope, Dimension dim, int64_t from, int64_t to, const std::unordered_set<int64_t> &sensors,
              Split split, bool with_sources, const KeyMap &map = nullptr) {
    const int64_t days = to - from + 1;
    const unsigned threads = unsigned(std::min<int64_t>(scope.threads, days / 4));
    if (threads <= 1)
        return CollectDays(scope.store, scope.exclude_research, dim, from, to, sensors, split, with_sources, map);
    std::vector<std::future<Cells>> others;
    const std::string path = scope.store.Location();
    auto first_day = [&](unsigned t) { return from + days * int64_t(t) / int64_t(threads); };
    for (unsigned t = 1; t < threads; ++t)
        others.push_back(std::async(std::launch::async, [&, t] {
            auto store = Store::OpenSqliteReadOnly(path);
            return CollectDays(*store, scope.exclude_research, dim, first_day(t), first_day(t + 1) - 1, sensors, split,
                               with_sources, map);
        }));
    Cells cells = CollectDays(scope.store, scope.exclude_research, dim, from, first_day(1) - 1, sensors, split,
                              with_sources, map);
    for (auto &f : others) MergeCells(cells, f.get());
    return cells;
}

std::optional<double> ChangePercent(double now, double before) {
    if (before <= 0) return std::nullopt;
    return (now - before) / before * 100;
}

json OrNull(const std::optional<double> &v) { return v ? json(*v) : json(nullptr); }

// "name", "previous_name", "change_name", "change_percent_name" of one figure.
void AddFigure(json &j, const std::string &name, double now, double before) {
    j[name] = now;
    j["previous_" + name] = before;
    j["change_" + name] = now - before;
    j["change_percent_" + name] = OrNull(ChangePercent(now, before));
}

struct Naming {
    std::map<std::string, std::string> countries_en, countries_ja;
    void Name(SummaryRow &row, bool country) const {
        if (!country) return;
        if (auto it = countries_en.find(row.key); it != countries_en.end()) row.name = it->second;
        if (auto it = countries_ja.find(row.key); it != countries_ja.end()) row.name_ja = it->second;
        if (row.key == "??") row.name = "unknown (no data for the address)";
    }
};

std::string ServiceKeyName(uint32_t packed) { return ServiceKey{packed}.ToString(); }
std::string IanaName(uint32_t packed) { return std::string(IanaNames::Builtin().ServiceName(ServiceKey{packed})); }
std::string CountryKeyName(uint32_t country) { return CountryCode(uint16_t(country)); }
std::string CategoryKeyName(uint32_t category) {
    return category > 0 && category < sig::CATEGORY_COUNT ? std::string(sig::CategoryName(sig::Category(category)))
                                                          : fmt::format("category {}", category);
}

// Table rows (sorted by packets, then key) from whole-period cells.
std::vector<SummaryRow> RowsOf(const Cells &cells, const std::function<std::string(uint32_t)> &key_name,
                               const std::function<std::string(uint32_t)> &display, int64_t days, uint64_t addresses,
                               bool with_sources) {
    std::vector<SummaryRow> rows;
    uint64_t total = 0;
    for (const auto &[k, c] : cells) total += c.Packets();
    for (const auto &[k, c] : cells) {
        if (c.Packets() == 0) continue;
        SummaryRow row;
        row.key = key_name(k.second);
        row.sid = k.second;  // the stored key, kept for the daily series' scan
        if (display) row.name = display(k.second);
        row.packets = c.Packets();
        row.bytes = c.Bytes();
        row.unique_sources = with_sources ? c.Sources() : 0;
        row.per_day_per_ip = PerDayPerIp(row.packets, days, addresses);
        row.share = total ? double(row.packets) / double(total) : 0.0;
        rows.push_back(std::move(row));
    }
    std::stable_sort(rows.begin(), rows.end(), [](const SummaryRow &a, const SummaryRow &b) {
        return a.packets != b.packets ? a.packets > b.packets : a.key < b.key;
    });
    return rows;
}

// `with_sources`: whether the rows' distinct sources were counted (null in the JSON when not).
json RowsJson(const std::vector<SummaryRow> &rows, bool with_sources) {
    json out = json::array();
    for (const SummaryRow &r : rows) {
        json row = {{"key", r.key},
                    {"name", r.name},
                    {"name_ja", r.name_ja.empty() ? r.name : r.name_ja},
                    {"packets", r.packets},
                    {"unique_sources", with_sources && r.rank != 0 ? json(r.unique_sources) : json(nullptr)},
                    {"per_day_per_ip", r.per_day_per_ip},
                    {"share", r.share}};
        AddComparisonJson(row, r);
        out.push_back(std::move(row));
    }
    return out;
}

json PeriodJson(const ReportPeriod &p) {
    return {{"label", p.label}, {"from", FormatDay(p.from_day)}, {"to", FormatDay(p.to_day)}, {"days", p.Days()}};
}

std::string UtcNow() {
    const auto now = std::chrono::system_clock::now();
    return FormatTimestamp(std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count());
}

}  // namespace

// A stream event's chart: the stored hourly packets of its service (scans, campaigns) or attacked port
// (backscatter), all sources together, from six hours before to six after (at most 400 hours). Series
// events carry their own scored series in the evidence.
void AddEventContext(Store &store, json &e) {
    const json &ev = e["evidence"];
    const std::string kind = e["kind"].get<std::string>();
    Dimension dim = Dimension::SERVICE;
    std::optional<ServiceKey> key;
    if ((kind == "scan" || kind == "campaign") && ev.contains("service") && ev["service"].is_string()) {
        key = ServiceKey::Parse(ev["service"].get<std::string>());
    } else if (kind == "backscatter" && ev.contains("ports") && ev["ports"].is_array() && !ev["ports"].empty() &&
               ev["ports"][0].contains("port") && ev["ports"][0]["port"].is_string()) {
        dim = Dimension::SOURCE_PORT;
        key = ServiceKey::Parse(ev["ports"][0]["port"].get<std::string>());
    }
    if (!key) return;
    const int64_t to = HourOf(e["end_ns"].get<int64_t>()) + 6;
    const int64_t from = std::max(HourOf(e["start_ns"].get<int64_t>()) - 6, to - 399);
    std::vector<uint64_t> packets(size_t(to - from + 1), 0);
    store.ScanCounts(Granularity::HOUR, dim, from, to, [&](const CounterRecord &r) {
        if (r.key == key->packed && r.period >= from && r.period <= to) packets[size_t(r.period - from)] += r.packets;
    });
    e["context"] = {{"what", dim == Dimension::SERVICE ? "service" : "srcport"},
                    {"key", key->ToString()},
                    {"first", FormatTimestamp(from * SECONDS_PER_HOUR * NS_PER_SEC)},
                    {"step_seconds", SECONDS_PER_HOUR},
                    {"packets", packets}};
}

std::optional<std::pair<int64_t, int64_t>> ResolvePeriodDays(std::string_view period, std::string_view from,
                                                             std::string_view to, int64_t first, int64_t last,
                                                             std::string &error) {
    if (!period.empty()) {
        if (!from.empty() || !to.empty()) {
            error = "give --period or --from/--to, not both";
            return std::nullopt;
        }
        std::string why;
        auto p = ParseReportPeriod(period, &why);
        if (!p) {
            error = "--period " + why;
            return std::nullopt;
        }
        return std::pair{p->from_day, p->to_day};
    }
    for (auto [name, text, bound] : {std::tuple{"--from", from, &first}, std::tuple{"--to", to, &last}}) {
        if (text.empty()) continue;
        auto d = ParseDay(text);
        if (!d) {
            error = fmt::format("{} {}: expected a date as YYYY-MM-DD", name, text);
            return std::nullopt;
        }
        *bound = *d;
    }
    if (first > last) {
        error = fmt::format("--from {} is after --to {}", from, to);
        return std::nullopt;
    }
    return std::pair{first, last};
}

// The detectors' events in the period (docs/detectors.md), and which detectors looked at it, so that
// "nothing found" and "nothing looked" read differently. Scans are many where the background scans (a
// quarter holds thousands): each kind shows its `top` largest, and the counts say how many there were.
static json PhenomenaJson(Store &store, const ReportPeriod &cur, const std::set<std::string> *group, size_t top) {
    const TimestampNs from = cur.from_day * SECONDS_PER_DAY * NS_PER_SEC;
    const TimestampNs to = (cur.to_day + 1) * SECONDS_PER_DAY * NS_PER_SEC - 1;
    // Ingest records a run per file: the runs are summarised by what ran, not listed.
    std::map<std::pair<std::string, std::string>, std::tuple<TimestampNs, TimestampNs, size_t>> runs;
    store.ScanDetectorRuns(from, to, [&](const DetectorRun &r) {
        auto [it, fresh] = runs.try_emplace({r.origin, r.settings}, r.from, r.to, 0);
        auto &[first, last, count] = it->second;
        first = std::min(first, r.from);
        last = std::max(last, r.to);
        ++count;
    });
    json runs_json = json::array();
    for (const auto &[key, value] : runs)
        runs_json.push_back({{"origin", key.first},
                             {"settings", key.second},
                             {"first", FormatTimestamp(std::get<0>(value))},
                             {"last", FormatTimestamp(std::get<1>(value))},
                             {"runs", std::get<2>(value)}});

    std::map<detect::EventKind, std::vector<json>> by_kind;
    json counts = json::object(), events = json::array();
    auto keep = [&](const StoredEvent &se) {
        json ej = detect::ToJson(se.event);
        ej["origin"] = se.origin;
        by_kind[se.event.kind].push_back(std::move(ej));
    };
    if (group == nullptr && top != 0) {
        // The store counts and picks the largest: a quarter holds tens of thousands of scans, and reading
        // each one's evidence took seconds.
        for (const auto &[kind, count] : store.CountDetectedEvents(from, to)) counts[kind] = count;
        store.ScanLargestDetectedEvents(from, to, top, keep);
    } else {
        // Which sensors an event reached is in its evidence only.
        store.ScanDetectedEvents(from, to, [&](const StoredEvent &se) {
            const detect::DetectedEvent &e = se.event;
            if (group && !std::any_of(e.sensors.begin(), e.sensors.end(), [&](auto &n) { return group->count(n) > 0; }))
                return;
            keep(se);
        });
        for (auto &[kind, list] : by_kind) counts[std::string(detect::EventKindName(kind))] = list.size();
    }
    for (auto &[kind, list] : by_kind) {
        std::stable_sort(list.begin(), list.end(), [](const json &a, const json &b) {
            return a["magnitude"].get<double>() > b["magnitude"].get<double>();
        });
        if (top != 0 && list.size() > top) list.resize(top);
        for (json &e : list) events.push_back(std::move(e));
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const json &a, const json &b) { return a["start_ns"].get<int64_t>() < b["start_ns"].get<int64_t>(); });
    for (json &e : events) AddEventContext(store, e);
    return {{"detectors_run", !runs_json.empty()}, {"runs", runs_json}, {"counts", counts}, {"events", events}};
}

// The DNS study's part of the report (seed 004): packets and sources of open and non-open resolvers, summed in
// SQL, and the zones with the most messages, with the names as parsed (the writers escape them). All sensors:
// the study's records are not kept per sensor.
static json DnsStudyJson(Store &store, const ReportPeriod &cur, bool exclude_research, size_t top) {
    json st;
    // Without any verdict every source is non-open: the split would only restate the DNS totals above, and
    // its distinct count over a quarter's records is the costly part.
    const bool probed = store.HasResolverProbes();
    st["probed"] = probed;
    if (probed) {
        const auto split = store.SumDnsSources(cur.from_day, cur.to_day, exclude_research);
        for (int open = 1; open >= 0; --open)
            st[open ? "open" : "non_open"] = {{"queries", split.queries[open]},
                                              {"responses", split.responses[open]},
                                              {"sources", split.sources[open]}};
        st["probed_sources"] = split.probed_sources;
    }
    json rows = json::array();
    for (const dns::ZoneHour &z : store.TopDnsZones(cur.from_day * 24, cur.to_day * 24 + 23, top)) {
        std::vector<std::string> examples(z.examples.begin(), z.examples.begin() + std::min<size_t>(2, z.examples.size()));
        rows.push_back({{"zone", z.zone},
                        {"queries", z.queries},
                        {"responses", z.responses},
                        {"distinct_names", z.names.Describe()},
                        {"sources", z.sources.Describe()},
                        {"examples", examples}});
    }
    st["top_zones"] = rows;
    return st;
}

json BuildReport(Store &store, const ReportOptions &options) {
    const ReportPeriod &cur = options.period;
    const ReportPeriod prev = options.compare ? *options.compare : PreviousReportPeriod(cur);
    const Scope scope{store, options.exclude_research, std::max(1u, options.threads)};

    // Totals, sensors, decode events and the files' data: the summary by sensor of each period (it reads the
    // TOTAL dimension with its sources). The tables below count packets, as the NPA's do, and read only the
    // segments' heads.
    SummaryOptions base;
    base.from_day = cur.from_day;
    base.to_day = cur.to_day;
    base.by = SummaryBy::SENSOR;
    base.top = 0;
    base.sensor_group = options.sensor_group;
    base.exclude_research = options.exclude_research;
    // The period's distinct sources come from the overview's per-day sets below: the TOTAL dimension's sources
    // are decoded once, not once here and again there.
    base.total_sources = false;
    const Summary services = Summarize(store, base);
    SummaryOptions before = base;
    before.from_day = prev.from_day;
    before.to_day = prev.to_day;
    const Summary then = Summarize(store, before);
    const uint64_t addresses = services.monitored_addresses;
    const uint64_t previous_addresses = then.monitored_addresses;

    // The sensors counted (the group), and all configured ones (the ratio charts' first column).
    std::unordered_set<int64_t> group, all_sensors;
    std::map<int64_t, std::string> location_of, name_of;
    for (const StoredSensor &st : store.LoadSensors()) {
        if (st.unattributed) continue;
        all_sensors.insert(st.id);
        location_of[st.id] = st.sensor.location;
        name_of[st.id] = st.sensor.name;
        if (InSensorGroup(st.sensor, options.sensor_group)) group.insert(st.id);
    }

    json j;
    j["schema"] = "darkscope-report/1";
    j["generated_at"] = UtcNow();
    j["lang"] = options.lang;
    j["store"] = store.Location();
    j["top"] = options.top;
    j["period"] = PeriodJson(cur);
    j["previous"] = PeriodJson(prev);
    j["exclude_research"] = options.exclude_research;
    if (options.sensor_group.empty()) {
        j["sensor_group"] = nullptr;
    } else {
        json names = json::array();
        for (const SummarySensor &s : services.sensors) names.push_back(s.name);
        j["sensor_group"] = {{"selectors", options.sensor_group}, {"sensors", names}};
    }
    j["sensors"] = json::array();
    for (const SummarySensor &s : services.sensors)
        j["sensors"].push_back({{"name", s.name},
                                {"networks", s.networks},
                                {"location", s.location},
                                {"provider", s.provider},
                                {"addresses", s.addresses},
                                {"implicit", s.implicit}});
    j["monitored_addresses"] = addresses;
    j["previous_monitored_addresses"] = previous_addresses;

    // Overview: packets per day per IP, distinct sources per day (the mean over the period's days) and over the
    // period (the days' sets united; research scanners' subtracted as a cell's are).
    struct SourceFigures {
        double per_day = 0;
        uint64_t distinct = 0;
    };
    auto source_figures = [&](const ReportPeriod &p) {
        Cells days = Collect(scope, Dimension::TOTAL, p.from_day, p.to_day, group, Split::DAY, true);
        uint64_t sum = 0;
        SourceUnion all, research;
        for (auto &[k, c] : days) {
            sum += c.Sources();
            if (c.sources) all.Merge(*c.sources);
            if (c.research_sources) research.Merge(*c.research_sources);
        }
        return SourceFigures{double(sum) / double(p.Days()), all.Cardinality() - research.Cardinality()};
    };
    {
        const SourceFigures now = source_figures(cur), before = source_figures(prev);
        json o;
        o["packets"] = services.packets;
        o["bytes"] = services.bytes;
        o["unique_sources"] = now.distinct;
        o["previous_packets"] = then.packets;
        o["previous_unique_sources"] = before.distinct;
        AddFigure(o, "per_day_per_ip", PerDayPerIp(services.packets, cur.Days(), addresses),
                  PerDayPerIp(then.packets, prev.Days(), previous_addresses));
        AddFigure(o, "unique_sources_per_day", now.per_day, before.per_day);
        j["overview"] = std::move(o);
    }

    Naming naming{CountryNames("en"), CountryNames("ja")};
    // A table in the NPA's form: this period's rows (by packets) against the previous period's.
    struct Table {
        std::vector<SummaryRow> rows;  // compared, the top N and the movers
        size_t total_rows = 0;         // keys with packets this period
        std::unordered_map<std::string, uint32_t> key_of;  // the stored key of each row's key text
        bool sources = false;                                // rows' unique_sources counted
    };
    // With `sources`, this period's rows count their distinct sources too (a full decode of the dimension);
    // the destination-service table does without: a day's segment of it holds millions of sources.
    auto table_of = [&](Cells now_cells, Cells then_cells, const std::function<std::string(uint32_t)> &name,
                        const std::function<std::string(uint32_t)> &display, bool country, bool sources) {
        auto rows = [&](const Cells &cells, const ReportPeriod &p, uint64_t addr, bool with_sources) {
            std::vector<SummaryRow> r = RowsOf(cells, name, display, p.Days(), addr, with_sources);
            for (SummaryRow &row : r) naming.Name(row, country);
            return r;
        };
        Table t;
        t.sources = sources;
        std::vector<SummaryRow> now = rows(now_cells, cur, addresses, sources);
        for (SummaryRow &row : now) t.key_of[row.key] = row.sid;
        t.total_rows = now.size();
        t.rows = CompareRows(std::move(now), rows(then_cells, prev, previous_addresses, false), options.top);
        return t;
    };
    auto compared = [&](Dimension dim, const KeyMap &map, const std::function<std::string(uint32_t)> &name,
                        const std::function<std::string(uint32_t)> &display, bool country, bool sources) {
        return table_of(Collect(scope, dim, cur.from_day, cur.to_day, group, Split::NONE, sources, map),
                        Collect(scope, dim, prev.from_day, prev.to_day, group, Split::NONE, false, map), name, display,
                        country, sources);
    };
    const Table service_table = compared(Dimension::SERVICE, nullptr, ServiceKeyName, IanaName, false, false);
    const Table region_table = compared(Dimension::COUNTRY, nullptr, CountryKeyName, nullptr, true, true);
    j["services"] = {{"rows", RowsJson(service_table.rows, false)}, {"total_rows", service_table.total_rows}};
    j["regions"] = {{"rows", RowsJson(region_table.rows, true)}, {"total_rows", region_table.total_rows}};

    // The top keys of a table (by this period's rank), for the series, ratios and service mix.
    auto top_keys = [](const Table &t) {
        std::vector<std::string> keys;
        for (const SummaryRow &r : t.rows)
            if (r.rank != 0 && r.rank <= REPORT_SERIES_KEYS) keys.push_back(r.key);
        return keys;
    };
    const std::vector<std::string> top_services = top_keys(service_table), top_regions = top_keys(region_table);

    // Daily series of the top keys: packets per day per sensor IP.
    json series;
    series["days"] = json::array();
    for (int64_t d = cur.from_day; d <= cur.to_day; ++d) series["days"].push_back(FormatDay(d));
    auto daily = [&](Dimension dim, const std::vector<std::string> &keys, const std::function<std::string(uint32_t)> &name,
                     const Table &s) {
        std::unordered_set<uint32_t> wanted;
        for (const std::string &k : keys) wanted.insert(s.key_of.at(k));
        const Cells cells = Collect(scope, dim, cur.from_day, cur.to_day, group, Split::DAY, false,
                                    [&](uint32_t k) -> std::optional<uint32_t> {
                                        if (wanted.count(k)) return k;
                                        return std::nullopt;
                                    });
        std::map<std::string, std::vector<double>> values;
        for (const std::string &k : keys) values[k].assign(size_t(cur.Days()), 0.0);
        for (const auto &[k, c] : cells)
            values[name(k.second)][size_t(k.first - cur.from_day)] += PerDayPerIp(c.Packets(), 1, addresses);
        json out = json::array();
        for (const std::string &k : keys) {
            const SummaryRow *row = nullptr;
            for (const SummaryRow &r : s.rows)
                if (r.key == k) row = &r;
            out.push_back({{"key", k},
                           {"name", row ? row->name : ""},
                           {"name_ja", row && !row->name_ja.empty() ? row->name_ja : row ? row->name : ""},
                           {"values", values[k]}});
        }
        return out;
    };
    series["services"] = daily(Dimension::SERVICE, top_services, ServiceKeyName, service_table);
    series["regions"] = daily(Dimension::COUNTRY, top_regions, CountryKeyName, region_table);
    j["series"] = std::move(series);

    // Ratio charts: the share of each top key among all packets of a group of sensors. The columns are all
    // sensors, then the --sensors group, or else each location when the sensors have several.
    struct Column {
        std::string label;
        std::unordered_set<int64_t> sensors;
    };
    std::vector<Column> columns{{"all sensors", all_sensors}};
    if (!options.sensor_group.empty()) {
        std::string label;
        for (const std::string &g : options.sensor_group) label += (label.empty() ? "" : ", ") + g;
        columns.push_back({label, group});
    } else {
        std::map<std::string, std::unordered_set<int64_t>> by_location;
        for (const auto &[id, location] : location_of) by_location[location.empty() ? "(no location)" : location].insert(id);
        if (by_location.size() > 1)
            for (auto &[location, ids] : by_location) columns.push_back({location, ids});
    }
    auto ratios = [&](Dimension dim, const std::vector<std::string> &keys, const std::function<std::string(uint32_t)> &name,
                      const Table &table) {
        // Every key but the top ones counts as one, "others": a day has a hundred thousand service keys.
        constexpr uint32_t OTHERS = UINT32_MAX;
        std::unordered_set<uint32_t> wanted;
        for (const std::string &k : keys) wanted.insert(table.key_of.at(k));
        const Cells cells = Collect(scope, dim, cur.from_day, cur.to_day, all_sensors, Split::SENSOR, false,
                                    [&](uint32_t k) -> std::optional<uint32_t> { return wanted.count(k) ? k : OTHERS; });
        json out;
        out["keys"] = keys;
        out["keys"].push_back("others");
        out["columns"] = json::array();
        for (const Column &col : columns) {
            std::map<std::string, uint64_t> packets;
            uint64_t total = 0;
            for (const auto &[k, c] : cells) {
                if (!col.sensors.count(k.first)) continue;
                packets[k.second == OTHERS ? "others" : name(k.second)] += c.Packets();
                total += c.Packets();
            }
            json shares = json::array();
            for (const auto &k : out["keys"]) shares.push_back(total ? double(packets[k.get<std::string>()]) / double(total) : 0.0);
            std::vector<std::string> names;
            for (const auto &[id, name] : name_of)
                if (col.sensors.count(id)) names.push_back(name);
            out["columns"].push_back({{"label", col.label}, {"sensors", names}, {"packets", total}, {"shares", shares}});
        }
        return out;
    };
    j["ratios"] = {{"services", ratios(Dimension::SERVICE, top_services, ServiceKeyName, service_table)},
                   {"regions", ratios(Dimension::COUNTRY, top_regions, CountryKeyName, region_table)}};

    // The flow from the top source regions (the rest as "others") to the sensors of the group: what the flow
    // chart draws.
    {
        constexpr uint32_t OTHERS = UINT32_MAX;
        std::unordered_set<uint32_t> wanted;
        for (const std::string &k : top_regions) wanted.insert(region_table.key_of.at(k));
        const Cells cells = Collect(scope, Dimension::COUNTRY, cur.from_day, cur.to_day, group, Split::SENSOR, false,
                                    [&](uint32_t k) -> std::optional<uint32_t> { return wanted.count(k) ? k : OTHERS; });
        std::vector<std::tuple<uint64_t, std::string, std::string>> links;
        for (const auto &[k, c] : cells)
            if (c.Packets()) links.emplace_back(c.Packets(), k.second == OTHERS ? "others" : CountryKeyName(k.second), name_of[k.first]);
        std::sort(links.begin(), links.end(), [](const auto &a, const auto &b) {
            if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) > std::get<0>(b);
            return std::tie(std::get<1>(a), std::get<2>(a)) < std::tie(std::get<1>(b), std::get<2>(b));
        });
        json flow = json::array();
        for (auto &[packets, from, to] : links) flow.push_back({{"from", from}, {"to", to}, {"packets", packets}});
        j["flow"] = std::move(flow);
    }

    // The service mix of each top region.
    {
        // A day has about a million country x service keys: those of other regions are dropped at once.
        std::vector<uint16_t> top_countries;
        for (const std::string &region : top_regions) top_countries.push_back(uint16_t(region_table.key_of.at(region)));
        const Cells cells = Collect(scope, Dimension::COUNTRY_SERVICE, cur.from_day, cur.to_day, group, Split::NONE, false,
                                    [&](uint32_t k) -> std::optional<uint32_t> {
                                        const uint16_t country = CountryOfKey(k);
                                        for (uint16_t c : top_countries)
                                            if (c == country) return k;
                                        return std::nullopt;
                                    });
        json mix = json::array();
        for (const std::string &region : top_regions) {
            std::vector<std::pair<uint64_t, uint32_t>> by_service;
            uint64_t total = 0;
            for (const auto &[k, c] : cells) {
                if (CountryCode(CountryOfKey(k.second)) != region || c.Packets() == 0) continue;
                by_service.push_back({c.Packets(), ServiceOfKey(k.second).packed});
                total += c.Packets();
            }
            std::sort(by_service.begin(), by_service.end(),
                      [](auto &a, auto &b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
            json list = json::array();
            uint64_t shown = 0;
            for (size_t i = 0; i < by_service.size() && i < REPORT_SERIES_KEYS; ++i) {
                list.push_back({{"key", ServiceKeyName(by_service[i].second)},
                                {"name", IanaName(by_service[i].second)},
                                {"packets", by_service[i].first},
                                {"share", total ? double(by_service[i].first) / double(total) : 0.0}});
                shown += by_service[i].first;
            }
            if (total > shown)
                list.push_back({{"key", "others"}, {"name", ""}, {"packets", total - shown},
                                {"share", double(total - shown) / double(total)}});
            SummaryRow named;
            named.key = region;
            naming.Name(named, true);
            mix.push_back({{"key", region},
                           {"name", named.name},
                           {"name_ja", named.name_ja.empty() ? named.name : named.name_ja},
                           {"packets", total},
                           {"services", list}});
        }
        j["region_service_mix"] = std::move(mix);
    }

    auto class_table = [&](Dimension dim, const KeyMap &map, const std::function<std::string(uint32_t)> &name,
                           bool country) {
        return RowsJson(compared(dim, map, name, country ? nullptr : IanaName, country, true).rows, true);
    };
    auto classes = [](std::initializer_list<TrafficClass> set) {
        uint32_t bits = 0;  // the list itself does not outlive this call
        for (TrafficClass c : set) bits |= 1u << unsigned(c);
        return [bits](uint8_t c) { return c < 32 && (bits >> c & 1u) != 0; };
    };
    // The classes of the backscatter and DNS sections, in one scan of each dimension and period: group 1 the
    // backscatter (SYN/ACK and RST/ACK, the replies of victims of spoofed SYN floods), 2 DNS queries, 3 DNS
    // responses (source port 53).
    const auto backscatter = classes({TrafficClass::SYNACK_BACKSCATTER, TrafficClass::RSTACK_BACKSCATTER});
    auto class_group = [backscatter](uint8_t c) -> uint32_t {
        if (backscatter(c)) return 1;
        if (TrafficClass(c) == TrafficClass::DNS_QUERY) return 2;
        if (TrafficClass(c) == TrafficClass::DNS_RESPONSE) return 3;
        return 0;
    };
    // Moves the cells of group `g` (key >> 24) out of `cells`, under the rest of their key.
    auto pick = [](Cells &cells, uint32_t g) {
        Cells out;
        for (auto &[k, c] : cells)
            if (k.second >> 24 == g) out.emplace(std::pair{k.first, k.second & 0xFFFFFFu}, std::move(c));
        return out;
    };
    struct ClassDays {
        std::vector<double> packets[4], sources[4];  // by group, per day
        uint64_t total[4] = {};
        double sources_per_day[4] = {};
    };
    auto class_days = [&](const ReportPeriod &p) {
        const Cells cells = Collect(scope, Dimension::CLASS, p.from_day, p.to_day, group, Split::DAY, true,
                                    [&](uint32_t k) -> std::optional<uint32_t> {
                                        if (const uint32_t g = class_group(uint8_t(k))) return g;
                                        return std::nullopt;
                                    });
        ClassDays out;
        for (int g = 1; g < 4; ++g) {
            out.packets[g].assign(size_t(p.Days()), 0.0);
            out.sources[g].assign(size_t(p.Days()), 0.0);
        }
        for (const auto &[k, c] : cells) {
            const size_t g = k.second, d = size_t(k.first - p.from_day);
            out.packets[g][d] = double(c.Packets());
            out.sources[g][d] = double(c.Sources());
            out.total[g] += c.Packets();
            out.sources_per_day[g] += double(c.Sources()) / double(p.Days());
        }
        return out;
    };
    const ClassDays days_now = class_days(cur), days_then = class_days(prev);
    auto class_country = [&](const ReportPeriod &p, bool sources) {
        return Collect(scope, Dimension::CLASS_COUNTRY, p.from_day, p.to_day, group, Split::NONE, sources,
                       [&](uint32_t k) -> std::optional<uint32_t> {
                           if (const uint32_t g = class_group(ClassOfCountryKey(k)); g == 1 || g == 3)
                               return g << 24 | CountryOfClassKey(k);
                           return std::nullopt;
                       });
    };
    Cells countries_now = class_country(cur, true), countries_then = class_country(prev, false);

    {
        json b;
        b["classes"] = {"synack-backscatter", "rstack-backscatter"};
        b["packets"] = days_now.total[1];
        b["previous_packets"] = days_then.total[1];
        AddFigure(b, "per_day_per_ip", PerDayPerIp(days_now.total[1], cur.Days(), addresses),
                  PerDayPerIp(days_then.total[1], prev.Days(), previous_addresses));
        AddFigure(b, "unique_sources_per_day", days_now.sources_per_day[1], days_then.sources_per_day[1]);
        b["series"] = {{"packets", days_now.packets[1]}, {"unique_sources", days_now.sources[1]}};
        b["by_source_port"] = class_table(
            Dimension::CLASS_SOURCE_PORT,
            [&](uint32_t k) -> std::optional<uint32_t> {
                if (backscatter(ClassOfSourcePortKey(k))) return SourcePortOfClassKey(k);
                return std::nullopt;
            },
            ServiceKeyName, false);
        b["by_region"] = RowsJson(
            table_of(pick(countries_now, 1), pick(countries_then, 1), CountryKeyName, nullptr, true, true).rows, true);
        j["backscatter"] = std::move(b);
    }
    {
        json d;
        d["queries"] = days_now.total[2];
        d["responses"] = days_now.total[3];
        AddFigure(d, "queries_per_day_per_ip", PerDayPerIp(days_now.total[2], cur.Days(), addresses),
                  PerDayPerIp(days_then.total[2], prev.Days(), previous_addresses));
        AddFigure(d, "responses_per_day_per_ip", PerDayPerIp(days_now.total[3], cur.Days(), addresses),
                  PerDayPerIp(days_then.total[3], prev.Days(), previous_addresses));
        d["series"] = {{"queries", days_now.packets[2]}, {"responses", days_now.packets[3]}};
        d["responses_by_region"] = RowsJson(
            table_of(pick(countries_now, 3), pick(countries_then, 3), CountryKeyName, nullptr, true, true).rows, true);
        d["classified_by_port"] = services.dns_by_port;
        d["study"] = DnsStudyJson(store, cur, options.exclude_research, options.top);
        j["dns"] = std::move(d);
    }

    // Signatures (NPA section 3): only when rules ran in either period.
    {
        const Table categories = compared(Dimension::SIGNATURE_CATEGORY, nullptr, CategoryKeyName, nullptr, false, true);
        if (categories.rows.empty()) {
            j["signatures"] = nullptr;
        } else {
            const Table countries = compared(Dimension::SIGNATURE_COUNTRY, nullptr, CountryKeyName, nullptr, true, true);
            // A packet that hit any rule counts once in the by-country dimension: its total is the detections.
            auto detections = [&](const ReportPeriod &p) {
                uint64_t n = 0;
                for (const auto &[k, c] : Collect(scope, Dimension::SIGNATURE_COUNTRY, p.from_day, p.to_day, group,
                                                  Split::NONE, false))
                    n += c.Packets();
                return n;
            };
            const uint64_t now = detections(cur), then = detections(prev);
            json s;
            s["packets"] = now;
            s["previous_packets"] = then;
            AddFigure(s, "per_day_per_ip", PerDayPerIp(now, cur.Days(), addresses),
                      PerDayPerIp(then, prev.Days(), previous_addresses));
            s["categories"] = RowsJson(categories.rows, true);
            s["regions"] = RowsJson(countries.rows, true);
            // Every category's daily series, and its share of the detections in each group of sensors.
            std::vector<std::string> keys;
            for (const SummaryRow &r : categories.rows)
                if (r.rank != 0) keys.push_back(r.key);
            j["series"]["categories"] = daily(Dimension::SIGNATURE_CATEGORY, keys, CategoryKeyName, categories);
            j["ratios"]["categories"] = ratios(Dimension::SIGNATURE_CATEGORY, keys, CategoryKeyName, categories);
            j["signatures"] = std::move(s);
        }
    }

    j["decode_events"] = json::array();
    for (const auto &[name, count] : services.decode_events) j["decode_events"].push_back({{"name", name}, {"count", count}});
    j["unattributed_packets"] = services.unattributed_packets;
    j["non_ip_frames"] = services.non_ip_frames;
    std::set<std::string> group_names;
    for (int64_t id : group) group_names.insert(name_of[id]);
    j["phenomena"] = PhenomenaJson(store, cur, options.sensor_group.empty() ? nullptr : &group_names, options.top);

    json files = json::array();
    for (const FileRecord &f : store.ListFiles()) {
        if (f.packets == 0 || DayOf(f.last_ts) < cur.from_day || DayOf(f.first_ts) > cur.to_day) continue;
        files.push_back({{"path", f.path},
                         {"packets", f.packets},
                         {"first", FormatTimestamp(f.first_ts)},
                         {"last", FormatTimestamp(f.last_ts)},
                         {"status", f.status},
                         {"message", f.message}});
    }
    j["data_sources"] = {{"files", files}, {"enrichment", services.enrichment}};
    return j;
}

}  // namespace darkscope
