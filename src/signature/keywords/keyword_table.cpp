#include "signature/keywords/keyword_table.hpp"

#include <charconv>
#include <limits>

namespace darkscope::sig {

const Keyword *KeywordTable::Find(std::string_view name) const {
    for (const Keyword &k : keywords_)
        if (k.name == name) return &k;
    return nullptr;
}

const KeywordTable &Keywords() {
    static const KeywordTable table = [] {
        KeywordTable t;
        RegisterMeta(t);
        RegisterContent(t);
        RegisterPcre(t);
        RegisterByteTest(t);
        RegisterIsDataAt(t);
        RegisterDsize(t);
        RegisterFlags(t);
        RegisterFragbits(t);
        RegisterIpFields(t);
        RegisterTcpFields(t);
        RegisterIcmp(t);
        RegisterFlow(t);
        RegisterThreshold(t);
        RegisterUnsupported(t);
        return t;
    }();
    return table;
}

std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> SplitCommas(std::string_view s) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (;;) {
        size_t comma = s.find(',', start);
        parts.push_back(Trim(s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return parts;
}

bool ParseUnsigned(std::string_view text, uint64_t max, uint64_t &out) {
    text = Trim(text);
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        text.remove_prefix(2);
        base = 16;
    }
    if (text.empty()) return false;
    uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
    if (ec != std::errc() || ptr != text.data() + text.size() || v > max) return false;
    out = v;
    return true;
}

bool ParseSigned(std::string_view text, int64_t min, int64_t max, int64_t &out) {
    text = Trim(text);
    bool negative = !text.empty() && text[0] == '-';
    if (negative) text.remove_prefix(1);
    uint64_t v = 0;
    if (!ParseUnsigned(text, uint64_t(std::numeric_limits<int64_t>::max()), v)) return false;
    int64_t s = negative ? -int64_t(v) : int64_t(v);
    if (s < min || s > max) return false;
    out = s;
    return true;
}

bool ParseComparison(std::string_view text, uint64_t max, Comparison &out, std::string &error) {
    text = Trim(text);
    using Op = Comparison::Op;
    auto number = [&](std::string_view t, uint64_t &v) {
        if (ParseUnsigned(t, max, v)) return true;
        error = "'" + std::string(Trim(t)) + "' is not a number from 0 to " + std::to_string(max);
        return false;
    };
    if (text.empty()) {
        error = "a value is needed";
        return false;
    }
    struct Prefix {
        std::string_view text;
        Op op;
    };
    for (const Prefix &p : {Prefix{"<=", Op::LE}, Prefix{">=", Op::GE}, Prefix{"<", Op::LT}, Prefix{">", Op::GT},
                            Prefix{"!", Op::NE}, Prefix{"=", Op::EQ}}) {
        if (text.substr(0, p.text.size()) == p.text) {
            out.op = p.op;
            return number(text.substr(p.text.size()), out.a);
        }
    }
    size_t range = text.find("<>");
    size_t range_len = 2;
    if (range == std::string_view::npos) {
        range = text.find('-');
        range_len = 1;
    }
    if (range != std::string_view::npos) {
        out.op = Op::RANGE;
        if (!number(text.substr(0, range), out.a) || !number(text.substr(range + range_len), out.b)) return false;
        if (out.a >= out.b) {
            error = "range '" + std::string(text) + "': the first value must be below the second";
            return false;
        }
        return true;
    }
    out.op = Op::EQ;
    return number(text, out.a);
}

ContentOp *LastContent(Rule &rule, std::string_view modifier, std::string &error) {
    for (auto it = rule.payload.rbegin(); it != rule.payload.rend(); ++it)
        if (auto *c = std::get_if<ContentOp>(&*it)) return c;
    error = std::string(modifier) + " needs a content before it";
    return nullptr;
}

}  // namespace darkscope::sig
