#include "report/iana.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

namespace darkscope {
namespace {

/// ICMPv6 type names. IANA's ICMPv6 registry is not among the CSVs the tables come from, so the types a
/// telescope meets most are listed here, named as RFC 4443 section 2.1 (errors 1-4, echo 128-129) and
/// RFC 4861 section 4 (Neighbor Discovery, 133-137) name them.
struct Icmpv6Type {
    uint16_t type;
    std::string_view name;
};
constexpr Icmpv6Type ICMPV6_TYPES[] = {
    {1, "Destination Unreachable"},  // RFC 4443
    {2, "Packet Too Big"},
    {3, "Time Exceeded"},
    {4, "Parameter Problem"},
    {128, "Echo Request"},
    {129, "Echo Reply"},
    {133, "Router Solicitation"},  // RFC 4861
    {134, "Router Advertisement"},
    {135, "Neighbor Solicitation"},
    {136, "Neighbor Advertisement"},
    {137, "Redirect Message"},
};

std::optional<uint16_t> ParseNumber(std::string_view digits, uint32_t max) {
    uint32_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value > max) {
        return std::nullopt;
    }
    return uint16_t(value);
}

/// Splits `line` at tabs into `fields`; false with more fields than `fields.size()` or fewer than N - 1. The
/// last field (a description) may be missing, read as empty: its empty value ends a line in a trailing tab,
/// which an editor or a whitespace hook may strip.
template <size_t N>
bool SplitTabs(std::string_view line, std::array<std::string_view, N> &fields) {
    size_t field_idx = 0;
    while (true) {
        size_t tab = line.find('\t');
        if (field_idx == N) return false;
        fields[field_idx++] = line.substr(0, tab);
        if (tab == std::string_view::npos) break;
        line.remove_prefix(tab + 1);
    }
    if (field_idx == N - 1) fields[N - 1] = {};
    return field_idx + 1 >= N;
}

/// Calls `on_line` for each line that is neither empty nor a `#` comment; counts the lines it rejects.
template <typename OnLine>
void ForEachDataLine(std::string_view text, size_t &skipped, OnLine on_line) {
    while (!text.empty()) {
        size_t newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;
        if (!on_line(line)) ++skipped;
    }
}

}  // namespace

IanaNames IanaNames::Parse(std::string_view services, std::string_view icmp_types, std::string_view protocols) {
    IanaNames names;
    std::vector<Entry> &entries = names.entries_;
    ForEachDataLine(services, names.skipped_lines_, [&](std::string_view line) {
        std::array<std::string_view, 4> f;  // port, proto, service name, description
        if (!SplitTabs(line, f)) return false;
        auto port = ParseNumber(f[0], 65535);
        ServiceKind kind = f[1] == "tcp" ? ServiceKind::TCP : f[1] == "udp" ? ServiceKind::UDP : ServiceKind::NONE;
        if (!port || kind == ServiceKind::NONE || f[2].empty()) return false;
        entries.push_back({ServiceKey::Make(kind, *port).packed, f[2], f[3]});
        return true;
    });
    ForEachDataLine(icmp_types, names.skipped_lines_, [&](std::string_view line) {
        std::array<std::string_view, 2> f;  // type, name
        if (!SplitTabs(line, f) || f[1].empty()) return false;
        auto type = ParseNumber(f[0], 255);
        if (!type || f[1].empty()) return false;
        entries.push_back({ServiceKey::Make(ServiceKind::ICMP, *type).packed, f[1], {}});
        return true;
    });
    ForEachDataLine(protocols, names.skipped_lines_, [&](std::string_view line) {
        std::array<std::string_view, 3> f;  // number, keyword (may be empty), description
        if (!SplitTabs(line, f)) return false;
        auto number = ParseNumber(f[0], 255);
        if (!number || (f[1].empty() && f[2].empty())) return false;
        entries.push_back({ServiceKey::Make(ServiceKind::PROTO, *number).packed, f[1], f[2]});
        return true;
    });
    for (const Icmpv6Type &t : ICMPV6_TYPES) {
        entries.push_back({ServiceKey::Make(ServiceKind::ICMPV6, t.type).packed, t.name, {}});
    }
    // One entry per key, the first given (the tables already keep IANA's first name for a port).
    std::stable_sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) { return a.key < b.key; });
    auto last =
        std::unique(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) { return a.key == b.key; });
    entries.erase(last, entries.end());
    entries.shrink_to_fit();
    return names;
}

const IanaNames &IanaNames::Builtin() {
    static const IanaNames BUILTIN =
        Parse(detail::IanaServicesTsv(), detail::IanaIcmpTypesTsv(), detail::IanaProtocolsTsv());
    return BUILTIN;
}

IanaNames IanaNames::FromTsv(std::string_view services, std::string_view icmp_types, std::string_view protocols) {
    auto texts = std::make_shared<const std::vector<std::string>>(
        std::vector<std::string>{std::string(services), std::string(icmp_types), std::string(protocols)});
    IanaNames names = Parse((*texts)[0], (*texts)[1], (*texts)[2]);
    names.owned_texts_ = std::move(texts);
    return names;
}

const IanaNames::Entry *IanaNames::Find(ServiceKey key) const {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), key.packed,
                               [](const Entry &e, uint32_t packed) { return e.key < packed; });
    return it != entries_.end() && it->key == key.packed ? &*it : nullptr;
}

std::string_view IanaNames::ServiceName(ServiceKey key) const {
    const Entry *entry = Find(key);
    return entry ? entry->name : std::string_view();
}

std::string_view IanaNames::Description(ServiceKey key) const {
    const Entry *entry = Find(key);
    return entry ? entry->description : std::string_view();
}

}  // namespace darkscope
