#pragma once
/// Where synthetic sources live: per-country address blocks (so that a source "from CN" lies in address space
/// the RIRs delegated to China) and the public ranges of research scanners (Censys, Shodan, ...).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.hpp"
#include "synth/random.hpp"

namespace darkscope::synth {

struct CountryBlocks {
    std::string_view code;  // ISO 3166-1 alpha-2
    std::string_view name;
    std::span<const std::string_view> v4;  // CIDRs
    std::span<const std::string_view> v6;
};

struct ResearchOrg {
    std::string_view name;   // "censys"
    std::string_view label;  // "Censys"
    uint32_t asn;
    std::string_view country;
    std::string_view rdns;  // reverse-DNS pattern: {a}..{d} are the address's octets, {n} a host number
    std::string_view tool;  // the scanner it is known to run
    std::span<const std::string_view> v4;
};

const CountryBlocks *FindCountry(std::string_view code);
std::span<const CountryBlocks> Countries();
std::string KnownCountries();
const ResearchOrg *FindResearchOrg(std::string_view name);
std::span<const ResearchOrg> ResearchOrgs();
std::string KnownResearchOrgs();
/// The reverse-DNS name of a research scanner's address.
std::string ResearchRdns(const ResearchOrg &org, uint32_t v4);

/// Draws addresses uniformly from a set of networks (weighted by their size).
class NetworkPicker {
public:
    NetworkPicker() = default;
    explicit NetworkPicker(std::vector<IpNetwork> networks);
    bool Empty() const { return networks_.empty(); }
    /// A host-order IPv4 address (the networks must be IPv4).
    uint32_t PickV4(Rng &rng, size_t *network = nullptr) const {
        uint64_t r = rng.Below64(total_);
        size_t i = 0;
        while (r >= cumulative_[i])
            ++i;  // a handful of networks: a linear scan beats a search
        if (network) *network = i;
        return first_[i] + uint32_t(r - (i ? cumulative_[i - 1] : 0));
    }
    /// An IPv6 address: the network's prefix and random host bits.
    IpAddress PickV6(Rng &rng, size_t *network = nullptr) const;
    const std::vector<IpNetwork> &Networks() const { return networks_; }

private:
    std::vector<IpNetwork> networks_;
    std::vector<uint32_t> first_;
    std::vector<uint64_t> cumulative_;
    uint64_t total_ = 0;
};

/// True for addresses that must never be a synthetic source (private, loopback, multicast, documentation, ...).
bool IsReservedV4(uint32_t a);

}  // namespace darkscope::synth
