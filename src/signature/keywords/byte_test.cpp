// byte_test: compare bytes of the payload, read as a number, against a value
// (Suricata src/detect-bytetest.c): byte_test:nbytes,[!]op,value,offset[,relative][,big|little]
// [,string,hex|dec|oct][,bitmask 0xNN].

#include <bit>

#include "signature/keywords/keyword_table.hpp"

namespace darkscope::sig {
namespace {

KeywordResult ParseByteTest(std::string_view arg, Rule &rule, const ParseOptions &) {
    auto parts = SplitCommas(arg);
    if (parts.size() < 4) return KeywordResult::Error("byte_test needs nbytes, operator, value and offset");
    ByteTestOp op;
    uint64_t n = 0;
    if (!ParseUnsigned(parts[0], 10, n) || n == 0) return KeywordResult::Error("byte_test: nbytes must be 1 to 10");
    op.nbytes = uint8_t(n);
    std::string_view o = parts[1];
    if (!o.empty() && o[0] == '!') {
        op.negated = true;
        o = Trim(o.substr(1));
    }
    if (o == "<" || o == ">" || o == "=" || o == "&" || o == "^") op.op = o[0];
    else if (o == "<=") op.op = 'L';
    else if (o == ">=") op.op = 'G';
    else return KeywordResult::Error("byte_test: unknown operator '" + std::string(o) + "'");
    if (!ParseUnsigned(parts[2], UINT64_MAX, op.value)) {
        if (!parts[2].empty() && std::isalpha(static_cast<unsigned char>(parts[2][0])))
            return KeywordResult::Unsupported("byte_test with a byte_extract variable");
        return KeywordResult::Error("byte_test: value '" + std::string(parts[2]) + "' is not a number");
    }
    int64_t offset = 0;
    if (!ParseSigned(parts[3], -65535, 65535, offset)) {
        if (!parts[3].empty() && std::isalpha(static_cast<unsigned char>(parts[3][0])))
            return KeywordResult::Unsupported("byte_test with a byte_extract variable");
        return KeywordResult::Error("byte_test: offset '" + std::string(parts[3]) + "' is not a number");
    }
    op.offset = int32_t(offset);
    bool string = false;
    for (size_t i = 4; i < parts.size(); ++i) {
        std::string_view p = parts[i];
        if (p == "relative") op.relative = true;
        else if (p == "big") op.little_endian = false;
        else if (p == "little") op.little_endian = true;
        else if (p == "string") string = true;
        else if (p == "hex") op.string_base = 16;
        else if (p == "dec") op.string_base = 10;
        else if (p == "oct") op.string_base = 8;
        else if (p == "dce") return KeywordResult::Unsupported("byte_test dce (DCE/RPC sessions)");
        else if (p.substr(0, 7) == "bitmask") {
            uint64_t mask = 0;
            if (!ParseUnsigned(p.substr(7), UINT32_MAX, mask) || mask == 0)
                return KeywordResult::Error("byte_test: bad bitmask '" + std::string(p) + "'");
            op.bitmask = mask;
        } else {
            return KeywordResult::Error("byte_test: unknown option '" + std::string(p) + "'");
        }
    }
    if (string && op.string_base == 0) op.string_base = 10;
    if (!string && op.string_base != 0) return KeywordResult::Error("byte_test: hex/dec/oct need 'string'");
    if (!string && op.nbytes > 8) return KeywordResult::Error("byte_test: binary values are 1 to 8 bytes");
    rule.payload.emplace_back(op);
    return KeywordResult::Ok();
}

}  // namespace

bool MatchByteTest(const ByteTestOp &op, const uint8_t *data, uint32_t len, uint32_t prev_end) {
    const int64_t pos = (op.relative ? int64_t(prev_end) : 0) + op.offset;
    if (pos < 0 || pos + op.nbytes > int64_t(len)) return false;
    uint64_t v = 0;
    if (op.string_base) {
        for (int i = 0; i < op.nbytes; ++i) {
            const char c = char(data[pos + i]);
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99;
            if (d >= op.string_base) return false;
            v = v * op.string_base + uint64_t(d);
        }
    } else {
        for (int i = 0; i < op.nbytes; ++i) {
            const uint8_t b = data[pos + (op.little_endian ? op.nbytes - 1 - i : i)];
            v = v << 8 | b;
        }
    }
    if (op.bitmask) {
        v &= *op.bitmask;
        v >>= std::countr_zero(*op.bitmask);
    }
    bool result = false;
    switch (op.op) {
        case '<': result = v < op.value; break;
        case '>': result = v > op.value; break;
        case '=': result = v == op.value; break;
        case 'L': result = v <= op.value; break;
        case 'G': result = v >= op.value; break;
        case '&': result = (v & op.value) != 0; break;
        case '^': result = (v ^ op.value) != 0; break;
    }
    return result != op.negated;
}

void RegisterByteTest(KeywordTable &t) {
    t.Add({"byte_test", "compare payload bytes, read as a number, against a value", "docs/signatures.md#byte_test",
           ParseByteTest});
}

}  // namespace darkscope::sig
