#include "classify/fingerprint.hpp"

#include <algorithm>
#include <array>

namespace darkscope {
namespace {

constexpr uint16_t ZMAP_IP_ID = 54321;
constexpr uint8_t TTL_THRESHOLD = 200;

struct V4Range {
    uint32_t network;
    int prefix;
};
constexpr V4Range V4_BOGONS[] = {
    {0x00000000, 8},  {0x0A000000, 8},  {0x64400000, 10}, {0x7F000000, 8},  {0xA9FE0000, 16},
    {0xAC100000, 12}, {0xC0000000, 24}, {0xC0000200, 24}, {0xC0A80000, 16}, {0xC6120000, 15},
    {0xC6336400, 24}, {0xCB007100, 24}, {0xE0000000, 4},  {0xF0000000, 4},
};

// The first octets that some bogon range covers: every IPv4 packet asks, and most sources are turned away
// by one bit instead of fourteen range tests.
constexpr std::array<uint64_t, 4> BogonFirstOctets() {
    std::array<uint64_t, 4> bits{};
    for (const V4Range &r : V4_BOGONS) {
        const uint32_t first = r.network >> 24, count = r.prefix >= 8 ? 1 : uint32_t(1) << (8 - r.prefix);
        for (uint32_t o = first; o < first + count; ++o) bits[o / 64] |= uint64_t(1) << (o % 64);
    }
    return bits;
}
constexpr std::array<uint64_t, 4> BOGON_FIRST_OCTETS = BogonFirstOctets();

}  // namespace

std::string_view FingerprintRuleName(FingerprintRule r) {
    switch (r) {
        case FingerprintRule::ZMAP_IP_ID: return "zmap-ip-id";
        case FingerprintRule::MASSCAN_IP_ID: return "masscan-ip-id";
        case FingerprintRule::MIRAI_SEQ: return "mirai-seq";
        case FingerprintRule::SYN_NO_OPTIONS: return "syn-no-options";
        case FingerprintRule::SYN_TTL_OVER_200: return "syn-ttl-over-200";
        case FingerprintRule::BOGON_SOURCE: return "bogon-source";
        case FingerprintRule::COUNT: break;
    }
    return "?";
}

std::string_view TagName(Tag t) {
    switch (t) {
        case Tag::ZMAP_OLD: return "zmap-old";
        case Tag::MASSCAN: return "masscan";
        case Tag::MIRAI: return "mirai";
        case Tag::IRREGULAR_SYN: return "irregular-syn";
        case Tag::BOGON: return "bogon";
        case Tag::COUNT: break;
    }
    return "?";
}

bool IsBogon(const IpAddress &src) {
    if (src.IsV4()) {
        const uint32_t a = src.V4HostOrder();
        if (!(BOGON_FIRST_OCTETS[a >> 30] >> ((a >> 24) & 63) & 1)) return false;
        for (const V4Range &r : V4_BOGONS)
            if ((a >> (32 - r.prefix)) == (r.network >> (32 - r.prefix))) return true;
        return false;
    }
    if (!src.IsV6()) return false;
    const auto &b = src.bytes;
    bool zero_to_95 = std::all_of(b.begin(), b.begin() + 10, [](uint8_t x) { return x == 0; });
    if (zero_to_95 && b[10] == 0 && b[11] == 0 &&
        std::all_of(b.begin() + 12, b.begin() + 15, [](uint8_t x) { return x == 0; }) && b[15] <= 1)
        return true;                                                          // :: and ::1
    if (zero_to_95 && b[10] == 0xFF && b[11] == 0xFF) return true;            // ::ffff:0:0/96
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8) return true;  // 2001:db8::/32
    if ((b[0] & 0xFE) == 0xFC) return true;                                   // fc00::/7
    if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return true;                   // fe80::/10
    if (b[0] == 0xFF) return true;                                            // ff00::/8
    return false;
}

uint8_t FingerprintBits(const DecodedPacket &pkt, TrafficClass cls) {
    uint8_t bits = 0;
    if (pkt.ip_version == 0) return 0;
    const bool v4 = pkt.src.IsV4();
    if (v4 && pkt.ip_id == ZMAP_IP_ID) bits |= RuleBit(FingerprintRule::ZMAP_IP_ID);
    if (cls == TrafficClass::SYN_PROBE) {
        if (v4 && pkt.dst.IsV4()) {
            const uint32_t dst = pkt.dst.V4HostOrder();
            if (pkt.ip_id == uint16_t(dst ^ pkt.dport ^ pkt.seq)) bits |= RuleBit(FingerprintRule::MASSCAN_IP_ID);
            if (pkt.seq == dst) bits |= RuleBit(FingerprintRule::MIRAI_SEQ);
        }
        if (pkt.tcp_options_len == 0) bits |= RuleBit(FingerprintRule::SYN_NO_OPTIONS);
        if (pkt.ttl > TTL_THRESHOLD) bits |= RuleBit(FingerprintRule::SYN_TTL_OVER_200);
    }
    if (IsBogon(pkt.src)) bits |= RuleBit(FingerprintRule::BOGON_SOURCE);
    return bits;
}

std::vector<TagVerdict> TagsOf(const FingerprintEvidence &e) {
    std::vector<TagVerdict> out;
    auto consistent = [](uint64_t matched, uint64_t out_of) {
        return matched >= TAG_MIN_PACKETS && double(matched) >= TAG_CONSISTENT_SHARE * double(out_of);
    };
    auto rule = [&](Tag tag, FingerprintRule r, uint64_t out_of) {
        const uint64_t m = e.matched[size_t(r)];
        if (consistent(m, out_of)) out.push_back({tag, r, m, out_of});
    };
    rule(Tag::ZMAP_OLD, FingerprintRule::ZMAP_IP_ID, e.packets);
    rule(Tag::MASSCAN, FingerprintRule::MASSCAN_IP_ID, e.syn_packets);
    rule(Tag::MIRAI, FingerprintRule::MIRAI_SEQ, e.syn_packets);
    const uint64_t no_opts = e.matched[size_t(FingerprintRule::SYN_NO_OPTIONS)];
    const uint64_t high_ttl = e.matched[size_t(FingerprintRule::SYN_TTL_OVER_200)];
    const FingerprintRule irregular =
        no_opts >= high_ttl ? FingerprintRule::SYN_NO_OPTIONS : FingerprintRule::SYN_TTL_OVER_200;
    rule(Tag::IRREGULAR_SYN, irregular, e.syn_packets);
    // The source address itself is the evidence: one packet is enough.
    const uint64_t bogon = e.matched[size_t(FingerprintRule::BOGON_SOURCE)];
    if (bogon > 0) out.push_back({Tag::BOGON, FingerprintRule::BOGON_SOURCE, bogon, e.packets});
    return out;
}

}  // namespace darkscope
