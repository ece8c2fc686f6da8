// fragbits: the IPv4 fragmentation bits M (more fragments), D (don't fragment), R (reserved), with
// the modifiers of flags (Suricata src/detect-fragbits.c).

#include "signature/keywords/keyword_table.hpp"

namespace darkscope::sig {

void RegisterFragbits(KeywordTable &t) {
    t.Add({"fragbits", "IPv4 fragment bits: fragbits:[+*!]MDR", "docs/signatures.md#fragbits",
           [](std::string_view arg, Rule &rule, const ParseOptions &) {
               if (rule.fragbits) return KeywordResult::Error("fragbits given twice");
               BitsCheck check;
               arg = Trim(arg);
               if (arg.empty()) return KeywordResult::Error("fragbits: no bits given");
               for (char c : arg) {
                   switch (c) {
                       case 'M': case 'm': check.bits |= 1; break;
                       case 'D': case 'd': check.bits |= 2; break;
                       case 'R': case 'r': check.bits |= 4; break;
                       case '+': check.mode = BitsCheck::Mode::ALL_PLUS; break;
                       case '*': check.mode = BitsCheck::Mode::ANY; break;
                       case '!': check.mode = BitsCheck::Mode::NONE; break;
                       default: return KeywordResult::Error(std::string("fragbits: unknown bit '") + c + "'");
                   }
               }
               rule.fragbits = check;
               return KeywordResult::Ok();
           }});
}

}  // namespace darkscope::sig
