// synth's per-country source blocks against the IP-to-country data the project pins: a source synth
// says is from a country must geolocate there, or the country tables of a synthetic report are wrong.

#include <gtest/gtest.h>

#include "enrich/country.hpp"
#include "enrich/enrichment.hpp"
#include "synth/address_space.hpp"

namespace darkscope {
namespace {

TEST(SynthCountries, EveryBlockGeolocatesToItsCountryInThePinnedData) {
    auto geo = Enrichment::DefaultGeoPath();
    if (!geo) GTEST_SKIP() << "pinned country data absent from data/geo (run scripts/setup.sh)";
    EnrichmentOptions options;
    options.geo = geo;
    auto enrichment = Enrichment::Open(options);
    ASSERT_TRUE(enrichment->HasCountry());
    size_t checked = 0;
    for (const synth::CountryBlocks &country : synth::Countries()) {
        for (std::string_view cidr : country.v4) {
            auto network = IpNetwork::Parse(cidr);
            ASSERT_TRUE(network) << cidr;
            const uint32_t first = network->base.V4HostOrder();
            const uint64_t size = network->Size();
            // 32 addresses spread over the block, its first and last included.
            for (uint64_t k = 0; k < 32; ++k) {
                const uint32_t a = first + uint32_t(k * (size - 1) / 31);
                const std::string got = CountryCode(enrichment->Lookup(IpAddress::V4(a)).country);
                EXPECT_EQ(got, std::string(country.code))
                    << IpAddress::V4(a).ToString() << " in " << cidr << " (synth says " << country.code << ")";
                ++checked;
            }
        }
    }
    EXPECT_GT(checked, 1000u);
}

}  // namespace
}  // namespace darkscope
