// flags (alias tcp.flags): TCP flag bits, with modifiers + (these and any others), * (any of these),
// ! (none of these) and an optional mask of bits to ignore (Suricata src/detect-tcp-flags.c).

#include "signature/keywords/keyword_table.hpp"

namespace darkscope::sig {
namespace {

bool FlagBit(char c, uint8_t &bit) {
    switch (c) {
        case 'F': case 'f': bit = TCP_FIN; return true;
        case 'S': case 's': bit = TCP_SYN; return true;
        case 'R': case 'r': bit = TCP_RST; return true;
        case 'P': case 'p': bit = TCP_PSH; return true;
        case 'A': case 'a': bit = TCP_ACK; return true;
        case 'U': case 'u': bit = TCP_URG; return true;
        case 'C': case 'c': case '1': bit = TCP_CWR; return true;
        case 'E': case 'e': case '2': bit = TCP_ECE; return true;
    }
    return false;
}

KeywordResult ParseFlags(std::string_view arg, Rule &rule, const ParseOptions &) {
    if (rule.flags) return KeywordResult::Error("flags given twice");
    size_t comma = arg.find(',');
    std::string_view bits = Trim(arg.substr(0, comma));
    BitsCheck check;
    if (bits.empty()) return KeywordResult::Error("flags: no flags given");
    bool zero = false;
    for (char c : bits) {
        uint8_t bit = 0;
        if (c == '+') check.mode = BitsCheck::Mode::ALL_PLUS;
        else if (c == '*') check.mode = BitsCheck::Mode::ANY;
        else if (c == '!') check.mode = BitsCheck::Mode::NONE;
        else if (c == '0') zero = true;
        else if (FlagBit(c, bit)) check.bits |= bit;
        else return KeywordResult::Error(std::string("flags: unknown flag '") + c + "'");
    }
    if (zero && check.bits) return KeywordResult::Error("flags: 0 (no flags) cannot be combined with flags");
    if (comma != std::string_view::npos) {
        for (char c : Trim(arg.substr(comma + 1))) {
            uint8_t bit = 0;
            if (!FlagBit(c, bit)) return KeywordResult::Error(std::string("flags: unknown mask flag '") + c + "'");
            check.ignore |= bit;
        }
    }
    rule.flags = check;
    return KeywordResult::Ok();
}

}  // namespace

void RegisterFlags(KeywordTable &t) {
    t.Add({"flags", "TCP flags: flags:[+*!]FSRPAUCE0[,mask]", "docs/signatures.md#flags", ParseFlags});
    t.Add({"tcp.flags", "same as flags", "docs/signatures.md#flags", ParseFlags});
}

}  // namespace darkscope::sig
