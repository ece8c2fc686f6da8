// itype, icode, icmp_id, icmp_seq: ICMP and ICMPv6 header fields (Suricata src/detect-itype.c,
// detect-icode.c, detect-icmp-id.c, detect-icmp-seq.c). icmp_id/icmp_seq apply to echo messages.

#include "signature/keywords/keyword_table.hpp"

namespace darkscope::sig {

KeywordResult ParseFieldComparison(std::string_view name, Field field, uint64_t max, std::string_view arg, Rule &rule);

void RegisterIcmp(KeywordTable &t) {
    t.Add({"itype", "ICMP type: itype:N, <N, >N, N<>M", "docs/signatures.md#itype",
           [](std::string_view a, Rule &r, const ParseOptions &) {
               return ParseFieldComparison("itype", Field::ITYPE, 255, a, r);
           }});
    t.Add({"icode", "ICMP code: icode:N, <N, >N, N<>M", "docs/signatures.md#icode",
           [](std::string_view a, Rule &r, const ParseOptions &) {
               return ParseFieldComparison("icode", Field::ICODE, 255, a, r);
           }});
    t.Add({"icmp_id", "ICMP echo identifier", "docs/signatures.md#icmp_id",
           [](std::string_view a, Rule &r, const ParseOptions &) {
               return ParseFieldComparison("icmp_id", Field::ICMP_ID, 65535, a, r);
           }});
    t.Add({"icmp_seq", "ICMP echo sequence number", "docs/signatures.md#icmp_seq",
           [](std::string_view a, Rule &r, const ParseOptions &) {
               return ParseFieldComparison("icmp_seq", Field::ICMP_SEQ, 65535, a, r);
           }});
}

}  // namespace darkscope::sig
