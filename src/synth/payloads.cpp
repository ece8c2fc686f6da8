#include "synth/payloads.hpp"

#include <fmt/format.h>

#include <array>
#include <cstring>

#include "synth/packet_builder.hpp"

namespace darkscope::synth {
namespace {

constexpr uint16_t TYPE_A = 1, TYPE_NS = 2, TYPE_SOA = 6, TYPE_MX = 15, TYPE_TXT = 16, TYPE_AAAA = 28, TYPE_OPT = 41,
                   TYPE_DNSKEY = 48, TYPE_ANY = 255;

struct Writer {
    uint8_t *out;
    size_t n = 0;
    void U8(uint8_t v) { out[n++] = v; }
    void U16(uint16_t v) {
        StoreBe16(out + n, v);
        n += 2;
    }
    void U32(uint32_t v) {
        StoreBe32(out + n, v);
        n += 4;
    }
    void Bytes(const void *p, size_t len) {
        std::memcpy(out + n, p, len);
        n += len;
    }
    void Name(std::string_view name) { n += EncodeDnsName(out + n, name); }
    // An answer owned by the question's name (a compression pointer to offset 12).
    size_t BeginRr(uint16_t type, uint32_t ttl) {
        U16(0xC00C);
        U16(type);
        U16(1);  // IN
        U32(ttl);
        U16(0);  // RDLENGTH, set by EndRr
        return n;
    }
    void EndRr(size_t rdata_start) { StoreBe16(out + rdata_start - 2, uint16_t(n - rdata_start)); }
};

void Opt(Writer &w, bool do_bit) {
    w.U8(0);  // root
    w.U16(TYPE_OPT);
    w.U16(4096);
    w.U32(do_bit ? 0x8000 : 0);
    w.U16(0);
}

uint32_t PublicV4(Rng &rng) {
    // Answers point at plausible unicast space (not reserved, not the synthetic sources' blocks on purpose).
    return (uint32_t(rng.Between(1, 223)) << 24 | (rng.Next32() & 0xFFFFFF)) | 1;
}

void Txt(Writer &w, std::string_view text) {
    size_t rd = w.BeginRr(TYPE_TXT, 3600);
    w.U8(uint8_t(text.size()));
    w.Bytes(text.data(), text.size());
    w.EndRr(rd);
}

}  // namespace

std::optional<uint16_t> DnsTypeCode(std::string_view name) {
    static constexpr std::pair<std::string_view, uint16_t> TYPES[] = {
        {"A", TYPE_A},   {"AAAA", TYPE_AAAA}, {"ANY", TYPE_ANY},       {"TXT", TYPE_TXT},
        {"MX", TYPE_MX}, {"NS", TYPE_NS},     {"DNSKEY", TYPE_DNSKEY}, {"SOA", TYPE_SOA}};
    for (auto &[n, c] : TYPES)
        if (n == name) return c;
    return std::nullopt;
}

size_t EncodeDnsName(uint8_t *out, std::string_view name) {
    size_t n = 0;
    while (!name.empty() && name.back() == '.')
        name.remove_suffix(1);
    while (!name.empty()) {
        size_t dot = name.find('.');
        std::string_view label = name.substr(0, dot);
        if (label.empty() || label.size() > 63) return 0;
        out[n++] = uint8_t(label.size());
        std::memcpy(out + n, label.data(), label.size());
        n += label.size();
        name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
    }
    out[n++] = 0;
    return n;
}

static size_t Question(Writer &w, const DnsQuery &q) {
    size_t start = w.n;
    if (!q.random_label.empty()) {
        w.U8(uint8_t(q.random_label.size()));
        w.Bytes(q.random_label.data(), q.random_label.size());
    }
    w.Name(q.qname);
    w.U16(q.qtype);
    w.U16(1);
    return w.n - start;
}

size_t BuildDnsQuery(uint8_t *out, const DnsQuery &q) {
    Writer w{out};
    w.U16(q.id);
    w.U16(q.recursion_desired ? 0x0100 : 0x0000);
    w.U16(1);
    w.U16(0);
    w.U16(0);
    w.U16(q.edns ? 1 : 0);
    Question(w, q);
    if (q.edns) Opt(w, q.qtype == TYPE_ANY || q.qtype == TYPE_DNSKEY);
    return w.n;
}

size_t BuildDnsResponse(uint8_t *out, const DnsQuery &q, bool nxdomain, Rng &rng) {
    Writer w{out};
    w.U16(q.id);
    w.U16(nxdomain ? 0x8183 : 0x8180);  // QR, RD, RA; rcode NXDOMAIN or NOERROR
    w.U16(1);
    size_t ancount_at = w.n;
    w.U16(0);
    size_t nscount_at = w.n;
    w.U16(0);
    w.U16(q.edns ? 1 : 0);
    Question(w, q);
    uint16_t answers = 0;
    if (nxdomain) {
        // The zone's SOA in the authority section; its owner is the zone (written out: the question has a
        // random first label, so no pointer to the zone alone exists).
        w.Name(q.qname);
        w.U16(TYPE_SOA);
        w.U16(1);
        w.U32(900);
        size_t len_at = w.n;
        w.U16(0);
        size_t rd = w.n;
        w.Name(fmt::format("ns1.{}", q.qname));
        w.Name(fmt::format("hostmaster.{}", q.qname));
        for (uint32_t v : {2024010101u, 7200u, 3600u, 1209600u, 900u})
            w.U32(v);
        StoreBe16(out + len_at, uint16_t(w.n - rd));
        StoreBe16(out + nscount_at, 1);
    } else {
        auto a = [&] {
            size_t rd = w.BeginRr(TYPE_A, 300);
            w.U32(PublicV4(rng));
            w.EndRr(rd);
            ++answers;
        };
        switch (q.qtype) {
            case TYPE_A:
                for (uint32_t i = 0, k = rng.Between(1, 4); i < k; ++i)
                    a();
                break;
            case TYPE_AAAA: {
                size_t rd = w.BeginRr(TYPE_AAAA, 300);
                w.U32(0x20010DB8);
                for (int i = 0; i < 3; ++i)
                    w.U32(rng.Next32());
                w.EndRr(rd);
                ++answers;
                break;
            }
            case TYPE_TXT:
                Txt(w, "v=spf1 ip4:192.0.2.0/24 -all");
                ++answers;
                break;
            case TYPE_MX: {
                size_t rd = w.BeginRr(TYPE_MX, 3600);
                w.U16(10);
                w.Bytes("\x04mail\xC0\x0C", 7);
                w.EndRr(rd);
                ++answers;
                break;
            }
            case TYPE_NS:
                for (const char *ns : {"\x03ns1\xC0\x0C", "\x03ns2\xC0\x0C"}) {
                    size_t rd = w.BeginRr(TYPE_NS, 86400);
                    w.Bytes(ns, 6);
                    w.EndRr(rd);
                    ++answers;
                }
                break;
            case TYPE_DNSKEY:
            case TYPE_ANY:
            default: {
                // What makes ANY and DNSKEY worth amplifying: several records and long keys.
                for (int i = 0; i < 4; ++i)
                    a();
                for (const char *ns : {"\x03ns1\xC0\x0C", "\x03ns2\xC0\x0C"}) {
                    size_t rd = w.BeginRr(TYPE_NS, 86400);
                    w.Bytes(ns, 6);
                    w.EndRr(rd);
                    ++answers;
                }
                Txt(w, "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 include:_spf.example.net ~all");
                ++answers;
                for (int k = 0; k < 3; ++k) {
                    size_t rd = w.BeginRr(TYPE_DNSKEY, 3600);
                    w.U16(k == 0 ? 257 : 256);  // KSK, then ZSKs
                    w.U8(3);
                    w.U8(8);  // RSA/SHA-256
                    size_t key_len = k == 0 ? 260 : 132;
                    w.U8(3);  // exponent length
                    w.Bytes("\x01\x00\x01", 3);
                    for (size_t i = 4; i < key_len; ++i)
                        w.U8(uint8_t(rng.Next32()));
                    w.EndRr(rd);
                    ++answers;
                }
                break;
            }
        }
        StoreBe16(out + ancount_at, answers);
    }
    if (q.edns) Opt(w, q.qtype == TYPE_ANY || q.qtype == TYPE_DNSKEY);
    return w.n;
}

std::span<const uint8_t> SlammerPayload() {
    // Slammer's datagram: the SSRP "request" byte 0x04, a run of 0x01 filler that overflows the server's buffer,
    // then the code (here a stand-in of the same length that is not executable code: the headers and the size are
    // what telescopes and signatures key on).
    static const auto payload = [] {
        std::array<uint8_t, SLAMMER_PAYLOAD_LEN> p{};
        p[0] = 0x04;
        for (size_t i = 1; i < 97; ++i)
            p[i] = 0x01;
        const uint8_t ret[] = {0xdc, 0xc9, 0xb0, 0x42, 0xeb, 0x0e};  // the return address and short jump
        std::memcpy(p.data() + 97, ret, sizeof ret);
        for (size_t i = 103; i < p.size(); ++i)
            p[i] = uint8_t(0x70 + (i * 37) % 0x50);
        return p;
    }();
    return payload;
}

std::span<const uint8_t> NachiPayload() {
    static const auto payload = [] {
        std::array<uint8_t, NACHI_PAYLOAD_LEN> p;
        p.fill(0xAA);
        return p;
    }();
    return payload;
}

size_t BuildDhtQuery(uint8_t *out, Rng &rng) {
    Writer w{out};
    auto random20 = [&] {
        for (int i = 0; i < 20; ++i)
            w.U8(uint8_t(rng.Next32()));
    };
    w.Bytes("d1:ad2:id20:", 12);
    random20();
    uint32_t kind = rng.Below(3);
    if (kind == 0) {
        w.Bytes("6:target20:", 11);
        random20();
        w.Bytes("e1:q9:find_node", 15);
    } else if (kind == 1) {
        w.Bytes("9:info_hash20:", 14);
        random20();
        w.Bytes("e1:q9:get_peers", 15);
    } else {
        w.Bytes("e1:q4:ping", 10);
    }
    w.Bytes("1:t2:", 5);
    w.U16(rng.Next16());
    w.Bytes("1:y1:qe", 7);
    return w.n;
}

size_t BuildUdpProbe(uint8_t *out, uint16_t port, uint32_t dst, Rng &rng) {
    Writer w{out};
    switch (port) {
        case 53: {
            DnsQuery q;
            q.id = rng.Next16();
            q.qname = "example.com";
            return BuildDnsQuery(out, q);
        }
        case 123:  // NTP client request, version 4, mode 3
            w.U8(0xE3);
            w.U8(0);
            w.U8(6);
            w.U8(0xEC);
            for (int i = 0; i < 11; ++i)
                w.U32(0);
            return w.n;
        case 1900: {
            static constexpr std::string_view SSDP =
                "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
                "MAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n";
            w.Bytes(SSDP.data(), SSDP.size());
            return w.n;
        }
        case 5060: {
            auto ip = fmt::format("{}.{}.{}.{}", dst >> 24, (dst >> 16) & 255, (dst >> 8) & 255, dst & 255);
            uint32_t tag = rng.Next32();
            auto text = fmt::format(
                "OPTIONS sip:100@{} SIP/2.0\r\nVia: SIP/2.0/UDP {}:5060;branch=z9hG4bK-{:08x};rport\r\n"
                "Max-Forwards: 70\r\nTo: <sip:100@{}>\r\nFrom: \"sipvicious\"<sip:100@1.1.1.1>;tag={:08x}\r\n"
                "User-Agent: friendly-scanner\r\nCall-ID: {}\r\nCSeq: 1 OPTIONS\r\nAccept: application/sdp\r\n"
                "Content-Length: 0\r\n\r\n",
                ip, ip, tag, ip, tag ^ 0x5a5a5a5a, rng.Next32());
            w.Bytes(text.data(), text.size());
            return w.n;
        }
        case 161: {  // SNMPv1 get-request, community "public", sysDescr.0
            static constexpr uint8_t SNMP[] = {0x30, 0x26, 0x02, 0x01, 0x00, 0x04, 0x06, 'p',  'u',  'b',
                                               'l',  'i',  'c',  0xa0, 0x19, 0x02, 0x01, 0x01, 0x02, 0x01,
                                               0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c, 0x06, 0x08,
                                               0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x05, 0x00};
            w.Bytes(SNMP, sizeof SNMP);
            return w.n;
        }
        case 137: {  // NetBIOS name service: node status request for "*"
            w.U16(rng.Next16());
            w.U16(0x0000);
            w.U16(1);
            w.U16(0);
            w.U16(0);
            w.U16(0);
            w.U8(32);
            w.Bytes("CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 32);
            w.U8(0);
            w.U16(0x0021);
            w.U16(1);
            return w.n;
        }
        case 1434:  // MS-SQL browser ping (CLNT_UCAST_EX)
            w.U8(0x03);
            return w.n;
        case 11211:
            w.Bytes("\x00\x01\x00\x00\x00\x01\x00\x00stats\r\n", 15);
            return w.n;
        default:
            return 0;
    }
}

}  // namespace darkscope::synth
