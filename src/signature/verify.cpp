// Verification of one candidate rule on one packet: header, header fields, then the payload
// options in rule order, backtracking over content matches as Suricata does
// (detect-engine-content-inspection.c), within a step budget so that no rule costs more than a
// bounded amount per packet.

#include "signature/verify.hpp"

#include "signature/keywords/keyword_table.hpp"

namespace darkscope::sig {

namespace {

// Suricata's set semantics (rule.hpp): a list is its plain items minus its negated ones.
template <typename Node, typename Contains>
bool Value(const Node &node, const Contains &contains) {
    if (node.leaf) return contains(node.item);
    bool has_positive = false, positive = false, negative = false;
    for (const Node &c : node.children) {
        if (c.negated) {
            negative = negative || Value(c, contains);
        } else {
            has_positive = true;
            positive = positive || Value(c, contains);
        }
    }
    return (!has_positive || positive) && !negative;
}

template <typename Node, typename Contains>
bool Eval(const Node &node, const Contains &contains) {
    return Value(node, contains) != node.negated;
}

}  // namespace

bool AddressSet::Matches(const IpAddress &a) const {
    return !root || Eval(*root, [&](const IpNetwork &n) { return n.Contains(a); });
}

bool PortSet::Matches(uint16_t p) const {
    return !root || Eval(*root, [&](const std::pair<uint16_t, uint16_t> &r) { return p >= r.first && p <= r.second; });
}

bool PortSet::SmallPortList(size_t limit, std::vector<uint16_t> &out) const {
    out.clear();
    if (!root || root->negated) return false;
    auto add = [&](const Node &n) {
        if (!n.leaf || n.negated) return false;
        for (uint32_t p = n.item.first; p <= n.item.second; ++p) {
            if (out.size() >= limit) return false;
            out.push_back(uint16_t(p));
        }
        return true;
    };
    if (root->leaf) return add(*root);
    if (root->children.empty()) return false;
    for (const Node &c : root->children)
        if (!add(c)) return false;
    return true;
}

namespace {

constexpr uint32_t STEP_BUDGET = 4096;

bool ProtoMatches(RuleProto proto, const DecodedPacket &pkt) {
    if (pkt.ip_version == 0) return false;
    switch (proto) {
        case RuleProto::IP: return true;
        case RuleProto::TCP: return pkt.proto == IPPROTO_NUM_TCP;
        case RuleProto::UDP: return pkt.proto == IPPROTO_NUM_UDP;
        case RuleProto::ICMP: return pkt.proto == IPPROTO_NUM_ICMP || pkt.proto == IPPROTO_NUM_ICMPV6;
        case RuleProto::ICMPV6: return pkt.proto == IPPROTO_NUM_ICMPV6;
    }
    return false;
}

bool OneWay(const Rule &r, const IpAddress &src, uint16_t sport, const IpAddress &dst, uint16_t dport, bool ports) {
    if (!r.src.Matches(src) || !r.dst.Matches(dst)) return false;
    if (!ports) return r.sport.Any() && r.dport.Any();
    return r.sport.Matches(sport) && r.dport.Matches(dport);
}

bool FieldMatches(const FieldCheck &f, const DecodedPacket &pkt) {
    const bool tcp = pkt.proto == IPPROTO_NUM_TCP && pkt.l4 == L4State::PRESENT;
    const bool icmp = (pkt.proto == IPPROTO_NUM_ICMP || pkt.proto == IPPROTO_NUM_ICMPV6) && pkt.has_icmp_type;
    // Echo request/reply in ICMP (0, 8) and ICMPv6 (128, 129) carry an identifier and sequence.
    const bool echo = icmp && pkt.l4 == L4State::PRESENT &&
                      (pkt.proto == IPPROTO_NUM_ICMP ? (pkt.icmp_type == 0 || pkt.icmp_type == 8)
                                                     : (pkt.icmp_type == 128 || pkt.icmp_type == 129));
    switch (f.field) {
        case Field::DSIZE: return pkt.l4 == L4State::PRESENT && f.cmp.Matches(pkt.payload_len);
        case Field::TTL: return f.cmp.Matches(pkt.ttl);
        case Field::IP_ID: return pkt.ip_version == 4 && f.cmp.Matches(pkt.ip_id);
        case Field::IP_PROTO: return f.cmp.Matches(pkt.proto);
        case Field::SEQ: return tcp && f.cmp.Matches(pkt.seq);
        case Field::ACK: return tcp && f.cmp.Matches(pkt.ack);
        case Field::WINDOW: return tcp && f.cmp.Matches(pkt.window);
        case Field::ITYPE: return icmp && f.cmp.Matches(pkt.icmp_type);
        case Field::ICODE: return icmp && f.cmp.Matches(pkt.icmp_code);
        case Field::ICMP_ID: return echo && f.cmp.Matches(pkt.icmp_id);
        case Field::ICMP_SEQ: return echo && f.cmp.Matches(pkt.icmp_seq);
    }
    return false;
}

// Payload options from index i on, the previous match having ended at prev_end.
bool MatchPayload(const std::vector<PayloadOp> &ops, size_t i, uint32_t prev_end, const uint8_t *data, uint32_t len,
                  VerifyScratch &scratch) {
    for (; i < ops.size(); ++i) {
        if (scratch.steps == 0) return false;
        --scratch.steps;
        const PayloadOp &op = ops[i];
        if (const auto *c = std::get_if<ContentOp>(&op)) {
            uint32_t start = 0, end = 0;
            if (c->negated) {
                if (len > 0 && FindContent(*c, data, len, prev_end, 0, start, end)) return false;
                continue;
            }
            if (len == 0) return false;
            // Each occurrence is a candidate: a later relative option may need a later one.
            uint32_t from = 0;
            while (FindContent(*c, data, len, prev_end, from, start, end)) {
                if (MatchPayload(ops, i + 1, end, data, len, scratch)) return true;
                if (scratch.steps == 0) return false;
                --scratch.steps;
                from = start + 1;
                bool later_relative = false;
                for (size_t j = i + 1; j < ops.size() && !later_relative; ++j) {
                    if (auto *n = std::get_if<ContentOp>(&ops[j])) later_relative = n->Relative();
                    else if (auto *d = std::get_if<IsDataAtOp>(&ops[j])) later_relative = d->relative;
                    else if (auto *p = std::get_if<PcreOp>(&ops[j])) later_relative = p->relative;
                    else if (auto *b = std::get_if<ByteTestOp>(&ops[j])) later_relative = b->relative;
                }
                if (!later_relative) return false;  // nothing after depends on where this one matched
            }
            return false;
        }
        if (const auto *d = std::get_if<IsDataAtOp>(&op)) {
            if (!MatchIsDataAt(*d, len, prev_end)) return false;
            continue;
        }
        if (const auto *p = std::get_if<PcreOp>(&op)) {
            uint32_t end = prev_end;
            const bool hit = MatchPcre(*p, data, len, prev_end, end, scratch);
            if (hit == p->negated) return false;
            if (hit) prev_end = end;
            continue;
        }
        if (const auto *b = std::get_if<ByteTestOp>(&op)) {
            if (!MatchByteTest(*b, data, len, prev_end)) return false;
            continue;
        }
    }
    return true;
}

}  // namespace

bool MatchHeader(const Rule &rule, const DecodedPacket &pkt) {
    if (!ProtoMatches(rule.proto, pkt)) return false;
    const bool ports = pkt.has_ports && (pkt.proto == IPPROTO_NUM_TCP || pkt.proto == IPPROTO_NUM_UDP);
    if ((rule.proto == RuleProto::TCP || rule.proto == RuleProto::UDP) && !ports)
        return false;  // a later fragment or a cut header: no ports to compare
    if (OneWay(rule, pkt.src, pkt.sport, pkt.dst, pkt.dport, ports)) return true;
    return rule.bidirectional && OneWay(rule, pkt.dst, pkt.dport, pkt.src, pkt.sport, ports);
}

bool Verify(const Rule &rule, const DecodedPacket &pkt, VerifyScratch &scratch) {
    if (!MatchHeader(rule, pkt)) return false;
    for (const FieldCheck &f : rule.fields)
        if (!FieldMatches(f, pkt)) return false;
    if (rule.flags && !(pkt.proto == IPPROTO_NUM_TCP && pkt.l4 == L4State::PRESENT && rule.flags->Matches(pkt.tcp_flags)))
        return false;
    if (rule.fragbits && !(pkt.ip_version == 4 && rule.fragbits->Matches(pkt.ip_flags))) return false;
    if (rule.payload.empty()) return true;
    scratch.steps = STEP_BUDGET;
    return MatchPayload(rule.payload, 0, 0, pkt.payload, pkt.payload_len, scratch);
}

}  // namespace darkscope::sig
