// isdataat: is there payload at this position (absolute, or after the previous match)?
// Suricata src/detect-isdataat.c; the relative form holds when position bytes remain after the
// previous match (suricata-verify issue-8031-01-isdataat pins the boundary).

#include "signature/keywords/keyword_table.hpp"

namespace darkscope::sig {

bool MatchIsDataAt(const IsDataAtOp &op, uint32_t len, uint32_t prev_end) {
    const bool present = op.relative ? uint64_t(prev_end) + op.position <= len : op.position < len;
    return present != op.negated;
}

void RegisterIsDataAt(KeywordTable &t) {
    t.Add({"isdataat", "payload present at a position: isdataat:[!]N[,relative]", "docs/signatures.md#isdataat",
           [](std::string_view arg, Rule &rule, const ParseOptions &) {
               IsDataAtOp op;
               auto parts = SplitCommas(arg);
               std::string_view n = parts[0];
               if (!n.empty() && n[0] == '!') {
                   op.negated = true;
                   n = Trim(n.substr(1));
               }
               uint64_t v = 0;
               if (!ParseUnsigned(n, 65535, v))
                   return KeywordResult::Error("isdataat: '" + std::string(n) + "' is not a position from 0 to 65535");
               op.position = uint32_t(v);
               for (size_t i = 1; i < parts.size(); ++i) {
                   if (parts[i] == "relative") op.relative = true;
                   else if (parts[i] == "rawbytes") continue;
                   else return KeywordResult::Error("isdataat: unknown option '" + std::string(parts[i]) + "'");
               }
               rule.payload.emplace_back(op);
               return KeywordResult::Ok();
           }});
}

}  // namespace darkscope::sig
