#pragma once
/// The stream detectors that run inside ingest: scans (Durumeric et al. 2014), DoS backscatter
/// (Moore et al. 2006, with the thresholds of CAIDA's RS-DoS) and multi-sensor campaigns.
///
/// One StreamDetectors runs per aggregation worker, which owns every packet of its sources and sees
/// them in capture time order (nearly: files are read in time order, so time may step back a little
/// between files). All state is keyed by source, so no two workers share any: no locks. The
/// per-packet path is one or two open-addressing lookups and a few counter updates; it allocates only
/// when a state is created or one of its small sets outgrows its inline room.
///
/// State is bounded by the sources active within the timeouts, not by every source ever seen: the
/// worker calls Expire when an hour closes, and Observe itself sweeps the tables whenever packet time
/// passes the next sweep point (every SWEEP_INTERVAL of packet time). A state closing emits an event
/// if it qualifies; TakeEvents hands the events over.
///
/// Defaults (docs/detectors.md):
///
/// Scans, per (source, destination service), over the probe classes (SYN probe, UDP probe, ICMP echo
/// request, DNS query; never backscatter or responses):
/// - `scan_gap` 480 s: a state closes after this long without a packet (Durumeric et al.'s timeout).
/// - A scan needs `ScanThreshold()` distinct destinations = max(`scan_floor`,
///   ceil(100 x monitored / 2^24)): Durumeric et al.'s 100 addresses of a /8, scaled to the monitored
///   space. The floor, 10, is for the /20 to /24 telescopes where the scaled figure is below one: 10
///   distinct addresses on one port within the gap is 4% of a /24 and 0.24% of a /20, which a
///   misdirected client or a peer-to-peer contact retrying one address does not reach.
/// - Distinct destinations are counted exactly up to `scan_exact_destinations` (1024), then with a
///   HyperLogLog of 1024 registers (standard error 3.3%, 1 KiB): a scan state never holds more than
///   about 4 KiB of destinations, however large the telescope. The event says which (`exact`).
/// - A source keeps at most `scan_services_per_source` (16) service states; packets to further
///   services fold into one "many ports" state of the source (service null, `many_ports` true), so a
///   source sweeping all 65535 ports holds 17 states, and its sweep still shows as one scan of its
///   distinct destinations.
/// - The tool is the first tool tag (zmap-old, masscan, mirai; else irregular-syn) that TagsOf
///   (classify/fingerprint.hpp) gives the scan's packets: the same 90% rule as the sources' tags in
///   the store, so that an event and the source's record never disagree.
///
/// DoS backscatter, per victim (the packet's source), over SYN/ACK, RST, RST/ACK and ICMP-error
/// backscatter: `rsdos_timeout` 300 s without a packet closes a flow; it is an attack if it has at
/// least `rsdos_min_packets` 25 packets, lasts at least `rsdos_min_duration` 60 s and its busiest 60 s
/// window holds at least `rsdos_min_peak_per_minute` 30 packets. The window slides in 10 s steps
/// (six 10 s buckets), so the peak is that of a true 60 s window to within 10 s.
/// The estimated attack rate scales the observed rate by 2^32 / monitored for IPv4 victims: the
/// spoofed sources of the attack are uniform over IPv4, and the telescope sees its share of them.
/// IPv6 victims get the observed rate only: no attacker spoofs uniformly over 2^128 addresses.
///
/// Multi-sensor campaigns, per (source, service), over the probe classes: a round is a window of
/// `campaign_window` 2 s (from its first packet) in which the source reached at least K =
/// max(2, min(`campaign_min_sensors` 3, sensors)) distinct sensors; a campaign needs
/// `campaign_min_rounds` 3 rounds, and closes `campaign_timeout` 6 hours after its last round. A spoofed
/// DNS source reaches every sensor within a fraction of a second, round after round; a busy scanner also
/// lands on K sensors within a window now and then, by chance. So the rounds must also be at least
/// `campaign_min_round_share` (half) of the windows the source opened while the campaign ran: every window
/// of a spoofed source qualifies, while a scanner at 0.1 packets/s fills one 2 s window in ten with a second
/// sensor. (The first version, a 10 s window without the share, made the demo's every busy scanner a
/// "campaign" across its two sensors.) With fewer than two sensors there are no campaigns. Its packets
/// are those of the qualifying rounds. The timeout is long because an amplification attack's queries to darknet
/// addresses are a trickle at its start and end: 2013Q1's spoofed sources (a five-day triangle) sent rounds
/// more than 10 minutes apart for their first hours, so a 600 s timeout cut each source's attack into 70
/// campaigns (836 for 12 sources) that started 2.6 hours late; with 6 hours each source is one campaign from its
/// first query. The round share keeps scanners out however long the campaign runs (no false campaign on any
/// synthetic scenario either way).
///
/// Countries come from the Enrichment (may be null: no regions), asked only when an event is emitted.
///
/// Runs into the same store go on from each other (docs/detectors.md#runs-into-one-store): at the end of a
/// run FinishCarrying encodes the states still open (not idle past their timeouts at the run's last
/// packet) before closing them, and the next run hands each to the worker of its source (Restore). A
/// carried state that sees packets again replaces, when it closes, the event stored for it when the previous
/// run ended (TakeSuperseded); one that sees none closes without an event, since its event, if it had one,
/// is stored already. So a scan across two hourly files ingested one run at a time is one
/// event, as it is when both files are ingested in one run.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aggregate/aggregator.hpp"
#include "detect/event.hpp"
#include "enrich/enrichment.hpp"

