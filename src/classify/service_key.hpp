#pragma once
/// Service keys in the reports' notation: 445/TCP, 53/UDP, 8/ICMP, 128/ICMPv6, proto 47, and
/// ?/TCP where the transport header is missing (non-first fragments, truncated headers), and ?/IP
/// where even the transport protocol is unknown.
/// Packed into 32 bits: kind << 16 | value, so that aggregation tables key on an integer.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace darkscope {

enum class ServiceKind : uint8_t {
    NONE = 0,    // not an IP packet
    TCP = 1,     // value: destination (or source) port
    UDP = 2,
    ICMP = 3,    // value: ICMP type
    ICMPV6 = 4,  // value: ICMPv6 type
    PROTO = 5,   // value: IP protocol number (other protocols)
    TCP_NOPORT = 6,   // TCP without a readable header: "?/TCP"
    UDP_NOPORT = 7,
    ICMP_NOTYPE = 8,
    ICMPV6_NOTYPE = 9,
    IP_UNKNOWN = 10,  // an IP packet whose header (or IPv6 extension chain) cannot be read: "?/IP"
};

struct ServiceKey {
    uint32_t packed = 0;

    static constexpr ServiceKey Make(ServiceKind kind, uint16_t value) {
        return ServiceKey{uint32_t(kind) << 16 | value};
    }
    constexpr ServiceKind Kind() const { return ServiceKind(packed >> 16); }
    constexpr uint16_t Value() const { return uint16_t(packed); }
    constexpr bool Empty() const { return packed == 0; }

    /// "445/TCP", "8/ICMP", "proto 47", "?/UDP", "-".
    std::string ToString() const;
    /// The inverse of ToString (case-insensitive protocol names).
    static std::optional<ServiceKey> Parse(std::string_view text);

    friend constexpr bool operator==(ServiceKey, ServiceKey) = default;
    friend constexpr auto operator<=>(ServiceKey, ServiceKey) = default;
};

}  // namespace darkscope
