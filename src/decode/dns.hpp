#pragma once
/// DNS messages (RFC 1035, with RFC 6891's OPT record) as a darknet receives them: the header, the first
/// question and the EDNS0 options, from a UDP payload that may be cut by the snaplen, malformed or hostile
/// (compression loops, forward pointers, lengths past the end). Nothing outside [payload, payload + len) is
/// read, and a name costs at most 255 bytes on the wire (its escaped text four times that) however its pointers
/// are laid out.

#include <cstdint>
#include <string>
#include <string_view>

namespace darkscope {

/// Where a parse stopped. The names are stable (they extend decode.dns.* in docs/decoding.md).
enum class DnsError : uint8_t {
    NONE = 0,
    NOT_DNS,             // under 12 bytes, an unassigned opcode, more than 16 questions, or a query without one
    NAME_TRUNCATED,      // a name runs past the payload
    LABEL_TYPE,          // a label whose length byte starts with 01 or 10 (obsolete extended label types)
    NAME_TOO_LONG,       // a name over 255 bytes on the wire
    BAD_POINTER,         // a compression pointer that does not point before the labels it ends: forward or a loop
    QUESTION_TRUNCATED,  // the question's type and class are cut
    RECORDS_TRUNCATED,   // an answer, authority or additional record is cut (header and question are good)
};
/// "decode.dns.bad_pointer", ...: the decode event a malformed message is counted under (docs/decoding.md).
std::string_view DnsErrorEvent(DnsError e);
constexpr uint8_t DNS_ERROR_COUNT = uint8_t(DnsError::RECORDS_TRUNCATED) + 1;

struct DnsMessage {
    uint16_t id = 0;
    bool qr = false;  // response
    uint8_t opcode = 0;
    uint16_t rcode = 0;  // 12 bits when an OPT record carries the upper eight, else 4
    bool aa = false, tc = false, rd = false, ra = false, ad = false, cd = false;
    uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;

    bool has_question = false;
    std::string qname;  // presentation form (EscapeDnsLabel per label), "." for the root
    uint16_t qtype = 0;
    uint16_t qclass = 0;

    bool edns = false;  // an OPT record was read
    uint16_t edns_udp_size = 0;
    uint8_t edns_version = 0;
    bool dnssec_ok = false;  // the OPT record's DO bit

    uint32_t size = 0;                // payload bytes: a response's size
    DnsError error = DnsError::NONE;  // the fields read before it are filled
};

/// Parses `payload`. False when it is not DNS at all (error NOT_DNS: only `size` and `error` are set); true
/// when the header is plausible, with `error` saying whether and where a later part was malformed or cut.
/// Without `with_name`, the question's name is checked but not written out (qname stays empty): the
/// per-packet path's form, which allocates nothing.
bool ParseDns(const uint8_t *payload, uint32_t len, DnsMessage &out, bool with_name = true);

/// Appends one label in the presentation form of RFC 1035 section 5.1 as dig writes it: printable ASCII as
/// is, "." and "\" escaped with a backslash, every other byte (space, controls, 8-bit) as \DDD in decimal.
/// What comes out is plain ASCII with no control bytes; HTML, CSV and terminals still escape it their way
/// (a label may hold "<script>").
void EscapeDnsLabel(const uint8_t *label, size_t len, std::string &out);

}  // namespace darkscope
