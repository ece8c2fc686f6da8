#pragma once
/// The rule options darkscope understands, as an explicit table (Suricata's SigTableSetup): each
/// keyword file registers its records with the name, a description, its documentation anchor and
/// the function that parses its argument into the rule. Matching lives beside each parser
/// (Match* below) and runs from signature/verify.cpp.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "signature/rule.hpp"

namespace darkscope::sig {

/// What parsing one option gave.
struct KeywordResult {
    enum class Status : uint8_t { OK, ERROR, UNSUPPORTED };
    Status status = Status::OK;
    std::string message;
    static KeywordResult Ok() { return {}; }
    static KeywordResult Error(std::string m) { return {Status::ERROR, std::move(m)}; }
    static KeywordResult Unsupported(std::string m) { return {Status::UNSUPPORTED, std::move(m)}; }
};

struct ParseOptions;
/// `arg` is the option's value with surrounding spaces removed (empty for flag keywords).
using KeywordParse = KeywordResult (*)(std::string_view arg, Rule &rule, const ParseOptions &options);

struct Keyword {
    std::string_view name;
    std::string_view description;
    std::string_view doc;
    KeywordParse parse = nullptr;
};

class KeywordTable {
public:
    void Add(const Keyword &k) { keywords_.push_back(k); }
    const Keyword *Find(std::string_view name) const;
    const std::vector<Keyword> &All() const { return keywords_; }

private:
    std::vector<Keyword> keywords_;
};

/// Every keyword, registered once.
const KeywordTable &Keywords();

// One registration function per keyword file (keywords/*.cpp).
void RegisterMeta(KeywordTable &t);         // msg sid rev gid classtype reference metadata priority target
void RegisterContent(KeywordTable &t);      // content and its modifiers
void RegisterPcre(KeywordTable &t);
void RegisterByteTest(KeywordTable &t);
void RegisterIsDataAt(KeywordTable &t);
void RegisterDsize(KeywordTable &t);
void RegisterFlags(KeywordTable &t);        // flags (tcp.flags)
void RegisterFragbits(KeywordTable &t);
void RegisterIpFields(KeywordTable &t);     // ttl id ip_proto
void RegisterTcpFields(KeywordTable &t);    // seq ack window
void RegisterIcmp(KeywordTable &t);         // itype icode icmp_id icmp_seq
void RegisterFlow(KeywordTable &t);
void RegisterThreshold(KeywordTable &t);    // threshold detection_filter
void RegisterUnsupported(KeywordTable &t);  // session and application-layer keywords: skip the rule

// Shared argument parsers.
/// `5`, `<5`, `<=5`, `>5`, `>=5`, `!5`, `5<>10`, `5-10`; values up to `max`.
bool ParseComparison(std::string_view text, uint64_t max, Comparison &out, std::string &error);
/// Decimal or 0x hexadecimal.
bool ParseUnsigned(std::string_view text, uint64_t max, uint64_t &out);
bool ParseSigned(std::string_view text, int64_t min, int64_t max, int64_t &out);
std::string_view Trim(std::string_view s);
/// Splits on commas (no quoting), trimming each part.
std::vector<std::string_view> SplitCommas(std::string_view s);
/// The last content of the rule, for a modifier; nullptr (and `error` set) when there is none.
ContentOp *LastContent(Rule &rule, std::string_view modifier, std::string &error);

// Matching (signature/verify.cpp calls these). `prev_end` is the end of the previous payload match.
/// Finds the content in its window; on success `end` is the end of the first match at or after `from`.
bool FindContent(const ContentOp &c, const uint8_t *data, uint32_t len, uint32_t prev_end, uint32_t from,
                 uint32_t &start, uint32_t &end);
/// The window a content searches: [begin, end) of the payload, clamped; false when empty.
bool ContentWindow(const ContentOp &c, uint32_t len, uint32_t prev_end, uint32_t &begin, uint32_t &end);
bool MatchIsDataAt(const IsDataAtOp &op, uint32_t len, uint32_t prev_end);
bool MatchByteTest(const ByteTestOp &op, const uint8_t *data, uint32_t len, uint32_t prev_end);
/// True if the regex matches (from prev_end when relative); `end` is where the match ended.
bool MatchPcre(const PcreOp &op, const uint8_t *data, uint32_t len, uint32_t prev_end, uint32_t &end,
               struct VerifyScratch &scratch);

}  // namespace darkscope::sig
