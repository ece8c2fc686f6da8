// threshold and detection_filter: how often a matching rule counts as an alert, per source or
// destination and time window (Suricata src/detect-threshold.c, detect-detection-filter.c).
// Applied by signature/matcher/ on the thread that matches, in packet order.

#include "signature/keywords/keyword_table.hpp"

namespace darkscope::sig {
namespace {

KeywordResult ParseThresholdArgs(std::string_view arg, Rule &rule, bool detection_filter) {
    if (rule.threshold.type != Threshold::Type::NONE)
        return KeywordResult::Error("only one threshold or detection_filter per rule");
    Threshold th;
    th.type = detection_filter ? Threshold::Type::DETECTION_FILTER : Threshold::Type::NONE;
    bool have_track = false, have_count = false, have_seconds = false;
    for (std::string_view part : SplitCommas(arg)) {
        size_t space = part.find_first_of(" \t");
        std::string_view key = part.substr(0, space);
        std::string_view value = space == std::string_view::npos ? std::string_view() : Trim(part.substr(space));
        uint64_t n = 0;
        if (key == "type" && !detection_filter) {
            if (value == "limit") th.type = Threshold::Type::LIMIT;
            else if (value == "threshold") th.type = Threshold::Type::THRESHOLD;
            else if (value == "both") th.type = Threshold::Type::BOTH;
            else if (value == "backoff") return KeywordResult::Unsupported("threshold type backoff");
            else return KeywordResult::Error("threshold: unknown type '" + std::string(value) + "'");
        } else if (key == "track") {
            have_track = true;
            if (value == "by_src") th.by_dst = false;
            else if (value == "by_dst") th.by_dst = true;
            else if (value == "by_rule" || value == "by_both" || value == "by_flow")
                return KeywordResult::Unsupported("threshold/detection_filter track " + std::string(value));
            else return KeywordResult::Error("unknown track '" + std::string(value) + "'");
        } else if (key == "count") {
            if (!ParseUnsigned(value, UINT32_MAX, n) || n == 0)
                return KeywordResult::Error("count must be a number from 1");
            th.count = uint32_t(n);
            have_count = true;
        } else if (key == "seconds") {
            if (!ParseUnsigned(value, UINT32_MAX, n) || n == 0)
                return KeywordResult::Error("seconds must be a number from 1");
            th.seconds = uint32_t(n);
            have_seconds = true;
        } else if (key == "unique_on" && detection_filter) {
            if (value == "dst_port") th.unique_dst_port = true;
            else if (value == "src_port") return KeywordResult::Unsupported("detection_filter unique_on src_port");
            else return KeywordResult::Error("unique_on: expected dst_port, not '" + std::string(value) + "'");
        } else {
            return KeywordResult::Error("unknown option '" + std::string(part) + "'");
        }
    }
    if (th.type == Threshold::Type::NONE) return KeywordResult::Error("threshold needs a type");
    if (!have_track || !have_count || !have_seconds)
        return KeywordResult::Error(std::string(detection_filter ? "detection_filter" : "threshold") +
                                    " needs track, count and seconds");
    rule.threshold = th;
    return KeywordResult::Ok();
}

}  // namespace

void RegisterThreshold(KeywordTable &t) {
    t.Add({"threshold", "type limit|threshold|both, track by_src|by_dst, count N, seconds M",
           "docs/signatures.md#threshold", [](std::string_view a, Rule &r, const ParseOptions &) {
               return ParseThresholdArgs(a, r, false);
           }});
    t.Add({"detection_filter",
           "track by_src|by_dst, count N, seconds M[, unique_on dst_port]: alert after N matches (or N distinct "
           "destination ports) in the window",
           "docs/signatures.md#threshold", [](std::string_view a, Rule &r, const ParseOptions &) {
               return ParseThresholdArgs(a, r, true);
           }});
}

}  // namespace darkscope::sig
