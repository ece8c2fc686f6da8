#pragma once
/// Scanner fingerprints: per-packet header relations that scanning tools leave (rules in
/// docs/enrichment.md#fingerprints). Classify sets one bit per rule a packet matches; aggregation
/// counts the matching packets per source and day, and a source is tagged only when enough of its
/// packets agree (TagsOf), so that a random stack matching once by chance is not a scanner.

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "classify/traffic_class.hpp"
#include "decode/decoded_packet.hpp"

namespace darkscope {

/// One bit each in ClassifiedPacket::fingerprints. Stored by number: never renumber.
enum class FingerprintRule : uint8_t {
    ZMAP_IP_ID = 0,        // IPv4 identification 54321 (ZMap before 2.x, any probe type)
    MASSCAN_IP_ID = 1,     // TCP SYN: IP ID == low 16 bits of (dst IP ^ dst port ^ seq)
    MIRAI_SEQ = 2,         // TCP SYN: sequence number == destination IPv4 address
    SYN_NO_OPTIONS = 3,    // TCP SYN without any TCP option (every real stack sends at least MSS)
    SYN_TTL_OVER_200 = 4,  // TCP SYN arriving with TTL / hop limit above 200 (initial 255: raw-socket tools)
    BOGON_SOURCE = 5,      // source in special-purpose or reserved space (RFC 5735, RFC 6890, ...)
    COUNT = 6,
};
constexpr size_t FINGERPRINT_RULES = size_t(FingerprintRule::COUNT);
constexpr uint8_t RuleBit(FingerprintRule r) { return uint8_t(1u << unsigned(r)); }
/// "zmap-ip-id", "masscan-ip-id", ...
std::string_view FingerprintRuleName(FingerprintRule r);

/// The rules the packet matches, as RuleBit bits.
uint8_t FingerprintBits(const DecodedPacket &pkt, TrafficClass cls);

/// True for special-purpose and reserved source space: IPv4 0/8, 10/8, 100.64/10, 127/8, 169.254/16,
/// 172.16/12, 192.0.0/24, 192.0.2/24, 192.168/16, 198.18/15, 198.51.100/24, 203.0.113/24, 224/4,
/// 240/4 (RFC 5735, RFC 6598, RFC 6890); IPv6 ::/128, ::1, ::ffff:0:0/96, 2001:db8::/32, fc00::/7,
/// fe80::/10, ff00::/8 (RFC 6890, RFC 4291).
bool IsBogon(const IpAddress &src);

/// How many packets of one source on one day matched each rule, and out of how many.
struct FingerprintEvidence {
    uint64_t packets = 0;      // all the source's packets (the denominator of the IP ID rule and bogon)
    uint64_t syn_packets = 0;  // its TCP SYN probes (the denominator of the SYN rules)
    std::array<uint64_t, FINGERPRINT_RULES> matched{};
};

/// Tags, derived from the evidence: stable names, stored nowhere (the counts are), so that a changed
/// threshold applies to data already stored.
enum class Tag : uint8_t { ZMAP_OLD, MASSCAN, MIRAI, IRREGULAR_SYN, BOGON, COUNT };
std::string_view TagName(Tag t);

/// A tag needs at least this many matching packets, which are also at least CONSISTENT_SHARE of the
/// packets the rule applies to. For the relations a random stack satisfies with probability 1/65536
/// per packet (ZMap's IP ID, masscan's), a false tag needs 3 chance matches: at most C(n,3) / 2^48
/// per source-day, below 4e-15 for the usual n = 3 .. 10 (docs/enrichment.md#fingerprints).
constexpr uint64_t TAG_MIN_PACKETS = 3;
constexpr double TAG_CONSISTENT_SHARE = 0.9;

struct TagVerdict {
    Tag tag;
    FingerprintRule rule;  // the rule whose count decided (irregular-syn: the larger of its two)
    uint64_t matched = 0;
    uint64_t out_of = 0;
};
std::vector<TagVerdict> TagsOf(const FingerprintEvidence &e);

}  // namespace darkscope
