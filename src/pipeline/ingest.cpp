#include "pipeline/ingest.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "aggregate/aggregator.hpp"
#include "capture/byte_source.hpp"
#include "capture/capture_reader.hpp"
#include "classify/classifier.hpp"
#include "decode/decoder.hpp"
#include "detect/stream.hpp"
#include "dns/study.hpp"
#include "enrich/rdns_cache.hpp"
#include "pipeline/sharded_aggregation.hpp"
#include "signature/matcher/matcher.hpp"

namespace darkscope {

size_t IngestSummary::Count(FileStatus s) const {
    size_t n = 0;
    for (auto &f : files)
        n += f.status == s;
    return n;
}

std::string HashFile(const std::filesystem::path &path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
    detail::FileStream stream(fd, true);
    try {
        return stream.FinishHash();
    } catch (const std::runtime_error &e) {
        throw std::runtime_error(fmt::format("{}: {}", path.string(), e.what()));
    }
}

SensorMap ResolveSensors(Store &store, const std::optional<std::filesystem::path> &sensors_file, std::string &note) {
    if (sensors_file) {
        SensorMap map = SensorMap::LoadToml(*sensors_file);
        note = fmt::format("sensors: {} from {}", map.Sensors().size(), sensors_file->string());
        return map;
    }
    std::vector<Sensor> stored;
    for (auto &s : store.LoadSensors())
        if (!s.unattributed && !s.sensor.implicit) stored.push_back(s.sensor);
    if (!stored.empty()) {
        note = fmt::format("sensors: {} stored in {} (give --sensors to change them)", stored.size(), store.Location());
        return SensorMap::FromSensors(std::move(stored));
    }
    note =
        "sensors: none defined; one implicit sensor 'all' holds every destination, and its address count is the "
        "number of distinct destinations seen (give --sensors FILE to name your networks)";
    return SensorMap::Implicit();
}

namespace {

std::string DescribeDetectors(const detect::StreamOptions &o) {
    std::vector<std::string> parts;
    if (o.scans)
        parts.push_back(fmt::format("scan: >= {} destinations, gap {} s", o.ScanThreshold(), o.scan_gap / NS_PER_SEC));
    if (o.rsdos)
        parts.push_back(fmt::format("rsdos: >= {} packets, >= {} s, peak >= {}/min, timeout {} s", o.rsdos_min_packets,
                                    o.rsdos_min_duration / NS_PER_SEC, o.rsdos_min_peak_per_minute,
                                    o.rsdos_timeout / NS_PER_SEC));
    if (o.campaigns)
        parts.push_back(fmt::format("campaign: >= {} sensors within {} s, >= {} rounds", o.campaign_min_sensors,
                                    o.campaign_window / NS_PER_SEC, o.campaign_min_rounds));
    parts.push_back(o.monitored_addresses ? fmt::format("monitored addresses {}", o.monitored_addresses)
                                          : std::string("monitored addresses unknown"));
    return fmt::format("{}", fmt::join(parts, "; "));
}

// Writes what the workers hand back. Hourly rows are written as each hour closes; daily rows and
// per-source records when a day closes or the file ends, which keeps memory to about a day of
// distinct sources and keys.
class StoreSink {
public:
    StoreSink(Store &store, std::vector<int64_t> sensor_ids, int64_t unattributed_id)
        : store_(store), sensor_ids_(std::move(sensor_ids)), unattributed_id_(unattributed_id) {}

