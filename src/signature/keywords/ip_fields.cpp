// ttl, id, ip_proto: IP header fields (Suricata src/detect-ttl.c, detect-id.c, detect-ipproto.c).

#include "signature/keywords/keyword_table.hpp"

namespace darkscope::sig {

KeywordResult ParseFieldComparison(std::string_view name, Field field, uint64_t max, std::string_view arg, Rule &rule);

namespace {

struct ProtoName {
    std::string_view name;
    uint8_t number;
};
constexpr ProtoName PROTO_NAMES[] = {{"icmp", 1},  {"igmp", 2},  {"ipip", 4},   {"tcp", 6},     {"udp", 17},
                                     {"ipv6", 41}, {"gre", 47},  {"esp", 50},   {"ah", 51},     {"icmpv6", 58},
                                     {"ipv6-icmp", 58}, {"ospf", 89}, {"pim", 103}, {"sctp", 132}};

}  // namespace

void RegisterIpFields(KeywordTable &t) {
    t.Add({"ttl", "IPv4 TTL / IPv6 hop limit: ttl:N, <N, >N, N<>M", "docs/signatures.md#ttl",
           [](std::string_view a, Rule &r, const ParseOptions &) {
               return ParseFieldComparison("ttl", Field::TTL, 255, a, r);
           }});
    t.Add({"id", "IPv4 identification", "docs/signatures.md#id", [](std::string_view a, Rule &r, const ParseOptions &) {
               return ParseFieldComparison("id", Field::IP_ID, 65535, a, r);
           }});
    t.Add({"ip_proto", "IP protocol by number or name: ip_proto:6, ip_proto:!tcp, ip_proto:<10",
           "docs/signatures.md#ip_proto", [](std::string_view a, Rule &r, const ParseOptions &) {
               std::string_view v = Trim(a);
               std::string prefix;
               while (!v.empty() && (v[0] == '!' || v[0] == '<' || v[0] == '>' || v[0] == '=')) {
                   prefix += v[0];
                   v.remove_prefix(1);
               }
               for (const ProtoName &p : PROTO_NAMES)
                   if (v == p.name) return ParseFieldComparison("ip_proto", Field::IP_PROTO, 255,
                                                                prefix + std::to_string(p.number), r);
               return ParseFieldComparison("ip_proto", Field::IP_PROTO, 255, a, r);
           }});
}

}  // namespace darkscope::sig
