#include "enrich/enrichment.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <maxminddb.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "classify/fingerprint.hpp"
#include "common/time.hpp"
#include "enrich/country.hpp"

namespace darkscope {
namespace {

}  // namespace

std::filesystem::path GeoDataDir() {
    if (const char *env = std::getenv("DARKSCOPE_GEO_DIR")) return env;
#ifdef DARKSCOPE_SOURCE_DIR_PATH
    return std::filesystem::path(DARKSCOPE_SOURCE_DIR_PATH) / "data" / "geo";
#else
    return "data/geo";
#endif
}

namespace {

// "name version (licence)" from the npm package.json beside a data file, if there is one.
std::optional<std::string> NpmPackage(const std::filesystem::path &file) {
    const auto pj = file.parent_path() / "package.json";
    std::ifstream f(pj);
    if (!f) return std::nullopt;
    try {
        auto j = nlohmann::json::parse(f);
        return fmt::format("npm {} {}", j.value("name", "?"), j.value("version", "?"));
    } catch (const nlohmann::json::exception &) {
        return std::nullopt;
    }
}

class MmdbCountry final : public CountryDatabase {
public:
    explicit MmdbCountry(const std::filesystem::path &path) : path_(path) {
        const int rc = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db_);
        if (rc != MMDB_SUCCESS)
            throw std::runtime_error(
                fmt::format("{}: not a MaxMind-format database: {}", path.string(), MMDB_strerror(rc)));
    }
    ~MmdbCountry() override { MMDB_close(&db_); }

    uint16_t Lookup(const IpAddress &a) const override {
        sockaddr_storage ss{};
        if (a.IsV4()) {
            auto *sin = reinterpret_cast<sockaddr_in *>(&ss);
            sin->sin_family = AF_INET;
            std::memcpy(&sin->sin_addr, a.bytes.data(), 4);
        } else if (a.IsV6()) {
            auto *sin6 = reinterpret_cast<sockaddr_in6 *>(&ss);
            sin6->sin6_family = AF_INET6;
            std::memcpy(&sin6->sin6_addr, a.bytes.data(), 16);
        } else {
            return UNKNOWN_COUNTRY;
        }
        int mmdb_error = MMDB_SUCCESS;
        // The lookup only reads the shared (memory-mapped) database: safe from several threads.
        MMDB_lookup_result_s r =
            MMDB_lookup_sockaddr(const_cast<MMDB_s *>(&db_), reinterpret_cast<sockaddr *>(&ss), &mmdb_error);
        if (mmdb_error != MMDB_SUCCESS || !r.found_entry) return UNKNOWN_COUNTRY;
        // ip-location-db: country_code; GeoLite2 and DB-IP: country.iso_code, else registered_country.
        static const char *const CODE[] = {"country_code", nullptr};
        static const char *const ISO[] = {"country", "iso_code", nullptr};
        static const char *const REGISTERED[] = {"registered_country", "iso_code", nullptr};
        static const char *const *const PATHS[] = {CODE, ISO, REGISTERED};
        for (const char *const *p : PATHS) {
            MMDB_entry_data_s data;
            if (MMDB_aget_value(&r.entry, &data, p) == MMDB_SUCCESS && data.has_data &&
                data.type == MMDB_DATA_TYPE_UTF8_STRING)
                return CountryIndex(std::string_view(data.utf8_string, data.data_size));
        }
        return UNKNOWN_COUNTRY;
    }

    std::string Describe() const override {
        const auto &m = db_.metadata;
        const std::string built = FormatDay(int64_t(m.build_epoch / 86400));
        std::string what = NpmPackage(path_).value_or(path_.filename().string());
        std::string licence;
        if (what.find("@ip-location-db/") != std::string::npos)
            licence = "; CC BY 4.0, data from the NRO (https://www.nro.net/) via ip-location-db";
        else if (std::string_view(m.database_type).find("GeoLite") != std::string_view::npos)
            licence = "; GeoLite2 data created by MaxMind, available from https://www.maxmind.com";
        else if (std::string_view(m.database_type).find("DBIP") != std::string_view::npos ||
                 std::string_view(m.database_type).find("DB-IP") != std::string_view::npos)
            licence = "; IP geolocation by DB-IP (https://db-ip.com), CC BY 4.0";
        return fmt::format("country: {} ({}, MaxMind DB type {}, built {}{})", what, path_.string(),
                           m.database_type ? m.database_type : "?", built, licence);
    }

private:
    std::filesystem::path path_;
    MMDB_s db_{};
};

class RangeCountry final : public CountryDatabase {
public:
    explicit RangeCountry(const std::filesystem::path &path) : path_(path), table_(RangeTable::Load(path)) {
        if (table_.kind != RangeKind::COUNTRY)
            throw std::runtime_error(fmt::format("{}: an AS lookup file, not a country one", path.string()));
    }
    uint16_t Lookup(const IpAddress &a) const override { return uint16_t(table_.Lookup(a)); }
    std::string Describe() const override { return fmt::format("country: {} ({})", table_.description, path_.string()); }

private:
    std::filesystem::path path_;
    RangeTable table_;
};

}  // namespace