    void Write(ClosedInterval &&closed) {
        closed.UniteHourly();
        // A day closed inside a file (a later day began) is complete but for late packets, which mark it
        // again: its daily rows are built now, on this thread, while the workers go on. One that closes at
        // the end of a file may go on in the next file (hourly rotated captures), so it waits for the end
        // of the run (Store::FoldDayParts) rather than being rebuilt once per file.
        int64_t last_day = INT64_MIN;
        if (closed.day_closed && !closed.end_of_file)
            for (const auto &[key, segment] : closed.hourly)
                last_day = std::max<int64_t>(last_day, FloorDiv(key.period, 24));
        store_.MergeHourlyCounters(closed.hourly, sensor_ids_, unattributed_id_);
        // An event that continues one stored when the previous run ended takes its place.
        if (!closed.superseded.empty()) store_.DeleteDetectedEventsById("ingest", closed.superseded);
        if (!closed.detections.empty()) store_.PutDetectedEvents("ingest", closed.detections);
        if (last_day != INT64_MIN) store_.BuildDays(last_day);
        if (!closed.day_closed) return;
        store_.MergeSources(closed.sources);
        store_.MergeEvents(closed.events, sensor_ids_, unattributed_id_);
        store_.MergeDestinations(closed.destinations, sensor_ids_);
    }

private:
    Store &store_;
    std::vector<int64_t> sensor_ids_;
    int64_t unattributed_id_;
};

// Runs a StoreSink on a thread of its own, one interval at a time: the reader's thread, which decodes
// and routes every packet, is the serial part of a threaded ingest, and writing an hour's segments
// (encoding, SQLite's B-tree and WAL) took a sixth of it. At most one interval waits, so memory holds
// one interval more than a synchronous write. Only this thread touches the store between Begin and
// Drain; Drain returns once everything handed over is written and rethrows what the writing threw.
class AsyncStoreSink {
public:
    explicit AsyncStoreSink(StoreSink &sink) : sink_(sink), thread_([this] { Run(); }) {}
    ~AsyncStoreSink() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        changed_.notify_all();
        thread_.join();
    }
    void Write(ClosedInterval &&closed) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return !pending_ && !busy_; });
        if (error_) std::rethrow_exception(error_);
        pending_ = std::move(closed);
        changed_.notify_all();
    }
    void Drain() {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return !pending_ && !busy_; });
        if (error_) std::rethrow_exception(error_);
    }

private:
    void Run() {
        for (;;) {
            ClosedInterval closed;
            {
                std::unique_lock lock(mutex_);
                changed_.wait(lock, [&] { return pending_ || stop_; });
                if (!pending_) return;
                closed = std::move(*pending_);
                pending_.reset();
                busy_ = true;
            }
            std::exception_ptr error;
            if (!error_) {  // after a failure the rest is dropped: the file is rolled back
                try {
                    sink_.Write(std::move(closed));
                } catch (...) {
                    error = std::current_exception();
                }
            }
            {
                std::lock_guard lock(mutex_);
                if (error) error_ = error;
                busy_ = false;
            }
            changed_.notify_all();
        }
    }

    StoreSink &sink_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::optional<ClosedInterval> pending_;
    bool busy_ = false;
    bool stop_ = false;
    std::exception_ptr error_;
    std::thread thread_;  // last: started once the members above exist
};

// The rules a packet hit, as the aggregation carries them: distinct sids (the first MAX in rule
// order) and the categories of every hit; the matches left to the source's shard, by rule index.
void FillSignatureHits(SignatureHits &out, const sig::RuleHits &hits, const sig::RuleHits &by_source,
                       const std::vector<sig::Rule> &rules, uint16_t dport) {
    for (uint32_t index : hits)
        out.Add(rules[index].sid, uint8_t(rules[index].category));
    for (uint32_t index : by_source) {
        if (out.deferred_count == SignatureHits::MAX_DEFERRED) {
            out.truncated = true;  // more by-source threshold rules than a packet carries: counted as cut
            break;
        }
        out.deferred[out.deferred_count++] = index;
    }
    out.dport = dport;
}

void SaveSignatures(Store &store, const sig::Matcher &matcher) {
    std::vector<SignatureInfo> infos;
    for (const sig::Rule &r : matcher.Rules()) {
        SignatureInfo s;
        s.sid = r.sid;
        s.gid = r.gid;
        s.rev = r.rev;
        s.msg = r.msg;
        s.classtype = r.classtype;
        s.category = uint8_t(r.category);
        s.source = fmt::format("{}:{}", r.file, r.line);
        infos.push_back(std::move(s));
    }
    store.Begin();
    try {
        store.SaveSignatures(infos);
        store.Commit();
    } catch (...) {
        store.Rollback();
        throw;
    }
}

