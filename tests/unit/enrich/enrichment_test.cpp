#include "enrich/enrichment.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "enrich/country.hpp"
#include "enrich/range_table.hpp"
#include "enrich/research.hpp"
#include "test_enrichment.hpp"

namespace darkscope {
namespace {

std::filesystem::path TempDir() {
    return std::filesystem::temp_directory_path() / ("darkscope_enrich_test_" + std::to_string(::getpid()));
}
// The test process's scratch folder goes when the process ends.
struct RemoveTempDir {
    ~RemoveTempDir() {
        std::error_code ec;
        std::filesystem::remove_all(TempDir(), ec);
    }
} remove_temp_dir;

std::filesystem::path TempPath(const std::string &name) {
    std::filesystem::create_directories(TempDir());
    return TempDir() / name;
}

std::filesystem::path WriteFile(const std::string &name, const std::string &text) {
    auto p = TempPath(name);
    std::ofstream(p) << text;
    return p;
}

const std::filesystem::path RIR_FIXTURE =
    std::filesystem::path(DARKSCOPE_SOURCE_DIR) / "tests" / "unit" / "enrich" / "data" / "delegated-test-extended";

IpAddress Ip(const char *text) { return *IpAddress::Parse(text); }

}  // namespace

TEST(Country, IndexPacking) {
    EXPECT_EQ(CountryIndex("AA"), 1);
    EXPECT_EQ(CountryIndex("ZZ"), 676);
    EXPECT_EQ(CountryIndex("jp"), CountryIndex("JP"));
    EXPECT_EQ(CountryIndex("J"), UNKNOWN_COUNTRY);
    EXPECT_EQ(CountryIndex("J1"), UNKNOWN_COUNTRY);
    EXPECT_EQ(CountryCode(CountryIndex("JP")), "JP");
    EXPECT_EQ(CountryCode(UNKNOWN_COUNTRY), "??");
    const uint32_t k = CountryServiceKey(CountryIndex("CN"), ServiceKey::Make(ServiceKind::TCP, 23));
    EXPECT_EQ(CountryCode(CountryOfKey(k)), "CN");
    EXPECT_EQ(ServiceOfKey(k).ToString(), "23/TCP");
    const uint32_t max = CountryServiceKey(676, ServiceKey::Make(ServiceKind::IP_UNKNOWN, 65535));
    EXPECT_EQ(CountryOfKey(max), 676);
    EXPECT_EQ(ServiceOfKey(max), ServiceKey::Make(ServiceKind::IP_UNKNOWN, 65535));
}

TEST(RangeTable, RirDelegatedFileToCountries) {
    RangeTable t;
    t.kind = RangeKind::COUNTRY;
    auto headers = ReadRirDelegated(RIR_FIXTURE, t);
    ASSERT_EQ(headers.size(), 1u);
    EXPECT_EQ(headers[0], "testnic serial 20240101");
    EXPECT_EQ(t.Finish(), 0u);
    t.description = "test";
    auto path = TempPath("rir.dsrange");
    t.Save(path);
    auto db = CountryDatabase::Open(path);
    EXPECT_EQ(CountryCode(db->Lookup(Ip("133.1.1.1"))), "JP");
    EXPECT_EQ(CountryCode(db->Lookup(Ip("133.255.255.255"))), "JP");
    EXPECT_EQ(CountryCode(db->Lookup(Ip("134.0.0.0"))), "??");
    EXPECT_EQ(CountryCode(db->Lookup(Ip("8.8.8.8"))), "US");
    EXPECT_EQ(CountryCode(db->Lookup(Ip("8.8.9.0"))), "??");
    // 1536 addresses: a count, not a power of two (193.0.0.0 - 193.0.5.255).
    EXPECT_EQ(CountryCode(db->Lookup(Ip("193.0.5.255"))), "NL");
    EXPECT_EQ(CountryCode(db->Lookup(Ip("193.0.6.0"))), "??");
    EXPECT_EQ(CountryCode(db->Lookup(Ip("198.18.0.1"))), "??");   // reserved: skipped
    EXPECT_EQ(CountryCode(db->Lookup(Ip("203.0.113.1"))), "??");  // available: skipped
    EXPECT_EQ(CountryCode(db->Lookup(Ip("2001:200::1"))), "JP");
    EXPECT_EQ(CountryCode(db->Lookup(Ip("2001:3ff:ffff::1"))), "JP");  // inside the /23
    EXPECT_EQ(CountryCode(db->Lookup(Ip("2001:400::1"))), "??");
    EXPECT_EQ(CountryCode(db->Lookup(Ip("2a00:1450:4001::1"))), "DE");
    EXPECT_NE(db->Describe().find("test"), std::string::npos);
}

TEST(RangeTable, MalformedRirLineNamesFileAndLine) {
    RangeTable t;
    auto p = WriteFile("bad-delegated", "2|x|1|1|1|1|+0\nx|JP|ipv4|not-an-address|256|2000|allocated\n");
    try {
        ReadRirDelegated(p, t);
        FAIL() << "no error";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find("bad-delegated:2:"), std::string::npos) << e.what();
    }
}

