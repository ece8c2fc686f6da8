#include "detect/series.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

#include "aggregate/source_chunk.hpp"
#include "classify/service_key.hpp"
#include "classify/traffic_class.hpp"
#include "common/time.hpp"
#include "dns/study.hpp"
#include "enrich/country.hpp"
#include "store/store.hpp"

namespace darkscope::detect {

SeriesOptions SeriesOptions::ForGranularity(Granularity g) {
    SeriesOptions o;
    o.granularity = g;
    if (g == Granularity::DAY) {
        o.window = 28;
        o.min_history = 7;
        o.min_excess = 200;
        o.ewma_span = 7;
        o.cycle = 7;
        // Chosen by bench/detect_eval.py: days are for what rises over days (ramps, trends), which the
        // moving average follows and the 28-day median does not; a score of 10 keeps the false events of
        // the synthetic quarters under one a month (docs/detectors.md).
        o.method = "mad";
        o.threshold = 10;
        o.min_source_ratio = 2;
    }
    return o;
}

namespace {

constexpr double MAD_TO_SIGMA = 1.4826;  // 1 / Phi^-1(3/4): MAD of a normal sample -> its standard deviation
constexpr size_t MAX_REGIONS = 5;
constexpr size_t EVIDENCE_CONTEXT = 24;  // periods of series shown before and after an event
constexpr size_t EVIDENCE_MAX_VALUES = 400;
// A period this many deviations above the baseline is part of a rise that the detector fired on later (Onset):
// noise reaches 2 in one period of 40 or so, and two such periods in a row once in a thousand or so.
constexpr double ONSET_LEVEL = 2;
// Page's CUSUM for a daily event's onset hour (RefineOnsetsToHours), in deviations of the hourly baseline: the
// reference value k = 0.5 and the decision interval h = 5, the textbook pair for a shift of one deviation (one false
// alarm in several hundred periods of noise); the search spans one to a few days of hours.
constexpr double ONSET_SLACK = 0.5;
constexpr double ONSET_ALARM = 5;

const uint32_t DNS_RESPONSE_KEY =
    ClassSourcePortKey(uint8_t(TrafficClass::DNS_RESPONSE), ServiceKey::Make(ServiceKind::UDP, 53).packed);

double Median(std::vector<double> &v) {
    const size_t mid = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + mid, v.end());
    const double upper = v[mid];
    if (v.size() % 2) return upper;
    return (*std::max_element(v.begin(), v.begin() + mid) + upper) / 2;
}

double PoissonFloor(double expected) { return std::sqrt(std::max(expected, 0.0)) + 1; }

/// The median of values[i - window, i) and its scale: 1.4826 MAD, floored by the Poisson floor of the median.
std::pair<double, double> MadBaseline(const std::vector<double> &values, size_t i, size_t window,
                                      std::vector<double> &buf) {
    const size_t lo = i > window ? i - window : 0;
    buf.assign(values.begin() + lo, values.begin() + i);
    const double median = Median(buf);
    for (double &v : buf)
        v = std::abs(v - median);
    return {median, std::max(MAD_TO_SIGMA * Median(buf), PoissonFloor(median))};
}

/// Periods below skip_below are left unscored: an event needs x >= min_excess, and the medians are the
/// costly part of a long hourly series.
Baseline ComputeBaseline(const std::vector<double> &values, const SeriesOptions &o, double skip_below) {
    const size_t n = values.size();
    Baseline b;
    b.expected.assign(n, 0);
    b.scale.assign(n, 0);
    b.history_mean.assign(n, 0);
    b.score.assign(n, 0);
    b.scored.assign(n, false);
    const size_t window = size_t(std::max(o.window, 1));
    const size_t min_history = size_t(std::max(o.min_history, 1));
    std::vector<double> prefix(n + 1, 0);
    for (size_t i = 0; i < n; ++i)
        prefix[i + 1] = prefix[i] + values[i];
    auto trailing_mean = [&](size_t i) {
        const size_t lo = i > window ? i - window : 0;
        return i > lo ? (prefix[i] - prefix[lo]) / double(i - lo) : 0.0;
    };

    if (o.method == "mad") {
        std::vector<double> buf;
        for (size_t i = min_history; i < n; ++i) {
            if (values[i] < skip_below) continue;
            const auto [median, scale] = MadBaseline(values, i, window, buf);
            b.expected[i] = median;
            b.scale[i] = scale;
            b.history_mean[i] = trailing_mean(i);
            b.score[i] = (values[i] - median) / b.scale[i];
            b.scored[i] = true;
        }
    } else if (o.method == "ewma") {
        if (n <= min_history) return b;
        // Seeded by the first min_history periods' mean and variance, then Finch's (2009) incremental
        // exponentially weighted mean and variance.
        const double alpha = 2.0 / (std::max(o.ewma_span, 1) + 1.0);
        double mean = prefix[min_history] / double(min_history), var = 0;
        for (size_t i = 0; i < min_history; ++i)
            var += (values[i] - mean) * (values[i] - mean);
        var /= double(min_history);
        for (size_t i = min_history; i < n; ++i) {
            const double sd = std::max(std::sqrt(var), PoissonFloor(mean));
            b.expected[i] = mean;
            b.scale[i] = sd;
            b.history_mean[i] = trailing_mean(i);
            b.score[i] = (values[i] - mean) / sd;
            b.scored[i] = true;
            const double delta = std::min(values[i], mean + o.threshold * sd) - mean;
            mean += alpha * delta;
            var = (1 - alpha) * (var + alpha * delta * delta);
        }
    } else {
        throw std::invalid_argument(fmt::format("unknown surge method '{}' (mad, ewma)", o.method));
    }
    return b;
}

double Excess(double observed, double expected) { return observed - expected; }

bool Anomalous(const Baseline &b, const std::vector<double> &values, size_t i, const SeriesOptions &o) {
    const double threshold = i < size_t(std::max(o.cycle, 0)) ? 2 * o.threshold : o.threshold;
    if (!b.scored[i] || b.score[i] < threshold) return false;
    return Excess(values[i], b.expected[i]) >= std::max(o.min_excess, o.min_rise * b.expected[i]);
}

int64_t PeriodSeconds(Granularity g) { return g == Granularity::HOUR ? SECONDS_PER_HOUR : SECONDS_PER_DAY; }
TimestampNs PeriodStart(Granularity g, int64_t period) { return period * PeriodSeconds(g) * NS_PER_SEC; }

std::string Thousands(double value) { return GroupDigits(uint64_t(std::llround(std::max(value, 0.0)))); }

std::string WhenEn(Granularity g, TimestampNs ts) {
    if (g == Granularity::DAY) return "on " + FormatDay(DayOf(ts));
    return fmt::format("on {} at {:02d}:00 UTC", FormatDay(DayOf(ts)), HourOf(ts) - DayOf(ts) * 24);
}

std::string WhenJa(Granularity g, TimestampNs ts) {
    const std::string day = FormatDay(DayOf(ts));  // YYYY-MM-DD
    std::string out =
        fmt::format("{}年{}月{}日", day.substr(0, 4), std::stoi(day.substr(5, 2)), std::stoi(day.substr(8, 2)));
    if (g == Granularity::HOUR) out += fmt::format("{}時(UTC)", HourOf(ts) - DayOf(ts) * 24);
    return out;
}

/// The packets of the series in the register of the NPA and JPCERT/CC reports: "23/TCP宛てのパケット".
std::string SubjectJa(Dimension dim, uint32_t key) {
    switch (dim) {
        case Dimension::SERVICE:
            return ServiceKey{key}.ToString() + "宛てのパケット";
        case Dimension::COUNTRY:
            return CountryCode(uint16_t(key)) + "からのパケット";
        case Dimension::COUNTRY_SERVICE:
            return CountryCode(CountryOfKey(key)) + "から" + ServiceOfKey(key).ToString() + "宛てのパケット";
        case Dimension::CLASS_SOURCE_PORT:
            return "送信元ポート" + ServiceKey{SourcePortOfClassKey(key)}.ToString() + "のDNS応答パケット";
        default:
            return SeriesSubject(dim, key) + "のパケット";
    }
}

std::string GranularityName(Granularity g) { return g == Granularity::HOUR ? "hour" : "day"; }

/// Where a series was counted: every sensor summed, one sensor, or a group of sensors that share a provider or a
/// location (the 2024Q4 reflection bursts that only the cloud provider's sensors saw).
struct Scope {
    enum Kind : uint8_t { ALL, SENSOR, GROUP } kind = ALL;
    std::string name;                       // the sensor's; the group's provider or location
    std::string by;                         // GROUP: "provider" or "location"
    std::vector<uint32_t> members;          // GROUP: dense sensor indices, ascending
    std::vector<std::string> member_names;  // GROUP: in the same order
    std::vector<int64_t> member_ids;        // GROUP: store ids, ascending (for SeriesWant)
    uint32_t index = 0;                     // SENSOR: its dense index

