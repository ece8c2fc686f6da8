#pragma once
/// The dimensions counters are broken down by. Stored as integers: never renumber.

#include <cstdint>
#include <optional>
#include <string_view>

namespace darkscope {

enum class Dimension : uint8_t {
    TOTAL = 0,        // key 0
    SERVICE = 1,      // key: ServiceKey::packed
    CLASS = 2,        // key: TrafficClass
    SOURCE_PORT = 3,  // key: ServiceKey::packed of the source port, for KeepsSourcePort classes
    // Enrichment (4-6, 9, 10: only when ingest looks sources up) and signatures (7-10).
    COUNTRY = 4,
    COUNTRY_SERVICE = 5,
    ASN = 6,
    SIGNATURE = 7,                    // key: sid
    SIGNATURE_CATEGORY = 8,           // key: sig::Category (a packet counts once per category)
    SIGNATURE_COUNTRY = 9,            // key: country index of the source (enrich/country.hpp); a packet that hit
                                      // any rule counts once
    SIGNATURE_CATEGORY_COUNTRY = 10,  // key: CountryCategoryKey (enrich/country.hpp), once per packet and category
    // For the report's backscatter and DNS sections (NPA section 4): the traffic class by source region
    // (only when ingest looks sources up) and by source port.
    CLASS_COUNTRY = 11,      // key: ClassCountryKey (enrich/country.hpp)
    CLASS_SOURCE_PORT = 12,  // key: ClassSourcePortKey (below), for the classes that keep their source port
};

/// The CLASS_SOURCE_PORT key: TrafficClass << 24 | ServiceKey::packed of the source port (24 bits).
constexpr uint32_t ClassSourcePortKey(uint8_t traffic_class, uint32_t source_port) {
    return uint32_t(traffic_class) << 24 | (source_port & 0xFFFFFFu);
}
constexpr uint8_t ClassOfSourcePortKey(uint32_t key) { return uint8_t(key >> 24); }
constexpr uint32_t SourcePortOfClassKey(uint32_t key) { return key & 0xFFFFFFu; }

constexpr std::string_view DimensionName(Dimension d) {
    switch (d) {
        case Dimension::TOTAL: return "total";
        case Dimension::SERVICE: return "service";
        case Dimension::CLASS: return "class";
        case Dimension::SOURCE_PORT: return "srcport";
        case Dimension::COUNTRY: return "country";
        case Dimension::COUNTRY_SERVICE: return "country-service";
        case Dimension::ASN: return "asn";
        case Dimension::SIGNATURE: return "signature";
        case Dimension::SIGNATURE_CATEGORY: return "category";
        case Dimension::SIGNATURE_COUNTRY: return "signature-country";
        case Dimension::SIGNATURE_CATEGORY_COUNTRY: return "category-country";
        case Dimension::CLASS_COUNTRY: return "class-country";
        case Dimension::CLASS_SOURCE_PORT: return "class-srcport";
    }
    return "?";
}

/// The research-scanner mirror of a dimension: the same keys, counting only the packets and sources
/// of research scanners (matched by AS or network at ingest), so that --exclude-research subtracts
/// them exactly. Dimension numbers 32 + 0 .. 32 + 12 (the mirrors of 0-6, 11 and 12 come from FlushHour, those
/// of the signature dimensions 7-10 from FlushSignatures).
constexpr uint8_t RESEARCH_DIMENSION_BASE = 32;
constexpr Dimension ResearchDimension(Dimension d) { return Dimension(RESEARCH_DIMENSION_BASE + uint8_t(d)); }

/// Granularity of a counter row: its period is an hour number or a day number since the epoch.
enum class Granularity : uint8_t { HOUR, DAY };

}  // namespace darkscope
