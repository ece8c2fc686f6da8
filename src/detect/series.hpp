#pragma once
/// Surges and new services over the stored counters: every series that matters (a service, a country,
/// a country and service, the DNS responses from source port 53), summed over the sensors and per
/// sensor, is scored against a baseline drawn from its own past, and runs of high scores become events.
///
/// Two published baselines, chosen by name:
///  - "mad": the median and the median absolute deviation of a trailing window (the robust z-score of
///    Iglewicz and Hoaglin 1993, as the rolling median/MAD filters of the network-anomaly literature use
///    it). The scale has a Poisson floor, max(1.4826 MAD, sqrt(median) + 1), so that a series of zeros and
///    ones does not score a few packets as a thousand deviations.
///  - "ewma": the exponentially weighted moving average and variance of the history, as Merit's ORION
///    telescope flags a port whose count leaves its moving average by several deviations; the same floor.
///    Rises above the threshold enter the average clipped at the threshold, so that the first hours of a
///    surge do not raise its own baseline.
/// Only rises are events; falls (an outage, a scanner that stopped) are not.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aggregate/dimension.hpp"
#include "detect/event.hpp"

namespace darkscope {
class Store;
}

namespace darkscope::detect {

/// The method names Score understands, the default first.
inline constexpr std::string_view SERIES_METHODS[] = {"ewma", "mad"};

/// Defaults (hourly series; `ForGranularity(Granularity::DAY)` gives the daily ones):
///  - window 168 hours: a week, so that the median sees seven of each hour of the day and every weekday,
///    and a surge lasting less than half a week (84 hours) cannot become its own baseline. A shorter capture
///    uses what history it has.
///  - min_history 6 periods: a median of fewer values is one or two samples' whim; six hours still lets the
///    two-day demo score its second half-day, where its new service appears (12:00 on day 1).
///  - threshold 6: a robust z-score (or EWMA deviation) of 6. Under Gaussian noise 3.5 is the textbook
///    outlier bound (Iglewicz-Hoaglin), but a month has 720 hours times hundreds of series per sensor, and
///    darknet counts are over-dispersed (Pareto per-source rates): 6 keeps a month's false events to a few,
///    while a new service (baseline 0, floor 1) or a doubling of a diurnal series (about 5-10) still passes.
///  - min_excess 20 packets per hour (200 per day): below it a rise is a single scanner's burst, not a
///    change worth a report line, whatever its score.
///  - min_rise 0.5: the excess must also be at least half the baseline, so that a busy series (23/TCP at
///    100k packets per hour, Poisson noise 0.3%) needs a rise by half, not by a few percent that a high
///    score alone would flag. This is how min_excess scales with the series' own size.
///  - min_source_rise 3: the peak period must hold at least 3 more sources than the median period before the
///    event. On the synthetic quarters, whose country x service series carry a few packets an hour, one heavy
///    scanner arriving (Pareto per-source rates) was most of the false surges; a scenario's real changes (a new
///    service, spoofed DNS, a burst from a region) bring 3 or more new sources. One heavy source is the scan
///    or backscatter detector's event, reported by address.
///  - min_source_ratio 1 per hour (off), 2 per day: a daily peak must also hold at least twice the sources of
///    the median day before. A day's count holds the whole day's churn of background scanners, so "3 more
///    sources" is nothing there: on the synthetic scenarios every daily surge whose sources rose by less than
///    1.9x was a few heavy scanners moving a region x service series (TW 80/TCP, VN 445/TCP, ...), and every
///    seeded one that only a daily series finds came with at least 2.4 times the sources (a new service, a
///    slow ramp of new sources). Hourly peaks keep no ratio: a real burst there may come from a handful of new
///    sources against a busy hour's (the demo's 53/UDP surge: 14 against 10).
///  - near_zero 1 packet per period: a baseline (median or average) and a window mean both below it make
///    a rise on a service series a NEW_SERVICE rather than a SURGE.
///  - gap 1: one quiet period inside a run (a diurnal trough, an hour a botnet paused) does not split it.
///  - ewma_span 24 periods: alpha = 2 / (span + 1), the average forgets a day (of hours) at a time.
///  - cycle 24 periods (days: 7): before a whole cycle of history, the threshold doubles (see cycle).
struct SeriesOptions {
    std::string method = "ewma";  // chosen by bench/detect_eval.py (docs/detectors.md): fewer false events than mad
    Granularity granularity = Granularity::HOUR;
    int window = 168;
    int min_history = 6;
    double threshold = 6;
    double min_excess = 20;
    double min_rise = 0.5;
    double near_zero = 1;
    double min_source_rise = 3;
    double min_source_ratio = 1;
    int gap = 1;
    int ewma_span = 24;
    /// Periods of one seasonal cycle (24 hours; days: 7). Until a series has a cycle of history its baseline has not
    /// seen the time-of-day swing, so a period must score twice the threshold: at half the demo's volume, with 6
    /// hours of history, the morning rise of 1900/UDP and of TW 23/TCP scored 6.3-6.5, while the rises seeded on
    /// the capture's first day score 400 and more.
    int cycle = 24;
    /// The series scored. CLASS_SOURCE_PORT means the DNS responses from 53/UDP only.
    std::vector<Dimension> dims = {Dimension::SERVICE, Dimension::COUNTRY, Dimension::COUNTRY_SERVICE,
                                   Dimension::CLASS_SOURCE_PORT};
    /// Also score each sensor's own series, for what one sensor alone sees.
    bool per_sensor = true;
    /// Also score the series of each group of sensors sharing a provider or a location (two or more sensors, not
    /// all): a change only one kind of network sees (the cloud sensors' reflection bursts of 2024Q4) can be too
    /// small against every sensor's sum and split too thin over its sensors to show at any one.
    bool per_group = true;

