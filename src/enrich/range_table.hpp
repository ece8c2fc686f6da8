#pragma once
/// Address ranges mapped to a 32-bit value (a country index or an AS number), searched by binary
/// search: the compact lookup files that `darkscope geo import-asn` and `geo import-rir` write, so
/// that ingest reads a few MiB instead of parsing CSV.
///
/// File format (little-endian): "DSRANGE1", u32 kind (1 country, 2 AS), u32 length + UTF-8
/// description (which data, which version, its licence and attribution), u64 n4 then n4 records
/// (u32 first, u32 last, u32 value; IPv4 host order, inclusive), u64 n6 then n6 records (16-byte
/// first, 16-byte last, u32 value), u64 n then n names (u32 value, u32 length, bytes): AS
/// organisation names. Records are sorted by first address and do not overlap.

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.hpp"

namespace darkscope {

enum class RangeKind : uint32_t { COUNTRY = 1, ASN = 2 };

class RangeTable {
public:
    struct V4 {
        uint32_t first, last, value;
    };
    struct V6 {
        std::array<uint8_t, 16> first, last;
        uint32_t value;
    };

    RangeKind kind = RangeKind::ASN;
    std::string description;
    std::vector<V4> v4;
    std::vector<V6> v6;
    std::map<uint32_t, std::string> names;

    void Add(const IpAddress &first, const IpAddress &last, uint32_t value);
    /// Sorts, joins adjacent ranges with the same value and drops ranges that overlap an earlier
    /// one (counted in the return value).
    size_t Finish();
    /// 0 when no range holds the address.
    uint32_t Lookup(const IpAddress &a) const;
    std::string_view Name(uint32_t value) const;

    void Save(const std::filesystem::path &path) const;
    /// Throws std::runtime_error naming the file and the fault.
    static RangeTable Load(const std::filesystem::path &path);
    static bool HasMagic(const std::filesystem::path &path);
};

/// Reads the `@ip-location-db/asn` CSV files (first,last,asn,"organisation"; IPv4 or IPv6 text
/// addresses). Throws std::runtime_error with file:line on a malformed line.
void ReadAsnCsv(const std::filesystem::path &csv, RangeTable &into);

/// Reads RIR delegated(-extended) statistics files (registry|cc|type|start|value|date|status[|...]):
/// ipv4 and ipv6 records with status allocated or assigned, into country ranges (CountryIndex).
/// Returns the files' header lines (registry and serial/date) for the description.
std::vector<std::string> ReadRirDelegated(const std::filesystem::path &file, RangeTable &into);

}  // namespace darkscope
