#pragma once
/// The store: what ingest writes and every later stage (summary, report, detectors) reads.
/// One implementation today (SQLite, one file, zero configuration); the interface is what a
/// ClickHouse back end would implement for telescopes beyond one machine.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aggregate/aggregator.hpp"
#include "aggregate/source_chunk.hpp"
#include "classify/sensors.hpp"
#include "detect/event.hpp"
#include "detect/stream.hpp"
#include "dns/study.hpp"

namespace darkscope {

/// Raised for storage failures (I/O, corruption, a newer schema); the message names the store.
struct StoreError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct StoredSensor {
    int64_t id = 0;
    Sensor sensor;
    bool unattributed = false;  // the pseudo-sensor holding packets to no sensor
};

struct FileRecord {
    std::string content_hash;  // XXH3-128 of the file's bytes on disk, hex
    std::string path;
    uint64_t size = 0;
    std::string format;       // pcap, pcapng
    std::string compression;  // none, gzip, zstd, xz
    uint64_t packets = 0;
    uint64_t bytes = 0;
    TimestampNs first_ts = 0;
    TimestampNs last_ts = 0;
    std::string status;   // complete, partial
    std::string message;  // for partial files: where and why reading stopped
    std::string ingested_at;
    std::string enrichment;  // which data decided countries and AS numbers (Enrichment::Describe)
};

/// What the store keeps of a rule, so that reports can name the sids of Dimension::SIGNATURE.
struct SignatureInfo {
    uint32_t sid = 0;
    uint32_t gid = 1;
    uint32_t rev = 0;
    std::string msg;
    std::string classtype;
    uint8_t category = 0;  // sig::Category
    std::string source;    // file:line
};

/// One key of a counter segment as read back. The spans are valid during the callback only.
struct CounterRecord {
    int64_t period = 0;
    int64_t sensor_id = 0;
    uint32_t key = 0;
    uint64_t packets = 0;
    uint64_t bytes = 0;
    uint64_t unique_sources = 0;
    std::span<const uint32_t> sources_v4;   // sorted, host order
    std::span<const Ipv6Bytes> sources_v6;  // sorted
};

/// A detected event as stored: `origin` is "ingest" (the stream detectors, written with the file that
/// closed them) or "series" (the detectors over stored counters, replaced each time they are re-run).
struct StoredEvent {
    int64_t id = 0;
    std::string origin;
    detect::DetectedEvent event;
};

/// A detector run over a time range: ingest records one per file read with its stream detectors on,
/// `darkscope detect` one per run, so that a report can tell "nothing found" from "nothing looked".
struct DetectorRun {
    std::string origin;  // ingest | series
    TimestampNs from = 0;
    TimestampNs to = 0;
    std::string settings;  // which detectors, with which settings, in words
    std::string ran_at;    // UTC ISO time; set by the store when empty
};

/// The stream detectors' states still open when an ingest run ended, for the next run into the store to go
/// on from (docs/detectors.md#runs-into-one-store). One set at a time: each run's end replaces it.
struct StreamCarry {
    std::string settings;  // StreamDetectors::CarrySettings of the run that saved them
    TimestampNs at = 0;    // that run's last packet time
    std::vector<detect::CarriedState> states;
    /// As read back: the rows that could not be (an unknown kind, an unreadable address), in words.
    std::vector<std::string> unreadable;
};

/// One source's day as read back (src/aggregate/source_chunk.hpp); valid during the callback only.
struct SourceRecord {
    int64_t day = 0;
    const SourceDay *record = nullptr;
};

class Store {
public:
    virtual ~Store() = default;

    /// Opens (creating and migrating as needed) the SQLite store at path.
    static std::unique_ptr<Store> OpenSqlite(const std::string &path);
    /// Opens an existing SQLite store for reading only (`ingest --rdns-from`): nothing is created,
    /// migrated or written, and any write throws StoreError. A store of an older schema is read as it
    /// is, so a reader must check SchemaVersion before relying on a table a migration added.
    static std::unique_ptr<Store> OpenSqliteReadOnly(const std::string &path);

    virtual int SchemaVersion() = 0;
    virtual std::string Location() const = 0;

