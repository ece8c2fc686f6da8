#include "signature/matcher/matcher.hpp"

#include <fmt/format.h>
#include <hs/hs.h>
#include <xxhash.h>

#include <algorithm>
#include <map>
#include <stdexcept>

namespace darkscope::sig {
namespace {

// Which groups a rule's packets can fall in.
std::vector<int> GroupsOf(RuleProto proto) {
    switch (proto) {
        case RuleProto::TCP: return {0};
        case RuleProto::UDP: return {1};
        case RuleProto::ICMP: case RuleProto::ICMPV6: return {2};
        case RuleProto::IP: return {0, 1, 2, 3};
    }
    return {};
}

// The prefilter pattern: the fast_pattern content, else the longest positive one; null if none.
const ContentOp *FastPattern(const Rule &rule) {
    const ContentOp *best = nullptr;
    for (const PayloadOp &op : rule.payload) {
        const auto *c = std::get_if<ContentOp>(&op);
        if (!c || c->negated) continue;
        if (c->fast_pattern) return c;
        if (!best || c->bytes.size() > best->bytes.size()) best = c;
    }
    return best;
}

// Header index key: the destination port of a TCP/UDP rule that names a few single ports, or the
// ICMP type of an ICMP rule with itype:N.
std::vector<uint32_t> HeaderKeys(const Rule &rule) {
    std::vector<uint32_t> keys;
    std::vector<uint16_t> ports;
    if ((rule.proto == RuleProto::TCP || rule.proto == RuleProto::UDP) && !rule.bidirectional &&
        rule.dport.SmallPortList(64, ports)) {
        for (uint16_t p : ports) keys.push_back(p);
        return keys;
    }
    if (rule.proto == RuleProto::ICMP || rule.proto == RuleProto::ICMPV6) {
        for (const FieldCheck &f : rule.fields)
            if (f.field == Field::ITYPE && f.cmp.op == Comparison::Op::EQ) return {uint32_t(f.cmp.a) | 0x10000};
    }
    return keys;
}

int OnMatch(unsigned int id, unsigned long long, unsigned long long, unsigned int, void *ctx) {
    static_cast<std::vector<uint32_t> *>(ctx)->push_back(id);
    return 0;
}

}  // namespace

int Matcher::GroupOf(const DecodedPacket &pkt) {
    switch (pkt.proto) {
        case IPPROTO_NUM_TCP: return 0;
        case IPPROTO_NUM_UDP: return 1;
        case IPPROTO_NUM_ICMP: case IPPROTO_NUM_ICMPV6: return 2;
        default: return 3;
    }
}

Matcher::Matcher(std::vector<Rule> rules) : rules_(std::move(rules)) {
    // Distinct (bytes, nocase) patterns per group.
    std::map<std::pair<std::string, bool>, uint32_t> ids[GROUPS];
    std::vector<std::string> literals[GROUPS];
    std::vector<unsigned> flags[GROUPS];
    for (uint32_t r = 0; r < rules_.size(); ++r) {
        const ContentOp *fp = FastPattern(rules_[r]);
        if (fp) ++stats_.content_rules;
        else ++stats_.header_rules;
        for (int g : GroupsOf(rules_[r].proto)) {
            Group &group = groups_[g];
            if (fp) {
                auto [it, inserted] = ids[g].try_emplace({fp->bytes, fp->nocase}, uint32_t(literals[g].size()));
                if (inserted) {
                    literals[g].push_back(fp->bytes);
                    flags[g].push_back(HS_FLAG_SINGLEMATCH | (fp->nocase ? HS_FLAG_CASELESS : 0));
                    group.pattern_rules.emplace_back();
                }
                group.pattern_rules[it->second].push_back(r);
                continue;
            }
            auto keys = g == 3 ? std::vector<uint32_t>{} : HeaderKeys(rules_[r]);
            if (keys.empty()) group.any.push_back(r);
            for (uint32_t k : keys) {
                if (group.key_slot.empty()) {
                    group.key_slot.assign(KEY_SLOTS, 0);
                    group.key_bits.assign((KEY_SLOTS + 63) / 64, 0);
                }
                const size_t at = KeySlot(k);
                group.key_bits[at / 64] |= uint64_t(1) << (at % 64);
                uint16_t &slot = group.key_slot[at];
                if (slot == 0) {
                    if (group.keyed.size() >= UINT16_MAX) throw std::runtime_error("signatures: too many rule keys");
                    group.keyed.emplace_back();
                    slot = uint16_t(group.keyed.size());
                }
                std::vector<uint32_t> &list = group.keyed[slot - 1];
                if (list.empty() || list.back() != r) list.push_back(r);
            }
        }
    }
    for (int g = 0; g < GROUPS; ++g) {
        if (literals[g].empty()) continue;
        stats_.patterns += literals[g].size();
        std::vector<const char *> ptrs;
        std::vector<size_t> lens;
        std::vector<unsigned> pattern_ids;
        for (size_t i = 0; i < literals[g].size(); ++i) {
            ptrs.push_back(literals[g][i].data());
            lens.push_back(literals[g][i].size());
            pattern_ids.push_back(unsigned(i));
        }
        hs_compile_error_t *error = nullptr;
        if (hs_compile_lit_multi(ptrs.data(), flags[g].data(), pattern_ids.data(), lens.data(), unsigned(ptrs.size()),
                                 HS_MODE_BLOCK, nullptr, &groups_[g].db, &error) != HS_SUCCESS) {
            std::string message = error && error->message ? error->message : "unknown error";
            if (error) hs_free_compile_error(error);
            throw std::runtime_error(fmt::format("signatures: Hyperscan could not compile the patterns: {}", message));
        }
    }
}

Matcher::~Matcher() {
    for (Group &g : groups_)
        if (g.db) hs_free_database(g.db);
}

Matcher::State::~State() {
    if (scratch) hs_free_scratch(scratch);
}

std::unique_ptr<Matcher::State> Matcher::MakeState() const {
    auto state = std::make_unique<State>();
    for (const Group &g : groups_) {
        if (g.db && hs_alloc_scratch(g.db, &state->scratch) != HS_SUCCESS)
            throw std::runtime_error("signatures: cannot allocate Hyperscan scratch space");
    }
    state->mark.assign(rules_.size(), 0);
    state->memo.resize(State::MEMO_SLOTS);
    return state;
}

bool ThresholdTracker::Pass(const Rule &rule, uint32_t index, int64_t ts, const IpAddress &address, uint16_t dport) {
    const Threshold &th = rule.threshold;
    if (th.type == Threshold::Type::NONE) return true;
    if (tracks_.Size() >= purge_at_) [[unlikely]] Purge(ts);
    Track &t = tracks_[TrackKey{index, address}];
    const int64_t window = int64_t(th.seconds) * 1'000'000'000;
    t.window = window;
    if (t.count == 0 || ts - t.window_start >= window) {
        t.window_start = ts;
        t.count = 0;
        t.ports.clear();
    }
    if (th.unique_dst_port) {
        // Only a new destination port counts; past count + 1 ports the answer no longer changes.
        if (t.count <= th.count && std::find(t.ports.begin(), t.ports.end(), dport) == t.ports.end()) {
            // One allocation per track rather than one per doubling: a port scan fills count + 1 ports.
            if (t.ports.capacity() == 0) t.ports.reserve(std::min<size_t>(size_t(th.count) + 1, 64));
            t.ports.push_back(dport);
            ++t.count;
        }
        return t.count > th.count;
    }
    ++t.count;
    switch (th.type) {
        case Threshold::Type::LIMIT: return t.count <= th.count;
        case Threshold::Type::THRESHOLD:
            if (t.count >= th.count) {
                t.count = 0;  // every count-th match alerts; the window restarts with the next match
                return true;
            }
            return false;
        case Threshold::Type::BOTH: return t.count == th.count;
        case Threshold::Type::DETECTION_FILTER: return t.count > th.count;
        case Threshold::Type::NONE: break;
    }
    return true;
}

void ThresholdTracker::Purge(int64_t now) {
    FlatMap<TrackKey, Track, TrackKeyHash> live(tracks_.Size());
    tracks_.ForEach([&](const TrackKey &k, Track &t) {
        if (now - t.window_start < t.window) live[k] = std::move(t);
    });
    tracks_ = std::move(live);
    purge_at_ = std::max(size_t(1) << 16, tracks_.Size() * 2);
}

void Matcher::ScanPayload(int g, const DecodedPacket &pkt, State &state) const {
    const char *payload = reinterpret_cast<const char *>(pkt.payload);
    auto scan = [&] { hs_scan(groups_[g].db, payload, pkt.payload_len, 0, state.scratch, OnMatch, &state.patterns); };
    if (pkt.payload_len > State::MEMO_MAX_PAYLOAD) return scan();
    const std::string_view bytes(payload, pkt.payload_len);
    const uint64_t hash = XXH3_64bits_withSeed(bytes.data(), bytes.size(), uint64_t(g));
    State::Memo &memo = state.memo[hash & (State::MEMO_SLOTS - 1)];
    if (memo.hash == hash && memo.group == g && memo.payload == bytes) {
        state.patterns.assign(memo.patterns.begin(), memo.patterns.end());
        return;
    }
    scan();
    memo.hash = hash;
    memo.group = g;
    memo.payload.assign(bytes);
    memo.patterns.assign(state.patterns.begin(), state.patterns.end());
}

void Matcher::Match(const DecodedPacket &pkt, State &state, RuleHits &hits, RuleHits *by_source) const {
    hits.clear();
    if (by_source) by_source->clear();
    if (pkt.ip_version == 0 || rules_.empty()) return;
    const int g = GroupOf(pkt);
    const Group &group = groups_[g];
    const std::vector<uint32_t> *keyed = nullptr;
    if (!group.key_slot.empty()) {
        uint32_t key = UINT32_MAX;
        if (pkt.has_ports && (pkt.proto == IPPROTO_NUM_TCP || pkt.proto == IPPROTO_NUM_UDP)) key = pkt.dport;
        else if (pkt.has_icmp_type) key = uint32_t(pkt.icmp_type) | 0x10000;
        if (key != UINT32_MAX)
            if (const size_t k = KeySlot(key); group.key_bits[k / 64] >> (k % 64) & 1)
                keyed = &group.keyed[group.key_slot[k] - 1];
    }
    state.patterns.clear();
    if (group.db && pkt.payload_len > 0) [[unlikely]]
        ScanPayload(g, pkt, state);
    // Rules are tried in ascending index order, each once.
    auto verify = [&](uint32_t r) {
        const Rule &rule = rules_[r];
        if (!Verify(rule, pkt, state.verify)) return;
        if (by_source && ThresholdBySource(rule)) by_source->push_back(r);
        else if (state.thresholds.Pass(rule, r, pkt.ts, rule.threshold.by_dst ? pkt.dst : pkt.src, pkt.dport))
            hits.push_back(r);
    };
    if (state.patterns.empty()) {
        // Most packets: the any and keyed lists, both sorted, walked as one without marks or a sort.
        const std::vector<uint32_t> &a = group.any;
        static const std::vector<uint32_t> none;
        const std::vector<uint32_t> &b = keyed ? *keyed : none;
        size_t i = 0, j = 0;
        while (i < a.size() || j < b.size()) {
            if (j == b.size() || (i < a.size() && a[i] < b[j])) verify(a[i++]);
            else if (i == a.size() || b[j] < a[i]) verify(b[j++]);
            else verify(a[i++]), ++j;
        }
        return;
    }
    if (++state.generation == 0) {  // wrapped: forget every mark
        std::fill(state.mark.begin(), state.mark.end(), 0);
        state.generation = 1;
    }
    auto &candidates = state.candidates;
    candidates.clear();
    auto propose = [&](const std::vector<uint32_t> &list) {
        for (uint32_t r : list) {
            if (state.mark[r] == state.generation) continue;
            state.mark[r] = state.generation;
            candidates.push_back(r);
        }
    };
    propose(group.any);
    if (keyed) propose(*keyed);
    for (uint32_t p : state.patterns) propose(group.pattern_rules[p]);
    std::sort(candidates.begin(), candidates.end());
    for (uint32_t r : candidates) verify(r);
}

}  // namespace darkscope::sig
