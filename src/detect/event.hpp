#pragma once
/// A detected event: what a detector found, with the evidence an analyst needs to check it.
///
/// Two families of detectors produce these. The stream detectors (scans, DoS backscatter,
/// multi-sensor campaigns) run inside ingest on the worker that owns a packet's source, with state
/// bounded by the sources active within their timeouts. The series detectors (surges, new services)
/// run over the stored hourly and daily counters, so they can be re-run with other settings without
/// reading the captures again. Both write the same record to the store (`detected_events`, docs/store.md)
/// and `darkscope events` and the report read it back.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/time.hpp"

namespace darkscope::detect {

// X(ENUM, "stable-name"): stored by name, so the order may change.
#define DARKSCOPE_EVENT_KINDS(X)        \
    X(SURGE, "surge")                   \
    X(NEW_SERVICE, "new-service")       \
    X(CAMPAIGN, "campaign")             \
    X(SCAN, "scan")                     \
    X(BACKSCATTER, "backscatter")       \
    X(DNS_REFLECTION, "dns-reflection") \
    X(WATER_TORTURE, "water-torture")

enum class EventKind : uint8_t {
#define DARKSCOPE_X(e, name) e,
    DARKSCOPE_EVENT_KINDS(DARKSCOPE_X)
#undef DARKSCOPE_X
        COUNT
};

constexpr std::string_view EVENT_KIND_NAMES[] = {
#define DARKSCOPE_X(e, name) name,
    DARKSCOPE_EVENT_KINDS(DARKSCOPE_X)
#undef DARKSCOPE_X
};

inline std::string_view EventKindName(EventKind k) { return EVENT_KIND_NAMES[size_t(k)]; }
inline std::optional<EventKind> ParseEventKind(std::string_view name) {
    for (size_t i = 0; i < size_t(EventKind::COUNT); ++i)
        if (EVENT_KIND_NAMES[i] == name) return EventKind(i);
    return std::nullopt;
}

/// One source's share of an event, for the "top sources" evidence.
struct EventSource {
    std::string address;   // IpAddress::ToString
    std::string country;   // ISO 3166 code, "" when not looked up
    uint64_t packets = 0;  // the event's (stream), or the peak day's, all services (series: evidence.top_sources_rank)
};

struct DetectedEvent {
    EventKind kind = EventKind::SURGE;
    std::string detector;  // the method and its settings' name: "surge.mad", "scan", "rsdos", ...
    /// What the event is about, in the reports' notation: a service ("23/TCP"), a region ("CN"),
    /// a region and service ("CN 23/TCP"), a victim or a scanner address.
    std::string subject;
    TimestampNs start = 0;  // first packet (stream) or start of the first anomalous hour/day (series)
    TimestampNs peak = 0;   // the busiest minute, hour or day
    TimestampNs end = 0;    // last packet, or end of the last anomalous period
    /// The detector's measure of how large the event is: the score (series), distinct destinations
    /// (scan), estimated attack rate in packets/s (backscatter), distinct sensors (campaign).
    double magnitude = 0;
    uint64_t packets = 0;
    uint64_t sources = 0;
    std::vector<EventSource> top_sources;  // largest first (series: the new ones first), at most a handful
    std::vector<std::string> regions;      // country codes of the sources, largest first
    std::vector<std::string> sensors;      // sensor names that saw it
    nlohmann::ordered_json evidence = nlohmann::ordered_json::object();  // detector-specific figures
    std::string sentence_en;
    std::string sentence_ja;
    /// Series events: the start of the period where the detector fired (start is where the rise began, which
    /// can be earlier). Not stored: 0 once read back. `detect` keeps the events detected inside its period.
    TimestampNs detected = 0;
};

/// "1,234,567": the digit grouping of the events' sentences (both detector families).
std::string GroupDigits(uint64_t n);

/// The event as one JSON object's text (the store's `detail` column), written directly: the store writes one per
/// event, and building a tree to dump was most of an event's cost to the ingest.
std::string ToJsonText(const DetectedEvent &e);
/// The same object parsed (`darkscope events --json`, the report).
nlohmann::ordered_json ToJson(const DetectedEvent &e);
/// The inverse of ToJson; throws nlohmann::json::exception on a malformed document.
DetectedEvent EventFromJson(const nlohmann::ordered_json &j);

}  // namespace darkscope::detect
