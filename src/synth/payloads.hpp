#pragma once
/// Application payloads: DNS messages (well formed: tshark decodes them without a "Malformed" mark), the worms'
/// packets, BitTorrent DHT queries and the first datagram of common UDP services.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "synth/random.hpp"

namespace darkscope::synth {

constexpr size_t SLAMMER_PAYLOAD_LEN = 376;
constexpr size_t NACHI_PAYLOAD_LEN = 64;

/// The RR type code of A, AAAA, ANY, TXT, MX, NS, DNSKEY, SOA.
std::optional<uint16_t> DnsTypeCode(std::string_view name);
/// The wire form of a name ("isc.org" -> 3isc3org0); returns its length, 0 when a label is empty or over 63.
size_t EncodeDnsName(uint8_t *out, std::string_view name);

struct DnsQuery {
    uint16_t id = 0;
    std::string_view qname;
    std::string_view random_label;  // water torture: prepended as its own label
    uint16_t qtype = 1;
    bool recursion_desired = true;
    bool edns = false;  // an OPT record, 4096-byte UDP size, DO bit for ANY/DNSKEY
};
/// A query; returns its length (at most 512 bytes).
size_t BuildDnsQuery(uint8_t *out, const DnsQuery &q);
/// A response to `q` as an open resolver gives it: NOERROR with answers (A, AAAA, TXT, NS, MX, DNSKEY by qtype;
/// ANY gives several), or NXDOMAIN with the zone's SOA for water-torture names. Stays under 1400 bytes.
size_t BuildDnsResponse(uint8_t *out, const DnsQuery &q, bool nxdomain, Rng &rng);

/// SQL Slammer's single 376-byte datagram to 1434/UDP: 0x04 (SSRP request) followed by the overflow string.
std::span<const uint8_t> SlammerPayload();
/// Nachi/Welchia's ICMP echo data: 64 bytes of 0xAA.
std::span<const uint8_t> NachiPayload();
/// A BitTorrent DHT query (ping, find_node or get_peers) in bencoding; returns its length.
size_t BuildDhtQuery(uint8_t *out, Rng &rng);
/// The first datagram a scanner sends to a UDP service (NTP, SSDP, SIP, SNMP, ...); `dst` fills address fields.
/// Writes nothing (returns 0) for ports without a known probe.
size_t BuildUdpProbe(uint8_t *out, uint16_t port, uint32_t dst, Rng &rng);

}  // namespace darkscope::synth
