#pragma once
/// A parsed rule: the single-packet subset of the Suricata/Snort rule language (docs/signatures.md).
/// Parsed once at load; matched per packet by signature/matcher/ (a Hyperscan prefilter proposes
/// candidates, Verify runs every option on the packet).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/ip_address.hpp"
#include "decode/decoded_packet.hpp"
#include "signature/category.hpp"

namespace darkscope::sig {

/// A numeric comparison as written after dsize, ttl, itype, ...: `5`, `<5`, `<=5`, `>5`, `>=5`,
/// `!5`, `5<>10` (exclusive), `5-10` (exclusive, Suricata's range form).
struct Comparison {
    enum class Op : uint8_t { EQ, NE, LT, LE, GT, GE, RANGE };
    Op op = Op::EQ;
    uint64_t a = 0;
    uint64_t b = 0;
    bool Matches(uint64_t v) const {
        switch (op) {
            case Op::EQ: return v == a;
            case Op::NE: return v != a;
            case Op::LT: return v < a;
            case Op::LE: return v <= a;
            case Op::GT: return v > a;
            case Op::GE: return v >= a;
            case Op::RANGE: return v > a && v < b;
        }
        return false;
    }
};

/// Header fields a rule can compare; the packet must have the layer (an ICMP field on a TCP packet
/// never matches).
enum class Field : uint8_t { DSIZE, TTL, IP_ID, IP_PROTO, SEQ, ACK, WINDOW, ITYPE, ICODE, ICMP_ID, ICMP_SEQ };
struct FieldCheck {
    Field field = Field::DSIZE;
    Comparison cmp;
};

/// flags / fragbits: which bits must be set, under a mask of the bits that matter.
struct BitsCheck {
    enum class Mode : uint8_t { EXACT, ALL_PLUS, ANY, NONE };
    Mode mode = Mode::EXACT;
    uint8_t bits = 0;
    uint8_t ignore = 0;  // bits left out of the comparison (flags:S,12)
    bool Matches(uint8_t v) const {
        v &= uint8_t(~ignore);
        switch (mode) {
            case Mode::EXACT: return v == bits;
            case Mode::ALL_PLUS: return (v & bits) == bits;
            case Mode::ANY: return (v & bits) != 0;
            case Mode::NONE: return (v & bits) == 0;
        }
        return false;
    }
};

/// content with its modifiers. Positions follow Suricata: offset/depth count from the start of the
/// payload, distance/within from the end of the previous payload match.
struct ContentOp {
    std::string bytes;
    bool nocase = false;
    bool negated = false;
    bool fast_pattern = false;
    bool startswith = false;
    bool endswith = false;
    std::optional<int32_t> offset, depth, distance, within;
    bool Relative() const { return distance.has_value() || within.has_value(); }
};
struct IsDataAtOp {
    uint32_t position = 0;
    bool relative = false;
    bool negated = false;
};
struct PcreOp {
    std::shared_ptr<struct CompiledPcre> code;
    bool relative = false;
    bool negated = false;
    std::string source;  // as written, for messages
};
struct ByteTestOp {
    uint8_t nbytes = 1;
    char op = '=';  // < > = & ^ and two-character forms as L (<=), G (>=)
    bool negated = false;
    uint64_t value = 0;
    int32_t offset = 0;
    bool relative = false;
    bool little_endian = false;
    uint8_t string_base = 0;  // 0: binary; 8, 10, 16: the bytes are digits in that base
    std::optional<uint64_t> bitmask;
};
using PayloadOp = std::variant<ContentOp, IsDataAtOp, PcreOp, ByteTestOp>;

/// A set of addresses or ports as written, evaluated as Suricata resolves it: a list is the union
/// of its plain items minus the union of its negated ones (every address or port when it has only
/// negated items), and `!` complements. `any` is the empty set expression (matches everything).
template <typename Item>
struct ValueSet {
    struct Node {
        bool negated = false;
        bool leaf = true;
        Item item{};
        std::vector<Node> children;
    };
    std::optional<Node> root;  // nullopt: any
    bool Any() const { return !root; }
};
struct AddressSet : ValueSet<IpNetwork> {
    bool Matches(const IpAddress &a) const;
};
/// Ports as inclusive ranges.
struct PortSet : ValueSet<std::pair<uint16_t, uint16_t>> {
    bool Matches(uint16_t p) const;
    /// The single ports the set names, if it is a plain list of fewer than `limit` ports (for indexing).
    bool SmallPortList(size_t limit, std::vector<uint16_t> &out) const;
};

enum class RuleProto : uint8_t { IP, TCP, UDP, ICMP, ICMPV6 };

/// threshold / detection_filter (docs/signatures.md#threshold).
struct Threshold {
    enum class Type : uint8_t { NONE, LIMIT, THRESHOLD, BOTH, DETECTION_FILTER };
    Type type = Type::NONE;
    bool by_dst = false;
    bool unique_dst_port = false;  // detection_filter unique_on dst_port: count distinct ports, not matches
    uint32_t count = 0;
    uint32_t seconds = 0;
};

struct Rule {
    std::string file;
    uint32_t line = 0;
    std::string action;
    RuleProto proto = RuleProto::IP;
    AddressSet src, dst;
    PortSet sport, dport;
    bool bidirectional = false;

    std::string msg;
    std::string classtype;
    std::string category_name;  // metadata darkscope_category, if given
    uint32_t sid = 0;
    uint32_t gid = 1;
    uint32_t rev = 0;
    Category category = Category::OTHERS;

    std::vector<FieldCheck> fields;
    std::optional<BitsCheck> flags;
    std::optional<BitsCheck> fragbits;  // bits: 1 reserved, 2 DF, 4 MF (ip_frag_flags)
    std::vector<PayloadOp> payload;
    Threshold threshold;
};

/// True if every option of the rule holds for the packet (payload included).
bool Verify(const Rule &rule, const DecodedPacket &pkt, struct VerifyScratch &scratch);

}  // namespace darkscope::sig
