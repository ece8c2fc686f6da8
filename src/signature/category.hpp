#pragma once
/// The attack categories of the NICT/NPA darknet reports (seeds/002, section 6-2), which group
/// signature hits in the store (Dimension::SIGNATURE_CATEGORY, key = the number below; never
/// renumber).

#include <cstdint>
#include <optional>
#include <string_view>

namespace darkscope::sig {

enum class Category : uint8_t {
    WORM = 1,
    SCAN = 2,
    SCAN_P2P = 3,
    UDP_SPAM = 4,
    DOS = 5,
    DNS = 6,
    OTHERS = 7,
};
constexpr uint8_t CATEGORY_COUNT = 8;  // numbers 1..7

constexpr std::string_view CategoryName(Category c) {
    switch (c) {
        case Category::WORM: return "Worm";
        case Category::SCAN: return "Scan";
        case Category::SCAN_P2P: return "Scan(P2P)";
        case Category::UDP_SPAM: return "UDP spam";
        case Category::DOS: return "DoS";
        case Category::DNS: return "DNS";
        case Category::OTHERS: return "Others";
    }
    return "?";
}

/// "worm", "Scan(P2P)", "scan-p2p", "udp_spam", ... (case, spaces, '-', '_' and parentheses ignored).
std::optional<Category> ParseCategory(std::string_view text);

}  // namespace darkscope::sig
