#pragma once
/// Classification of a decoded packet: service key, source-port key and traffic class.

#include "classify/fingerprint.hpp"
#include "classify/service_key.hpp"
#include "classify/traffic_class.hpp"
#include "decode/decoded_packet.hpp"
#include "decode/dns.hpp"

namespace darkscope {

/// How a DNS packet was told to be a query or a response.
enum class DnsVerdict : uint8_t {
    NOT_DNS,
    BY_QR_BIT,  // the payload parsed as a DNS header; QR decided
    BY_PORT,    // the payload did not parse (or was absent): source port 53 => response, else query
};

struct ClassifiedPacket {
    ServiceKey service;      // destination service: 445/TCP, 8/ICMP, ...
    ServiceKey source_port;  // set only where KeepsSourcePort(cls): 80/TCP for a SYN/ACK from port 80;
                             // for ICMP errors, the quoted packet's destination service (the attacked port)
    TrafficClass cls = TrafficClass::OTHER;
    DnsVerdict dns = DnsVerdict::NOT_DNS;
    bool dns_qr = false;     // true: response
    // Where a DNS message that was whole in the capture (not cut by the snaplen, not a first fragment) turned
    // out malformed past its header (BY_QR_BIT only): counted as decode.dns.<reason>.
    DnsError dns_error = DnsError::NONE;
    uint8_t fingerprints = 0;  // RuleBit bits of the scanner fingerprint rules it matches (fingerprint.hpp)
};

void Classify(const DecodedPacket &pkt, ClassifiedPacket &out);

}  // namespace darkscope
