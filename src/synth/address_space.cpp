// Per-country source blocks and research-scanner ranges.
//
// Where the country blocks come from: each is (part of) a large, long-standing delegation that the regional
// registries' delegated-extended statistics files (APNIC, ARIN, RIPE NCC, LACNIC, AFRINIC) list under that
// country, picked from the big access and mobile networks of the country (China Telecom/Unicom/Mobile, Comcast,
// NTT/SoftBank/KDDI, KPN/Ziggo, Bell/Rogers, Deutsche Telekom, ...). They were chosen by hand as well-known blocks,
// then cut down to the parts that the pinned IP-to-country data (data/geo) places in the same country:
// tests/unit/enrich/synth_countries_test.cpp checks every block against it (and
// tests/unit/synth/address_space_test.cpp what can be checked without it: syntax, no overlap, no reserved space).
// The Seychelles block is an AFRINIC delegation to a company registered there (the kind of space behind the
// 2024 Q4 "Seychelles" spike); of the blocks first picked, only this /16 is placed in SC by the pinned data.
//
// Research scanners: the ranges and reverse-DNS patterns each organisation publishes for opting out or that its
// scanners answer with (Censys: censys-scanner.com; Shodan: census*.shodan.io; Shadowserver: scan-*.shadowserver.org
// on Hurricane Electric space; University of Michigan: researchscan*.eecs.umich.edu). The Rapid7 entry's name
// pattern is illustrative (it matches the *.rapid7.* rule of the DNS paper's Table 6); verify before relying on it.

#include "synth/address_space.hpp"

#include <fmt/format.h>

#include <array>

