// content and its modifiers: nocase, offset, depth, distance, within, fast_pattern, startswith,
// endswith, rawbytes (Suricata src/detect-content.c and detect-engine-content-inspection.c).

#include <algorithm>
#include <cctype>
#include <cstring>

#include "signature/keywords/keyword_table.hpp"

namespace darkscope::sig {
namespace {

int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// `"abc|41 42|def"` -> bytes. The rule splitter has kept the quotes and escapes.
bool DecodeContent(std::string_view arg, std::string &out, bool &negated, std::string &error) {
    arg = Trim(arg);
    negated = false;
    if (!arg.empty() && arg[0] == '!') {
        negated = true;
        arg = Trim(arg.substr(1));
    }
    if (arg.size() < 2 || arg.front() != '"' || arg.back() != '"') {
        error = "content must be a quoted string";
        return false;
    }
    arg = arg.substr(1, arg.size() - 2);
    bool hex = false;
    int pending = -1;
    for (size_t i = 0; i < arg.size(); ++i) {
        char c = arg[i];
        if (c == '|') {
            if (hex && pending >= 0) {
                error = "odd number of hex digits in content";
                return false;
            }
            hex = !hex;
            continue;
        }
        if (hex) {
            if (c == ' ') continue;
            int v = HexValue(c);
            if (v < 0) {
                error = std::string("'") + c + "' is not a hex digit in content";
                return false;
            }
            if (pending < 0) {
                pending = v;
            } else {
                out.push_back(char(pending << 4 | v));
                pending = -1;
            }
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= arg.size()) {
                error = "content ends with a lone backslash";
                return false;
            }
            out.push_back(arg[++i]);
            continue;
        }
        if (c == '"' || c == ';') {
            error = std::string("'") + c + "' in content must be escaped with a backslash";
            return false;
        }
        out.push_back(c);
    }
    if (hex) {
        error = "content has an unclosed |hex| section";
        return false;
    }
    if (out.empty()) {
        error = "content is empty";
        return false;
    }
    return true;
}

KeywordResult ParseContentKeyword(std::string_view arg, Rule &rule, const ParseOptions &) {
    ContentOp c;
    std::string error;
    if (!DecodeContent(arg, c.bytes, c.negated, error)) return KeywordResult::Error(error);
    if (c.bytes.size() > 65535) return KeywordResult::Error("content longer than 65535 bytes");
    rule.payload.emplace_back(std::move(c));
    return KeywordResult::Ok();
}

// offset/depth/distance/within: a number (a byte_extract variable name is outside the subset).
KeywordResult Position(std::string_view arg, Rule &rule, std::string_view name, bool allow_negative,
                       std::optional<int32_t> ContentOp::*field) {
    std::string error;
    ContentOp *c = LastContent(rule, name, error);
    if (!c) return KeywordResult::Error(error);
    int64_t v = 0;
    if (!ParseSigned(arg, allow_negative ? -65535 : 0, 65535, v)) {
        if (!arg.empty() && (std::isalpha(static_cast<unsigned char>(arg[0])) || arg[0] == '_'))
            return KeywordResult::Unsupported(std::string(name) + " by a byte_extract variable");
        return KeywordResult::Error(std::string(name) + ": '" + std::string(arg) + "' is not a valid number");
    }
    if (c->*field) return KeywordResult::Error(std::string(name) + " given twice for one content");
    const bool relative_field = field == &ContentOp::distance || field == &ContentOp::within;
    if (relative_field && (c->offset || c->depth))
        return KeywordResult::Error(std::string(name) + " cannot be mixed with offset/depth on one content");
    if (!relative_field && (c->distance || c->within))
        return KeywordResult::Error(std::string(name) + " cannot be mixed with distance/within on one content");
    if (c->startswith && !relative_field)
        return KeywordResult::Error(std::string(name) + " cannot be combined with startswith");
    if ((field == &ContentOp::depth || field == &ContentOp::within) && size_t(v) < c->bytes.size())
        return KeywordResult::Error(std::string(name) + " " + std::to_string(v) +
                                    " is shorter than the content (" + std::to_string(c->bytes.size()) + " bytes)");
    c->*field = int32_t(v);
    return KeywordResult::Ok();
}

KeywordResult Flag(std::string_view arg, Rule &rule, std::string_view name, bool ContentOp::*field) {
    std::string error;
    ContentOp *c = LastContent(rule, name, error);
    if (!c) return KeywordResult::Error(error);
    c->*field = true;
    return KeywordResult::Ok();
}

}  // namespace

