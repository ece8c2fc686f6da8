#pragma once
/// What the active probes (`darkscope probe ...`) must never send a packet to: the IANA special-purpose
/// ranges (private, loopback, link-local, multicast, documentation, reserved, ...) and the operator's own list.
/// Every probe partitions its targets through one ExclusionList before anything is sent.

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.hpp"

namespace darkscope::probe {

/// One entry of the built-in table: a range, its registry name and the RFC that reserves it.
struct SpecialRange {
    std::string_view cidr;
    std::string_view name;
    std::string_view rfc;
};

/// The built-in table, IPv4 then IPv6, most specific first within overlapping entries.
std::span<const SpecialRange> SpecialPurposeRanges();

/// Raised for an unreadable or malformed exclusion file; the message names file:line.
struct ExclusionFileError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// A target refused by the list, with the entry that refused it.
struct RefusedTarget {
    IpAddress address;
    std::string reason;  // "127.0.0.0/8 loopback (RFC 1122)", "198.51.100.0/24 (exclude.txt:3)"
};

struct TargetPartition {
    std::vector<IpAddress> allowed;
    std::vector<RefusedTarget> refused;
};

class ExclusionList {
public:
    /// The built-in ranges; `allow_loopback` lifts 127.0.0.0/8 and ::1 only (tests and local checks).
    explicit ExclusionList(bool allow_loopback = false);

    /// Adds the networks of a file: one CIDR (or single address) per line, `#` starts a comment. Throws
    /// ExclusionFileError naming file:line on the first bad line, before anything of the file is added.
    void LoadFile(const std::filesystem::path &path);
    /// Adds one network; `origin` says where it came from ("exclude.txt:3").
    void Add(const IpNetwork &network, std::string origin);

    /// Why `address` is refused, or nullopt when a probe may send to it. An invalid address is refused.
    std::optional<std::string> Refusal(const IpAddress &address) const;
    /// Splits targets, keeping their order.
    TargetPartition Partition(const std::vector<IpAddress> &targets) const;

    bool AllowsLoopback() const { return allow_loopback_; }
    size_t UserEntries() const { return user_.size(); }

private:
    struct Entry {
        IpNetwork network;
        std::string reason;
    };
    bool allow_loopback_;
    std::vector<Entry> builtin_;
    std::vector<Entry> user_;
};

/// Reads a targets file: one address per line, `#` comments and blank lines skipped. Networks are refused
/// (a probe is sent to named hosts, never swept over a range). Throws ExclusionFileError naming file:line.
std::vector<IpAddress> ReadTargetsFile(const std::filesystem::path &path);

/// Removes repeated addresses, keeping the first of each.
std::vector<IpAddress> Deduplicate(const std::vector<IpAddress> &addresses);

}  // namespace darkscope::probe
