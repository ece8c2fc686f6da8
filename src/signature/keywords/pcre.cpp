// pcre: a Perl-compatible regular expression over the payload (PCRE2, JIT-compiled once at load).

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "signature/keywords/keyword_table.hpp"
#include "signature/verify.hpp"

namespace darkscope::sig {

CompiledPcre::~CompiledPcre() {
    if (code) pcre2_code_free(code);
}

namespace {

KeywordResult ParsePcre(std::string_view arg, Rule &rule, const ParseOptions &) {
    arg = Trim(arg);
    PcreOp op;
    if (!arg.empty() && arg[0] == '!') {
        op.negated = true;
        arg = Trim(arg.substr(1));
    }
    if (arg.size() < 2 || arg.front() != '"' || arg.back() != '"') return KeywordResult::Error("pcre must be quoted");
    arg = arg.substr(1, arg.size() - 2);
    if (arg.empty() || arg[0] != '/') return KeywordResult::Error("pcre must be written as \"/regex/flags\"");
    size_t close = arg.rfind('/');
    if (close == 0) return KeywordResult::Error("pcre has no closing '/'");
    std::string pattern(arg.substr(1, close - 1));
    // The rule splitter kept `\;` and `\"` escapes; PCRE reads them as the plain characters.
    uint32_t options = 0;
    for (char f : arg.substr(close + 1)) {
        switch (f) {
            case 'i': options |= PCRE2_CASELESS; break;
            case 's': options |= PCRE2_DOTALL; break;
            case 'm': options |= PCRE2_MULTILINE; break;
            case 'x': options |= PCRE2_EXTENDED; break;
            case 'A': options |= PCRE2_ANCHORED; break;
            case 'E': options |= PCRE2_DOLLAR_ENDONLY; break;
            case 'G': options |= PCRE2_UNGREEDY; break;
            case 'R': op.relative = true; break;
            case 'B': case 'O': break;  // rawbytes; no match limit override
            case 'U': case 'I': case 'P': case 'Q': case 'H': case 'D': case 'M': case 'C': case 'K':
            case 'S': case 'Y': case 'V': case 'W':
                return KeywordResult::Unsupported(std::string("pcre flag '") + f +
                                                  "' (an HTTP/application buffer)");
            default: return KeywordResult::Error(std::string("unknown pcre flag '") + f + "'");
        }
    }
    int err = 0;
    PCRE2_SIZE where = 0;
    pcre2_code *code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &err,
                                     &where, nullptr);
    if (!code) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(err, buf, sizeof buf);
        return KeywordResult::Error("pcre at offset " + std::to_string(where) + ": " +
                                    reinterpret_cast<const char *>(buf));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
    op.code = std::make_shared<CompiledPcre>();
    op.code->code = code;
    op.source = std::string(arg);
    rule.payload.emplace_back(std::move(op));
    return KeywordResult::Ok();
}

}  // namespace

VerifyScratch::VerifyScratch() : match_data(pcre2_match_data_create(32, nullptr)) {}
VerifyScratch::~VerifyScratch() { pcre2_match_data_free(match_data); }

bool MatchPcre(const PcreOp &op, const uint8_t *data, uint32_t len, uint32_t prev_end, uint32_t &end,
               VerifyScratch &scratch) {
    const uint32_t start = op.relative ? prev_end : 0;
    if (start > len) return false;
    // As Suricata does, a relative regex sees the payload from the previous match on: ^ anchors there.
    static const uint8_t EMPTY = 0;
    const uint8_t *subject = data ? data + start : &EMPTY;
    int rc = pcre2_match(op.code->code, subject, len - start, 0, 0, scratch.match_data, nullptr);
    if (rc < 0) return false;
    end = start + uint32_t(pcre2_get_ovector_pointer(scratch.match_data)[1]);
    return true;
}

void RegisterPcre(KeywordTable &t) {
    t.Add({"pcre", "a Perl-compatible regular expression over the payload; flags i s m x A E G R",
           "docs/signatures.md#pcre", ParsePcre});
}

}  // namespace darkscope::sig