    // --- Sensors ---------------------------------------------------------------------------------
    virtual std::vector<StoredSensor> LoadSensors() = 0;
    /// Inserts or updates sensors by name; returns their ids in the order given.
    virtual std::vector<int64_t> SaveSensors(const std::vector<Sensor> &sensors) = 0;
    /// The id of the pseudo-sensor that holds packets to no sensor.
    virtual int64_t UnattributedSensorId() = 0;

    // --- Research-scanner labels ----------------------------------------------------------------
    /// Ids for research-list entry names (new names are added); source records hold these ids.
    virtual std::vector<int64_t> SaveResearchNames(const std::vector<std::string> &names) = 0;
    virtual std::map<int64_t, std::string> LoadResearchNames() = 0;

    // --- Reverse DNS (darkscope enrich rdns) ----------------------------------------------------------
    struct RdnsRecord {
        std::string address;      // IpAddress::ToString
        std::string name;         // PTR name; empty when none
        std::string status;       // ok, nxdomain, nodata, timeout, error: ...
        std::string resolved_at;  // UTC ISO time
    };
    virtual void PutRdns(const RdnsRecord &r) = 0;
    virtual void ScanRdns(const std::function<void(const RdnsRecord &)> &f) = 0;
    // --- Active probes (darkscope probe) -------------------------------------------------------------
    /// One open-resolver probe of one address (or one imported verdict). Kept as history: readers take the
    /// latest per address (LatestResolverProbes).
    struct ResolverProbe {
        std::string address;    // IpAddress::ToString
        std::string status;     // open | not-open | no-answer
        std::string detail;     // what decided it, in words: "answer: open-resolver-detected", "rcode REFUSED", ...
        std::string probed_at;  // UTC ISO time; set by the store when empty
        std::string origin;     // "probe" (darkscope probe resolvers) or "import:<file>"
    };
    virtual void PutResolverProbe(const ResolverProbe &p) = 0;
    /// The latest probe of each address (by probed_at, then insertion order). None from a store older than
    /// the table.
    virtual std::vector<ResolverProbe> LatestResolverProbes() = 0;
    /// One device classification of one address from an nmap run (darkscope probe devices).
    struct DeviceProbe {
        std::string address;       // IpAddress::ToString
        std::string device_class;  // server | router | printer | network-camera | nas | dvr | load-balancer |
                                   // unknown | blocked
        std::string reason;        // the rule that decided it, in words
        std::string detail;        // JSON: open ports, services, products, OS matches (what the rule read)
        std::string probed_at;     // UTC ISO time; set by the store when empty
        std::string origin;        // "nmap" or "import:<file>"
    };
    virtual void PutDeviceProbe(const DeviceProbe &p) = 0;
    /// The latest classification of each address. None from a store older than the table.
    virtual std::vector<DeviceProbe> LatestDeviceProbes() = 0;

    // --- Signatures ------------------------------------------------------------------------------
    /// Inserts or updates the rules' names and categories by sid (the latest load wins).
    virtual void SaveSignatures(const std::vector<SignatureInfo> &signatures) = 0;
    virtual std::vector<SignatureInfo> LoadSignatures() = 0;

    // --- Files -----------------------------------------------------------------------------------
    virtual std::optional<FileRecord> FindFile(const std::string &content_hash) = 0;
    virtual std::vector<FileRecord> ListFiles() = 0;
    /// Whether a stored file has this size on disk: only such a file can have the content of an input of it.
    virtual bool HasFileOfSize(uint64_t size) = 0;

