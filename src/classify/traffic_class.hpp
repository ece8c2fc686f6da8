#pragma once
/// The traffic classes every packet falls in (exactly one each).

#include <cstdint>
#include <optional>
#include <string_view>

namespace darkscope {

// X(ENUM, "stable-name")
#define DARKSCOPE_TRAFFIC_CLASSES(X)                 \
    X(SYN_PROBE, "syn-probe")                        \
    X(SYNACK_BACKSCATTER, "synack-backscatter")      \
    X(RST_BACKSCATTER, "rst-backscatter")            \
    X(RSTACK_BACKSCATTER, "rstack-backscatter")      \
    X(TCP_OTHER, "tcp-other")                        \
    X(UDP_PROBE, "udp-probe")                        \
    X(DNS_QUERY, "dns-query")                        \
    X(DNS_RESPONSE, "dns-response")                  \
    X(ICMP_ECHO_REQUEST, "icmp-echo-request")        \
    X(ICMP_BACKSCATTER, "icmp-backscatter")          \
    X(FRAGMENT, "fragment")                          \
    X(MALFORMED, "malformed")                        \
    X(OTHER, "other")

enum class TrafficClass : uint8_t {
#define DARKSCOPE_X(e, name) e,
    DARKSCOPE_TRAFFIC_CLASSES(DARKSCOPE_X)
#undef DARKSCOPE_X
        COUNT
};

constexpr std::string_view TRAFFIC_CLASS_NAMES[] = {
#define DARKSCOPE_X(e, name) name,
    DARKSCOPE_TRAFFIC_CLASSES(DARKSCOPE_X)
#undef DARKSCOPE_X
};

inline std::string_view TrafficClassName(TrafficClass c) { return TRAFFIC_CLASS_NAMES[static_cast<int>(c)]; }
std::optional<TrafficClass> ParseTrafficClass(std::string_view name);

/// Classes whose source port is kept as a dimension: the sender is a DoS victim or a reflector,
/// and its source port names the service that was attacked or abused.
inline bool KeepsSourcePort(TrafficClass c) {
    return c == TrafficClass::SYNACK_BACKSCATTER || c == TrafficClass::RST_BACKSCATTER ||
           c == TrafficClass::RSTACK_BACKSCATTER || c == TrafficClass::DNS_RESPONSE ||
           c == TrafficClass::ICMP_BACKSCATTER;
}

}  // namespace darkscope