    bool Holds(uint32_t sensor) const {
        if (kind == SENSOR) return sensor == index;
        return kind == ALL || std::binary_search(members.begin(), members.end(), sensor);
    }
    /// " at sensor tokyo-1", " at the sensors of cloud provider X (cloud-1, cloud-2)"; empty for all.
    std::string En() const {
        if (kind == SENSOR) return fmt::format(" at sensor {}", name);
        if (kind == GROUP)
            return fmt::format(" at the sensors {} {} ({})", by == "location" ? "in" : "of", name,
                               fmt::join(member_names, ", "));
        return "";
    }
    std::string Ja() const {
        if (kind == SENSOR) return fmt::format("センサー{}で", name);
        if (kind == GROUP) return fmt::format("{}のセンサー（{}）で", name, fmt::join(member_names, "、"));
        return "";
    }
};

void WriteSentences(DetectedEvent &e, Dimension dim, uint32_t key, Granularity g, double observed, double baseline,
                    double score, const Scope &scope) {
    const std::string per = g == Granularity::HOUR ? "hour" : "day";
    const std::string at_sensor = scope.En();
    const std::string ja_sensor = scope.Ja();
    const std::string when_en = WhenEn(g, e.peak), when_ja = WhenJa(g, e.peak);
    if (e.kind == EventKind::NEW_SERVICE) {
        e.sentence_en = fmt::format(
            "{} appeared{} {}: {} packets from {} sources in its peak {}, against a baseline "
            "of {:.1f} (score {:.0f})",
            e.subject, at_sensor, WhenEn(g, e.start), Thousands(observed), Thousands(double(e.sources)), per, baseline,
            score);
        e.sentence_ja = fmt::format(
            "{}から、{}これまでほとんど観測されていなかった{}が観測されました（ピーク時{}パケット、"
            "送信元{}件）。",
            WhenJa(g, e.start), ja_sensor, SubjectJa(dim, key), Thousands(observed), Thousands(double(e.sources)));
    } else if (baseline < 1) {
        // A ratio to a baseline below one packet says nothing; the counts do.
        e.sentence_en = fmt::format("{} rose{} from a baseline of {:.1f} to {} packets per {} {} (score {:.0f})",
                                    e.subject, at_sensor, baseline, Thousands(observed), per, when_en, score);
        e.sentence_ja = fmt::format("{}、{}{}が急増しました（ベースライン{:.1f}パケットに対し{}パケット）。", when_ja,
                                    ja_sensor, SubjectJa(dim, key), baseline, Thousands(observed));
    } else {
        const double ratio = observed / baseline;
        e.sentence_en = fmt::format("{} rose{} to {:.1f} times its baseline {} (score {:.0f})", e.subject, at_sensor,
                                    ratio, when_en, score);
        e.sentence_ja = fmt::format("{}、{}{}が急増しました（ベースラインの{:.1f}倍）。", when_ja, ja_sensor,
                                    SubjectJa(dim, key), ratio);
    }
}

/// An event with what DetectSurges needs to complete it (regions, sensors, exact sources).
struct RawEvent {
    DetectedEvent event;
    Dimension dim = Dimension::SERVICE;
    uint32_t key = 0;
    const Scope *scope = nullptr;
    size_t onset = 0;                      // where the rise began (Onset), <= first
    size_t first = 0, peak = 0, last = 0;  // indices into the series: the first scored period, the peak, the last
    double observed = 0, baseline = 0;     // at the peak; the baseline at the first scored period
};

/// Period i's baseline and score against its own history. ComputeBaseline leaves the median's periods below
/// min_excess unscored, for speed; Onset needs a few of them, computed here. Nothing without history.
std::optional<std::pair<double, double>> BaselineAt(const std::vector<double> &x, const Baseline &b, size_t i,
                                                    const SeriesOptions &o) {
    if (b.scored[i]) return std::pair{b.expected[i], b.score[i]};
    if (o.method != "mad" || i < size_t(std::max(o.min_history, 1))) return std::nullopt;
    std::vector<double> buf;
    const auto [median, scale] = MadBaseline(x, i, size_t(std::max(o.window, 1)), buf);
    return std::pair{median, (x[i] - median) / scale};
}

/// Where a rise began: after the last period before `first` (the one the detector fired on) that scored below
/// ONSET_LEVEL against its own baseline. A sudden rise begins at `first`; a ramp begins where it left the noise,
/// which a threshold of 6 deviations finds hours or days later (the demo's CN 23/TCP ramp fired two hours in,
/// 2014-02's open resolvers three days in). Each period against its own history, not against `first`'s: the moving
/// average at `first` has taken in the ramp's start. Never before `from`.
size_t Onset(const std::vector<double> &x, const Baseline &b, const SeriesOptions &o, size_t from, size_t first) {
    size_t onset = first;
    while (onset > from) {
        const auto at = BaselineAt(x, b, onset - 1, o);
        if (!at || at->second < ONSET_LEVEL) break;
        --onset;
    }
    return onset;
}

std::vector<RawEvent> Detect(const Series &s, const SeriesOptions &o, const Scope &scope) {
    std::vector<RawEvent> out;
    const std::vector<double> &x = s.packets;
    const Baseline b = ComputeBaseline(x, o, o.min_excess);
    const size_t gap = size_t(std::max(o.gap, 0));
    const std::string subject = SeriesSubject(s.dim, s.key);
    const bool dns = s.dim == Dimension::CLASS_SOURCE_PORT;
    const bool has_service = s.dim == Dimension::SERVICE || s.dim == Dimension::COUNTRY_SERVICE;

    size_t free_from = 0;  // the periods after the previous event: an onset never reaches into it
    auto emit = [&](size_t first, size_t last) {
        const size_t lo_onset = std::max(free_from, first > size_t(o.window) ? first - size_t(o.window) : 0);
        free_from = last + 1;
        const size_t onset = Onset(x, b, o, lo_onset, first);
        size_t peak = first;
        for (size_t i = first; i <= last; ++i)
            if (Anomalous(b, x, i, o) && b.score[i] > b.score[peak]) peak = i;
        // The baseline at the onset: later periods' trailing windows already hold the event's own rise.
        const auto at_onset = onset < first ? BaselineAt(x, b, onset, o) : std::nullopt;
        const double base = at_onset ? at_onset->first : b.expected[first];
        double excess = 0, total = 0;
        for (size_t i = onset; i <= last; ++i) {
            total += x[i];
            excess += std::max(0.0, x[i] - base);
        }
        const bool from_zero = base < o.near_zero && b.history_mean[first] < o.near_zero;
        // A rise carried by one or two new sources is one heavy scanner or victim arriving: the scan and
        // backscatter detectors report those by address. A surge is more sources, not only more packets.
        double sources_before = 0;
        if (!s.sources.empty() && peak < s.sources.size()) {
            const size_t lo = first > size_t(o.window) ? first - size_t(o.window) : 0;
            std::vector<double> history(s.sources.begin() + lo, s.sources.begin() + first);
            if (!history.empty()) {
                std::nth_element(history.begin(), history.begin() + history.size() / 2, history.end());
                sources_before = history[history.size() / 2];
            }
            if (s.sources[peak] - sources_before < o.min_source_rise) return;
            if (s.sources[peak] < o.min_source_ratio * sources_before) return;
        }
        RawEvent r;
        r.dim = s.dim;
        r.key = s.key;
        r.scope = &scope;
        r.onset = onset;
        r.first = first;
        r.peak = peak;
        r.last = last;
        r.observed = x[peak];
        r.baseline = base;
        DetectedEvent &e = r.event;
        e.kind =
            dns ? EventKind::DNS_REFLECTION : (from_zero && has_service ? EventKind::NEW_SERVICE : EventKind::SURGE);
        e.detector = "surge." + o.method;
        e.subject = subject;
        e.start = PeriodStart(o.granularity, s.first_period + int64_t(onset));
        e.peak = PeriodStart(o.granularity, s.first_period + int64_t(peak));
        e.end = PeriodStart(o.granularity, s.first_period + int64_t(last) + 1);
        e.magnitude = b.score[peak];
        e.packets = uint64_t(std::llround(excess));
        e.sources = peak < s.sources.size() ? uint64_t(std::llround(s.sources[peak])) : 0;
        if (scope.kind == Scope::SENSOR) e.sensors.push_back(scope.name);
        if (s.dim == Dimension::COUNTRY) e.regions.push_back(CountryCode(uint16_t(s.key)));
        if (s.dim == Dimension::COUNTRY_SERVICE) e.regions.push_back(CountryCode(CountryOfKey(s.key)));

        auto &ev = e.evidence;
        ev["method"] = o.method;
        ev["granularity"] = GranularityName(o.granularity);
        ev["dimension"] = std::string(DimensionName(s.dim));
        ev["key"] = s.key;
        ev["sensor"] = scope.kind == Scope::ALL ? "all" : scope.kind == Scope::SENSOR ? scope.name : "group";
        if (scope.kind == Scope::GROUP)
            ev["sensor_group"] = {{"by", scope.by}, {"name", scope.name}, {"sensors", scope.member_names}};
        ev["baseline"] = base;
        ev["baseline_at_peak"] = b.expected[peak];
        ev["scale_at_peak"] = b.scale[peak];
        ev["observed_at_peak"] = x[peak];
        ev["score"] = b.score[peak];
        ev["threshold"] = first < size_t(std::max(o.cycle, 0)) ? 2 * o.threshold : o.threshold;  // see cycle
        ev["min_excess"] = std::max(o.min_excess, o.min_rise * b.expected[peak]);
        ev["window"] = o.window;
        ev["periods"] = last - onset + 1;
        ev["detected_at"] = FormatTimestamp(PeriodStart(o.granularity, s.first_period + int64_t(first)));
        ev["onset"] = "after the last period that scored below 2";
        ev["excess_packets"] = excess;
        ev["total_packets"] = total;
        ev["packets_counted"] = "excess over the baseline at the start, summed over the event's periods";
        ev["from_zero"] = from_zero;
        ev["sources_before"] = sources_before;
        ev["min_source_ratio"] = o.min_source_ratio;
        const size_t lo = onset > EVIDENCE_CONTEXT ? onset - EVIDENCE_CONTEXT : 0;
        const size_t hi = std::min({x.size(), last + 1 + EVIDENCE_CONTEXT, lo + EVIDENCE_MAX_VALUES});
        ev["series"] = {{"first", FormatTimestamp(PeriodStart(o.granularity, s.first_period + int64_t(lo)))},
                        {"packets", std::vector<double>(x.begin() + lo, x.begin() + hi)}};
        e.detected = PeriodStart(o.granularity, s.first_period + int64_t(first));
        WriteSentences(e, s.dim, s.key, o.granularity, x[peak], base, b.score[peak], scope);
        out.push_back(std::move(r));
    };

    bool open = false;
    size_t first = 0, last = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        if (!Anomalous(b, x, i, o)) continue;
        if (open && i - last - 1 <= gap) {
            last = i;
            continue;
        }
        if (open) emit(first, last);
        open = true;
        first = last = i;
    }
    if (open) emit(first, last);
    return out;
}

