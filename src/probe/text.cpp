#include "probe/text.hpp"

#include <fmt/format.h>

namespace darkscope::probe {
namespace {

// Length of the well-formed UTF-8 sequence at s[i] (2 to 4 bytes) and its code point, or 0 when malformed.
size_t Utf8Sequence(std::string_view s, size_t i, uint32_t &code_point) {
    const auto byte = [&](size_t k) { return uint8_t(s[i + k]); };
    const uint8_t lead = byte(0);
    size_t length;
    uint32_t min;
    if (lead >= 0xC2 && lead <= 0xDF)
        length = 2, min = 0x80, code_point = lead & 0x1F;
    else if (lead >= 0xE0 && lead <= 0xEF)
        length = 3, min = 0x800, code_point = lead & 0x0F;
    else if (lead >= 0xF0 && lead <= 0xF4)
        length = 4, min = 0x10000, code_point = lead & 0x07;
    else
        return 0;
    if (i + length > s.size()) return 0;
    for (size_t k = 1; k < length; ++k) {
        if ((byte(k) & 0xC0) != 0x80) return 0;
        code_point = code_point << 6 | (byte(k) & 0x3F);
    }
    if (code_point < min || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) return 0;
    return length;
}

bool Hidden(uint32_t cp) {
    return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
           cp == 0xFEFF || cp == 0x200E || cp == 0x200F;
}

}  // namespace

std::string EscapeWireText(std::string_view bytes, size_t max_bytes) {
    const bool cut = bytes.size() > max_bytes;
    if (cut) bytes = bytes.substr(0, max_bytes);
    std::string out;
    out.reserve(bytes.size());
    for (size_t i = 0; i < bytes.size();) {
        const uint8_t c = uint8_t(bytes[i]);
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7F || c == '<' || c == '>' || c == '&')
                out += fmt::format("\\x{:02x}", c);
            else
                out += char(c);
            ++i;
            continue;
        }
        uint32_t cp = 0;
        const size_t n = Utf8Sequence(bytes, i, cp);
        if (n == 0 || Hidden(cp)) {
            const size_t m = n == 0 ? 1 : n;
            for (size_t k = 0; k < m; ++k)
                out += fmt::format("\\x{:02x}", uint8_t(bytes[i + k]));
            i += m;
            continue;
        }
        out.append(bytes.substr(i, n));
        i += n;
    }
    if (cut) out += "...";
    return out;
}

}  // namespace darkscope::probe
