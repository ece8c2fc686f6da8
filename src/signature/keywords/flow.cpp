// flow: darkscope sees single unsolicited packets, with no sessions. Options that hold for every
// such packet are accepted (stateless, to_server, from_client, not_established, no_stream); those
// that need session state or the answering side make the rule be skipped.

#include "signature/keywords/keyword_table.hpp"

namespace darkscope::sig {

void RegisterFlow(KeywordTable &t) {
    t.Add({"flow", "accepted: stateless, to_server, from_client, not_established, no_stream",
           "docs/signatures.md#flow", [](std::string_view arg, Rule &, const ParseOptions &) {
               for (std::string_view o : SplitCommas(arg)) {
                   if (o == "stateless" || o == "to_server" || o == "from_client" || o == "not_established" ||
                       o == "no_stream")
                       continue;
                   if (o == "established" || o == "to_client" || o == "from_server" || o == "only_stream" ||
                       o == "no_frag" || o == "only_frag" || o == "syn" || o == "only_syn")
                       return KeywordResult::Unsupported("flow:" + std::string(o) + " needs sessions");
                   return KeywordResult::Error("flow: unknown option '" + std::string(o) + "'");
               }
               return KeywordResult::Ok();
           }});
}

}  // namespace darkscope::sig
