#pragma once
/// Text on its way to a terminal: names and subjects may hold what packets carried, and a terminal must never
/// receive their control bytes (cursor moves, title changes, a cleared screen).

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace darkscope {

/// Every control byte and DEL as \xNN; the rest as it is.
inline std::string TerminalSafe(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
        if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02x}", c);
        else out += char(c);
    }
    return out;
}

}  // namespace darkscope
