#pragma once
/// Country codes as small integers, for keys: ISO 3166-1 alpha-2 "JP" is index
/// (('J' - 'A') * 26 + ('P' - 'A') + 1), 1 .. 676; 0 means unknown. The COUNTRY dimension's key is
/// this index (and SIGNATURE_COUNTRY's); the COUNTRY_SERVICE key is index << 20 | ServiceKey::packed (kind < 16,
/// so 4 + 16 bits); the SIGNATURE_CATEGORY_COUNTRY key index << 8 | category.

#include <cstdint>
#include <string>
#include <string_view>

#include "classify/service_key.hpp"

namespace darkscope {

constexpr uint16_t UNKNOWN_COUNTRY = 0;

constexpr uint16_t CountryIndex(std::string_view code) {
    if (code.size() != 2) return UNKNOWN_COUNTRY;
    auto letter = [](char c) { return c >= 'a' && c <= 'z' ? char(c - 32) : c; };
    const char a = letter(code[0]), b = letter(code[1]);
    if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z') return UNKNOWN_COUNTRY;
    return uint16_t((a - 'A') * 26 + (b - 'A') + 1);
}

/// "JP"; "??" for UNKNOWN_COUNTRY.
inline std::string CountryCode(uint16_t index) {
    if (index == UNKNOWN_COUNTRY || index > 26 * 26) return "??";
    const unsigned i = index - 1u;
    return std::string{char('A' + i / 26), char('A' + i % 26)};
}

constexpr uint32_t CountryServiceKey(uint16_t country, ServiceKey service) {
    return uint32_t(country) << 20 | (service.packed & 0xFFFFFu);
}
constexpr uint16_t CountryOfKey(uint32_t country_service) { return uint16_t(country_service >> 20); }
constexpr ServiceKey ServiceOfKey(uint32_t country_service) { return ServiceKey{country_service & 0xFFFFFu}; }

/// The SIGNATURE_CATEGORY_COUNTRY key: country index << 8 | signature category (sig::Category, 1..7).
constexpr uint32_t CountryCategoryKey(uint16_t country, uint8_t category) { return uint32_t(country) << 8 | category; }
constexpr uint16_t CountryOfCategoryKey(uint32_t key) { return uint16_t(key >> 8); }
constexpr uint8_t CategoryOfCountryKey(uint32_t key) { return uint8_t(key & 0xFFu); }

/// The CLASS_COUNTRY key: country index << 8 | TrafficClass.
constexpr uint32_t ClassCountryKey(uint16_t country, uint8_t traffic_class) { return uint32_t(country) << 8 | traffic_class; }
constexpr uint16_t CountryOfClassKey(uint32_t key) { return uint16_t(key >> 8); }
constexpr uint8_t ClassOfCountryKey(uint32_t key) { return uint8_t(key & 0xFFu); }

}  // namespace darkscope
