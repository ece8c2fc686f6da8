// Traffic class and service keys of a decoded packet (rules in docs/decoding.md#classification).

#include "classify/classifier.hpp"

#include "common/bytes.hpp"
#include "decode/dns.hpp"

namespace darkscope {
namespace {

constexpr uint16_t DNS_PORT = 53;

// Events that say the frame was IP (or might have been) but broken; the rest (not IP, unsupported
// link) describe a frame that is fine but not ours.
// A frame cut inside its link header is counted with those: nothing says it carried IP.
constexpr uint64_t NOT_IP_EVENTS = EventBit(DecodeEvent::LINK_UNKNOWN_ETHERTYPE) |
                                   EventBit(DecodeEvent::LINK_UNSUPPORTED) | EventBit(DecodeEvent::LINK_TRUNCATED);

constexpr uint64_t IPV6_CHAIN_EVENTS =
    EventBit(DecodeEvent::IPV6_EXT_TRUNCATED) | EventBit(DecodeEvent::IPV6_EXT_TOO_MANY);

ServiceKey NoPortKey(const DecodedPacket &pkt) {
    switch (pkt.proto) {
    case IPPROTO_NUM_TCP:
        return ServiceKey::Make(ServiceKind::TCP_NOPORT, 0);
    case IPPROTO_NUM_UDP:
        return ServiceKey::Make(ServiceKind::UDP_NOPORT, 0);
    case IPPROTO_NUM_ICMP:
        return ServiceKey::Make(ServiceKind::ICMP_NOTYPE, 0);
    case IPPROTO_NUM_ICMPV6:
        return ServiceKey::Make(ServiceKind::ICMPV6_NOTYPE, 0);
    default:
        return ServiceKey::Make(ServiceKind::PROTO, pkt.proto);
    }
}

// A cut transport header still names its service when the ports (or ICMP type) were read.
ServiceKey TruncatedKey(const DecodedPacket &pkt) {
    if (pkt.has_ports && pkt.proto == IPPROTO_NUM_TCP) return ServiceKey::Make(ServiceKind::TCP, pkt.dport);
    if (pkt.has_ports && pkt.proto == IPPROTO_NUM_UDP) return ServiceKey::Make(ServiceKind::UDP, pkt.dport);
    if (pkt.has_icmp_type && pkt.proto == IPPROTO_NUM_ICMP) return ServiceKey::Make(ServiceKind::ICMP, pkt.icmp_type);
    if (pkt.has_icmp_type && pkt.proto == IPPROTO_NUM_ICMPV6)
        return ServiceKey::Make(ServiceKind::ICMPV6, pkt.icmp_type);
    return NoPortKey(pkt);
}

TrafficClass TcpClass(uint8_t flags) {
    // RST first: a SYN+RST is a reset (no stack answers a SYN that way), so it is RST backscatter.
    if (flags & TCP_RST) return (flags & TCP_ACK) ? TrafficClass::RSTACK_BACKSCATTER : TrafficClass::RST_BACKSCATTER;
    if (flags & TCP_SYN) return (flags & TCP_ACK) ? TrafficClass::SYNACK_BACKSCATTER : TrafficClass::SYN_PROBE;
    return TrafficClass::TCP_OTHER;
}

void ClassifyIcmp(const DecodedPacket &pkt, ServiceKind kind, ClassifiedPacket &out) {
    uint8_t type = pkt.icmp_type;
    out.service = ServiceKey::Make(kind, type);
    bool v6 = kind == ServiceKind::ICMPV6;
    bool echo_request = v6 ? type == 128 : type == 8;
    bool backscatter = v6 ? (type >= 1 && type <= 4) || type == 129
                          : type == 0 || type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
    if (echo_request) {
        out.cls = TrafficClass::ICMP_ECHO_REQUEST;
    } else if (backscatter) {
        out.cls = TrafficClass::ICMP_BACKSCATTER;
        // The quoted packet's destination service is what the victim was sent (the attacked port).
        const QuotedPacket &q = pkt.quoted;
        if (pkt.has_quoted && q.has_ports && q.proto == IPPROTO_NUM_TCP)
            out.source_port = ServiceKey::Make(ServiceKind::TCP, q.dport);
        else if (pkt.has_quoted && q.has_ports && q.proto == IPPROTO_NUM_UDP)
            out.source_port = ServiceKey::Make(ServiceKind::UDP, q.dport);
        else
            out.source_port = out.service;
    } else {
        out.cls = TrafficClass::OTHER;
    }
}

void ClassifyHeaders(const DecodedPacket &pkt, ClassifiedPacket &out) {
    if (pkt.ip_version == 0) [[unlikely]] {
        // A broken IP header is still IP traffic ("?/IP"); a frame without IP has no service.
        if ((pkt.events & ~NOT_IP_EVENTS) != 0) {
            out.cls = TrafficClass::MALFORMED;
            out.service = ServiceKey::Make(ServiceKind::IP_UNKNOWN, 0);
        }
        return;
    }
    // The extension chain ended before the transport protocol was named.
    if ((pkt.events & IPV6_CHAIN_EVENTS) && pkt.l4 != L4State::PRESENT) [[unlikely]] {
        out.cls = TrafficClass::MALFORMED;
        out.service = ServiceKey::Make(ServiceKind::IP_UNKNOWN, 0);
        return;
    }
    switch (pkt.l4) {
    case L4State::PRESENT:
        break;
    case L4State::NONE:
        out.cls = TrafficClass::OTHER;
        out.service = ServiceKey::Make(ServiceKind::PROTO, pkt.proto);
        return;
    case L4State::FRAGMENT:
        out.cls = TrafficClass::FRAGMENT;
        out.service = NoPortKey(pkt);
        return;
    case L4State::TRUNCATED:
        out.cls = TrafficClass::MALFORMED;
        out.service = TruncatedKey(pkt);
        return;
    }
    switch (pkt.proto) {
    case IPPROTO_NUM_TCP:
        out.cls = TcpClass(pkt.tcp_flags);
        out.service = ServiceKey::Make(ServiceKind::TCP, pkt.dport);
        if (KeepsSourcePort(out.cls)) out.source_port = ServiceKey::Make(ServiceKind::TCP, pkt.sport);
        return;
    case IPPROTO_NUM_UDP:
        out.service = ServiceKey::Make(ServiceKind::UDP, pkt.dport);
        if (pkt.sport == DNS_PORT || pkt.dport == DNS_PORT) {
            bool qr = false;
            DnsMessage message;
            if (ParseDns(pkt.payload, pkt.payload_len, message, false)) {
                out.dns = DnsVerdict::BY_QR_BIT;
                qr = message.qr;
                // A message cut by the snaplen or continued in later fragments ends early by no fault of its own.
                if (!pkt.HasEvent(DecodeEvent::PAYLOAD_TRUNCATED) && !pkt.fragment) out.dns_error = message.error;
            } else {
                // Not a DNS header (or none captured): the port says which side sent it. The count of
                // BY_PORT verdicts stands in for decode.dns.malformed, which a const packet cannot set.
                out.dns = DnsVerdict::BY_PORT;
                qr = pkt.sport == DNS_PORT;
            }
            out.dns_qr = qr;
            out.cls = qr ? TrafficClass::DNS_RESPONSE : TrafficClass::DNS_QUERY;
            if (qr) out.source_port = ServiceKey::Make(ServiceKind::UDP, pkt.sport);
        } else {
            out.cls = TrafficClass::UDP_PROBE;
        }
        return;
    case IPPROTO_NUM_ICMP:
        return ClassifyIcmp(pkt, ServiceKind::ICMP, out);
    case IPPROTO_NUM_ICMPV6:
        return ClassifyIcmp(pkt, ServiceKind::ICMPV6, out);
    default:
        // PRESENT is only set for the four protocols above.
        out.cls = TrafficClass::OTHER;
        out.service = ServiceKey::Make(ServiceKind::PROTO, pkt.proto);
    }
}

}  // namespace

void Classify(const DecodedPacket &pkt, ClassifiedPacket &out) {
    out = ClassifiedPacket{};
    ClassifyHeaders(pkt, out);
    out.fingerprints = FingerprintBits(pkt, out.cls);
}

}  // namespace darkscope
