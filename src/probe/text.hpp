#pragma once
/// Text that came from a probed host (DNS answers, banners, nmap's products and titles) on its way to a
/// terminal, a log, the store or a report: one escaping for all, so that no consumer has to trust it.

#include <string>
#include <string_view>

namespace darkscope::probe {

/// Keeps printable ASCII and well-formed printable UTF-8 (a Japanese router's page title stays readable);
/// writes as \xNN every control byte, DEL, C1 control, byte of malformed UTF-8, bidirectional override
/// (U+202A-202E, U+2066-2069, which reorder what a terminal shows), and '<', '>', '&' (so that a
/// "<script>" in a TXT record stays text wherever it is shown). One-way, for display and storage: a
/// backslash is kept as it is (nmap's banners already hold \xNN escapes of their own). At most `max_bytes`
/// of the input are read; a longer input ends in "...".
std::string EscapeWireText(std::string_view bytes, size_t max_bytes = 1024);

}  // namespace darkscope::probe