/// The median of values[index - window, index), or 0 without history: what a region's or a sensor's
/// share of an event is measured against.
double TrailingMedian(const std::vector<double> &values, size_t index, int window) {
    const size_t lo = index > size_t(window) ? index - size_t(window) : 0;
    if (index <= lo) return 0;
    std::vector<double> buf(values.begin() + lo, values.begin() + index);
    return Median(buf);
}

// Series are keyed by dimension, key and dense sensor index (ALL for the sum).
constexpr uint32_t ALL_SENSORS = 0xFFFF;
uint64_t PackSeries(Dimension dim, uint32_t key, uint32_t sensor) {
    return uint64_t(uint8_t(dim)) << 56 | uint64_t(sensor & 0xFFFF) << 32 | key;
}
uint64_t SeriesOf(uint64_t packed) { return packed & ~(uint64_t(0xFFFF) << 32); }  // without the sensor

/// The series of a region dimension that split an event's series by country, and the country of a key.
std::optional<Dimension> RegionDimension(Dimension dim) {
    if (dim == Dimension::SERVICE) return Dimension::COUNTRY_SERVICE;
    if (dim == Dimension::CLASS_SOURCE_PORT) return Dimension::CLASS_COUNTRY;
    return std::nullopt;
}
bool RegionKeyBelongs(Dimension dim, uint32_t event_key, uint32_t region_key) {
    if (dim == Dimension::SERVICE) return ServiceOfKey(region_key).packed == event_key;
    return ClassOfCountryKey(region_key) == uint8_t(TrafficClass::DNS_RESPONSE);
}
uint16_t RegionCountry(Dimension dim, uint32_t region_key) {
    return dim == Dimension::SERVICE ? CountryOfKey(region_key) : CountryOfClassKey(region_key);
}