// Hands each state the previous run carried to the detectors of its source's shard (the previous run may have had
// another number of them). Returns that run's last packet time, INT64_MIN when nothing is carried on.
TimestampNs RestoreCarry(Store &store, std::vector<detect::StreamDetectors> &detectors,
                         const std::function<void(const std::string &)> &log, IngestSummary &summary) {
    std::optional<StreamCarry> carry = store.LoadStreamCarry();
    if (!carry) return INT64_MIN;
    for (const std::string &row : carry->unreadable)
        log(fmt::format("{}: stream_carry: {}; left out", store.Location(), row));
    if (carry->states.empty()) return carry->at;
    if (carry->settings != detectors.front().CarrySettings()) {
        // Counts of other thresholds, or sensor indexes of other sensors, cannot be continued.
        log(
            fmt::format("{}: stream_carry: {} open detector state{} of the previous run were made with other "
                        "detector settings or sensors; dropped (what spans both runs is not joined)",
                        store.Location(), carry->states.size(), carry->states.size() == 1 ? "" : "s"));
        return INT64_MIN;
    }
    size_t corrupt = 0;
    std::string first_fault;
    for (const detect::CarriedState &state : carry->states) {
        const size_t shard = ShardedAggregation::ShardOf(state.source, detectors.size());
        const std::string fault = detectors[shard].Restore(state);
        if (fault.empty()) {
            ++summary.carried_in;
            continue;
        }
        if (corrupt++ == 0)
            first_fault = fmt::format("{} {} {}: {}", detect::CarriedKindName(state.kind), state.source.ToString(),
                                      state.service, fault);
    }
    if (corrupt > 0)
        log(fmt::format("{}: stream_carry: {} of {} carried detector states are corrupt and were left out (first: {})",
                        store.Location(), corrupt, carry->states.size(), first_fault));
    return carry->at;
}

// End of the run: every open state closes and those that qualify are stored, as Finish does; the states not
// idle past their timeouts at `run_end` are saved for the next run, replacing the previous run's, and those
// whose events were stored just now carry their ids, all in one transaction. A run that stops before this
// leaves the previous run's carry in place.
void FinishDetectors(Store &store, std::vector<detect::StreamDetectors> &detectors, TimestampNs run_end,
                     IngestSummary &summary) {
    StreamCarry carry;
    carry.settings = detectors.front().CarrySettings();
    carry.at = run_end;
    std::vector<detect::DetectedEvent> last;
    std::vector<int64_t> superseded;
    for (auto &d : detectors) {
        if (run_end == INT64_MIN) {
            d.Finish();  // nothing was read, and nothing is carried in
        } else {
            for (detect::CarriedState &state : d.FinishCarrying(run_end)) {
                if (state.event != detect::CarriedState::NO_EVENT) state.event += last.size();
                carry.states.push_back(std::move(state));
            }
        }
        for (auto &e : d.TakeEvents())
            last.push_back(std::move(e));
        for (int64_t id : d.TakeSuperseded())
            superseded.push_back(id);
    }
    store.Begin();
    try {
        store.DeleteDetectedEventsById("ingest", superseded);
        const std::vector<int64_t> ids = store.PutDetectedEvents("ingest", last);
        for (detect::CarriedState &state : carry.states) {
            if (state.event == detect::CarriedState::NO_EVENT) continue;
            state.event_id = ids.at(state.event);
            state.event = detect::CarriedState::NO_EVENT;
        }
        store.ReplaceStreamCarry(carry);
        store.Commit();
    } catch (...) {
        store.Rollback();
        throw;
    }
    summary.detected_events += last.size();
    summary.merged_events += superseded.size();
    summary.carried_out = carry.states.size();
}

}  // namespace

