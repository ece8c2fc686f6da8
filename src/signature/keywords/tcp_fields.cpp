// seq, ack, window: TCP header fields (Suricata src/detect-seq.c, detect-ack.c, detect-window.c).

#include "signature/keywords/keyword_table.hpp"

namespace darkscope::sig {

KeywordResult ParseFieldComparison(std::string_view name, Field field, uint64_t max, std::string_view arg, Rule &rule);

void RegisterTcpFields(KeywordTable &t) {
    t.Add({"seq", "TCP sequence number", "docs/signatures.md#seq", [](std::string_view a, Rule &r, const ParseOptions &) {
               return ParseFieldComparison("seq", Field::SEQ, UINT32_MAX, a, r);
           }});
    t.Add({"ack", "TCP acknowledgement number", "docs/signatures.md#ack",
           [](std::string_view a, Rule &r, const ParseOptions &) {
               return ParseFieldComparison("ack", Field::ACK, UINT32_MAX, a, r);
           }});
    t.Add({"window", "TCP window: window:N or window:!N", "docs/signatures.md#window",
           [](std::string_view a, Rule &r, const ParseOptions &) {
               return ParseFieldComparison("window", Field::WINDOW, 65535, a, r);
           }});
}

}  // namespace darkscope::sig