/// Sources of a series, sorted and unique once Normalize has run.
struct AddressList {
    std::vector<uint32_t> v4;
    std::vector<Ipv6Bytes> v6;
    void Add(const CounterRecord &r) {
        v4.insert(v4.end(), r.sources_v4.begin(), r.sources_v4.end());
        v6.insert(v6.end(), r.sources_v6.begin(), r.sources_v6.end());
    }
    void Normalize() {
        std::sort(v4.begin(), v4.end());
        v4.erase(std::unique(v4.begin(), v4.end()), v4.end());
        std::sort(v6.begin(), v6.end());
        v6.erase(std::unique(v6.begin(), v6.end()), v6.end());
    }
    size_t Size() const { return v4.size() + v6.size(); }
};

/// A series wanted at one period, for the caller's item `index` (and `role`, what the caller wants it for): a key
/// of the scanned dimension at one sensor, or at every sensor (sensor_id -1).
struct SeriesWant {
    uint32_t key = 0;
    int64_t sensor_id = -1;
    size_t index = 0;
    uint8_t role = 0;
    const std::vector<int64_t> *sensor_ids = nullptr;  // a group's sensors (ascending) instead of sensor_id
};

/// Calls f(row, want) for every stored row of (dim, period) that belongs to a wanted series: one decode of the
/// period's segments, whatever the number of series asked. The sensors are those of sensor_index: the unattributed
/// pseudo-sensor's rows belong to no series. Sorts `wants` by key.
void ScanWantedSeries(Store &store, Granularity g, Dimension dim, int64_t period, std::vector<SeriesWant> &wants,
                      const std::unordered_map<int64_t, uint32_t> &sensor_index,
                      const std::function<void(const CounterRecord &, const SeriesWant &)> &f) {
    auto by_key = [](const SeriesWant &a, const SeriesWant &b) { return a.key < b.key; };
    std::sort(wants.begin(), wants.end(), by_key);
    store.ScanCounters(g, dim, period, period, [&](const CounterRecord &r) {
        if (!sensor_index.count(r.sensor_id)) return;
        const auto [lo, hi] =
            std::equal_range(wants.begin(), wants.end(), SeriesWant{r.key, -1, 0, 0, nullptr}, by_key);
        for (auto it = lo; it != hi; ++it) {
            const bool in = it->sensor_ids
                                ? std::binary_search(it->sensor_ids->begin(), it->sensor_ids->end(), r.sensor_id)
                                : it->sensor_id < 0 || it->sensor_id == r.sensor_id;
            if (in) f(r, *it);
        }
    });
}

/// Marks the members of `peak` (sorted) that appear in `row` (sorted), searching the shorter in the longer.
template <typename T>
void MarkSeen(const std::vector<T> &peak, std::vector<bool> &seen, std::span<const T> row) {
    if (row.size() < peak.size()) {
        for (const T &address : row) {
            auto it = std::lower_bound(peak.begin(), peak.end(), address);
            if (it != peak.end() && *it == address) seen[size_t(it - peak.begin())] = true;
        }
    } else {
        for (size_t i = 0; i < peak.size(); ++i)
            if (!seen[i] && std::binary_search(row.begin(), row.end(), peak[i])) seen[i] = true;
    }
}

/// The groups of sensors that share a provider, then those that share a location: two sensors or more and not every
/// sensor (that is the all-sensor sum already), each set of sensors once.
std::vector<Scope> SensorGroups(const std::vector<StoredSensor> &sensors) {
    std::vector<Scope> out;
    std::set<std::vector<uint32_t>> made;
    for (const std::string_view by : {"provider", "location"}) {
        std::map<std::string, std::vector<uint32_t>> groups;
        for (uint32_t i = 0; i < sensors.size(); ++i) {
            const Sensor &s = sensors[i].sensor;
            const std::string &value = by == "provider" ? s.provider : s.location;
            if (!value.empty()) groups[value].push_back(i);
        }
        for (auto &[value, members] : groups) {
            if (members.size() < 2 || members.size() == sensors.size() || !made.insert(members).second) continue;
            Scope group;
            group.kind = Scope::GROUP;
            group.by = std::string(by);
            group.name = value;
            group.members = members;
            for (uint32_t m : members) {
                group.member_names.push_back(sensors[m].sensor.name);
                group.member_ids.push_back(sensors[m].id);
            }
            std::sort(group.member_ids.begin(), group.member_ids.end());
            out.push_back(std::move(group));
        }
    }
    return out;
}