namespace darkscope::detect {

struct StreamOptions {
    /// Darknet addresses monitored (all sensors); 0 when unknown: thresholds use their floors and
    /// rates are not extrapolated.
    uint64_t monitored_addresses = 0;

    bool scans = true;
    TimestampNs scan_gap = 480 * NS_PER_SEC;
    uint64_t scan_floor = 10;
    uint32_t scan_exact_destinations = 1024;
    uint32_t scan_services_per_source = 16;

    bool rsdos = true;
    TimestampNs rsdos_timeout = 300 * NS_PER_SEC;
    uint64_t rsdos_min_packets = 25;
    TimestampNs rsdos_min_duration = 60 * NS_PER_SEC;
    uint64_t rsdos_min_peak_per_minute = 30;

    bool campaigns = true;
    TimestampNs campaign_window = 2 * NS_PER_SEC;
    uint32_t campaign_min_sensors = 3;
    uint32_t campaign_min_rounds = 3;
    double campaign_min_round_share = 0.5;
    TimestampNs campaign_timeout = 6 * 3600 * NS_PER_SEC;

    /// Distinct destinations a scan needs: max(scan_floor, ceil(100 x monitored / 2^24)).
    uint64_t ScanThreshold() const;
};

/// An open state of the detectors at the end of an ingest run, carried to the next run into the same store
/// (the store's `stream_carry` table): one open scan, campaign or victim flow.
struct CarriedState {
    enum class Kind : uint8_t { SCAN, CAMPAIGN, RSDOS };
    static constexpr size_t NO_EVENT = SIZE_MAX;
    /// The service of a source's "many ports" state (past scan_services_per_source services).
    static constexpr uint32_t MANY_PORTS = 0xFFFFFFFFu;

    Kind kind = Kind::SCAN;
    IpAddress source;
    uint32_t service = 0;  // ServiceKey::packed, or MANY_PORTS; 0 for rsdos
    TimestampNs last = 0;  // its last packet
    int64_t event_id = 0;  // the stored event of this state (emitted when a run ended), 0 none
    /// Set by FinishCarrying: the index, among the events TakeEvents returns next, of the event emitted for
    /// it as the run ended; its caller stores that event and puts its id in event_id.
    size_t event = NO_EVENT;
    std::string state;  // the state, encoded by stream.cpp (a version byte first)
};

/// scan | campaign | rsdos, as the store names them.
std::string_view CarriedKindName(CarriedState::Kind kind);
std::optional<CarriedState::Kind> CarriedKindFromName(std::string_view name);

class StreamDetectors {
public:
    /// Packet time between two sweeps of the tables that Observe makes by itself. A sweep visits every
    /// state, so it costs as much as the states times the sweeps: at 60 s the sweeps were 4% of a 10M-packet
    /// ingest's profile. Half the scan gap still expires a state at most 4 minutes late, and the states held
    /// are those active within the timeouts plus this.
    static constexpr TimestampNs SWEEP_INTERVAL = 240 * NS_PER_SEC;

    /// `sensor_names[i]` names SensorIndex i. `enrichment` may be null, and must outlive this.
    StreamDetectors(StreamOptions options, std::vector<std::string> sensor_names, const Enrichment *enrichment);
    ~StreamDetectors();
    StreamDetectors(StreamDetectors &&) noexcept;
    StreamDetectors &operator=(StreamDetectors &&) noexcept;

    /// Per packet, in time order per source (small steps back are tolerated).
    void Observe(const Observation &o);
    /// Observe for each, in order; faster, since the states of packets further on are fetched meanwhile.
    void ObserveBatch(std::span<const Observation> batch);
    /// Closes every state idle past its timeout at `now` (the worker calls this when an hour closes).
    void Expire(TimestampNs now);
    /// End of input: closes every state; those that qualify become events.
    void Finish();
    /// The events closed since the last call, in the order they closed.
    std::vector<DetectedEvent> TakeEvents();

    /// What a carried state must have been made under to go on here: the options and the sensor names (their
    /// indexes are in the states), as text. Equal settings, equal text.
    std::string CarrySettings() const;
    /// Takes up a state that FinishCarrying of an earlier run with the same CarrySettings returned; call
    /// before the first Observe, on the detectors of the state's source. Returns why it cannot be read (it is
    /// then left out), or an empty string.
    std::string Restore(const CarriedState &state);
    /// End of input of a run that the next run into the store goes on from: closes the states idle past their
    /// timeouts at `run_end` (the run's last packet time), then encodes every state still open and closes it
    /// as Finish does. The events go to TakeEvents as usual; a state carried in unchanged closes without
    /// one (its event is stored) and is carried on with its event_id.
    std::vector<CarriedState> FinishCarrying(TimestampNs run_end);
    /// The ids of the stored events that states closed since the last call replace: each was stored for a
    /// carried state when its run ended, and that state has since gone on, to close as one of the events
    /// (or as none, a campaign that no longer qualifies). Ingest deletes them with the events' transaction.
    std::vector<int64_t> TakeSuperseded();
    /// Carried states taken up and not yet closed.
    size_t CarriedStates() const;
    /// Open states: (source, service) scan/campaign states and victim flows.
    size_t ActiveStates() const;
    /// The campaign's K, 0 when campaigns are off (fewer than two sensors).
    uint32_t CampaignSensors() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace darkscope::detect
