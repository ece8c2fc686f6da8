#pragma once
/// Aggregation spread over worker threads, sharded by source address.
///
/// The thread that reads and decodes calls Observe for each packet; packets are routed by a hash
/// of their source to the worker that owns that source, in batches, so that nothing is locked per
/// packet. Each worker owns one AggregateShard. Closing an hour or a day sends every worker a
/// marker: each flushes its shard and hands the result back, while the reader goes on with the next
/// hour. The results of a close are collected (and can be stored) at the next close or at Finish,
/// so that storing one hour overlaps aggregating the next.
///
/// A source's packets all reach the same worker, so per-source records never need merging across
/// workers, and segment sources unite exactly: the counts do not depend on the number of workers.
/// With zero workers everything runs on the calling thread (tests, and machines with one core).

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "aggregate/aggregator.hpp"
#include "detect/event.hpp"

namespace darkscope {

namespace detect {
class StreamDetectors;
}

/// What the workers hand back at a close, united over every worker.
struct ClosedInterval {
    bool day_closed = false;   // sources, events and destinations are set only when a day closed
    bool end_of_file = false;  // the last close of the input (Finish): its day may go on in the next file
    CounterRows hourly;        // every hour's segments observed since the previous close; the store
                               // builds daily rows from the hours (Store::BuildDays)
    std::vector<CounterRows> hourly_parts;  // the other workers' segments: UniteHourly merges them into hourly
    /// Unites the workers' segments into `hourly`. The store's thread does it: on the reading thread, which
    /// collects the workers' results at every hour, the merging held up the packets of the next hour.
    void UniteHourly();
    SourceChunks sources;      // per-source day records, ready for the store
    EventTable events{16};
    std::map<std::pair<int32_t, SensorIndex>, SourceSet> destinations;
    uint64_t signature_packets = 0;  // packets with a signature hit, and rule matches, since the last close
    uint64_t signature_matches = 0;
    std::vector<detect::DetectedEvent> detections;  // events the stream detectors closed since the last close
    std::vector<int64_t> superseded;  // stored events (ids) that detections replace (StreamDetectors::TakeSuperseded)
};

class ShardedAggregation {
public:
    /// `workers` threads (0: aggregate on the calling thread).
    /// `sensor_ids` maps sensor indexes to stored ids (see ToSourceChunks).
    /// `enrichment` (may be null) is shared read-only by the workers; it must outlive this object.
    ShardedAggregation(unsigned workers, bool track_destinations, std::vector<int64_t> sensor_ids,
                       const Enrichment *enrichment = nullptr);
    ~ShardedAggregation();
    /// Shard i decides by-source thresholds with trackers[i] (one per worker, or one when inline);
    /// both must outlive this object. Call before the first Observe.
    void SetThresholds(const sig::Matcher *matcher, std::vector<sig::ThresholdTracker> &trackers);
    /// Shard i runs detectors[i] (one per worker, or one when inline) on every packet it observes; they
    /// outlive this object (one set per ingest run, so that a scan spans files). Call before the first Observe.
    void SetDetectors(std::vector<detect::StreamDetectors> &detectors);
    ShardedAggregation(const ShardedAggregation &) = delete;
    ShardedAggregation &operator=(const ShardedAggregation &) = delete;

    /// The shard that owns `src` among `shards` (the workers, or 1 when inline). Ingest hands each stream
    /// detector state carried from an earlier run to its source's shard by this, whatever the earlier number.
    static size_t ShardOf(const IpAddress &src, size_t shards) {
        // The hash's high bits scaled to [0, shards): a 64-bit division per packet cost more than the hash.
        using Wide = unsigned __int128;
        return shards <= 1 ? 0 : size_t(Wide(IpAddressHash{}(src)) * shards >> 64);
    }

    void Observe(const Observation &o) {
        if (workers_.empty()) {
            inline_state_->shard.Observe(o);
            if (inline_state_->detectors) ObserveDetectors(*inline_state_, o);
            return;
        }
        const size_t w = ShardOf(o.src, workers_.size());
        std::vector<Observation> &batch = pending_[w];
        batch.push_back(o);
        if (batch.size() == BATCH) [[unlikely]]
            SendBatch(w);
    }

    using Sink = std::function<void(ClosedInterval &&)>;
    /// Asks every worker to close what it holds (with the per-source records and counters too if
    /// `day` is true). The result of the previous close, if any, is handed to `sink` first.
    void Close(bool day, const Sink &sink);
    /// Closes the day and hands every result still outstanding to `sink`, in order.
    void Finish(const Sink &sink);

private:
    static constexpr size_t BATCH = 4096;
    // How many packets may wait for the workers, all together: enough to keep the reader busy while
    // the workers flush (a lump of work, where observing is a stream of appends), and a bound on the
    // memory held between threads (about 48 MiB of 96-byte observations). An hour's close sets every
    // worker flushing at once, for about as long as the reader takes over 400,000 packets; a quarter of
    // that blocked the reader for most of each flush (docs/performance.md, eighteenth session).
    static constexpr size_t QUEUED_PACKETS_LIMIT = size_t(1) << 19;
    size_t queue_limit_ = 1;  // batches per worker

    struct Message {
        enum class Kind { BATCH, CLOSE_HOURS, CLOSE_DAYS, STOP } kind = Kind::BATCH;
        std::vector<Observation> batch;
    };
    struct Output {
        ClosedInterval interval;
        std::exception_ptr error;
    };
    struct ShardState {
        AggregateShard shard;
        detect::StreamDetectors *detectors = nullptr;
    };
    // Out of line: the header only declares StreamDetectors.
    static void ObserveDetectors(ShardState &state, const Observation &o);
    struct Worker {
        ShardState state;
        std::mutex mutex;
        std::condition_variable changed;
        std::deque<Message> inbox;
        std::deque<Output> outbox;
        std::vector<std::vector<Observation>> spare;  // emptied batches, handed back for reuse
        std::thread thread;
    };

    void SendBatch(size_t w);
    void Send(size_t w, Message &&m);
    void Run(Worker &worker);
    ClosedInterval CloseShard(ShardState &state, bool day) const;
    static void Unite(ClosedInterval &into, ClosedInterval &&part);
    ClosedInterval Collect();

    std::vector<int64_t> sensor_ids_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::vector<Observation>> pending_;
    std::unique_ptr<ShardState> inline_state_;
    bool outstanding_ = false;  // a close was sent and its result not yet collected
};

}  // namespace darkscope