/// A daily event's onset is a day; its hours say when in that day the rise began. Page's CUSUM runs over the event's
/// hourly series from the onset day's first hour to the end of the day it was detected, on the scores against the
/// hourly baseline (the hourly defaults' moving average, over the week of hours before as history); the rise began
/// after the last hour the sum was zero before it first reached ONSET_ALARM. Without an alarm (a rise too slow to
/// show in hours) the day stays.
void RefineOnsetsToHours(Store &store, std::vector<RawEvent> &events,
                         const std::unordered_map<int64_t, uint32_t> &sensor_index, int64_t first_day) {
    constexpr int64_t HOURS_BEFORE = 7 * 24;
    const SeriesOptions hourly = SeriesOptions::ForGranularity(Granularity::HOUR);
    for (RawEvent &r : events) {
        const int64_t onset_day = first_day + int64_t(r.onset);
        const int64_t from = (onset_day * 24) - HOURS_BEFORE, to = (first_day + int64_t(r.first) + 1) * 24;
        std::vector<double> hours(size_t(to - from), 0);
        store.ScanCounts(Granularity::HOUR, r.dim, from, to - 1, [&](const CounterRecord &c) {
            if (c.key != r.key) return;
            auto it = sensor_index.find(c.sensor_id);
            if (it == sensor_index.end() || !r.scope->Holds(it->second)) return;
            hours[size_t(c.period - from)] += double(c.packets);
        });
        const Baseline b = ComputeBaseline(hours, hourly, 0);
        double sum = 0;
        size_t onset = size_t(HOURS_BEFORE);
        bool alarm = false;
        for (size_t i = size_t(HOURS_BEFORE); i < hours.size() && !alarm; ++i) {
            sum = std::max(0.0, sum + b.score[i] - ONSET_SLACK);
            if (sum == 0) onset = i + 1;
            alarm = sum >= ONSET_ALARM;
        }
        if (!alarm) continue;
        DetectedEvent &e = r.event;
        e.start = PeriodStart(Granularity::HOUR, from + int64_t(onset));
        e.peak = std::max(e.peak, e.start);
        e.evidence["onset"] =
            "after the last day that scored below 2; in that day, Page's CUSUM (k 0.5, h 5) of "
            "the hourly scores against the hourly moving average";
    }
}

}  // namespace

Baseline ScoreSeries(const std::vector<double> &values, const SeriesOptions &options) {
    return ComputeBaseline(values, options, -std::numeric_limits<double>::infinity());
}

std::vector<double> Score(const std::vector<double> &values, const SeriesOptions &options) {
    return ScoreSeries(values, options).score;
}

std::string SeriesSubject(Dimension dim, uint32_t key) {
    switch (dim) {
        case Dimension::SERVICE:
            return ServiceKey{key}.ToString();
        case Dimension::COUNTRY:
            return CountryCode(uint16_t(key));
        case Dimension::COUNTRY_SERVICE:
            return CountryCode(CountryOfKey(key)) + " " + ServiceOfKey(key).ToString();
        case Dimension::CLASS_SOURCE_PORT:
            return ServiceKey{SourcePortOfClassKey(key)}.ToString() + " responses";
        default:
            return fmt::format("{} {}", DimensionName(dim), key);
    }
}

std::vector<DetectedEvent> DetectInSeries(const Series &series, const SeriesOptions &options,
                                          std::string_view sensor_name) {
    std::vector<DetectedEvent> out;
    Scope scope;
    if (!sensor_name.empty()) {
        scope.kind = Scope::SENSOR;
        scope.name = std::string(sensor_name);
    }
    for (RawEvent &r : Detect(series, options, scope))
        out.push_back(std::move(r.event));
    return out;
}

