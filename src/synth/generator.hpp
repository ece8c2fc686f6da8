#pragma once
/// The synthetic telescope: turns a Scenario into time-ordered frames and records the ground truth of every one.
///
/// Each component (population or event) is a set of sources whose packets form Poisson processes: source i of
/// component c sends at rate(c, t) * weight_i, with weights drawn from a Pareto distribution (heavy-tailed
/// per-source rates) and rate(c, t) the component's rate times its shape at t. The superposition of all of them is
/// one Poisson process whose rate is the sum, so the generator draws the next arrival from the total rate and then
/// picks the component and the source with alias tables: output comes out in time order with no sorting, in O(1)
/// per packet. Rates are re-evaluated every SLICE (10 minutes) and at every component's start and end.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "classify/service_key.hpp"
#include "common/ip_address.hpp"
#include "common/time.hpp"
#include "synth/scenario.hpp"

namespace darkscope::synth {

constexpr int64_t SLICE_NS = 600 * NS_PER_SEC;

/// Receives frames in time order.
class PacketSink {
public:
    virtual ~PacketSink() = default;
    virtual void Write(TimestampNs ts, const uint8_t *frame, size_t len) = 0;
};

/// One synthetic source and its true labels.
struct SourceTruth {
    IpAddress address;
    uint16_t component = 0;
    Tool tool = Tool::LINUX;
    std::string country;  // ISO code ("" for research scanners: their organisation's country)
    const struct ResearchOrg *research = nullptr;
    bool open_resolver = false;
    uint8_t ttl = 64;      // initial TTL minus the hops to the telescope
    uint16_t sport = 0;    // the fixed source port of tools that keep one
    uint16_t ip_id = 0;    // the counter of stacks that count
    uint32_t ts_base = 0;  // TCP timestamp clock offset
    double weight = 0;     // share of the component's rate
    uint64_t packets = 0;
    TimestampNs first = 0, last = 0;
    uint64_t syn_probes = 0;         // TCP SYNs without ACK or RST: what the SYN fingerprint rules apply to
    std::vector<uint16_t> services;  // services_per_source: the component's services this source probes
    TimestampNs active_start = 0, active_end = 0;  // when it may send (its component's window unless lifetime_hours)
};

struct ComponentTruth {
    uint64_t packets = 0;
    double expected_packets = 0;           // the integral of the rate over the window (Poisson mean)
    std::vector<uint64_t> by_day;          // packets per day from the scenario start
    std::vector<uint64_t> by_sensor;       // packets per sensor
    std::vector<std::string> label_names;  // what `labels` counts: services, response types, ...
    std::vector<uint64_t> labels;
    uint32_t first_source = 0, source_count = 0;
};

struct Truth {
    uint64_t seed = 0;
    double scale = 1;
    uint64_t packets = 0;
    uint64_t bytes = 0;              // frame bytes
    std::vector<uint64_t> services;  // packets per ServiceKey.packed (kinds TCP..ICMPV6: 5 * 65536 slots)
    std::vector<ComponentTruth> components;
    std::vector<SourceTruth> sources;
};

struct GeneratorOptions {
    uint64_t seed = 1;
    double scale = 1.0;  // multiplies every rate (volume), not the number of sources
};

class Generator {
public:
    /// Draws the sources; throws std::runtime_error when the scenario cannot be generated (for example IPv6 sources
    /// but no sensor with an IPv6 network).
    Generator(const Scenario &scenario, GeneratorOptions options);
    ~Generator();
    /// Writes every packet to `sink`; `progress` gets the fraction of the time range done (about once a slice).
    void Run(PacketSink &sink, const std::function<void(double)> &progress = {});
    const Truth &GetTruth() const;
    const Scenario &GetScenario() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace darkscope::synth
