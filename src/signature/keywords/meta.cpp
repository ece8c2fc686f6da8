// msg, sid, rev, gid, classtype, reference, metadata, priority, target: what names a rule.
// `metadata: darkscope_category <Category>` puts a rule in an NPA category directly.

#include "signature/keywords/keyword_table.hpp"
#include "signature/rule_parser.hpp"

namespace darkscope::sig {
namespace {

KeywordResult Number(std::string_view name, std::string_view arg, uint32_t &out, uint64_t min) {
    uint64_t v = 0;
    if (!ParseUnsigned(arg, UINT32_MAX, v) || v < min)
        return KeywordResult::Error(std::string(name) + ": '" + std::string(arg) + "' is not a valid number");
    out = uint32_t(v);
    return KeywordResult::Ok();
}

}  // namespace

void RegisterMeta(KeywordTable &t) {
    t.Add({"msg", "the rule's message", "docs/signatures.md#msg", [](std::string_view a, Rule &r, const ParseOptions &) {
               a = Trim(a);
               if (a.size() < 2 || a.front() != '"' || a.back() != '"')
                   return KeywordResult::Error("msg must be a quoted string");
               r.msg.clear();
               a = a.substr(1, a.size() - 2);
               for (size_t i = 0; i < a.size(); ++i) {
                   if (a[i] == '\\' && i + 1 < a.size()) ++i;
                   r.msg.push_back(a[i]);
               }
               return KeywordResult::Ok();
           }});
    t.Add({"sid", "signature id (1 and up)", "docs/signatures.md#sid",
           [](std::string_view a, Rule &r, const ParseOptions &) { return Number("sid", a, r.sid, 1); }});
    t.Add({"rev", "revision", "docs/signatures.md#sid",
           [](std::string_view a, Rule &r, const ParseOptions &) { return Number("rev", a, r.rev, 0); }});
    t.Add({"gid", "generator id", "docs/signatures.md#sid",
           [](std::string_view a, Rule &r, const ParseOptions &) { return Number("gid", a, r.gid, 0); }});
    t.Add({"classtype", "class of attack; mapped to an NPA category (docs/signatures.md#categories)",
           "docs/signatures.md#classtype", [](std::string_view a, Rule &r, const ParseOptions &) {
               a = Trim(a);
               if (a.empty()) return KeywordResult::Error("classtype is empty");
               r.classtype = std::string(a);
               return KeywordResult::Ok();
           }});
    t.Add({"metadata", "key value pairs; darkscope_category names the NPA category",
           "docs/signatures.md#categories", [](std::string_view a, Rule &r, const ParseOptions &) {
               for (std::string_view kv : SplitCommas(a)) {
                   size_t space = kv.find_first_of(" \t");
                   if (kv.substr(0, space) != "darkscope_category") continue;
                   std::string_view value = space == std::string_view::npos ? "" : Trim(kv.substr(space));
                   if (!ParseCategory(value))
                       return KeywordResult::Error("darkscope_category: unknown category '" + std::string(value) +
                                                   "' (Worm, Scan, Scan(P2P), UDP spam, DoS, DNS, Others)");
                   r.category_name = std::string(value);
               }
               return KeywordResult::Ok();
           }});
    for (std::string_view name : {"reference", "priority", "target"}) {
        t.Add({name, "accepted, not used", "docs/signatures.md#msg",
               [](std::string_view, Rule &, const ParseOptions &) { return KeywordResult::Ok(); }});
    }
}

}  // namespace darkscope::sig
