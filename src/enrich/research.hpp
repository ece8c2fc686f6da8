#pragma once
/// Research and benign scanners (Censys, Shodan, Shadowserver, Rapid7, universities, ...): a shipped,
/// editable list (data/research_scanners.toml) of AS numbers, networks and reverse-DNS patterns,
/// each entry with the public source that says the ranges are theirs. Sources are matched by AS and
/// network at ingest (stored with each source's day) and by reverse DNS after `darkscope enrich rdns`.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.hpp"

namespace darkscope {

struct ResearchScanner {
    std::string name;
    std::vector<uint32_t> asns;
    std::vector<IpNetwork> networks;
    std::vector<std::string> rdns;  // shell patterns (fnmatch), case-insensitive, against "name." (see Match)
    std::string source;             // where the entry's data is published
};

class ResearchList {
public:
    /// Throws std::runtime_error with file:line on a malformed entry.
    static ResearchList LoadToml(const std::filesystem::path &path);
    /// data/research_scanners.toml of the source tree (or $DARKSCOPE_RESEARCH_LIST), if present.
    static std::optional<std::filesystem::path> DefaultPath();

    const std::vector<ResearchScanner> &Entries() const { return entries_; }
    /// 1-based index of the first entry whose AS or networks hold the source; 0 for none.
    uint16_t MatchAddress(const IpAddress &src, uint32_t asn) const;
    /// 1-based index of the first entry with a reverse-DNS pattern matching the name; 0 for none.
    /// The name is matched with a trailing dot, so that "*.edu.*" (the DNS paper's Table 6 form)
    /// matches "scanner.umich.edu".
    uint16_t MatchName(std::string_view ptr_name) const;
    /// "Censys" for 1-based index i; "" for 0.
    std::string_view Name(uint16_t index) const;
    std::string Location() const { return location_; }

private:
    std::vector<ResearchScanner> entries_;
    std::string location_;
};

}  // namespace darkscope
