#include "probe/exclusion.hpp"

#include <fmt/format.h>

#include <fstream>
#include <set>

namespace darkscope::probe {
namespace {

// The IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and the RFCs that added entries since),
// plus the multicast and reserved blocks that live in the address-space registries. Entries inside a larger one
// (192.0.0.0/24's, 2001::/23's) are listed only where the larger one would give a misleading name. Anycast
// services among them (AS112, AMT, PCP, TURN) are refused too: none of them is a darknet source to characterise.
constexpr SpecialRange SPECIAL_RANGES[] = {
    {"0.0.0.0/8", "\"this network\"", "RFC 791 section 3.2, RFC 1122"},
    {"10.0.0.0/8", "private use", "RFC 1918"},
    {"100.64.0.0/10", "shared address space (carrier-grade NAT)", "RFC 6598"},
    {"127.0.0.0/8", "loopback", "RFC 1122"},
    {"169.254.0.0/16", "link local", "RFC 3927"},
    {"172.16.0.0/12", "private use", "RFC 1918"},
    {"192.0.0.0/24", "IETF protocol assignments (DS-Lite, PCP/TURN anycast, NAT64 discovery)", "RFC 6890"},
    {"192.0.2.0/24", "documentation (TEST-NET-1)", "RFC 5737"},
    {"192.31.196.0/24", "AS112-v4", "RFC 7535"},
    {"192.52.193.0/24", "AMT", "RFC 7450"},
    {"192.88.99.0/24", "deprecated 6to4 relay anycast", "RFC 7526"},
    {"192.168.0.0/16", "private use", "RFC 1918"},
    {"192.175.48.0/24", "direct delegation AS112 service", "RFC 7534"},
    {"198.18.0.0/15", "benchmarking", "RFC 2544"},
    {"198.51.100.0/24", "documentation (TEST-NET-2)", "RFC 5737"},
    {"203.0.113.0/24", "documentation (TEST-NET-3)", "RFC 5737"},
    {"224.0.0.0/4", "multicast", "RFC 5771"},
    {"255.255.255.255/32", "limited broadcast", "RFC 8190, RFC 919"},
    {"240.0.0.0/4", "reserved", "RFC 1112 section 4"},

    {"::1/128", "loopback", "RFC 4291"},
    {"::/128", "unspecified", "RFC 4291"},
    {"::ffff:0:0/96", "IPv4-mapped", "RFC 4291"},
    {"::/96", "deprecated IPv4-compatible", "RFC 4291 section 2.5.5.1"},
    {"64:ff9b::/96", "IPv4-IPv6 translation", "RFC 6052"},
    {"64:ff9b:1::/48", "local-use IPv4-IPv6 translation", "RFC 8215"},
    {"100::/64", "discard-only", "RFC 6666"},
    {"100:0:0:1::/64", "dummy IPv6 prefix", "RFC 9780"},
    {"2001::/32", "TEREDO", "RFC 4380, RFC 8190"},
    {"2001:2::/48", "benchmarking", "RFC 5180"},
    {"2001::/23", "IETF protocol assignments (PCP/TURN anycast, AMT, AS112-v6, ORCHID, DRIP)", "RFC 2928"},
    {"2001:db8::/32", "documentation", "RFC 3849"},
    {"2002::/16", "6to4", "RFC 3056"},
    {"2620:4f:8000::/48", "direct delegation AS112 service", "RFC 7534"},
    {"3fff::/20", "documentation", "RFC 9637"},
    {"5f00::/16", "segment routing (SRv6) SIDs", "RFC 9602"},
    {"fc00::/7", "unique local", "RFC 4193, RFC 8190"},
    {"fec0::/10", "deprecated site-local", "RFC 3879"},
    {"fe80::/10", "link-local unicast", "RFC 4291"},
    {"ff00::/8", "multicast", "RFC 4291"},
};

// Everything outside 2000::/3 is unassigned or special (IANA IPv6 Address Space registry): no host to probe.
const IpNetwork GLOBAL_UNICAST_V6 = *IpNetwork::Parse("2000::/3");

bool IsLoopbackEntry(std::string_view cidr) { return cidr == "127.0.0.0/8" || cidr == "::1/128"; }

std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// Calls `line_fn(line_number, text)` for each non-blank line with its comment removed.
template <typename F>
void ForEachLine(const std::filesystem::path &path, F &&line_fn) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ExclusionFileError(fmt::format("{}: cannot open", path.string()));
    std::string line;
    size_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        std::string_view text = line;
        if (number == 1 && text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a BOM from Windows editors
        if (auto hash = text.find('#'); hash != std::string_view::npos) text = text.substr(0, hash);
        text = Trim(text);
        if (!text.empty()) line_fn(number, text);
    }
    if (in.bad()) throw ExclusionFileError(fmt::format("{}: read error after line {}", path.string(), number));
}

// Shows a line from a file in an error message without letting its control bytes reach the terminal.
std::string Printable(std::string_view text) {
    std::string out;
    for (unsigned char c : text.substr(0, 80)) {
        if (c < 0x20 || c >= 0x7F)
            out += fmt::format("\\x{:02x}", c);
        else
            out += char(c);
    }
    return text.size() > 80 ? out + "..." : out;
}

}  // namespace