    // --- Writing (inside a transaction: one per input file) ---------------------------------------
    virtual void Begin() = 0;
    virtual void Commit() = 0;
    virtual void Rollback() = 0;
    /// With `on`, each Commit hands the copying of what it wrote from the write-ahead log into the store
    /// file (a checkpoint, which ends in an fsync) to a thread of its own, so that the next file's reading
    /// or the day's build goes on meanwhile; off waits for that thread and lets commits checkpoint
    /// themselves again (SQLite's default). What readers see is the same either way.
    virtual void CheckpointBehind(bool on) = 0;
    /// Adds hourly segments to what is stored: packets and bytes are summed, source sets united.
    /// `sensor_ids` maps a SensorIndex to a stored sensor id (UNATTRIBUTED -> unattributed id).
    /// Daily rows are not written here: the days of these hours are marked, and their daily rows
    /// rebuilt from all their hours by BuildDays (reads unite the hours of a marked day meanwhile).
    virtual void MergeHourlyCounters(CounterRows &hourly, const std::vector<int64_t> &sensor_ids,
                                     int64_t unattributed_id) = 0;
    /// Rebuilds the daily rows of the marked days up to `up_to_day` from their hourly rows, in one
    /// pass per (dimension, sensor), inside the current transaction. With `threads` above 1 the passes run
    /// on that many threads of their own while the calling one writes the rows they finish; with 1, all on
    /// the calling thread.
    virtual void BuildDays(int64_t up_to_day, unsigned threads = 1) = 0;
    /// The most encoded hourly data BuildDays reads at once (48 MiB unless set); a batch still holds
    /// `threads` (dimension, sensor) pairs when they weigh more. Helper threads that read committed hours
    /// themselves hold one pair each and need no batches. The output does not depend on it.
    virtual void SetDayBuildBatchBytes(size_t bytes) = 0;
    /// Adds per-source day records (see ToSourceChunks) to what is stored; the chunks are emptied.
    virtual void MergeSources(SourceChunks &chunks) = 0;
    virtual void MergeEvents(const FlatMap<EventKey, uint64_t, EventKeyHash> &events,
                             const std::vector<int64_t> &sensor_ids, int64_t unattributed_id) = 0;
    virtual void MergeDestinations(std::map<std::pair<int32_t, SensorIndex>, SourceSet> &destinations,
                                   const std::vector<int64_t> &sensor_ids) = 0;
    /// Adds one file's DNS study records (dns/study.hpp) to what is stored: a record of a (day, source) or
    /// (hour, zone) already stored merges into it (counts add, sets unite).
    virtual void MergeDnsSources(const std::vector<dns::SourceDay> &sources) = 0;
    virtual void MergeDnsZones(const std::vector<dns::ZoneHour> &zones) = 0;
    virtual void InsertFile(const FileRecord &file) = 0;
    /// Adds detected events (inside the current transaction, if one is open); returns their ids, in order.
    virtual std::vector<int64_t> PutDetectedEvents(std::string_view origin,
                                                   const std::vector<detect::DetectedEvent> &events) = 0;
    /// Removes the events of `origin` with these ids (ids of other origins, or gone, are left); returns how many.
    virtual uint64_t DeleteDetectedEventsById(std::string_view origin, std::span<const int64_t> ids) = 0;
    /// The carry the last ingest run with its stream detectors on saved; none if no run saved one (or the store
    /// is older than the table). A row whose state is corrupt is returned as it is: StreamDetectors::Restore
    /// tells.
    virtual std::optional<StreamCarry> LoadStreamCarry() = 0;
    /// Replaces the saved carry with `carry` (its `unreadable` is ignored), inside the current transaction.
    virtual void ReplaceStreamCarry(const StreamCarry &carry) = 0;
    virtual void PutDetectorRun(const DetectorRun &run) = 0;
    /// Removes the events of `origin` that start in [from, to]; returns how many.
    virtual uint64_t DeleteDetectedEvents(std::string_view origin, TimestampNs from, TimestampNs to) = 0;
    /// Builds every marked day (BuildDays) and merges the per-source parts of days (a file that adds
    /// to a day already stored writes its per-source chunks as parts; reads unite a day with its
    /// parts), in a transaction of its own: ingest calls it once its files are committed, so that
    /// hourly rotated captures build each day once per run instead of once per file.
    virtual void FoldDayParts(unsigned threads = 1) = 0;

