// libFuzzer target for the rule parser (Suricata's fuzz_siginit.c): the input is a rule file. Small
// rule sets that parse are also compiled and matched against packets built from the same bytes, so
// that verification (content windows, backtracking, pcre, byte_test) is fuzzed too.
// Corpus: tests/fuzz/corpus/rule_parser/ (tests/fuzz/make_rule_corpus.py); dictionary rule_parser.dict.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "signature/matcher/matcher.hpp"
#include "signature/rule_parser.hpp"

using namespace darkscope;
using namespace darkscope::sig;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    RuleSet set;
    ParseRules(text, "fuzz.rules", ParseOptions{}, set);
    for (const auto &m : set.errors) (void)m.ToString();
    if (set.rules.empty() || set.rules.size() > 16) return 0;

    std::unique_ptr<Matcher> matcher;
    try {
        matcher = std::make_unique<Matcher>(std::move(set.rules));
    } catch (const std::runtime_error &) {
        return 0;  // Hyperscan refused the patterns: reported to the user as such, not a parser fault
    }
    auto state = matcher->MakeState();
    // A heap copy of exactly the input as the payload, so that ASan catches any read past its end.
    std::vector<uint8_t> payload(data, data + size);
    DecodedPacket pkt;
    pkt.ip_version = 4;
    pkt.src = IpAddress::V4(0xC0000201);
    pkt.dst = IpAddress::V4(0xC6336402);
    pkt.l4 = L4State::PRESENT;
    pkt.payload = payload.empty() ? nullptr : payload.data();
    pkt.payload_len = uint32_t(payload.size());
    RuleHits hits;
    for (uint8_t proto : std::initializer_list<uint8_t>{IPPROTO_NUM_TCP, IPPROTO_NUM_UDP, IPPROTO_NUM_ICMP, 47}) {
        pkt.proto = proto;
        pkt.has_ports = proto == IPPROTO_NUM_TCP || proto == IPPROTO_NUM_UDP;
        pkt.sport = 40000;
        pkt.dport = size > 1 ? uint16_t(data[0] << 8 | data[1]) : 53;
        pkt.tcp_flags = size > 2 ? data[2] : 0;
        pkt.has_icmp_type = proto == IPPROTO_NUM_ICMP;
        pkt.icmp_type = size > 3 ? data[3] : 8;
        matcher->Match(pkt, *state, hits);
    }
    return 0;
}
