#pragma once
/// Many rules at once (Suricata src/util-mpm-hs.c): every rule with content gives one pattern (its
/// fast_pattern, else its longest positive content) to a Hyperscan database per protocol group
/// (TCP, UDP, ICMP, other), compiled once at load; scanning a payload yields candidate rules, and
/// only those are verified in full. Rules without a positive content are indexed by their header
/// (protocol, destination port, ICMP type) so that they only run on the packets they could match.
/// A Matcher is read-only once built; each thread that matches needs its own MatchState.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/flat_map.hpp"
#include "signature/rule.hpp"
#include "signature/verify.hpp"

struct hs_database;
struct hs_scratch;

namespace darkscope::sig {

/// The rules a packet matched, as indexes into the matcher's rules, in rule order.
using RuleHits = std::vector<uint32_t>;

/// The threshold and detection_filter state of rules: counts per (rule, tracked address) and window.
/// Matches must come in time order per tracker.
class ThresholdTracker {
public:
    /// Whether the rule's match by a packet (its time, tracked address and destination port) passes
    /// the rule's threshold; counts the match.
    bool Pass(const Rule &rule, uint32_t index, int64_t ts, const IpAddress &address, uint16_t dport);
    /// Starts loading what Pass(index, address) will read: its probe slot (ahead) or its track (nearer).
    /// A port-scan rule passes every SYN here, and the table outgrows the caches with the sources of
    /// a window, so a batch of packets prefetches some ahead (AggregateShard::ObserveBatch).
    void PrefetchSlot(uint32_t index, const IpAddress &address) const {
        tracks_.PrefetchSlot(tracks_.HashOf(TrackKey{index, address}));
    }
    void PrefetchTrack(uint32_t index, const IpAddress &address) const {
        const TrackKey key{index, address};
        tracks_.PrefetchEntry(key, tracks_.HashOf(key));
    }

private:
    struct Track {
        int64_t window_start = 0;  // ns
        int64_t window = 0;        // ns, the rule's
        uint32_t count = 0;
        std::vector<uint16_t> ports;  // unique_on dst_port: the distinct ports of the window, up to count + 1
    };
    // Tracks whose window has passed are dropped when the table doubles, so that memory follows the
    // sources of the current windows, not every source ever seen.
    size_t purge_at_ = size_t(1) << 16;
    void Purge(int64_t now);
    struct TrackKey {
        uint32_t rule = 0;
        IpAddress address;
        friend bool operator==(const TrackKey &, const TrackKey &) = default;
    };
    struct TrackKeyHash {
        size_t operator()(const TrackKey &k) const noexcept {
            return size_t(Mix64(IpAddressHash{}(k.address) ^ (uint64_t(k.rule) << 40)));
        }
    };
    // An open-addressing table: a port-scan rule looks up the source of every SYN.
    FlatMap<TrackKey, Track, TrackKeyHash> tracks_{1024};
};

class Matcher {
public:
    /// Compiles the rules. Throws std::runtime_error if Hyperscan rejects the patterns.
    explicit Matcher(std::vector<Rule> rules);
    ~Matcher();
    Matcher(const Matcher &) = delete;
    Matcher &operator=(const Matcher &) = delete;

    const std::vector<Rule> &Rules() const { return rules_; }

    /// Per-thread state: Hyperscan scratch, candidate marks, PCRE match data, thresholds.
    class State;
    std::unique_ptr<State> MakeState() const;

    /// Fills `hits` with the rules the packet matches, thresholds and detection filters applied
    /// (packets must come in time order per state for those). With `by_source`, the rules whose
    /// threshold tracks the source (ThresholdBySource) go there instead, verified but not yet
    /// counted: their state belongs with the source, in the aggregation shard that owns it
    /// (AggregateShard::SetThresholds), so that a port-scan rule does not look every SYN's source
    /// up on the reader's thread.
    void Match(const DecodedPacket &pkt, State &state, RuleHits &hits, RuleHits *by_source = nullptr) const;
    static bool ThresholdBySource(const Rule &rule) {
        return rule.threshold.type != Threshold::Type::NONE && !rule.threshold.by_dst;
    }

    /// How many rules went to each prefilter group, and how many are header-indexed (for messages).
    struct Stats {
        size_t patterns = 0;
        size_t content_rules = 0;
        size_t header_rules = 0;
    };
    Stats GetStats() const { return stats_; }

private:
    static constexpr int GROUPS = 4;  // TCP, UDP, ICMP/ICMPv6, other IP protocols
    struct Group {
        hs_database *db = nullptr;
        std::vector<std::vector<uint32_t>> pattern_rules;  // pattern id -> rules
        // Rules without a prefilter pattern: by destination port (TCP/UDP) or ICMP type, else any. Every list
        // holds rule indexes in ascending order.
        std::vector<std::vector<uint32_t>> keyed;
        // KeySlot(key) -> 1 + index into keyed, 0 for none; empty when no rule of the group has a key. An array,
        // not a hash map: the lookup is on every packet.
        std::vector<uint16_t> key_slot;
        // Bit KeySlot(key): key_slot names a list. 8 KiB that stay in the first-level cache, where the 128 KiB
        // of key_slot were a miss for most packets (scanners' ports are random, and few are any rule's).
        std::vector<uint64_t> key_bits;
        std::vector<uint32_t> any;
    };
    static int GroupOf(const DecodedPacket &pkt);
    /// Fills state.patterns with the pattern ids group g's database finds in the packet's payload.
    void ScanPayload(int g, const DecodedPacket &pkt, State &state) const;
    /// HeaderKeys' keys (a port, or 0x10000 | an ICMP type) as indexes of Group::key_slot.
    static size_t KeySlot(uint32_t key) { return key < 0x10000 ? key : 0x10000 + (key & 0xFF); }
    static constexpr size_t KEY_SLOTS = 0x10000 + 0x100;
    std::vector<Rule> rules_;
    Group groups_[GROUPS];
    Stats stats_;
};

class Matcher::State {
public:
    ~State();

private:
    friend class Matcher;
    hs_scratch *scratch = nullptr;
    std::vector<uint32_t> mark;  // rule -> generation last proposed
    uint32_t generation = 0;
    std::vector<uint32_t> candidates;
    std::vector<uint32_t> patterns;  // pattern ids hit by the current scan
    // The pattern ids of recently scanned payloads, by a hash of (group, bytes), so that a payload seen
    // again (a darknet hears the same probe from thousands of sources) is not scanned again: Hyperscan's
    // answer depends on nothing else. Direct-mapped; a slot keeps the bytes to compare on a hit.
    struct Memo {
        uint64_t hash = 0;
        int group = -1;
        std::string payload;
        std::vector<uint32_t> patterns;
    };
    static constexpr size_t MEMO_SLOTS = 4096;
    static constexpr uint32_t MEMO_MAX_PAYLOAD = 512;  // longer payloads are scanned every time
    std::vector<Memo> memo;
    VerifyScratch verify;
    ThresholdTracker thresholds;
};

}  // namespace darkscope::sig
