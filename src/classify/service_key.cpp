#include "classify/service_key.hpp"

#include <charconv>

namespace darkscope {
namespace {

struct KindName {
    ServiceKind with_value;
    ServiceKind without_value;
    std::string_view name;
};
constexpr KindName KIND_NAMES[] = {
    {ServiceKind::TCP, ServiceKind::TCP_NOPORT, "TCP"},
    {ServiceKind::UDP, ServiceKind::UDP_NOPORT, "UDP"},
    {ServiceKind::ICMP, ServiceKind::ICMP_NOTYPE, "ICMP"},
    {ServiceKind::ICMPV6, ServiceKind::ICMPV6_NOTYPE, "ICMPv6"},
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

std::optional<uint32_t> ParseNumber(std::string_view digits, uint32_t max) {
    uint32_t v = 0;
    if (digits.empty() || digits.size() > 5) return std::nullopt;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc() || end != digits.data() + digits.size() || v > max) return std::nullopt;
    return v;
}

}  // namespace

std::string ServiceKey::ToString() const {
    ServiceKind kind = Kind();
    if (kind == ServiceKind::NONE) return "-";
    if (kind == ServiceKind::IP_UNKNOWN) return "?/IP";
    if (kind == ServiceKind::PROTO) return "proto " + std::to_string(Value());
    for (const KindName &k : KIND_NAMES) {
        if (kind == k.with_value) return std::to_string(Value()) + "/" + std::string(k.name);
        if (kind == k.without_value) return "?/" + std::string(k.name);
    }
    return "kind " + std::to_string(int(kind)) + " " + std::to_string(Value());  // not made by Make()
}

std::optional<ServiceKey> ServiceKey::Parse(std::string_view text) {
    if (text == "-") return ServiceKey{};
    if (EqualsIgnoreCase(text, "?/IP")) return Make(ServiceKind::IP_UNKNOWN, 0);
    if (text.size() > 6 && EqualsIgnoreCase(text.substr(0, 6), "proto ")) {
        auto proto = ParseNumber(text.substr(6), 255);
        if (!proto) return std::nullopt;
        return Make(ServiceKind::PROTO, uint16_t(*proto));
    }
    auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    std::string_view value = text.substr(0, slash);
    std::string_view name = text.substr(slash + 1);
    for (const KindName &k : KIND_NAMES) {
        if (!EqualsIgnoreCase(name, k.name)) continue;
        if (value == "?") return Make(k.without_value, 0);
        bool icmp = k.with_value == ServiceKind::ICMP || k.with_value == ServiceKind::ICMPV6;
        auto number = ParseNumber(value, icmp ? 255 : 65535);
        if (!number) return std::nullopt;
        return Make(k.with_value, uint16_t(*number));
    }
    return std::nullopt;
}

}  // namespace darkscope
