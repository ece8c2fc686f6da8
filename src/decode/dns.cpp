#include "decode/dns.hpp"

#include "common/bytes.hpp"

namespace darkscope {

namespace {

constexpr uint32_t HEADER = 12;
// A message asks about a handful of names at most (in practice exactly one); a larger count means the
// bytes are not DNS. 16 leaves room for odd but real implementations.
constexpr uint16_t MAX_QDCOUNT = 16;
constexpr uint32_t MAX_NAME = 255;  // RFC 1035 2.3.4, on the wire: length bytes and labels, the root's 0 too
constexpr uint16_t TYPE_OPT = 41;

// Reads the name at `pos`. `next` is where the record goes on: after the name's last byte in place (its root
// or its first pointer). With `text`, appends the presentation form. Each pointer must point before the
// labels it ends (where this stretch of the name began), so the stretches start ever earlier: no loop, and
// at most `len` of them.
DnsError ReadName(const uint8_t *p, uint32_t len, uint32_t pos, uint32_t &next, std::string *text) {
    uint32_t stretch = pos;  // where the labels being read began
    uint32_t wire = 1;       // the root's zero byte
    bool jumped = false;
    const size_t text_start = text ? text->size() : 0;
    for (uint32_t at = pos;;) {
        if (at >= len) return DnsError::NAME_TRUNCATED;
        const uint8_t b = p[at];
        if ((b & 0xC0) == 0xC0) {
            if (at + 1 >= len) return DnsError::NAME_TRUNCATED;
            const uint32_t target = uint32_t(b & 0x3F) << 8 | p[at + 1];
            if (target >= stretch) return DnsError::BAD_POINTER;
            if (!jumped) next = at + 2;
            jumped = true;
            stretch = at = target;
            continue;
        }
        if (b & 0xC0) return DnsError::LABEL_TYPE;
        if (b == 0) {
            if (!jumped) next = at + 1;
            break;
        }
        if (at + 1 + b > len) return DnsError::NAME_TRUNCATED;
        wire += 1 + b;
        if (wire > MAX_NAME) return DnsError::NAME_TOO_LONG;
        if (text) {
            if (text->size() > text_start) text->push_back('.');
            EscapeDnsLabel(p + at + 1, b, *text);
        }
        at += 1 + b;
    }
    if (text && text->size() == text_start) text->push_back('.');
    return DnsError::NONE;
}

// The header test alone (what ParseDns calls NOT_DNS): 12 bytes, opcode QUERY, IQUERY, STATUS, NOTIFY, UPDATE
// or DSO, at most 16 questions, and a query asks at least one.
bool DnsHeaderPlausible(const uint8_t *payload, uint32_t len, bool &qr) {
    if (len < HEADER) return false;
    const uint16_t flags = LoadBe16(payload + 2);
    const uint16_t qdcount = LoadBe16(payload + 4);
    const unsigned opcode = (flags >> 11) & 0x0F;
    const bool response = (flags & 0x8000) != 0;
    constexpr unsigned VALID_OPCODES = 1u << 0 | 1u << 1 | 1u << 2 | 1u << 4 | 1u << 5 | 1u << 6;
    if (((VALID_OPCODES >> opcode) & 1) == 0) return false;
    if (qdcount > MAX_QDCOUNT) return false;
    if (!response && qdcount == 0) return false;
    qr = response;
    return true;
}

}  // namespace

std::string_view DnsErrorEvent(DnsError e) {
    switch (e) {
        case DnsError::NONE: return "decode.dns.none";
        case DnsError::NOT_DNS: return "decode.dns.malformed";
        case DnsError::NAME_TRUNCATED: return "decode.dns.name_truncated";
        case DnsError::LABEL_TYPE: return "decode.dns.label_type";
        case DnsError::NAME_TOO_LONG: return "decode.dns.name_too_long";
        case DnsError::BAD_POINTER: return "decode.dns.bad_pointer";
        case DnsError::QUESTION_TRUNCATED: return "decode.dns.question_truncated";
        case DnsError::RECORDS_TRUNCATED: return "decode.dns.records_truncated";
    }
    return "decode.dns.unknown";
}

void EscapeDnsLabel(const uint8_t *label, size_t len, std::string &out) {
    for (size_t i = 0; i < len; ++i) {
        const uint8_t c = label[i];
        if (c == '.' || c == '\\') {
            out.push_back('\\');
            out.push_back(char(c));
        } else if (c > 0x20 && c < 0x7F) {
            out.push_back(char(c));
        } else {
            out.push_back('\\');
            out.push_back(char('0' + c / 100));
            out.push_back(char('0' + c / 10 % 10));
            out.push_back(char('0' + c % 10));
        }
    }
}

bool ParseDns(const uint8_t *p, uint32_t len, DnsMessage &out, bool with_name) {
    out = DnsMessage{};
    out.size = len;
    if (!DnsHeaderPlausible(p, len, out.qr)) {
        out.error = DnsError::NOT_DNS;
        return false;
    }
    const uint16_t flags = LoadBe16(p + 2);
    out.id = LoadBe16(p);
    out.opcode = uint8_t((flags >> 11) & 0x0F);
    out.aa = flags & 0x0400;
    out.tc = flags & 0x0200;
    out.rd = flags & 0x0100;
    out.ra = flags & 0x0080;
    out.ad = flags & 0x0020;
    out.cd = flags & 0x0010;
    out.rcode = flags & 0x000F;
    out.qdcount = LoadBe16(p + 4);
    out.ancount = LoadBe16(p + 6);
    out.nscount = LoadBe16(p + 8);
    out.arcount = LoadBe16(p + 10);

    uint32_t at = HEADER;
    for (uint16_t q = 0; q < out.qdcount; ++q) {
        uint32_t next = 0;
        const DnsError e = ReadName(p, len, at, next, q == 0 && with_name ? &out.qname : nullptr);
        if (e != DnsError::NONE) {
            if (q == 0) out.qname.clear();  // a later question's fault leaves the first one good
            out.error = e;
            return true;
        }
        if (next + 4 > len) {
            if (q == 0) out.qname.clear();
            out.error = DnsError::QUESTION_TRUNCATED;
            return true;
        }
        if (q == 0) {
            out.has_question = true;
            out.qtype = LoadBe16(p + next);
            out.qclass = LoadBe16(p + next + 2);
        }
        at = next + 4;
    }

    // The records, only to find the OPT pseudo-record among the additional ones (RFC 6891 6.1.2).
    const uint32_t records = uint32_t(out.ancount) + out.nscount + out.arcount;
    for (uint32_t r = 0; r < records; ++r) {
        uint32_t next = 0;
        if (ReadName(p, len, at, next, nullptr) != DnsError::NONE || next + 10 > len) {
            out.error = DnsError::RECORDS_TRUNCATED;
            return true;
        }
        const uint16_t type = LoadBe16(p + next);
        const uint16_t cls = LoadBe16(p + next + 2);
        const uint32_t ttl = LoadBe32(p + next + 4);
        const uint16_t rdlength = LoadBe16(p + next + 8);
        if (next + 10 + rdlength > len) {
            out.error = DnsError::RECORDS_TRUNCATED;
            return true;
        }
        if (type == TYPE_OPT && r >= uint32_t(out.ancount) + out.nscount && !out.edns) {
            out.edns = true;
            out.edns_udp_size = cls;
            out.rcode = uint16_t((ttl >> 24) << 4 | out.rcode);
            out.edns_version = uint8_t(ttl >> 16);
            out.dnssec_ok = (ttl & 0x8000) != 0;
        }
        at = next + 10 + rdlength;
    }
    return true;
}

}  // namespace darkscope
