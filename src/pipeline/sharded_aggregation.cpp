#include "pipeline/sharded_aggregation.hpp"

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <tuple>

#include "detect/stream.hpp"
#include "signature/matcher/matcher.hpp"

namespace darkscope {

ShardedAggregation::ShardedAggregation(unsigned workers, bool track_destinations, std::vector<int64_t> sensor_ids,
                                       const Enrichment *enrichment)
    : sensor_ids_(std::move(sensor_ids)) {
    if (workers == 0) {
        inline_state_ = std::make_unique<ShardState>();
        inline_state_->shard.TrackDestinations(track_destinations);
        inline_state_->shard.SetEnrichment(enrichment);
        return;
    }
    pending_.resize(workers);
    queue_limit_ = std::max<size_t>(2, QUEUED_PACKETS_LIMIT / BATCH / workers);
    for (unsigned i = 0; i < workers; ++i) {
        auto w = std::make_unique<Worker>();
        w->state.shard.TrackDestinations(track_destinations);
        // The workers share the one-shard bound on buffered records, so memory does not grow with them.
        w->state.shard.SetFlushLimit(AggregateShard::DEFAULT_FLUSH_LIMIT / workers);
        w->state.shard.SetEnrichment(enrichment);
        pending_[i].reserve(BATCH);
        workers_.push_back(std::move(w));
    }
    for (auto &w : workers_)
        w->thread = std::thread([this, worker = w.get()] { Run(*worker); });
}

void ShardedAggregation::SetThresholds(const sig::Matcher *matcher, std::vector<sig::ThresholdTracker> &trackers) {
    if (trackers.size() != std::max<size_t>(1, workers_.size()))
        throw std::logic_error("ShardedAggregation::SetThresholds: one tracker per shard");
    if (workers_.empty()) inline_state_->shard.SetThresholds(matcher, &trackers[0]);
    // Before the first batch: the workers read their shard only once a message arrives.
    for (size_t i = 0; i < workers_.size(); ++i)
        workers_[i]->state.shard.SetThresholds(matcher, &trackers[i]);
}

void ShardedAggregation::SetDetectors(std::vector<detect::StreamDetectors> &detectors) {
    if (detectors.size() != std::max<size_t>(1, workers_.size()))
        throw std::logic_error("ShardedAggregation::SetDetectors: one set of detectors per shard");
    if (workers_.empty()) inline_state_->detectors = &detectors[0];
    for (size_t i = 0; i < workers_.size(); ++i)
        workers_[i]->state.detectors = &detectors[i];
}

void ShardedAggregation::ObserveDetectors(ShardState &state, const Observation &o) { state.detectors->Observe(o); }

ShardedAggregation::~ShardedAggregation() {
    for (size_t w = 0; w < workers_.size(); ++w)
        Send(w, Message{Message::Kind::STOP, {}});
    for (auto &w : workers_)
        w->thread.join();
}

void ShardedAggregation::SendBatch(size_t w) {
    Message m;
    m.batch.swap(pending_[w]);
    Send(w, std::move(m));
}

void ShardedAggregation::Send(size_t w, Message &&m) {
    Worker &worker = *workers_[w];
    std::unique_lock lock(worker.mutex);
    worker.changed.wait(lock, [&] { return worker.inbox.size() < queue_limit_ || m.kind != Message::Kind::BATCH; });
    const bool batch = m.kind == Message::Kind::BATCH;
    worker.inbox.push_back(std::move(m));
    worker.changed.notify_all();
    // The next batch reuses an emptied one: a fresh 300 KB buffer per batch costs the reader's
    // thread more in allocation than filling it.
    if (batch) {
        if (!worker.spare.empty()) {
            pending_[w].swap(worker.spare.back());
            worker.spare.pop_back();
        } else {
            pending_[w].reserve(BATCH);
        }
    }
}

void ShardedAggregation::Run(Worker &worker) {
    std::exception_ptr error;
    for (;;) {
        Message m;
        {
            std::unique_lock lock(worker.mutex);
            worker.changed.wait(lock, [&] { return !worker.inbox.empty(); });
            m = std::move(worker.inbox.front());
            worker.inbox.pop_front();
            worker.changed.notify_all();  // room for the reader
        }
        if (m.kind == Message::Kind::STOP) return;
        if (m.kind == Message::Kind::BATCH) {
            // After a failure (memory, most likely) the shard is not trusted: the error is reported
            // at the next close and the rest is dropped.
            if (error) continue;
            try {
                worker.state.shard.ObserveBatch(m.batch);
                if (worker.state.detectors) worker.state.detectors->ObserveBatch(m.batch);
            } catch (...) {
                error = std::current_exception();
            }
            m.batch.clear();
            std::lock_guard lock(worker.mutex);
            if (worker.spare.size() < 4) worker.spare.push_back(std::move(m.batch));
            continue;
        }
        Output out;
        if (!error) {
            try {
                out.interval = CloseShard(worker.state, m.kind == Message::Kind::CLOSE_DAYS);
            } catch (...) {
                error = std::current_exception();
            }
        }
        out.error = error;
        std::lock_guard lock(worker.mutex);
        worker.outbox.push_back(std::move(out));
        worker.changed.notify_all();
    }
}

ClosedInterval ShardedAggregation::CloseShard(ShardState &state, bool day) const {
    AggregateShard &shard = state.shard;
    ClosedInterval out;
    out.day_closed = day;
    Rollup(shard, out.hourly);
    std::tie(out.signature_packets, out.signature_matches) = shard.TakeSignatureCounts();
    // Events closed by packet time (Observe sweeps idle states as time passes) go with the hour in which
    // they closed, and so into the transaction of the file that closed them.
    if (state.detectors) {
        out.detections = state.detectors->TakeEvents();
        out.superseded = state.detectors->TakeSuperseded();
    }
    if (day) {
        SourceTable sources = shard.TakeSources();
        out.sources = ToSourceChunks(sources, sensor_ids_);
        out.events = shard.TakeEvents();
        out.destinations = shard.TakeDestinations();
    }
    return out;
}

void ClosedInterval::UniteHourly() {
    for (CounterRows &part : hourly_parts)
        for (auto &[key, segment] : part) {
            Segment &slot = hourly[key];
            // Two workers' parts of a key (the usual case) go straight to the encoding the store writes.
            if (slot.Empty() || slot.Packed() || segment.Packed()) {
                slot.Merge(std::move(segment));
            } else {
                slot = Segment::PackedUnion(slot, segment);
                segment = Segment();  // its arrays go now, as Merge's would, not with the whole part
            }
        }
    hourly_parts.clear();
}

void ShardedAggregation::Unite(ClosedInterval &into, ClosedInterval &&part) {
    if (!part.hourly.empty()) {
        if (into.hourly.empty()) into.hourly = std::move(part.hourly);
        else into.hourly_parts.push_back(std::move(part.hourly));
    }
    // Workers own disjoint sources: their chunks stay parts of the bucket, joined when stored.
    for (auto &[key, parts] : part.sources) {
        std::vector<std::string> &to = into.sources[key];
        for (std::string &p : parts)
            to.push_back(std::move(p));
    }
    part.events.ForEach([&](const EventKey &k, uint64_t n) { into.events[k] += n; });
    into.signature_packets += part.signature_packets;
    into.signature_matches += part.signature_matches;
    for (auto &e : part.detections)
        into.detections.push_back(std::move(e));
    into.superseded.insert(into.superseded.end(), part.superseded.begin(), part.superseded.end());
    for (auto &[key, set] : part.destinations)
        into.destinations[key].Merge(set);
}

ClosedInterval ShardedAggregation::Collect() {
    ClosedInterval all;
    std::exception_ptr error;
    for (size_t w = 0; w < workers_.size(); ++w) {
        Worker &worker = *workers_[w];
        Output out;
        {
            std::unique_lock lock(worker.mutex);
            worker.changed.wait(lock, [&] { return !worker.outbox.empty(); });
            out = std::move(worker.outbox.front());
            worker.outbox.pop_front();
        }
        if (out.error && !error) error = out.error;
        all.day_closed = out.interval.day_closed;
        if (!error) Unite(all, std::move(out.interval));
    }
    outstanding_ = false;
    if (error) std::rethrow_exception(error);
    return all;
}

void ShardedAggregation::Close(bool day, const Sink &sink) {
    if (workers_.empty()) {
        sink(CloseShard(*inline_state_, day));
        return;
    }
    if (outstanding_) sink(Collect());
    for (size_t w = 0; w < workers_.size(); ++w) {
        if (!pending_[w].empty()) SendBatch(w);
        Send(w, Message{day ? Message::Kind::CLOSE_DAYS : Message::Kind::CLOSE_HOURS, {}});
    }
    outstanding_ = true;
}

void ShardedAggregation::Finish(const Sink &sink) {
    if (workers_.empty()) {
        ClosedInterval last = CloseShard(*inline_state_, true);
        last.end_of_file = true;
        sink(std::move(last));
        return;
    }
    Close(true, sink);
    ClosedInterval last = Collect();
    last.end_of_file = true;
    sink(std::move(last));
}

}  // namespace darkscope
