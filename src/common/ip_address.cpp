#include "common/ip_address.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace darkscope {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
    std::string s(text);
    IpAddress a;
    if (s.find(':') == std::string::npos) {
        if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
        a.family = 4;
        return a;
    }
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
    a.family = 6;
    return a;
}

std::string IpAddress::ToString() const {
    if (family == 4) {
        // glibc's inet_ntop formats IPv4 through sprintf; a file's end writes tens of thousands of addresses.
        char buf[16];
        char *p = buf;
        for (size_t i = 0; i < 4; ++i) {
            if (i > 0) *p++ = '.';
            const unsigned v = bytes[i];
            if (v >= 100) *p++ = char('0' + v / 100);
            if (v >= 10) *p++ = char('0' + v / 10 % 10);
            *p++ = char('0' + v % 10);
        }
        return std::string(buf, p);
    }
    if (family != 6) return "-";
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
    return buf;
}

std::optional<IpNetwork> IpNetwork::Parse(std::string_view text) {
    IpNetwork n;
    auto slash = text.find('/');
    auto addr = IpAddress::Parse(text.substr(0, slash));
    if (!addr) return std::nullopt;
    n.base = *addr;
    int max_prefix = addr->IsV4() ? 32 : 128;
    int prefix = max_prefix;
    if (slash != std::string_view::npos) {
        auto digits = text.substr(slash + 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (ec != std::errc() || end != digits.data() + digits.size() || prefix < 0 || prefix > max_prefix)
            return std::nullopt;
    }
    n.prefix = uint8_t(prefix);
    // Clear host bits so that 192.0.2.7/24 means 192.0.2.0/24.
    int bits = addr->IsV4() ? 32 : 128;
    for (int bit = prefix; bit < bits; ++bit) n.base.bytes[bit / 8] &= uint8_t(~(0x80u >> (bit % 8)));
    return n;
}

bool IpNetwork::Contains(const IpAddress &a) const {
    if (a.family != base.family) return false;
    int full = prefix / 8;
    if (std::memcmp(a.bytes.data(), base.bytes.data(), size_t(full)) != 0) return false;
    int rest = prefix % 8;
    if (rest == 0) return true;
    uint8_t mask = uint8_t(0xFF00u >> rest);
    return (a.bytes[size_t(full)] & mask) == (base.bytes[size_t(full)] & mask);
}

uint64_t IpNetwork::Size() const {
    int host_bits = (base.IsV4() ? 32 : 128) - prefix;
    if (host_bits >= 63) return uint64_t(1) << 63;
    return uint64_t(1) << host_bits;
}

std::string IpNetwork::ToString() const { return base.ToString() + "/" + std::to_string(prefix); }

}  // namespace darkscope
