#pragma once
/// A small enrichment for tests, from lookup files the test writes: 93.184.0.0/24 is JP, the rest of
/// 93.184.0.0/16 US; 93.184.0.0/17 is AS64500 and 93.184.128.0/17 AS64501; research list entry 1
/// ("Lab") is 93.184.2.0/24, and the reverse-DNS names *.scan.lab.example.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "enrich/country.hpp"
#include "enrich/enrichment.hpp"
#include "enrich/range_table.hpp"

namespace darkscope::testing {

/// The research list of SmallEnrichment, for a summary to read its names and patterns from a file.
inline constexpr const char *SMALL_RESEARCH_LIST =
    "[[scanner]]\nname = \"Lab\"\nnetworks = [\"93.184.2.0/24\"]\nrdns = [\"*.scan.lab.example.\"]\nsource = \"test\"\n";

inline std::unique_ptr<Enrichment> SmallEnrichment() {
    auto dir = std::filesystem::temp_directory_path() / ("darkscope_small_enrichment_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    RangeTable country;
    country.kind = RangeKind::COUNTRY;
    country.description = "test countries";
    country.Add(*IpAddress::Parse("93.184.0.0"), *IpAddress::Parse("93.184.0.255"), CountryIndex("JP"));
    country.Add(*IpAddress::Parse("93.184.1.0"), *IpAddress::Parse("93.184.255.255"), CountryIndex("US"));
    country.Finish();
    country.Save(dir / "country.dsrange");
    RangeTable asn;
    asn.kind = RangeKind::ASN;
    asn.description = "test AS";
    asn.Add(*IpAddress::Parse("93.184.0.0"), *IpAddress::Parse("93.184.127.255"), 64500);
    asn.Add(*IpAddress::Parse("93.184.128.0"), *IpAddress::Parse("93.184.255.255"), 64501);
    asn.Finish();
    asn.Save(dir / "asn.dsrange");
    std::ofstream(dir / "research.toml") << SMALL_RESEARCH_LIST;
    EnrichmentOptions o;
    o.geo = dir / "country.dsrange";
    o.asn = dir / "asn.dsrange";
    o.research = dir / "research.toml";
    auto e = Enrichment::Open(o);  // range files and the list are read into memory: the files can go
    std::filesystem::remove_all(dir);
    return e;
}

}  // namespace darkscope::testing