namespace darkscope::synth {
namespace {

using V = std::string_view;
constexpr V CN4[] = {"1.80.0.0/13",    "36.96.0.0/11",   "58.16.0.0/13",   "61.128.0.0/10",  "111.0.0.0/10",
                     "115.192.0.0/11", "117.128.0.0/10", "123.112.0.0/12", "125.64.0.0/11",  "180.96.0.0/11",
                     "183.0.0.0/10",   "223.64.0.0/11",  "223.96.0.0/12",  "223.112.0.0/14", "223.124.0.0/14"};
constexpr V CN6[] = {"240e::/20", "2408:8000::/20", "2409:8000::/20"};
constexpr V US4[] = {"12.0.0.0/8", "68.32.0.0/11", "71.192.0.0/12", "73.0.0.0/8", "98.192.0.0/10", "174.48.0.0/12"};
constexpr V US6[] = {"2601::/20"};
constexpr V JP4[] = {"60.32.0.0/12",   "126.0.0.0/9",    "126.128.0.0/11", "126.160.0.0/12", "126.176.0.0/13",
                     "126.184.0.0/14", "126.192.0.0/12", "126.212.0.0/14", "126.216.0.0/13", "126.232.0.0/13",
                     "126.244.0.0/14", "126.248.0.0/13", "153.128.0.0/9",  "180.0.0.0/10",   "219.96.0.0/11"};
constexpr V JP6[] = {"240b::/16"};
constexpr V NL4[] = {"77.160.0.0/12", "86.80.0.0/13", "86.88.0.0/15", "86.90.0.0/16", "86.92.0.0/14", "94.208.0.0/13"};
constexpr V CA4[] = {"70.24.0.0/13", "99.224.0.0/11", "174.88.0.0/13", "184.144.0.0/13"};
constexpr V SC4[] = {"154.87.0.0/16"};
constexpr V RU4[] = {"2.92.0.0/14", "95.24.0.0/13", "178.64.0.0/13"};
constexpr V BR4[] = {"177.8.0.0/18",    "177.8.80.0/20",   "177.8.96.0/19",   "177.8.128.0/17",  "177.9.0.0/16",
                     "177.10.0.0/17",   "177.10.128.0/19", "177.10.160.0/20", "177.10.192.0/18", "177.11.0.0/17",
                     "177.11.128.0/18", "177.11.192.0/20", "177.11.224.0/20", "177.12.0.0/14",   "177.16.0.0/14",
                     "177.24.0.0/14",   "177.32.0.0/14",   "177.36.0.0/20",   "177.36.32.0/19",  "177.36.64.0/18",
                     "177.36.128.0/17", "177.37.0.0/19",   "177.37.48.0/20",  "177.37.64.0/18",  "177.37.128.0/17",
                     "177.38.0.0/15",   "177.40.0.0/13",   "177.48.0.0/14",   "177.52.0.0/16",   "177.53.0.0/18",
                     "177.53.64.0/19",  "177.53.96.0/20",  "177.53.128.0/20", "177.53.160.0/19", "177.53.192.0/20",
                     "177.53.224.0/19", "177.54.0.0/15",   "177.56.0.0/13",   "179.96.0.0/13",   "189.2.0.0/15",
                     "189.4.0.0/14",    "189.8.0.0/18",    "189.8.64.0/19",   "189.8.96.0/20",   "189.8.120.0/21",
                     "189.8.128.0/17",  "189.9.0.0/16",    "189.14.0.0/15",   "189.16.0.0/13",   "189.26.0.0/15"};
constexpr V BR6[] = {"2804::/16"};
constexpr V IN4[] = {"59.88.0.0/13", "117.192.0.0/10", "122.160.0.0/12"};
constexpr V IN6[] = {"2401:4900::/32"};
constexpr V KR4[] = {"121.128.0.0/10", "175.192.0.0/10", "222.96.0.0/12"};
constexpr V DE4[] = {"79.192.0.0/10", "84.128.0.0/10", "87.128.0.0/10", "91.0.0.0/10"};
constexpr V DE6[] = {"2003::/19"};
constexpr V TW4[] = {"36.224.0.0/12", "114.24.0.0/14", "118.160.0.0/13"};
constexpr V VN4[] = {"14.160.0.0/11", "113.160.0.0/11", "171.224.0.0/11"};
constexpr V GB4[] = {"81.128.0.0/11", "86.128.0.0/10"};
constexpr V FR4[] = {"86.192.0.0/11", "86.224.0.0/15",  "86.227.0.0/16", "86.228.0.0/14", "86.232.0.0/13",
                     "86.240.0.0/12", "90.0.0.0/10",    "90.72.0.0/13",  "90.80.0.0/14",  "90.84.0.0/18",
                     "90.84.64.0/19", "90.84.128.0/17", "90.85.0.0/16",  "90.86.0.0/15",  "90.88.0.0/13",
                     "90.104.0.0/13", "90.112.0.0/12"};
constexpr V TH4[] = {"49.228.0.0/14", "171.96.0.0/13", "182.52.0.0/15"};
constexpr V ID4[] = {"36.64.0.0/11",   "110.136.0.0/14", "180.240.0.0/17",
                     "180.241.0.0/16", "180.242.0.0/15", "180.244.0.0/14"};
constexpr V HK4[] = {"42.2.0.0/15", "112.118.0.0/15"};
constexpr V IR4[] = {"2.176.0.0/12", "5.200.64.0/18", "5.200.128.0/17", "5.201.128.0/17", "5.202.0.0/16"};

// clang-format off: one country a line
constexpr std::array<CountryBlocks, 19> COUNTRIES{{
    {"CN", "China", CN4, CN6},      {"US", "United States", US4, US6}, {"JP", "Japan", JP4, JP6},
    {"NL", "Netherlands", NL4, {}}, {"CA", "Canada", CA4, {}},         {"SC", "Seychelles", SC4, {}},
    {"RU", "Russia", RU4, {}},      {"BR", "Brazil", BR4, BR6},        {"IN", "India", IN4, IN6},
    {"KR", "Korea", KR4, {}},       {"DE", "Germany", DE4, DE6},       {"TW", "Taiwan", TW4, {}},
    {"VN", "Viet Nam", VN4, {}},    {"GB", "United Kingdom", GB4, {}}, {"FR", "France", FR4, {}},
    {"TH", "Thailand", TH4, {}},    {"ID", "Indonesia", ID4, {}},      {"HK", "Hong Kong", HK4, {}},
    {"IR", "Iran", IR4, {}},
}};
// clang-format on

constexpr V CENSYS[] = {"162.142.125.0/24", "167.94.138.0/24", "167.94.145.0/24", "167.94.146.0/24",
                        "167.248.133.0/24", "199.45.154.0/24", "199.45.155.0/24", "206.168.34.0/24"};
constexpr V SHODAN[] = {"71.6.135.131/32", "71.6.146.185/32",   "71.6.158.166/32",  "71.6.165.200/32",
                        "71.6.167.142/32", "66.240.192.138/32", "66.240.205.34/32", "66.240.236.119/32"};
constexpr V SHADOWSERVER[] = {"184.105.139.64/26", "184.105.247.192/26", "216.218.206.64/26", "74.82.47.0/26",
                              "65.49.20.64/26"};
constexpr V RAPID7[] = {"71.6.233.0/24"};
constexpr V UMICH[] = {"141.212.120.0/24", "141.212.121.0/24", "141.212.122.0/24"};

constexpr std::array<ResearchOrg, 5> ORGS{{
    {"censys", "Censys", 398324, "US", "scanner-{n}.ch1.censys-scanner.com", "zmap-new", CENSYS},
    {"shodan", "Shodan", 10439, "US", "census{n}.shodan.io", "linux", SHODAN},
    {"shadowserver", "The Shadowserver Foundation", 6939, "US", "scan-{n}.shadowserver.org", "masscan", SHADOWSERVER},
    {"rapid7", "Rapid7 Project Sonar", 10439, "US", "{a}-{b}-{c}-{d}.scanner.labs.rapid7.com", "zmap-old", RAPID7},
    {"umich", "University of Michigan", 36375, "US", "researchscan{n}.eecs.umich.edu", "zmap-old", UMICH},
}};

}  // namespace

std::span<const CountryBlocks> Countries() { return COUNTRIES; }

const CountryBlocks *FindCountry(std::string_view code) {
    for (auto &c : COUNTRIES)
        if (c.code == code) return &c;
    return nullptr;
}

std::string KnownCountries() {
    std::string out;
    for (auto &c : COUNTRIES)
        out += (out.empty() ? "" : " ") + std::string(c.code);
    return out;
}

std::span<const ResearchOrg> ResearchOrgs() { return ORGS; }

const ResearchOrg *FindResearchOrg(std::string_view name) {
    for (auto &o : ORGS)
        if (o.name == name) return &o;
    return nullptr;
}

std::string KnownResearchOrgs() {
    std::string out;
    for (auto &o : ORGS)
        out += (out.empty() ? "" : ", ") + std::string(o.name);
    return out;
}

std::string ResearchRdns(const ResearchOrg &org, uint32_t v4) {
    std::string out;
    std::string_view p = org.rdns;
    for (size_t i = 0; i < p.size(); ++i) {
        if (p[i] == '{' && i + 2 < p.size() && p[i + 2] == '}') {
            char c = p[i + 1];
            if (c == 'n')
                out += std::to_string(v4 & 0xFF);
            else if (c >= 'a' && c <= 'd')
                out += std::to_string((v4 >> (8 * ('d' - c))) & 0xFF);
            i += 2;
        } else {
            out += p[i];
        }
    }
    return out;
}

NetworkPicker::NetworkPicker(std::vector<IpNetwork> networks) : networks_(std::move(networks)) {
    for (auto &n : networks_) {
        uint64_t size = n.base.IsV4() ? n.Size() : 1ull << 32;  // IPv6: weight as a /96 would, never overflows
        first_.push_back(n.base.IsV4() ? n.base.V4HostOrder() : 0);
        total_ += size;
        cumulative_.push_back(total_);
    }
}

IpAddress NetworkPicker::PickV6(Rng &rng, size_t *network) const {
    uint64_t r = rng.Below64(total_);
    size_t i = 0;
    while (r >= cumulative_[i])
        ++i;
    if (network) *network = i;
    const IpNetwork &n = networks_[i];
    IpAddress a = n.base;
    for (int b = n.prefix; b < 128; ++b)
        if (rng.Next() & 1) a.bytes[size_t(b / 8)] |= uint8_t(0x80 >> (b % 8));
    return a;
}

bool IsReservedV4(uint32_t a) {
    uint32_t o = a >> 24;
    if (o == 0 || o == 10 || o == 127 || o >= 224) return true;
    if ((a >> 16) == 0xC0A8 || (a >> 16) == 0xA9FE) return true;                            // 192.168/16, 169.254/16
    if ((a >> 20) == 0xAC1) return true;                                                    // 172.16/12
    if ((a >> 22) == ((100u << 2) | 1)) return true;                                        // 100.64/10
    if ((a >> 8) == 0xC00002 || (a >> 8) == 0xC63364 || (a >> 8) == 0xCB0071) return true;  // TEST-NETs
    if ((a >> 17) == ((198u << 7) | 9)) return true;                                        // 198.18/15
    return false;
}

}  // namespace darkscope::synth