size_t LabelResearchForStore(Store &store, Enrichment &enrichment) {
    const ResearchList *list = enrichment.Research();
    if (!list) return 0;
    std::vector<std::string> names;
    for (const auto &e : list->Entries())
        names.push_back(e.name);
    std::vector<uint16_t> ids;
    for (int64_t id : store.SaveResearchNames(names)) {
        if (id <= 0 || id > UINT16_MAX) throw StoreError(store.Location() + ": too many research scanner names");
        ids.push_back(uint16_t(id));
    }
    // Looked up once per source like the AS and network labels, so that a source reverse DNS names is a
    // research scanner in every dimension of the days ingested now, and --exclude-research removes it
    // exactly; the days ingested before its name was cached cannot be relabelled (summary says so).
    std::vector<std::pair<IpAddress, uint16_t>> by_rdns;
    for (const RdnsResearchSource &s : ResearchByRdns(store, *list))
        by_rdns.emplace_back(s.address, ids[s.entry - 1]);
    const size_t labelled = by_rdns.size();
    enrichment.SetResearchIds(std::move(ids));
    enrichment.SetResearchByRdns(std::move(by_rdns));
    return labelled;
}

IngestSummary Ingest(Store &store, const SensorMap &sensors, const std::vector<std::filesystem::path> &files,
                     const IngestOptions &options) {
    auto started = std::chrono::steady_clock::now();
    auto log = [&](const std::string &line) {
        if (options.log) options.log(line);
    };
    IngestSummary summary;
    // Each file's commit is copied from the log into the store file while the next file is read, or the days
    // are built; the copy ends in an fsync, which took 0.3 s of the 10M benchmark's 8 on its own.
    struct CheckpointsBehind {
        Store &store;
        explicit CheckpointsBehind(Store &s) : store(s) { store.CheckpointBehind(true); }
        ~CheckpointsBehind() { store.CheckpointBehind(false); }
    } checkpoints_behind(store);
    const std::vector<int64_t> sensor_ids = store.SaveSensors(sensors.Sensors());
    const int64_t unattributed_id = store.UnattributedSensorId();
    if (options.enrichment && options.enrichment->Research() && !options.enrichment->HasResearchIds())
        throw std::logic_error("Ingest: call LabelResearchForStore before ingesting with a research list");

    IngestProgress progress;
    progress.file_count = files.size();
    for (auto &f : files) {
        std::error_code ec;
        auto size = std::filesystem::file_size(f, ec);
        if (!ec) progress.disk_bytes_total += size;
    }
    uint64_t disk_bytes_before = 0;
    std::unique_ptr<sig::Matcher::State> sig_state;
    sig::RuleHits hits, by_source;
    // One threshold tracker per aggregation shard, for the whole run: sources go to the same shard in
    // every file, so a rule's window spans files as it did when the reader's thread kept it.
    std::vector<sig::ThresholdTracker> thresholds(std::max(1u, options.threads));
    if (options.signatures) {
        SaveSignatures(store, *options.signatures);
        sig_state = options.signatures->MakeState();
    }
    // The stream detectors live for the run, one per shard like the trackers: a scan or an attack spans files.
    // They go on from the states the previous run into this store left open, so it spans runs too.
    std::vector<detect::StreamDetectors> detectors;
    TimestampNs carried_at = INT64_MIN;  // the last packet time of the run that left the carry
    TimestampNs read_end = INT64_MIN;    // the latest packet time this run read
    if (options.detectors) {
        std::vector<std::string> names;
        for (auto &s : sensors.Sensors())
            names.push_back(s.name);
        if (sensors.IsImplicit() && names.empty()) names.push_back("all");
        for (unsigned i = 0; i < std::max(1u, options.threads); ++i)
            detectors.emplace_back(*options.detectors, names, options.enrichment);
        carried_at = RestoreCarry(store, detectors, log, summary);
    }

    for (size_t file_index = 0; file_index < files.size(); ++file_index) {
        const auto &path = files[file_index];
        progress.file_index = file_index;
        FileOutcome outcome;
        outcome.path = path;
        std::error_code ec;
        uint64_t disk_size = std::filesystem::file_size(path, ec);
        if (ec) disk_size = 0;
        auto finish = [&](FileOutcome &&o) {
            disk_bytes_before += disk_size;
            progress.disk_bytes_done = disk_bytes_before;
            if (options.on_progress) options.on_progress(progress);
            summary.files.push_back(std::move(o));
        };

        // An already ingested file must be skipped before anything of it is counted, and its content hash says
        // whether it was. Only a stored file of the same size can have the same content: then the file is
        // hashed in a pass of its own first. Otherwise the parse hashes what it reads, and the file is read
        // once (the hash is stored when the file commits).
        std::string hash;
        if (ec || store.HasFileOfSize(disk_size)) {
            try {
                hash = HashFile(path);
            } catch (const std::exception &e) {
                outcome.message = e.what();
                log(outcome.message);
                finish(std::move(outcome));
                continue;
            }
        }
        if (auto prev = hash.empty() ? std::nullopt : store.FindFile(hash)) {
            outcome.status = FileStatus::DUPLICATE;
            outcome.message = fmt::format("{}: skipped: same content already ingested on {} as {} ({} packets{})",
                                          path.string(), prev->ingested_at, prev->path, prev->packets,
                                          prev->status == "complete" ? "" : ", " + prev->status);
            log(outcome.message);
            finish(std::move(outcome));
            continue;
        }
        CaptureError open_error;
        auto reader = CaptureReader::Open(path, open_error, hash.empty());
        if (!reader) {
            outcome.message = fmt::format("{}: {}; nothing stored from this file", path.string(), open_error.message);
            log(outcome.message);
            finish(std::move(outcome));
            continue;
        }

        FileRecord record;
        record.path = std::filesystem::absolute(path).lexically_normal().string();
        record.size = disk_size;
        record.format = CaptureFormatName(reader->Format());
        record.compression = CompressionName(reader->GetCompression());
        record.enrichment = options.enrichment ? options.enrichment->Describe() : "none (ingested with --no-enrich)";

        ShardedAggregation aggregation(options.threads, sensors.IsImplicit(), sensor_ids, options.enrichment);
        if (options.signatures) aggregation.SetThresholds(options.signatures, thresholds);
        if (!detectors.empty()) aggregation.SetDetectors(detectors);
        StoreSink sink(store, sensor_ids, unattributed_id);
        // With worker threads the store is written on a thread of its own too; --threads 0 stays one thread.
        std::optional<AsyncStoreSink> async_sink;
        if (options.threads > 0) async_sink.emplace(sink);
        uint64_t signature_packets = 0, signature_hits = 0;  // added to the summary once the file commits
        uint64_t detected = 0, merged = 0;
        const auto write = [&](ClosedInterval &&closed) {
            signature_packets += closed.signature_packets;
            signature_hits += closed.signature_matches;
            detected += closed.detections.size();
            merged += closed.superseded.size();
            if (async_sink)
                async_sink->Write(std::move(closed));
            else
                sink.Write(std::move(closed));
        };
        RawPacket raw;
        DecodedPacket pkt;
        ClassifiedPacket cp;
        dns::Accumulator dns_study(options.enrichment);
        int64_t open_hour = INT64_MIN;
        uint64_t unattributed = 0;

        store.Begin();
        try {
            while (reader->Next(raw)) {
                Decode(raw, pkt);
                Classify(pkt, cp);
                const SensorIndex sensor = sensors.Lookup(pkt.dst);
                unattributed += sensor == UNATTRIBUTED;
                if (cp.dns != DnsVerdict::NOT_DNS && sensor != UNATTRIBUTED) [[unlikely]]
                    dns_study.Add(pkt, cp);
                // Hours close when a later one begins; a late packet for a closed hour is merged
                // into the stored row, so out-of-order captures stay exact.
                const int64_t hour = HourOf(pkt.ts);
                if (hour > open_hour) [[unlikely]] {
                    if (open_hour != INT64_MIN) {
                        aggregation.Close(FloorDiv(hour, 24) != FloorDiv(open_hour, 24), write);
                    }
                    open_hour = hour;
                }
                Observation observation = MakeObservation(pkt, cp, sensor);
                if (sig_state) {
                    options.signatures->Match(pkt, *sig_state, hits, &by_source);
                    if (!hits.empty() || !by_source.empty()) [[unlikely]]
                        FillSignatureHits(observation.signatures, hits, by_source, options.signatures->Rules(),
                                          pkt.dport);
                }
                aggregation.Observe(observation);
                if (record.packets == 0 || pkt.ts < record.first_ts) record.first_ts = pkt.ts;
                if (record.packets == 0 || pkt.ts > record.last_ts) record.last_ts = pkt.ts;
                ++record.packets;
                record.bytes += raw.wire_len;
                if ((record.packets & 0x3FFFF) == 0 && options.on_progress) {
                    progress.packets = summary.packets + record.packets;
                    progress.disk_bytes_done = disk_bytes_before + reader->DiskBytesRead();
                    options.on_progress(progress);
                }
            }
            const auto &error = reader->Error();
            // Why nothing of the file is kept, if so: no packet before its fault, a link type it cannot count, or
            // no content hash. The parse hashes what it read; ContentHash reads what it left (after a damaged
            // record, say). A file that cannot be read to its end has no hash to be recognised by, as when its own
            // hash pass failed; the stream detectors of this run have seen its packets up to the fault.
            std::optional<std::string> discard;
            if (error && (record.packets == 0 || error->unsupported_link_type)) {
                discard = error->message;
            } else if (hash.empty()) {
                try {
                    hash = reader->ContentHash();
                } catch (const std::runtime_error &e) {
                    discard = e.what();
                }
            }
            if (discard) {
                async_sink.reset();
                store.Rollback();
                outcome.message = fmt::format("{}: {}; nothing stored from this file", path.string(), *discard);
                log(outcome.message);
                finish(std::move(outcome));
                continue;
            }
            aggregation.Finish(write);
            // The DNS study's fold (a sort of the file's DNS messages by source) needs neither the workers nor the
            // store: it runs while the store's thread writes the last hour.
            const std::vector<dns::SourceDay> dns_sources = dns_study.TakeSources();
            const std::vector<dns::ZoneHour> dns_zones = dns_study.TakeZones();
            if (async_sink) async_sink->Drain();
            // In the file's transaction, like its counters.
            store.MergeDnsSources(dns_sources);
            store.MergeDnsZones(dns_zones);
            record.content_hash = hash;
            record.status = error ? "partial" : "complete";
            // The reader's message names the offset, the fault and how many packets came before it.
            if (error) record.message = error->message;
            store.InsertFile(record);
            if (!detectors.empty() && record.packets > 0)
                store.PutDetectorRun(
                    {"ingest", record.first_ts, record.last_ts, DescribeDetectors(*options.detectors), ""});
            store.Commit();
        } catch (...) {
            async_sink.reset();  // the writing thread stops before the rollback touches the store
            store.Rollback();
            throw;
        }
        summary.packets += record.packets;
        summary.unattributed_packets += unattributed;
        summary.signature_packets += signature_packets;
        summary.signature_hits += signature_hits;
        summary.detected_events += detected;
        summary.merged_events += merged;
        if (record.packets > 0) read_end = std::max(read_end, record.last_ts);
        outcome.packets = record.packets;
        if (reader->Error()) {
            outcome.status = FileStatus::PARTIAL;
            outcome.message = fmt::format("{}: {}", path.string(), record.message);
        } else {
            outcome.status = FileStatus::INGESTED;
            outcome.message = fmt::format("{}: {} packets ({}, {})", path.string(), record.packets, record.format,
                                          record.compression);
        }
        log(outcome.message);
        progress.packets = summary.packets;
        finish(std::move(outcome));
    }
    // What is still open at the end of the input closes now: an attack or a scan that ran to the end of the
    // last file is an event too, and goes on in the next run (FinishDetectors). The run ends at its last packet,
    // even where the carry came from a later time (a backfill): what it read goes on into the next hour it
    // precedes. A run that read nothing ends where the carry did, which it then saves again as it was.
    if (!detectors.empty()) FinishDetectors(store, detectors, read_end != INT64_MIN ? read_end : carried_at, summary);
    // The days left marked (those that ended with a file) are built from their hours, and the per-source
    // parts that later files wrote are merged into their days: once per run, not once per file (reads are
    // right either way, so a crash before this loses nothing).
    store.FoldDayParts(std::max(1u, options.threads));
    store.CheckpointBehind(false);  // the run's time includes the wait for the last copy
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return summary;
}

}  // namespace darkscope