std::vector<DetectedEvent> DetectSurges(Store &store, int64_t from_period, int64_t to_period,
                                        const SeriesOptions &options) {
    const Granularity g = options.granularity;
    ComputeBaseline({}, options, 0);  // rejects an unknown method before any scan

    // Sensors by dense index; the unattributed pseudo-sensor's packets reached no sensor and count nowhere.
    std::unordered_map<int64_t, uint32_t> sensor_index;
    std::vector<StoredSensor> sensors;
    for (StoredSensor &s : store.LoadSensors()) {
        if (s.unattributed) continue;
        sensor_index[s.id] = uint32_t(sensors.size());
        sensors.push_back(std::move(s));
    }
    auto wanted = [&](Dimension dim, uint32_t key) {
        return dim != Dimension::CLASS_SOURCE_PORT || key == DNS_RESPONSE_KEY;
    };
    // Scopes by index: each sensor alone, then the groups (SensorGroups); every sensor summed is all_sensors.
    std::vector<Scope> scopes(sensors.size());
    for (uint32_t i = 0; i < sensors.size(); ++i) {
        scopes[i].kind = Scope::SENSOR;
        scopes[i].name = sensors[i].sensor.name;
        scopes[i].index = i;
    }
    if (options.per_group)
        for (Scope &group : SensorGroups(sensors))
            scopes.push_back(std::move(group));
    const Scope all_sensors;

    // Pass 1: each series' largest period per sensor, and the periods that hold data at all. A series
    // whose sensors' maxima add up to less than min_excess cannot have an event (its sum never reaches it).
    std::unordered_map<uint64_t, double> peak_sum;  // by series without sensor: sum over sensors of their max
    std::unordered_map<uint64_t, double> sensor_max;
    int64_t data_from = to_period + 1, data_to = from_period - 1;
    for (Dimension dim : options.dims) {
        store.ScanCounts(g, dim, from_period, to_period, [&](const CounterRecord &r) {
            auto it = sensor_index.find(r.sensor_id);
            if (it == sensor_index.end() || !wanted(dim, r.key)) return;
            data_from = std::min(data_from, r.period);
            data_to = std::max(data_to, r.period);
            double &m = sensor_max[PackSeries(dim, r.key, it->second)];
            m = std::max(m, double(r.packets));
        });
    }
    if (data_from > data_to) return {};
    for (const auto &[packed, m] : sensor_max)
        peak_sum[SeriesOf(packed)] += m;

    // Pass 2: the kept series, per sensor, dense from the first period with data to the last.
    const size_t n = size_t(data_to - data_from + 1);
    std::unordered_map<uint64_t, Series> series;  // per sensor, and ALL_SENSORS for the sums
    for (Dimension dim : options.dims) {
        store.ScanCounts(g, dim, data_from, data_to, [&](const CounterRecord &r) {
            auto it = sensor_index.find(r.sensor_id);
            if (it == sensor_index.end() || !wanted(dim, r.key)) return;
            auto kept = peak_sum.find(PackSeries(dim, r.key, 0));
            if (kept == peak_sum.end() || kept->second < options.min_excess) return;
            Series &s = series[PackSeries(dim, r.key, it->second)];
            if (s.packets.empty()) {
                s.dim = dim;
                s.key = r.key;
                s.sensor_id = r.sensor_id;
                s.first_period = data_from;
                s.packets.assign(n, 0);
                s.sources.assign(n, 0);
            }
            s.packets[size_t(r.period - data_from)] += double(r.packets);
            s.sources[size_t(r.period - data_from)] += double(r.unique_sources);
        });
    }
    std::vector<uint64_t> per_sensor_keys;
    for (const auto &[packed, s] : series)
        per_sensor_keys.push_back(packed);
    std::sort(per_sensor_keys.begin(), per_sensor_keys.end());  // a deterministic order of events
    // The sums: over every sensor (ALL_SENSORS) and over each group's sensors (their scope index).
    auto add_into = [&](uint64_t into, const Series &s) {
        Series &sum = series[into];
        if (sum.packets.empty()) {
            sum = s;
            sum.sensor_id = -1;
            return;
        }
        for (size_t i = 0; i < n; ++i) {
            sum.packets[i] += s.packets[i];
            // The largest sensor's count: a lower bound of the union (one source at six sensors is one
            // source, not six), which min_source_rise needs; the peak's exact union replaces it below.
            sum.sources[i] = std::max(sum.sources[i], s.sources[i]);
        }
    };
    std::set<uint64_t> sums, group_sums;
    for (uint64_t packed : per_sensor_keys) {
        const Series &s = series[packed];  // unordered_map: references survive the inserts of add_into
        const uint32_t sensor = uint32_t(packed >> 32) & 0xFFFF;
        add_into(PackSeries(s.dim, s.key, ALL_SENSORS), s);
        sums.insert(SeriesOf(packed) | uint64_t(ALL_SENSORS) << 32);
        for (size_t gi = sensors.size(); gi < scopes.size(); ++gi)
            if (scopes[gi].Holds(sensor)) {
                add_into(PackSeries(s.dim, s.key, uint32_t(gi)), s);
                group_sums.insert(SeriesOf(packed) | uint64_t(gi) << 32);
            }
    }

    std::vector<RawEvent> all, grouped, single;
    for (uint64_t packed : per_sensor_keys) {
        const uint32_t sensor = uint32_t(packed >> 32) & 0xFFFF;
        if (options.per_sensor && sensors.size() > 1)
            for (RawEvent &r : Detect(series[packed], options, scopes[sensor]))
                single.push_back(std::move(r));
    }
    for (uint64_t packed : group_sums)
        for (RawEvent &r : Detect(series[packed], options, scopes[(packed >> 32) & 0xFFFF]))
            grouped.push_back(std::move(r));
    for (uint64_t packed : sums)
        for (RawEvent &r : Detect(series[packed], options, all_sensors))
            all.push_back(std::move(r));

    // Each all-sensor and group event: the sensors of its scope whose own series rose at its peak (largest rise
    // first); those where a narrower detection found it too are added as they fold in below.
    for (std::vector<RawEvent> *list : {&all, &grouped})
        for (RawEvent &r : *list) {
            std::vector<std::pair<double, std::string>> rises;
            for (size_t idx = 0; idx < sensors.size(); ++idx) {
                if (!r.scope->Holds(uint32_t(idx))) continue;
                auto it = series.find(PackSeries(r.dim, r.key, uint32_t(idx)));
                if (it == series.end()) continue;
                const double rise =
                    it->second.packets[r.peak] - TrailingMedian(it->second.packets, r.first, options.window);
                if (rise > 0) rises.emplace_back(rise, sensors[idx].sensor.name);
            }
            std::stable_sort(rises.begin(), rises.end(),
                             [](const auto &a, const auto &b) { return a.first > b.first; });
            for (auto &[rise, name] : rises)
                r.event.sensors.push_back(name);
            r.event.evidence["sensors_detected"] = nlohmann::ordered_json::array();
        }
    // A narrower event that overlaps a wider one of the same series is the same change, seen from fewer sensors: it
    // folds into the widest (a group's into every sensor's, a sensor's into every sensor's or its group's).
    auto overlapping = [](std::vector<RawEvent> &wider, const RawEvent &e, uint32_t sensor) -> RawEvent * {
        for (RawEvent &w : wider)
            if (w.dim == e.dim && w.key == e.key && e.event.start < w.event.end && w.event.start < e.event.end &&
                (sensor == ALL_SENSORS || w.scope->Holds(sensor)))
                return &w;
        return nullptr;
    };
    auto note = [](RawEvent &into, const char *field, const std::string &name) {
        auto &detected = into.event.evidence[field];
        if (!detected.is_array()) detected = nlohmann::ordered_json::array();
        if (std::find(detected.begin(), detected.end(), name) == detected.end()) detected.push_back(name);
    };
    std::vector<RawEvent> groups_kept;
    for (RawEvent &gr : grouped) {
        if (RawEvent *into = overlapping(all, gr, ALL_SENSORS))
            note(*into, "groups_detected", fmt::format("{} {}", gr.scope->by, gr.scope->name));
        else
            groups_kept.push_back(std::move(gr));
    }
    std::vector<RawEvent> events;
    for (RawEvent &s : single) {
        const uint32_t sensor = s.scope->index;
        RawEvent *into = overlapping(all, s, ALL_SENSORS);
        if (!into) into = overlapping(groups_kept, s, sensor);
        if (!into) {
            events.push_back(std::move(s));
            continue;
        }
        note(*into, "sensors_detected", s.scope->name);
        if (std::find(into->event.sensors.begin(), into->event.sensors.end(), s.scope->name) ==
            into->event.sensors.end())
            into->event.sensors.push_back(s.scope->name);
    }
    for (RawEvent &gr : groups_kept)
        events.push_back(std::move(gr));
    for (RawEvent &a : all)
        events.push_back(std::move(a));

    // Regions of service and DNS events: the countries whose own series rose most at the peak, from the
    // country x service (or DNS class x country) counters of the same sensors.
    std::map<Dimension, std::vector<RawEvent *>> by_region_dim;
    for (RawEvent &r : events)
        if (auto rd = RegionDimension(r.dim)) by_region_dim[*rd].push_back(&r);
    for (auto &region_entry : by_region_dim) {
        // A plain reference, not a structured binding: clang before 16 cannot capture those in a lambda.
        const Dimension region_dim = region_entry.first;
        std::vector<RawEvent *> &list = region_entry.second;
        std::unordered_map<uint64_t, std::vector<double>> region_series;  // (event index, country) -> packets
        store.ScanCounts(g, region_dim, data_from, data_to, [&](const CounterRecord &r) {
            auto it = sensor_index.find(r.sensor_id);
            if (it == sensor_index.end()) return;
            for (size_t ev_idx = 0; ev_idx < list.size(); ++ev_idx) {
                const RawEvent &e = *list[ev_idx];
                if (!RegionKeyBelongs(e.dim, e.key, r.key)) continue;
                if (!e.scope->Holds(it->second)) continue;
                auto &v = region_series[uint64_t(ev_idx) << 16 | RegionCountry(e.dim, r.key)];
                if (v.empty()) v.assign(n, 0);
                v[size_t(r.period - data_from)] += double(r.packets);
            }
        });
        std::vector<std::vector<std::pair<double, uint16_t>>> rises(list.size());
        for (const auto &[packed, v] : region_series) {
            const RawEvent &e = *list[packed >> 16];
            const double rise = v[e.peak] - TrailingMedian(v, e.first, options.window);
            if (rise > 0) rises[packed >> 16].emplace_back(rise, uint16_t(packed & 0xFFFF));
        }
        for (size_t ev_idx = 0; ev_idx < list.size(); ++ev_idx) {
            auto &r = rises[ev_idx];
            std::sort(r.begin(), r.end(), [](const auto &a, const auto &b) {
                return a.first != b.first ? a.first > b.first : a.second < b.second;
            });
            if (r.size() > MAX_REGIONS) r.resize(MAX_REGIONS);
            auto &ev = list[ev_idx]->event;
            ev.evidence["region_rise_at_peak"] = nlohmann::ordered_json::object();
            for (auto &[rise, country] : r) {
                ev.regions.push_back(CountryCode(country));
                ev.evidence["region_rise_at_peak"][CountryCode(country)] = rise;
            }
        }
    }

    // The sources at the peak of the all-sensor and group events: the union of their sensors' source sets, not
    // their sum.
    std::map<std::pair<Dimension, int64_t>, std::vector<RawEvent *>> by_peak;
    for (RawEvent &r : events)
        if (r.scope->kind != Scope::SENSOR && sensors.size() > 1)
            by_peak[{r.dim, data_from + int64_t(r.peak)}].push_back(&r);
    for (auto &[dim_period, list] : by_peak) {
        std::vector<SeriesWant> wants;
        for (size_t i = 0; i < list.size(); ++i) {
            const Scope &scope = *list[i]->scope;
            wants.push_back({list[i]->key, -1, i, 0, scope.kind == Scope::GROUP ? &scope.member_ids : nullptr});
        }
        std::vector<AddressList> united(list.size());
        ScanWantedSeries(store, g, dim_period.first, dim_period.second, wants, sensor_index,
                         [&](const CounterRecord &r, const SeriesWant &w) { united[w.index].Add(r); });
        for (size_t i = 0; i < list.size(); ++i) {
            united[i].Normalize();
            list[i]->event.sources = united[i].Size();
        }
    }

    if (g == Granularity::DAY) RefineOnsetsToHours(store, events, sensor_index, data_from);

    std::vector<DetectedEvent> out;
    for (RawEvent &r : events) {
        if (r.scope->kind != Scope::SENSOR)  // the source count changed
            WriteSentences(r.event, r.dim, r.key, g, r.observed, r.baseline, r.event.magnitude, *r.scope);
        out.push_back(std::move(r.event));
    }
    std::stable_sort(out.begin(), out.end(), [](const DetectedEvent &a, const DetectedEvent &b) {
        return a.start != b.start ? a.start < b.start : a.magnitude > b.magnitude;
    });
    return out;
}