    // --- Reading ---------------------------------------------------------------------------------
    /// First and last day with data, if any.
    virtual std::optional<std::pair<int64_t, int64_t>> DayRange() = 0;
    /// Calls f for every row of dimension `dim` with period in [from, to] (hours or days).
    virtual void ScanCounters(Granularity g, Dimension dim, int64_t from, int64_t to,
                              const std::function<void(const CounterRecord &)> &f) = 0;
    /// The same rows without their sources (CounterRecord's spans stay empty): far cheaper, for what
    /// ranks or sums packets only.
    virtual void ScanCounts(Granularity g, Dimension dim, int64_t from, int64_t to,
                            const std::function<void(const CounterRecord &)> &f) = 0;
    /// ScanCounts of one sensor's rows only: the others are not read at all.
    virtual void ScanSensorCounts(Granularity g, Dimension dim, int64_t from, int64_t to, int64_t sensor_id,
                                  const std::function<void(const CounterRecord &)> &f) = 0;
    virtual void ScanSources(int64_t from_day, int64_t to_day, const std::function<void(const SourceRecord &)> &f) = 0;
    /// ScanSources of one day, and only of the given address buckets (SourceBucket: an IPv4 source's first octet): what
    /// looking up a few sources needs (a series event's top sources), without decoding the day's other chunks. A
    /// bucket given twice is read once.
    virtual void ScanSourceBuckets(int64_t day, std::span<const uint16_t> buckets,
                                   const std::function<void(const SourceRecord &)> &f) = 0;
    /// Decode-event totals per (sensor id, event name) over [from_day, to_day].
    virtual void ScanEvents(int64_t from_day, int64_t to_day,
                            const std::function<void(int64_t sensor_id, std::string_view name, uint64_t count)> &f) = 0;
    /// Detected events overlapping [from, to], in start order. None from a store older than the table.
    virtual void ScanDetectedEvents(TimestampNs from, TimestampNs to,
                                    const std::function<void(const StoredEvent &)> &f) = 0;
    /// Detected events overlapping [from, to] per kind (detect::EventKindName).
    virtual std::map<std::string, uint64_t> CountDetectedEvents(TimestampNs from, TimestampNs to) = 0;
    /// Of the events ScanDetectedEvents would give, each kind's `top` largest by magnitude (ties: the earlier
    /// first), in start order: what a report shows of a quarter's tens of thousands of scans, without reading
    /// the others.
    virtual void ScanLargestDetectedEvents(TimestampNs from, TimestampNs to, size_t top,
                                           const std::function<void(const StoredEvent &)> &f) = 0;
    /// Detector runs whose range overlaps [from, to], oldest first. None from a store older than the table.
    virtual void ScanDetectorRuns(TimestampNs from, TimestampNs to,
                                  const std::function<void(const DetectorRun &)> &f) = 0;
    /// The DNS study's per-source day records in [from_day, to_day], by day then address. None from a store
    /// older than the table.
    virtual void ScanDnsSources(int64_t from_day, int64_t to_day,
                                const std::function<void(const dns::SourceDay &)> &f) = 0;
    /// The DNS study's sums over [from_day, to_day] by the latest resolver verdict of each source ([0] non-open,
    /// [1] open), in SQL without reading the records: what the report shows of a quarter. Unique sources are
    /// distinct over the whole range.
    struct DnsSplit {
        uint64_t queries[2] = {0, 0};
        uint64_t responses[2] = {0, 0};
        uint64_t sources[2] = {0, 0};
        uint64_t probed_sources = 0;  // sources with any resolver verdict
    };
    virtual DnsSplit SumDnsSources(int64_t from_day, int64_t to_day, bool exclude_research) = 0;
    /// Whether any resolver verdict is stored: without one every DNS source is non-open, and the split needs no sums.
    virtual bool HasResolverProbes() = 0;
    /// The `top` zones with the most messages in [from_hour, to_hour] (ties by name), each with its hours merged
    /// (hour set to the first): ranked in SQL, and only the top zones' records read.
    virtual std::vector<dns::ZoneHour> TopDnsZones(int64_t from_hour, int64_t to_hour, size_t top) = 0;
    /// The per-zone hour records in [from_hour, to_hour], by hour then zone.
    virtual void ScanDnsZones(int64_t from_hour, int64_t to_hour,
                              const std::function<void(const dns::ZoneHour &)> &f) = 0;
    /// Union of destinations seen by a sensor over [from_day, to_day] (implicit sensors only).
    virtual SourceSet Destinations(int64_t sensor_id, int64_t from_day, int64_t to_day) = 0;
};

}  // namespace darkscope