std::span<const SpecialRange> SpecialPurposeRanges() { return SPECIAL_RANGES; }

ExclusionList::ExclusionList(bool allow_loopback) : allow_loopback_(allow_loopback) {
    for (const SpecialRange &r : SPECIAL_RANGES) {
        if (allow_loopback && IsLoopbackEntry(r.cidr)) continue;
        builtin_.push_back({*IpNetwork::Parse(r.cidr), fmt::format("{} {} ({})", r.cidr, r.name, r.rfc)});
    }
}

void ExclusionList::LoadFile(const std::filesystem::path &path) {
    std::vector<Entry> added;
    ForEachLine(path, [&](size_t number, std::string_view text) {
        auto network = IpNetwork::Parse(text);
        if (!network)
            throw ExclusionFileError(
                fmt::format("{}:{}: '{}' is not an address or CIDR network (192.0.2.0/24, "
                            "2001:db8::/32)",
                            path.string(), number, Printable(text)));
        added.push_back({*network, fmt::format("{} ({}:{})", network->ToString(), path.filename().string(), number)});
    });
    user_.insert(user_.end(), added.begin(), added.end());
}

void ExclusionList::Add(const IpNetwork &network, std::string origin) {
    user_.push_back({network, fmt::format("{} ({})", network.ToString(), origin)});
}

std::optional<std::string> ExclusionList::Refusal(const IpAddress &address) const {
    if (!address.Valid()) return "not an address";
    // ::1 sits inside ::/96 and outside 2000::/3: lifting its own entry is not enough.
    static const IpAddress V6_LOOPBACK = *IpAddress::Parse("::1");
    if (!(allow_loopback_ && address == V6_LOOPBACK)) {
        for (const Entry &e : builtin_)
            if (e.network.Contains(address)) return e.reason;
        if (address.IsV6() && !GLOBAL_UNICAST_V6.Contains(address))
            return "outside 2000::/3, not global unicast (RFC 4291 section 2.4)";
    }
    for (const Entry &e : user_)
        if (e.network.Contains(address)) return "excluded by " + e.reason;
    return std::nullopt;
}

TargetPartition ExclusionList::Partition(const std::vector<IpAddress> &targets) const {
    TargetPartition out;
    for (const IpAddress &a : targets) {
        if (auto why = Refusal(a))
            out.refused.push_back({a, std::move(*why)});
        else
            out.allowed.push_back(a);
    }
    return out;
}

std::vector<IpAddress> ReadTargetsFile(const std::filesystem::path &path) {
    std::vector<IpAddress> out;
    bool first_line = true;
    ForEachLine(path, [&](size_t number, std::string_view text) {
        // The first column only, so that a CSV export (address,...) or "address  comment" reads as it is.
        const size_t end = text.find_first_of(" \t,");
        const std::string_view first = text.substr(0, end);
        const bool header = first_line && (first == "address" || first == "Address" || first == "ADDRESS");
        first_line = false;
        if (header) return;
        if (first.find('/') != std::string_view::npos)
            throw ExclusionFileError(
                fmt::format("{}:{}: '{}' is a network: probes go to single addresses, never "
                            "across a range",
                            path.string(), number, Printable(first)));
        auto address = IpAddress::Parse(first);
        if (!address)
            throw ExclusionFileError(
                fmt::format("{}:{}: '{}' is not an IPv4 or IPv6 address", path.string(), number, Printable(first)));
        out.push_back(*address);
    });
    return out;
}

std::vector<IpAddress> Deduplicate(const std::vector<IpAddress> &addresses) {
    std::set<IpAddress> seen;
    std::vector<IpAddress> out;
    for (const IpAddress &a : addresses)
        if (seen.insert(a).second) out.push_back(a);
    return out;
}

}  // namespace darkscope::probe