void FoldDailyIntoHourly(std::vector<DetectedEvent> &hourly, std::vector<DetectedEvent> daily) {
    const TimestampNs day = SECONDS_PER_DAY * NS_PER_SEC;
    for (auto &d : daily) {
        const bool seen = std::any_of(hourly.begin(), hourly.end(), [&](const DetectedEvent &h) {
            return h.subject == d.subject && h.start < d.end && d.start - day < h.end;
        });
        if (!seen) hourly.push_back(std::move(d));
    }
    std::stable_sort(hourly.begin(), hourly.end(),
                     [](const DetectedEvent &a, const DetectedEvent &b) { return a.start < b.start; });
}

void AddTopReflectors(Store &store, std::vector<DetectedEvent> &events, size_t top) {
    for (DetectedEvent &e : events) {
        if (e.kind != EventKind::DNS_REFLECTION) continue;
        std::map<std::string, uint64_t> responses;
        store.ScanDnsSources(DayOf(e.start), DayOf(e.end), [&](const dns::SourceDay &s) {
            if (s.responses) responses[s.address.ToString()] += s.responses;
        });
        std::vector<std::pair<std::string, uint64_t>> order(responses.begin(), responses.end());
        std::stable_sort(order.begin(), order.end(), [](auto &a, auto &b) { return a.second > b.second; });
        if (order.size() > top) order.resize(top);
        e.top_sources.clear();
        for (auto &[address, n] : order)
            e.top_sources.push_back({address, "", n});
        if (!order.empty()) e.evidence["top_reflectors"] = "by DNS responses on the event's days, all sensors";
    }
}

namespace {

/// A series event as AddTopSources reads it back from its evidence, with its sources at the peak.
struct TopSourcesTarget {
    DetectedEvent *event = nullptr;
    Granularity g = Granularity::HOUR;
    Dimension dim = Dimension::SERVICE;
    uint32_t key = 0;
    int64_t sensor_id = -1;          // -1: every sensor, or the group's
    std::vector<int64_t> group_ids;  // a group's sensors, ascending (empty: not a group)
    int64_t start = 0, peak = 0;     // periods
    int lookback = 0;                // periods before the start whose sources are "the series before": its window
    AddressList at_peak;
    std::vector<bool> seen_v4, seen_v6;  // at_peak's sources that the series had in the lookback
};

std::optional<TopSourcesTarget> TopSourcesTargetOf(DetectedEvent &e, const std::map<std::string, int64_t> &sensor_ids) {
    const auto &ev = e.evidence;
    if (!ev.is_object() || !ev.contains("dimension") || !ev.contains("key") || !ev.contains("granularity") ||
        !ev.contains("sensor"))
        return std::nullopt;
    TopSourcesTarget t;
    t.event = &e;
    const std::string dimension = ev["dimension"].get<std::string>();
    bool known = false;
    for (int d = 0; d <= int(Dimension::CLASS_SOURCE_PORT) && !known; ++d)
        if (DimensionName(Dimension(d)) == dimension) {
            t.dim = Dimension(d);
            known = true;
        }
    if (!known) return std::nullopt;
    t.key = ev["key"].get<uint32_t>();
    t.g = ev["granularity"].get<std::string>() == "day" ? Granularity::DAY : Granularity::HOUR;
    const std::string sensor = ev["sensor"].get<std::string>();
    if (sensor == "group") {
        if (!ev.contains("sensor_group") || !ev["sensor_group"].contains("sensors")) return std::nullopt;
        for (const auto &name : ev["sensor_group"]["sensors"]) {
            auto it = sensor_ids.find(name.get<std::string>());
            if (it == sensor_ids.end()) return std::nullopt;  // a sensor renamed or removed since
            t.group_ids.push_back(it->second);
        }
        std::sort(t.group_ids.begin(), t.group_ids.end());
    } else if (sensor != "all") {
        auto it = sensor_ids.find(sensor);
        if (it == sensor_ids.end()) return std::nullopt;  // a sensor renamed or removed since
        t.sensor_id = it->second;
    }
    auto period = [&](TimestampNs ts) { return t.g == Granularity::HOUR ? HourOf(ts) : DayOf(ts); };
    t.start = period(e.start);
    t.peak = period(e.peak);
    // The baseline window: "new" means absent from the history the event was scored against.
    const int window = ev.contains("window") ? ev["window"].get<int>() : 0;
    t.lookback = window > 0 ? window : SeriesOptions::ForGranularity(t.g).window;
    return t;
}

}  // namespace

