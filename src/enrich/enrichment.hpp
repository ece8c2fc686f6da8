#pragma once
/// The source-side enrichment of ingest: country (from a MaxMind-format database, by default the
/// pinned npm package @ip-location-db/geo-whois-asn-country-mmdb, or from RIR statistics files via
/// `geo import-rir`), origin AS (the pinned @ip-location-db/asn, converted once at set-up) and the
/// research-scanner label (data/research_scanners.toml: by AS and network, and by the reverse-DNS names
/// that `darkscope enrich rdns` cached in the store before the ingest).
///
/// Created once per ingest and shared read-only by the aggregation threads: MMDB_lookup_* is
/// thread-safe on a shared MMDB_s, and the range tables are immutable once loaded. Lookups are
/// per source, not per packet: each aggregation shard keeps its own cache (AggregateShard).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/ip_address.hpp"
#include "enrich/range_table.hpp"
#include "enrich/research.hpp"

namespace darkscope {

/// What enrichment says of one source address.
struct SourceInfo {
    uint16_t country = 0;   // CountryIndex (enrich/country.hpp); 0 unknown
    // The research entry matched by AS, network or cached reverse-DNS name: its store id once
    // SetResearchIds is called (ingest always does), else its 1-based list position; 0 none.
    uint16_t research = 0;
    uint32_t asn = 0;       // 0 unknown
};

struct EnrichmentOptions {
    /// A MaxMind-format database (GeoLite2, DB-IP, ip-location-db) or a `geo import-rir` file.
    std::optional<std::filesystem::path> geo;
    /// A `geo import-asn` file.
    std::optional<std::filesystem::path> asn;
    std::optional<std::filesystem::path> research;
};

class CountryDatabase;

class Enrichment {
public:
    /// Opens what the options name, else the default data (DefaultGeoPath, DefaultAsnPath,
    /// ResearchList::DefaultPath) where it exists. Throws std::runtime_error for a file given that
    /// cannot be read; missing default data is not an error (Describe says what is missing).
    static std::unique_ptr<Enrichment> Open(const EnrichmentOptions &options);
    ~Enrichment();

    SourceInfo Lookup(const IpAddress &src) const;
    /// The store's ids of the research list's entries (Store::SaveResearchNames), in list order:
    /// Lookup then labels research sources with these ids rather than list positions. Call before
    /// the enrichment is shared with the aggregation threads.
    void SetResearchIds(std::vector<uint16_t> ids) { research_ids_ = std::move(ids); }
    /// Sources that the store's reverse-DNS cache names research scanners (LabelResearchForStore), each
    /// with the store id of the entry whose pattern matched: Lookup labels them when AS and network do
    /// not. Their names are known only after `enrich rdns`, which is why they are not in the list itself.
    /// Call before the enrichment is shared with the aggregation threads: Lookup reads it unguarded.
    void SetResearchByRdns(std::vector<std::pair<IpAddress, uint16_t>> sources);
    size_t ResearchByRdnsCount() const { return research_by_rdns_.size(); }
    bool HasResearchIds() const { return !research_ids_.empty() || !research_ || research_->Entries().empty(); }
    bool HasCountry() const { return country_ != nullptr; }
    bool HasAsn() const { return asn_.has_value(); }
    const ResearchList *Research() const { return research_ ? &*research_ : nullptr; }
    const RangeTable *Asn() const { return asn_ ? &*asn_ : nullptr; }

    /// One line per data set: which data and version decided countries and AS numbers, with the
    /// attribution its licence asks for. Stored with each ingested file; every summary repeats it.
    std::string Describe() const;

    static std::optional<std::filesystem::path> DefaultGeoPath();
    static std::optional<std::filesystem::path> DefaultAsnPath();

private:
    Enrichment();
    std::unique_ptr<CountryDatabase> country_;
    std::optional<RangeTable> asn_;
    std::optional<ResearchList> research_;
    std::vector<std::string> notes_;
    std::vector<uint16_t> research_ids_;
    std::vector<std::pair<IpAddress, uint16_t>> research_by_rdns_;  // sorted by address, one each
};

/// $DARKSCOPE_GEO_DIR, else data/geo of the source tree: where scripts/setup.sh installs the data.
std::filesystem::path GeoDataDir();

/// The country database alone (for `geo lookup` and tests).
class CountryDatabase {
public:
    virtual ~CountryDatabase() = default;
    virtual uint16_t Lookup(const IpAddress &a) const = 0;
    virtual std::string Describe() const = 0;
    /// A MaxMind DB, or a DSRANGE1 country file (told by its header). Throws std::runtime_error.
    static std::unique_ptr<CountryDatabase> Open(const std::filesystem::path &path);
};

}  // namespace darkscope