TEST(RangeTable, AsnCsvWithQuotedNamesRoundTrips) {
    auto csv = WriteFile("asn.csv", "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n"
                                    "1.0.1.0,1.0.1.255,13335,\"Cloudflare, Inc.\"\n"
                                    "8.8.8.0,8.8.8.255,15169,Google LLC\n"
                                    "2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC\n");
    RangeTable t;
    t.kind = RangeKind::ASN;
    ReadAsnCsv(csv, t);
    t.Finish();
    EXPECT_EQ(t.v4.size(), 2u);  // the two adjacent Cloudflare ranges joined
    t.description = "asn test";
    auto path = TempPath("asn.dsrange");
    t.Save(path);
    RangeTable back = RangeTable::Load(path);
    EXPECT_EQ(back.Lookup(Ip("1.0.1.7")), 13335u);
    EXPECT_EQ(back.Lookup(Ip("8.8.8.8")), 15169u);
    EXPECT_EQ(back.Lookup(Ip("8.8.9.8")), 0u);
    EXPECT_EQ(back.Lookup(Ip("2001:4860:1::1")), 15169u);
    EXPECT_EQ(back.Name(13335), "Cloudflare, Inc.");
    EXPECT_EQ(back.description, "asn test");
    // A truncated file is refused with its name, never half read.
    std::filesystem::resize_file(path, std::filesystem::file_size(path) - 7);
    EXPECT_THROW(RangeTable::Load(path), std::runtime_error);
}

TEST(ResearchList, MatchesAsnNetworkAndReverseDns) {
    auto p = WriteFile("research.toml", R"(
[[scanner]]
name = "Censys"
asns = [398324]
rdns = ["*.censys-scanner.com."]
source = "https://censys.com/"

[[scanner]]
name = "Lab"
networks = ["192.0.2.0/24"]
source = "test"

[[scanner]]
name = "Universities"
rdns = ["*.edu.*"]
source = "Table 6"
)");
    ResearchList list = ResearchList::LoadToml(p);
    EXPECT_EQ(list.Name(list.MatchAddress(Ip("162.142.125.1"), 398324)), "Censys");
    EXPECT_EQ(list.Name(list.MatchAddress(Ip("192.0.2.77"), 0)), "Lab");
    EXPECT_EQ(list.MatchAddress(Ip("8.8.8.8"), 15169), 0);
    EXPECT_EQ(list.Name(list.MatchName("scanner-102.ch1.censys-scanner.com")), "Censys");
    EXPECT_EQ(list.Name(list.MatchName("RESEARCHSCAN1.EECS.UMICH.EDU")), "Universities");  // case, no trailing dot
    EXPECT_EQ(list.MatchName("mail.example.com"), 0);
    EXPECT_EQ(list.MatchName(""), 0);
}

TEST(ResearchList, EntryWithoutSourceIsRefused) {
    auto p = WriteFile("research-bad.toml", "[[scanner]]\nname = \"X\"\nasns = [1]\n");
    EXPECT_THROW(ResearchList::LoadToml(p), std::runtime_error);
}

TEST(ResearchList, ShippedListLoads) {
    auto p = std::filesystem::path(DARKSCOPE_SOURCE_DIR) / "data" / "research_scanners.toml";
    ResearchList list = ResearchList::LoadToml(p);
    EXPECT_GE(list.Entries().size(), 7u);
    for (const char *pattern_host : {"x.rapid7.com", "a.b.edu", "scan.shadowserver.org", "census1.shodan.io",
                                     "x.censys.io", "a.openresolverproject.org", "b.google.com"})
        EXPECT_NE(list.MatchName(pattern_host), 0) << pattern_host;  // the DNS paper's Table 6 patterns
}

TEST(Enrichment, BogonSourcesHaveNoCountry) {
    auto path = TempPath("rir2.dsrange");
    RangeTable t;
    t.kind = RangeKind::COUNTRY;
    t.Add(Ip("10.0.0.0"), Ip("10.255.255.255"), CountryIndex("AU"));  // a database that places private space
    t.Add(Ip("8.0.0.0"), Ip("8.255.255.255"), CountryIndex("US"));
    t.Finish();
    t.Save(path);
    EnrichmentOptions o;
    o.geo = path;
    RangeTable a;
    a.kind = RangeKind::ASN;
    a.Add(Ip("8.8.8.0"), Ip("8.8.8.255"), 15169);
    a.Finish();
    o.asn = TempPath("asn2.dsrange");
    a.Save(*o.asn);
    o.research = WriteFile("research-none.toml", "[[scanner]]\nname = \"X\"\nasns = [1]\nsource = \"t\"\n");
    auto e = Enrichment::Open(o);
    EXPECT_EQ(CountryCode(e->Lookup(Ip("10.1.1.1")).country), "??");
    EXPECT_EQ(CountryCode(e->Lookup(Ip("8.8.8.8")).country), "US");
    EXPECT_EQ(e->Lookup(Ip("8.8.8.8")).asn, 15169u);
}