void AddTopSources(Store &store, std::vector<DetectedEvent> &events, size_t top) {
    if (top == 0) return;
    std::unordered_map<int64_t, uint32_t> sensor_index;  // the real sensors, as DetectSurges counts them
    std::map<std::string, int64_t> sensor_ids;
    for (const StoredSensor &s : store.LoadSensors()) {
        if (s.unattributed) continue;
        sensor_index[s.id] = uint32_t(sensor_index.size());
        sensor_ids[s.sensor.name] = s.id;
    }
    std::vector<TopSourcesTarget> targets;
    for (DetectedEvent &e : events) {
        const bool series =
            e.kind == EventKind::SURGE || e.kind == EventKind::NEW_SERVICE || e.kind == EventKind::DNS_REFLECTION;
        if (!series || !e.top_sources.empty()) continue;
        if (auto t = TopSourcesTargetOf(e, sensor_ids)) targets.push_back(std::move(*t));
    }
    if (targets.empty()) return;

    // One pass over the periods, latest first, reads each period once for all the events that need it: as a
    // peak, or inside the window before a start. An event's window lies before its peak, so its peak sources are
    // complete by the time the pass reaches the window.
    constexpr uint8_t PEAK = 0, WINDOW = 1;
    using Where = std::tuple<Granularity, Dimension, int64_t>;
    std::map<Where, std::vector<SeriesWant>> wanted;
    for (size_t i = 0; i < targets.size(); ++i) {
        const TopSourcesTarget &t = targets[i];
        const std::vector<int64_t> *group = t.group_ids.empty() ? nullptr : &t.group_ids;
        wanted[{t.g, t.dim, t.peak}].push_back({t.key, t.sensor_id, i, PEAK, group});
        for (int64_t p = t.start - t.lookback; p < t.start; ++p)
            wanted[{t.g, t.dim, p}].push_back({t.key, t.sensor_id, i, WINDOW, group});
    }
    for (auto it = wanted.rbegin(); it != wanted.rend(); ++it) {
        const auto &[g, dim, period] = it->first;
        auto read = [&](const CounterRecord &r, const SeriesWant &w) {
            TopSourcesTarget &t = targets[w.index];
            if (w.role == PEAK) {
                t.at_peak.Add(r);
                return;
            }
            MarkSeen(t.at_peak.v4, t.seen_v4, r.sources_v4);
            MarkSeen(t.at_peak.v6, t.seen_v6, r.sources_v6);
        };
        ScanWantedSeries(store, g, dim, period, it->second, sensor_index, read);
        for (const SeriesWant &w : it->second)
            if (w.role == PEAK) {
                TopSourcesTarget &t = targets[w.index];
                t.at_peak.Normalize();
                t.seen_v4.assign(t.at_peak.v4.size(), false);
                t.seen_v6.assign(t.at_peak.v6.size(), false);
            }
    }

    // Ranked by the packets of the peak's day: per day, one read of the buckets that hold a candidate. Only the
    // new sources are candidates unless fewer than `top` are new.
    std::map<int64_t, std::vector<size_t>> by_day;
    for (size_t i = 0; i < targets.size(); ++i)
        by_day[DayOf(targets[i].event->peak)].push_back(i);
    struct DayFigures {
        uint64_t packets = 0;
        uint16_t country = UNKNOWN_COUNTRY;
    };
    struct Candidate {
        IpAddress address;
        bool fresh = false;
        DayFigures day;
    };
    for (auto &[day, list] : by_day) {
        std::vector<std::vector<Candidate>> candidates(list.size());
        std::unordered_map<IpAddress, DayFigures, IpAddressHash> figures;
        std::vector<bool> bucket_wanted(SOURCE_BUCKETS, false);
        for (size_t n = 0; n < list.size(); ++n) {
            const TopSourcesTarget &t = targets[list[n]];
            const size_t fresh = size_t(std::count(t.seen_v4.begin(), t.seen_v4.end(), false) +
                                        std::count(t.seen_v6.begin(), t.seen_v6.end(), false));
            const bool fill = fresh < top;
            auto add = [&](const IpAddress &address, bool seen) {
                if (seen && !fill) return;
                candidates[n].push_back({address, !seen, {}});
                if (figures.emplace(address, DayFigures{}).second) bucket_wanted[SourceBucket(address)] = true;
            };
            for (size_t i = 0; i < t.at_peak.v4.size(); ++i)
                add(IpAddress::V4(t.at_peak.v4[i]), t.seen_v4[i]);
            for (size_t i = 0; i < t.at_peak.v6.size(); ++i)
                add(IpAddress::V6FromBytes(t.at_peak.v6[i].data()), t.seen_v6[i]);
            t.event->evidence["new_sources_at_peak"] = fresh;
        }
        std::vector<uint16_t> buckets;
        for (uint16_t b = 0; b < SOURCE_BUCKETS; ++b)
            if (bucket_wanted[b]) buckets.push_back(b);
        size_t recorded = 0;  // candidates with a record of the day
        store.ScanSourceBuckets(day, buckets, [&](const SourceRecord &r) {
            auto it = figures.find(r.record->src);
            if (it == figures.end()) return;
            it->second = {r.record->packets, r.record->country};
            ++recorded;
        });

        for (size_t n = 0; n < list.size(); ++n) {
            TopSourcesTarget &t = targets[list[n]];
            std::vector<Candidate> &c = candidates[n];
            if (c.empty()) continue;
            for (Candidate &candidate : c)
                candidate.day = figures[candidate.address];
            // New first, then by the day's packets, then by address: the same list on every run.
            auto before = [](const Candidate &a, const Candidate &b) {
                if (a.fresh != b.fresh) return a.fresh;
                return a.day.packets != b.day.packets ? a.day.packets > b.day.packets : a.address < b.address;
            };
            const size_t shown = std::min(top, c.size());
            std::partial_sort(c.begin(), c.begin() + ptrdiff_t(shown), c.end(), before);
            DetectedEvent &e = *t.event;
            auto not_new = nlohmann::ordered_json::array();
            for (size_t i = 0; i < shown; ++i) {
                const DayFigures &f = c[i].day;
                e.top_sources.push_back(
                    {c[i].address.ToString(), f.country == UNKNOWN_COUNTRY ? "" : CountryCode(f.country), f.packets});
                if (!c[i].fresh) not_new.push_back(c[i].address.ToString());
            }
            // Without records of the day (a store whose per-source records were removed) the order is the
            // addresses', and the evidence says so rather than showing zeros as a ranking.
            e.evidence["top_sources_rank"] = fmt::format(
                "{} of the sources at the peak new to the series (not in it in its baseline window, the {} {} before "
                "the start){}",
                recorded ? fmt::format("packets on {} (the peak's day; all services and sensors)", FormatDay(day))
                         : fmt::format("address (no per-source records stored for {})", FormatDay(day)),
                t.lookback, t.g == Granularity::HOUR ? "hours" : "days",
                not_new.empty() ? "" : "; then of its other sources at the peak (top_sources_not_new)");
            e.evidence["top_sources_not_new"] = std::move(not_new);
        }
    }
}

}  // namespace darkscope::detect
