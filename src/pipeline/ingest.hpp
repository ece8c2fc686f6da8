#pragma once
/// Ingest: capture files -> decode -> classify -> aggregate -> store, one transaction per file.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "classify/sensors.hpp"
#include "enrich/enrichment.hpp"
#include "store/store.hpp"

namespace darkscope {

namespace sig {
class Matcher;
}
namespace detect {
struct StreamOptions;
}

struct IngestProgress {
    size_t file_index = 0;  // 0-based index of the file being read
    size_t file_count = 0;
    uint64_t packets = 0;          // packets read so far, all files
    uint64_t disk_bytes_done = 0;  // bytes of the input files consumed so far, all files
    uint64_t disk_bytes_total = 0;
};

struct IngestOptions {
    /// Called every few hundred thousand packets and after each file (for a progress bar).
    std::function<void(const IngestProgress &)> on_progress;
    /// One line per file outcome and per notable condition, for the user.
    std::function<void(const std::string &)> log;
    /// Aggregation worker threads besides the one that reads and decodes (0: all on one thread).
    /// The counts are the same whatever the number.
    unsigned threads = 0;
    /// Country, AS and research labels of sources (null: none); shared read-only by the threads.
    const Enrichment *enrichment = nullptr;
    /// Rules to match every packet against (on the reading thread, after classification); hits are
    /// counted per sid and category (Dimension::SIGNATURE, SIGNATURE_CATEGORY). Null: no matching.
    const sig::Matcher *signatures = nullptr;
    /// The stream detectors (scans, DoS backscatter, multi-sensor campaigns; detect/stream.hpp), run by
    /// each aggregation worker on its sources for the whole run, going on from the states the previous run
    /// into the store left open (its store's stream_carry). Null: none, and the carry is left as it is.
    const detect::StreamOptions *detectors = nullptr;
};

enum class FileStatus { INGESTED, DUPLICATE, PARTIAL, FAILED };

struct FileOutcome {
    std::filesystem::path path;
    FileStatus status = FileStatus::FAILED;
    uint64_t packets = 0;
    std::string message;
};

struct IngestSummary {
    std::vector<FileOutcome> files;
    uint64_t packets = 0;
    uint64_t unattributed_packets = 0;
    uint64_t signature_packets = 0;  // packets that matched at least one rule
    uint64_t signature_hits = 0;     // (packet, rule) matches
    uint64_t detected_events = 0;    // events the stream detectors stored
    uint64_t merged_events = 0;      // events stored when the previous run ended that went on (replaced, or withdrawn
                                     // where a campaign no longer qualified)
    uint64_t carried_in = 0;         // detector states the previous run left open, taken up
    uint64_t carried_out = 0;        // detector states left open for the next run
    double seconds = 0;

    size_t Count(FileStatus s) const;
};

/// Resolves the sensors for an ingest: the file given (saved into the store), else the sensors
/// already stored, else one implicit sensor. `note` tells the user which it was.
SensorMap ResolveSensors(Store &store, const std::optional<std::filesystem::path> &sensors_file, std::string &note);

/// Stores the names of the enrichment's research list and has its lookups label sources with the
/// store's ids (stable when the list is edited). Needed before Ingest when there is a research list.
/// Also labels the sources whose reverse-DNS name, cached in the store by `enrich rdns`, matches a
/// pattern of the list (ResearchByRdns): the days ingested from now on count them as research
/// scanners in every dimension. Returns how many sources reverse DNS labels so.
size_t LabelResearchForStore(Store &store, Enrichment &enrichment);

/// Ingests the files in the order given (callers sort them by time). Each file is committed in one
/// transaction, or not at all; a file whose content was already ingested is skipped.
/// Throws StoreError if the store itself fails (the current file is rolled back).
IngestSummary Ingest(Store &store, const SensorMap &sensors, const std::vector<std::filesystem::path> &files,
                     const IngestOptions &options);

/// XXH3-128 of a file's bytes, as 32 hex digits. Throws std::runtime_error if unreadable.
std::string HashFile(const std::filesystem::path &path);

}  // namespace darkscope