std::unique_ptr<CountryDatabase> CountryDatabase::Open(const std::filesystem::path &path) {
    if (!std::filesystem::exists(path)) throw std::runtime_error(fmt::format("{}: no such file", path.string()));
    if (RangeTable::HasMagic(path)) return std::make_unique<RangeCountry>(path);
    return std::make_unique<MmdbCountry>(path);
}

std::optional<std::filesystem::path> Enrichment::DefaultGeoPath() {
    auto p = GeoDataDir() / "node_modules" / "@ip-location-db" / "geo-whois-asn-country-mmdb" / "geo-whois-asn-country.mmdb";
    if (std::filesystem::exists(p)) return p;
    return std::nullopt;
}

std::optional<std::filesystem::path> Enrichment::DefaultAsnPath() {
    auto p = GeoDataDir() / "asn.dsrange";
    if (std::filesystem::exists(p)) return p;
    return std::nullopt;
}

Enrichment::Enrichment() = default;
Enrichment::~Enrichment() = default;

std::unique_ptr<Enrichment> Enrichment::Open(const EnrichmentOptions &options) {
    std::unique_ptr<Enrichment> e(new Enrichment());
    if (auto geo = options.geo ? options.geo : DefaultGeoPath()) e->country_ = CountryDatabase::Open(*geo);
    else e->notes_.push_back("country: no data (run scripts/setup.sh, or give --geoip FILE)");
    if (auto asn = options.asn ? options.asn : DefaultAsnPath()) {
        e->asn_ = RangeTable::Load(*asn);
        if (e->asn_->kind != RangeKind::ASN)
            throw std::runtime_error(fmt::format("{}: a country lookup file, not an AS one", asn->string()));
    } else {
        e->notes_.push_back("AS: no data (run scripts/setup.sh, or give --asn FILE)");
    }
    if (auto research = options.research ? options.research : ResearchList::DefaultPath())
        e->research_ = ResearchList::LoadToml(*research);
    else e->notes_.push_back("research scanners: no list (give --research-list FILE)");
    return e;
}

SourceInfo Enrichment::Lookup(const IpAddress &src) const {
    SourceInfo info;
    // Special-purpose space belongs to no country or AS, whatever a database says of it (the
    // ip-location-db data of 2026-06 places 172.16/12 in AU): such sources are spoofed or leaked.
    if (IsBogon(src)) return info;
    if (country_) info.country = country_->Lookup(src);
    if (asn_) info.asn = asn_->Lookup(src);
    if (research_) info.research = research_->MatchAddress(src, info.asn);
    if (info.research && info.research <= research_ids_.size()) info.research = research_ids_[info.research - 1];
    if (info.research == 0 && !research_by_rdns_.empty()) {
        auto it = std::lower_bound(research_by_rdns_.begin(), research_by_rdns_.end(), src,
                                   [](const auto &entry, const IpAddress &a) { return entry.first < a; });
        if (it != research_by_rdns_.end() && it->first == src) info.research = it->second;
    }
    return info;
}

void Enrichment::SetResearchByRdns(std::vector<std::pair<IpAddress, uint16_t>> sources) {
    std::sort(sources.begin(), sources.end());
    sources.erase(std::unique(sources.begin(), sources.end(),
                              [](const auto &a, const auto &b) { return a.first == b.first; }),
                  sources.end());
    research_by_rdns_ = std::move(sources);
}

std::string Enrichment::Describe() const {
    std::string out;
    auto line = [&](const std::string &s) {
        if (!out.empty()) out += "\n";
        out += s;
    };
    if (country_) line(country_->Describe());
    if (asn_) line(fmt::format("AS: {}", asn_->description));
    if (research_) line(fmt::format("research scanners: {} ({} entries)", research_->Location(), research_->Entries().size()));
    for (const auto &n : notes_) line(n);
    return out;
}

}  // namespace darkscope
