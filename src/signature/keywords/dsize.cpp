// dsize: the payload size (Suricata src/detect-dsize.c).

#include "signature/keywords/keyword_table.hpp"

namespace darkscope::sig {

KeywordResult ParseFieldComparison(std::string_view name, Field field, uint64_t max, std::string_view arg, Rule &rule) {
    FieldCheck check;
    check.field = field;
    std::string error;
    if (!ParseComparison(arg, max, check.cmp, error)) return KeywordResult::Error(std::string(name) + ": " + error);
    rule.fields.push_back(check);
    return KeywordResult::Ok();
}

void RegisterDsize(KeywordTable &t) {
    t.Add({"dsize", "payload size: dsize:N, <N, >N, <=N, >=N, !N, N<>M", "docs/signatures.md#dsize",
           [](std::string_view a, Rule &r, const ParseOptions &) {
               return ParseFieldComparison("dsize", Field::DSIZE, 65535, a, r);
           }});
}

}  // namespace darkscope::sig
