#pragma once
/// Appending to text that is written in bulk (JSON records for the store): no format string parsed per call.

#include <charconv>
#include <string>

namespace darkscope {

/// Appends v in decimal, as printf's %d or %u (and fmt's {}) write it.
template <typename Int>
void AppendDecimal(std::string &out, Int v) {
    char buf[24];
    out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

}  // namespace darkscope
