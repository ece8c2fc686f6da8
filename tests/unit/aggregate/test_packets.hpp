#pragma once
/// Decoded and classified SYN probes for the aggregation, store and report tests.

#include "classify/classifier.hpp"
#include "common/time.hpp"
#include "decode/decoded_packet.hpp"

namespace darkscope::testing {

/// 2024-12-18T00:00:00Z, day 20075.
constexpr TimestampNs DAY0 = int64_t(20075) * 86400 * NS_PER_SEC;

inline DecodedPacket SynPacket(const char *src, const char *dst, uint16_t dport, TimestampNs ts) {
    DecodedPacket p;
    p.ts = ts;
    p.wire_len = 60;
    p.ip_version = 4;
    p.src = *IpAddress::Parse(src);
    p.dst = *IpAddress::Parse(dst);
    p.proto = IPPROTO_NUM_TCP;
    p.l4 = L4State::PRESENT;
    p.dport = dport;
    p.tcp_flags = TCP_SYN;
    return p;
}

inline ClassifiedPacket SynProbe(uint16_t dport) {
    ClassifiedPacket c;
    c.service = ServiceKey::Make(ServiceKind::TCP, dport);
    c.cls = TrafficClass::SYN_PROBE;
    return c;
}

}  // namespace darkscope::testing