// The pinned data (scripts/setup.sh installs it into data/geo): known addresses map to the countries
// and AS numbers the RIRs record for them.
TEST(Enrichment, KnownAddressesInPinnedData) {
    auto geo = Enrichment::DefaultGeoPath();
    auto asn = Enrichment::DefaultAsnPath();
    if (!geo || !asn) GTEST_SKIP() << "pinned data absent from data/geo (run scripts/setup.sh)";
    EnrichmentOptions o;
    o.geo = geo;
    o.asn = asn;
    auto e = Enrichment::Open(o);
    struct Known {
        const char *address, *country;
        uint32_t asn;
    };
    for (const Known &k : {Known{"8.8.8.8", "US", 15169}, Known{"133.1.1.1", "JP", 4730},
                           Known{"193.0.6.139", "NL", 3333}, Known{"1.1.1.1", "AU", 13335},
                           Known{"162.142.125.10", "US", 398324}}) {
        SourceInfo info = e->Lookup(Ip(k.address));
        EXPECT_EQ(CountryCode(info.country), k.country) << k.address;
        EXPECT_EQ(info.asn, k.asn) << k.address;
    }
    EXPECT_NE(e->Describe().find("CC BY 4.0"), std::string::npos);
    EXPECT_NE(e->Describe().find("2.3.2026061719"), std::string::npos);
}

}  // namespace darkscope

namespace darkscope {

// --geoip takes any MaxMind-format database: this fixture has the GeoLite2/DB-IP layout (country.iso_code,
// registered_country.iso_code) and an IPv4-only tree (tests/unit/enrich/data/make_test_mmdb.py writes it).
TEST(Enrichment, AnyMaxMindFormatDatabase) {
    auto db = CountryDatabase::Open(std::filesystem::path(DARKSCOPE_SOURCE_DIR) / "tests" / "unit" / "enrich" /
                                    "data" / "test-country.mmdb");
    EXPECT_EQ(CountryCode(db->Lookup(*IpAddress::Parse("133.1.2.3"))), "JP");
    EXPECT_EQ(CountryCode(db->Lookup(*IpAddress::Parse("8.8.8.8"))), "US");
    EXPECT_EQ(CountryCode(db->Lookup(*IpAddress::Parse("193.0.6.139"))), "NL");  // registered_country
    EXPECT_EQ(CountryCode(db->Lookup(*IpAddress::Parse("1.1.1.1"))), "??");      // no entry
    EXPECT_EQ(CountryCode(db->Lookup(*IpAddress::Parse("2001:200::1"))), "??");  // IPv6 in an IPv4 tree
    EXPECT_NE(db->Describe().find("Test-Country"), std::string::npos);
    EXPECT_NE(db->Describe().find("built 2024-01-01"), std::string::npos);
}

TEST(Enrichment, NotADatabaseIsAClearError) {
    try {
        CountryDatabase::Open(RIR_FIXTURE);  // a text file
        FAIL() << "no error";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find("not a MaxMind-format database"), std::string::npos) << e.what();
    }
}

}  // namespace darkscope

namespace darkscope {

// A source that reverse DNS names a research scanner (LabelResearchForStore gives the set) is labelled
// with the store id it was given; the AS/network label, when there is one, comes first.
TEST(Enrichment, LabelsSourcesNamedResearchByReverseDns) {
    auto e = testing::SmallEnrichment();
    const IpAddress named = Ip("93.184.5.5"), lab = Ip("93.184.2.9"), other = Ip("93.184.5.6");
    e->SetResearchIds({7});
    EXPECT_EQ(e->Lookup(named).research, 0);
    e->SetResearchByRdns({{Ip("93.184.9.9"), 9}, {named, 9}, {Ip("2001:db8::1"), 9}});
    EXPECT_EQ(e->ResearchByRdnsCount(), 3u);
    const SourceInfo info = e->Lookup(named);
    EXPECT_EQ(info.research, 9);
    EXPECT_EQ(CountryCode(info.country), "US");  // the rest of the lookup is as before
    EXPECT_EQ(info.asn, 64500u);
    EXPECT_EQ(e->Lookup(lab).research, 7);
    EXPECT_EQ(e->Lookup(other).research, 0);
    EXPECT_EQ(e->Lookup(Ip("2001:db8::1")).research, 0);  // special-purpose space: never labelled
}

}  // namespace darkscope