bool ContentWindow(const ContentOp &c, uint32_t len, uint32_t prev_end, uint32_t &begin, uint32_t &end) {
    int64_t b = 0, e = len;
    if (c.Relative()) {
        b = int64_t(prev_end) + c.distance.value_or(0);
        if (c.within) e = std::min<int64_t>(e, int64_t(prev_end) + c.distance.value_or(0) + *c.within);
    } else {
        b = c.offset.value_or(0);
        if (c.depth) e = std::min<int64_t>(e, b + *c.depth);
        if (c.startswith) e = std::min<int64_t>(e, int64_t(c.bytes.size()));
    }
    b = std::max<int64_t>(b, 0);
    if (e - b < int64_t(c.bytes.size())) return false;
    begin = uint32_t(b);
    end = uint32_t(e);
    return true;
}

bool FindContent(const ContentOp &c, const uint8_t *data, uint32_t len, uint32_t prev_end, uint32_t from,
                 uint32_t &start, uint32_t &end) {
    uint32_t wb = 0, we = 0;
    if (!ContentWindow(c, len, prev_end, wb, we)) return false;
    const size_t n = c.bytes.size();
    const auto *pat = reinterpret_cast<const uint8_t *>(c.bytes.data());
    uint32_t pos = std::max(wb, from);
    if (c.endswith) pos = std::max<uint32_t>(pos, we >= n ? uint32_t(we - n) : 0);
    for (; pos + n <= we; ++pos) {
        bool same;
        if (c.nocase) {
            same = true;
            for (size_t i = 0; i < n && same; ++i)
                same = std::tolower(data[pos + i]) == std::tolower(pat[i]);
        } else {
            const void *hit = std::memchr(data + pos, pat[0], we - n + 1 - pos);
            if (!hit) return false;
            pos = uint32_t(static_cast<const uint8_t *>(hit) - data);
            same = std::memcmp(data + pos, pat, n) == 0;
        }
        if (same && (!c.endswith || pos + n == len)) {
            start = pos;
            end = uint32_t(pos + n);
            return true;
        }
    }
    return false;
}

void RegisterContent(KeywordTable &t) {
    t.Add({"content", "bytes to find in the payload: text, |hex| and ! for absence", "docs/signatures.md#content",
           ParseContentKeyword});
    t.Add({"nocase", "the previous content ignores ASCII case", "docs/signatures.md#content",
           [](std::string_view a, Rule &r, const ParseOptions &) { return Flag(a, r, "nocase", &ContentOp::nocase); }});
    t.Add({"rawbytes", "accepted and ignored: darkscope inspects raw packet payloads only",
           "docs/signatures.md#content", [](std::string_view, Rule &, const ParseOptions &) {
               return KeywordResult::Ok();
           }});
    t.Add({"fast_pattern", "use the previous content as the prefilter pattern", "docs/signatures.md#content",
           [](std::string_view a, Rule &r, const ParseOptions &) {
               // fast_pattern:only and fast_pattern:N,M (chop) only tune Suricata's prefilter.
               return Flag(a, r, "fast_pattern", &ContentOp::fast_pattern);
           }});
    t.Add({"startswith", "the previous content must start the payload", "docs/signatures.md#content",
           [](std::string_view a, Rule &r, const ParseOptions &) {
               std::string error;
               ContentOp *c = LastContent(r, "startswith", error);
               if (!c) return KeywordResult::Error(error);
               if (c->offset || c->depth || c->Relative())
                   return KeywordResult::Error("startswith cannot be combined with offset/depth/distance/within");
               c->startswith = true;
               return KeywordResult::Ok();
           }});
    t.Add({"endswith", "the previous content must end the payload", "docs/signatures.md#content",
           [](std::string_view a, Rule &r, const ParseOptions &) {
               return Flag(a, r, "endswith", &ContentOp::endswith);
           }});
    t.Add({"offset", "the previous content starts at least this many bytes into the payload",
           "docs/signatures.md#content", [](std::string_view a, Rule &r, const ParseOptions &) {
               return Position(a, r, "offset", false, &ContentOp::offset);
           }});
    t.Add({"depth", "the previous content lies within this many bytes from its offset",
           "docs/signatures.md#content", [](std::string_view a, Rule &r, const ParseOptions &) {
               return Position(a, r, "depth", false, &ContentOp::depth);
           }});
    t.Add({"distance", "the previous content starts this many bytes after the match before it",
           "docs/signatures.md#content", [](std::string_view a, Rule &r, const ParseOptions &) {
               return Position(a, r, "distance", true, &ContentOp::distance);
           }});
    t.Add({"within", "the previous content ends within this many bytes of the match before it (after distance)",
           "docs/signatures.md#content", [](std::string_view a, Rule &r, const ParseOptions &) {
               return Position(a, r, "within", false, &ContentOp::within);
           }});
}

}  // namespace darkscope::sig