    /// The defaults for daily series (quarters): a window of 28 days (four of each weekday), 7 days of
    /// history, 200 packets of excess a day, the median/MAD baseline with a score of 10, twice the sources
    /// of the days before; the rest as for hours.
    static SeriesOptions ForGranularity(Granularity g);
};

/// One series: packets and unique sources per period from first_period on, zeros where no row was stored.
struct Series {
    Dimension dim = Dimension::SERVICE;
    uint32_t key = 0;
    int64_t sensor_id = -1;  // -1: the sum over all sensors
    int64_t first_period = 0;
    std::vector<double> packets;
    std::vector<double> sources;
};

/// The baseline and score of each period. Periods with less than min_history periods before them (or,
/// inside DetectInSeries, too few packets to be an event) are not scored: scored[i] false, score 0.
struct Baseline {
    std::vector<double> expected;      // the median (mad) or moving average (ewma) of the history
    std::vector<double> scale;         // 1.4826 MAD or the moving deviation, after the Poisson floor
    std::vector<double> history_mean;  // the plain mean of the trailing window, for the near-zero rule
    std::vector<double> score;
    std::vector<bool> scored;
};

/// Scores every period of `values` against its own history with options.method; throws
/// std::invalid_argument for an unknown method. Pure: for tests on hand-written vectors.
Baseline ScoreSeries(const std::vector<double> &values, const SeriesOptions &options);
/// ScoreSeries(...).score.
std::vector<double> Score(const std::vector<double> &values, const SeriesOptions &options);

/// "23/TCP", "CN", "CN 23/TCP", "53/UDP responses".
std::string SeriesSubject(Dimension dim, uint32_t key);

/// The events of one series: runs of periods with score >= threshold and an excess over the baseline of
/// at least max(min_excess, min_rise * baseline), joined across up to `gap` quiet periods. `sensor_name`
/// (empty for the all-sensor sum) goes into sensors and the evidence.
std::vector<DetectedEvent> DetectInSeries(const Series &series, const SeriesOptions &options,
                                          std::string_view sensor_name = {});

/// Reads the store's counters over [from_period, to_period] (hours or days as options.granularity says;
/// clipped to the periods that hold data) and detects in every series of options.dims: all sensors summed,
/// with per_group each group of sensors sharing a provider or a location, and with per_sensor each sensor alone.
/// A narrower event that overlaps a wider one of the same series folds into it (its group or sensor listed)
/// instead of being reported twice. An event starts at its onset, where its rise left the noise (daily events: to
/// the hour), and `detected` says where the detector fired. Events come ordered by start, then magnitude.
std::vector<DetectedEvent> DetectSurges(Store &store, int64_t from_period, int64_t to_period,
                                        const SeriesOptions &options);

/// Adds `daily`'s events to `hourly` but those on a series that an hourly event already covers: one change seen
/// twice, kept with the finer window. A rise late in the evening scores its day only the next day, so an hourly
/// event of the day before counts as the same change too. Sorted by start.
void FoldDailyIntoHourly(std::vector<DetectedEvent> &hourly, std::vector<DetectedEvent> daily);

/// Gives each DNS reflection event (the series of source-port-53 responses, which count packets, not sources)
/// its top reflectors: the sources with the most responses on the event's days in the DNS study's records (all
/// sensors; days, not hours, are what those records keep), at most `top`.
void AddTopReflectors(Store &store, std::vector<DetectedEvent> &events, size_t top = 5);

/// Gives each surge, new-service and DNS reflection event that has no top sources yet (AddTopReflectors runs first)
/// the sources that made it, at most `top`: of its series' exact source set at the peak period (the event's sensor,
/// or the union over the sensors), those the series did not have in its baseline window before the start (the
/// periods its score was measured against), ranked by their packets on the peak's day (source_daily: all services,
/// all sensors); when fewer are new, the others of the peak follow, listed in evidence.top_sources_not_new. One pass
/// over the periods, latest first, reads each period's counters once for all the events that need it (as a peak or
/// inside a window), and per peak day only the source_daily buckets that hold a candidate; memory follows the
/// events' peak source sets. Run it on the events that are kept, after the filtering.
void AddTopSources(Store &store, std::vector<DetectedEvent> &events, size_t top = 5);

}  // namespace darkscope::detect
