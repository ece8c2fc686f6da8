#include <gtest/gtest.h>

#include "../decode/decode_test_util.hpp"
#include "classify/classifier.hpp"

namespace darkscope {
namespace {

using testing::Bytes;
using testing::Cat;

ClassifiedPacket ClassifyFrame(uint32_t link, const Bytes &frame) {
    DecodedPacket d = testing::DecodeFrame(link, frame);
    ClassifiedPacket c;
    Classify(d, c);
    return c;
}
ClassifiedPacket ClassifyRaw(const Bytes &ip) { return ClassifyFrame(LINKTYPE_RAW, ip); }
ClassifiedPacket ClassifyTcp(uint8_t flags, uint16_t dport = 445, uint16_t sport = 40000) {
    return ClassifyRaw(Cat({testing::Ipv4(IPPROTO_NUM_TCP, 20), testing::Tcp(dport, flags, {}, sport)}));
}

TEST(Classify, TcpFlags) {
    ClassifiedPacket syn = ClassifyTcp(TCP_SYN);
    EXPECT_EQ(syn.cls, TrafficClass::SYN_PROBE);
    EXPECT_EQ(syn.service.ToString(), "445/TCP");
    EXPECT_TRUE(syn.source_port.Empty());

    ClassifiedPacket synack = ClassifyTcp(TCP_SYN | TCP_ACK, 40000, 80);
    EXPECT_EQ(synack.cls, TrafficClass::SYNACK_BACKSCATTER);
    EXPECT_EQ(synack.source_port.ToString(), "80/TCP");

    EXPECT_EQ(ClassifyTcp(TCP_RST).cls, TrafficClass::RST_BACKSCATTER);
    EXPECT_EQ(ClassifyTcp(TCP_RST | TCP_SYN).cls, TrafficClass::RST_BACKSCATTER);  // RST wins over SYN
    EXPECT_EQ(ClassifyTcp(TCP_RST | TCP_ACK).cls, TrafficClass::RSTACK_BACKSCATTER);
    EXPECT_EQ(ClassifyTcp(TCP_RST | TCP_ACK, 1, 3389).source_port.ToString(), "3389/TCP");
    EXPECT_EQ(ClassifyTcp(TCP_ACK).cls, TrafficClass::TCP_OTHER);
    EXPECT_EQ(ClassifyTcp(TCP_FIN | TCP_PSH | TCP_URG).cls, TrafficClass::TCP_OTHER);  // XMAS scan
    EXPECT_EQ(ClassifyTcp(0).cls, TrafficClass::TCP_OTHER);                            // NULL scan
}

Bytes UdpPacket(uint16_t sport, uint16_t dport, const Bytes &payload) {
    return Cat({testing::Ipv4(IPPROTO_NUM_UDP, uint16_t(8 + payload.size())),
                testing::Udp(sport, dport, uint16_t(payload.size())), payload});
}

Bytes DnsHeader(uint16_t flags, uint16_t qdcount) {
    return {
        0xAB, 0xCD,                            // ID
        uint8_t(flags >> 8), uint8_t(flags),   // QR(1) opcode(4) AA TC RD RA Z AD CD rcode(4)
        uint8_t(qdcount >> 8), uint8_t(qdcount), // QDCOUNT
        0, 0, 0, 0, 0, 0,                      // ANCOUNT | NSCOUNT | ARCOUNT
    };
}

TEST(Classify, Udp) {
    ClassifiedPacket probe = ClassifyRaw(UdpPacket(5000, 161, Bytes(4, 0)));
    EXPECT_EQ(probe.cls, TrafficClass::UDP_PROBE);
    EXPECT_EQ(probe.service.ToString(), "161/UDP");
    EXPECT_EQ(probe.dns, DnsVerdict::NOT_DNS);
}

TEST(Classify, DnsByQrBit) {
    ClassifiedPacket query = ClassifyRaw(UdpPacket(5000, 53, DnsHeader(0x0100, 1)));  // RD
    EXPECT_EQ(query.cls, TrafficClass::DNS_QUERY);
    EXPECT_EQ(query.dns, DnsVerdict::BY_QR_BIT);
    EXPECT_EQ(query.service.ToString(), "53/UDP");

    ClassifiedPacket response = ClassifyRaw(UdpPacket(53, 33000, DnsHeader(0x8180, 1)));
    EXPECT_EQ(response.cls, TrafficClass::DNS_RESPONSE);
    EXPECT_TRUE(response.dns_qr);
    EXPECT_EQ(response.source_port.ToString(), "53/UDP");
    EXPECT_EQ(response.service.ToString(), "33000/UDP");

    // A query sent from port 53 (resolver to resolver): the QR bit, not the port, decides.
    EXPECT_EQ(ClassifyRaw(UdpPacket(53, 53, DnsHeader(0x0000, 1))).cls, TrafficClass::DNS_QUERY);
}

TEST(Classify, DnsByPortWhenNotParsed) {
    ClassifiedPacket empty = ClassifyRaw(UdpPacket(53, 40000, {}));
    EXPECT_EQ(empty.dns, DnsVerdict::BY_PORT);
    EXPECT_EQ(empty.cls, TrafficClass::DNS_RESPONSE);
    ClassifiedPacket bad_opcode = ClassifyRaw(UdpPacket(40000, 53, DnsHeader(0x7800, 1)));  // opcode 15
    EXPECT_EQ(bad_opcode.dns, DnsVerdict::BY_PORT);
    EXPECT_EQ(bad_opcode.cls, TrafficClass::DNS_QUERY);
    EXPECT_EQ(ClassifyRaw(UdpPacket(40000, 53, DnsHeader(0x0100, 200))).dns, DnsVerdict::BY_PORT);  // 200 questions
    EXPECT_EQ(ClassifyRaw(UdpPacket(40000, 53, DnsHeader(0x0100, 0))).dns, DnsVerdict::BY_PORT);  // query, no question
}

TEST(Classify, DnsMalformedPastItsHeaderIsNamedOnlyWhenTheMessageWasWhole) {
    Bytes loop = DnsHeader(0x0100, 1);
    loop.insert(loop.end(), {1, 'a', 0xC0, 12, 0, 1, 0, 1});  // "a", then a pointer back to itself
    ClassifiedPacket whole = ClassifyRaw(UdpPacket(5000, 53, loop));
    EXPECT_EQ(whole.dns, DnsVerdict::BY_QR_BIT);
    EXPECT_EQ(whole.cls, TrafficClass::DNS_QUERY);
    EXPECT_EQ(whole.dns_error, DnsError::BAD_POINTER);

    Bytes good = DnsHeader(0x0100, 1);
    good.insert(good.end(), {1, 'a', 0, 0, 1, 0, 1});
    EXPECT_EQ(ClassifyRaw(UdpPacket(5000, 53, good)).dns_error, DnsError::NONE);

    // The same message cut by the capture's snaplen (the frame was longer on the wire): its end is missing,
    // not malformed.
    Bytes cut = UdpPacket(5000, 53, good);
    cut.resize(cut.size() - 3);
    DecodedPacket d = testing::DecodeFrame(LINKTYPE_RAW, cut, uint32_t(cut.size() + 3));
    ClassifiedPacket c;
    Classify(d, c);
    EXPECT_EQ(c.dns, DnsVerdict::BY_QR_BIT);
    EXPECT_EQ(c.dns_error, DnsError::NONE);

    // A first fragment (MF set) holds the start of a message continued in the next one.
    Bytes first = Cat({testing::Ipv4(IPPROTO_NUM_UDP, uint16_t(8 + good.size() - 3), 0x2000),
                       testing::Udp(53, 5000, uint16_t(good.size() + 100)), Bytes(good.begin(), good.end() - 3)});
    ClassifiedPacket fragment = ClassifyRaw(first);
    EXPECT_EQ(fragment.dns, DnsVerdict::BY_QR_BIT);
    EXPECT_EQ(fragment.dns_error, DnsError::NONE);
}

TEST(Classify, Icmp) {
    ClassifiedPacket echo = ClassifyRaw(Cat({testing::Ipv4(IPPROTO_NUM_ICMP, 8), testing::IcmpEcho(8, 1, 1)}));
    EXPECT_EQ(echo.cls, TrafficClass::ICMP_ECHO_REQUEST);
    EXPECT_EQ(echo.service.ToString(), "8/ICMP");

    ClassifiedPacket reply = ClassifyRaw(Cat({testing::Ipv4(IPPROTO_NUM_ICMP, 8), testing::IcmpEcho(0, 1, 1)}));
    EXPECT_EQ(reply.cls, TrafficClass::ICMP_BACKSCATTER);
    EXPECT_EQ(reply.source_port.ToString(), "0/ICMP");  // no quote: the ICMP key itself

    ClassifiedPacket timestamp = ClassifyRaw(Cat({testing::Ipv4(IPPROTO_NUM_ICMP, 8), testing::IcmpEcho(13, 1, 1)}));
    EXPECT_EQ(timestamp.cls, TrafficClass::OTHER);
    EXPECT_EQ(timestamp.service.ToString(), "13/ICMP");
}

TEST(Classify, IcmpErrorNamesTheAttackedPort) {
    Bytes icmp = {3, 13, 0, 0, 0, 0, 0, 0};  // unreachable, administratively prohibited
    Bytes quoted = Cat({testing::Ipv4(IPPROTO_NUM_TCP, 20), testing::Tcp(443, TCP_SYN)});
    ClassifiedPacket c = ClassifyRaw(Cat({testing::Ipv4(IPPROTO_NUM_ICMP, uint16_t(8 + quoted.size())), icmp, quoted}));
    EXPECT_EQ(c.cls, TrafficClass::ICMP_BACKSCATTER);
    EXPECT_EQ(c.service.ToString(), "3/ICMP");
    EXPECT_EQ(c.source_port.ToString(), "443/TCP");
}

TEST(Classify, Icmpv6) {
    auto v6 = [](uint8_t type) {
        return ClassifyRaw(Cat({testing::Ipv6(IPPROTO_NUM_ICMPV6, 8), testing::IcmpEcho(type, 0, 0)}));
    };
    EXPECT_EQ(v6(128).cls, TrafficClass::ICMP_ECHO_REQUEST);
    EXPECT_EQ(v6(128).service.ToString(), "128/ICMPv6");
    EXPECT_EQ(v6(129).cls, TrafficClass::ICMP_BACKSCATTER);
    EXPECT_EQ(v6(1).cls, TrafficClass::ICMP_BACKSCATTER);  // no quote captured: the key is 1/ICMPv6
    EXPECT_EQ(v6(1).source_port.ToString(), "1/ICMPv6");
    EXPECT_EQ(v6(135).cls, TrafficClass::OTHER);  // neighbour solicitation
}

TEST(Classify, FragmentsMalformedAndOthers) {
    ClassifiedPacket later = ClassifyRaw(Cat({testing::Ipv4(IPPROTO_NUM_UDP, 8, 0x0010), Bytes(8, 0)}));
    EXPECT_EQ(later.cls, TrafficClass::FRAGMENT);
    EXPECT_EQ(later.service.ToString(), "?/UDP");

    ClassifiedPacket gre = ClassifyRaw(Cat({testing::Ipv4(47, 4), Bytes(4, 0)}));
    EXPECT_EQ(gre.cls, TrafficClass::OTHER);
    EXPECT_EQ(gre.service.ToString(), "proto 47");

    Bytes short_tcp = testing::Tcp(23, TCP_SYN);
    short_tcp.resize(8);
    ClassifiedPacket cut = ClassifyRaw(Cat({testing::Ipv4(IPPROTO_NUM_TCP, 8), short_tcp}));
    EXPECT_EQ(cut.cls, TrafficClass::MALFORMED);
    EXPECT_EQ(cut.service.ToString(), "23/TCP");  // the port was read
    short_tcp.resize(2);
    EXPECT_EQ(ClassifyRaw(Cat({testing::Ipv4(IPPROTO_NUM_TCP, 2), short_tcp})).service.ToString(), "?/TCP");

    ClassifiedPacket no_ip = ClassifyRaw(Bytes{0x45, 0x00, 0x00});
    EXPECT_EQ(no_ip.cls, TrafficClass::MALFORMED);
    EXPECT_EQ(no_ip.service.ToString(), "?/IP");  // IP, but not even the protocol can be read

    // An extension chain cut before the transport protocol is named.
    ClassifiedPacket chain;
    DecodedPacket cut_chain;
    cut_chain.ip_version = 6;
    cut_chain.proto = 44;
    cut_chain.l4 = L4State::TRUNCATED;
    cut_chain.AddEvent(DecodeEvent::IPV6_EXT_TRUNCATED);
    Classify(cut_chain, chain);
    EXPECT_EQ(chain.cls, TrafficClass::MALFORMED);
    EXPECT_EQ(chain.service.ToString(), "?/IP");

    // ICMPv6 inside IPv4 (nmap's protocol scan) is an unknown protocol, not a cut ICMPv6 header.
    EXPECT_EQ(ClassifyRaw(testing::Ipv4(IPPROTO_NUM_ICMPV6, 0)).service.ToString(), "proto 58");

    ClassifiedPacket arp = ClassifyFrame(LINKTYPE_ETHERNET, Cat({testing::Ethernet(0x0806), Bytes(28, 0)}));
    EXPECT_EQ(arp.cls, TrafficClass::OTHER);
    EXPECT_TRUE(arp.service.Empty());
}

TEST(ServiceKey, ToStringAndParse) {
    const std::pair<ServiceKey, const char *> cases[] = {
        {ServiceKey::Make(ServiceKind::TCP, 445), "445/TCP"},
        {ServiceKey::Make(ServiceKind::UDP, 53), "53/UDP"},
        {ServiceKey::Make(ServiceKind::ICMP, 8), "8/ICMP"},
        {ServiceKey::Make(ServiceKind::ICMPV6, 128), "128/ICMPv6"},
        {ServiceKey::Make(ServiceKind::PROTO, 47), "proto 47"},
        {ServiceKey::Make(ServiceKind::TCP_NOPORT, 0), "?/TCP"},
        {ServiceKey::Make(ServiceKind::UDP_NOPORT, 0), "?/UDP"},
        {ServiceKey::Make(ServiceKind::ICMP_NOTYPE, 0), "?/ICMP"},
        {ServiceKey::Make(ServiceKind::IP_UNKNOWN, 0), "?/IP"},
        {ServiceKey::Make(ServiceKind::ICMPV6_NOTYPE, 0), "?/ICMPv6"},
        {ServiceKey{}, "-"},
        {ServiceKey::Make(ServiceKind::TCP, 0), "0/TCP"},
        {ServiceKey::Make(ServiceKind::UDP, 65535), "65535/UDP"},
    };
    for (const auto &[key, text] : cases) {
        EXPECT_EQ(key.ToString(), text);
        EXPECT_EQ(ServiceKey::Parse(text), key) << text;
    }
    EXPECT_EQ(ServiceKey::Parse("445/tcp"), ServiceKey::Make(ServiceKind::TCP, 445));
    EXPECT_EQ(ServiceKey::Parse("128/icmpv6"), ServiceKey::Make(ServiceKind::ICMPV6, 128));
    EXPECT_EQ(ServiceKey::Parse("PROTO 50"), ServiceKey::Make(ServiceKind::PROTO, 50));
    for (const char *bad : {"", "445", "65536/TCP", "256/ICMP", "proto 256", "-1/TCP", "80/SCTP", "80/", "/TCP",
                            "proto ", "8 /ICMP"})
        EXPECT_FALSE(ServiceKey::Parse(bad).has_value()) << bad;
}

TEST(TrafficClass, NamesRoundTrip) {
    for (int i = 0; i < int(TrafficClass::COUNT); ++i) {
        EXPECT_EQ(ParseTrafficClass(TrafficClassName(TrafficClass(i))), TrafficClass(i));
    }
    EXPECT_EQ(ParseTrafficClass("syn-probe"), TrafficClass::SYN_PROBE);
    EXPECT_FALSE(ParseTrafficClass("syn").has_value());
}

}  // namespace
}  // namespace darkscope
