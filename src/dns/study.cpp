#include "dns/study.hpp"

#include <fmt/format.h>
#include <libpsl.h>
#include <xxhash.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "aggregate/segment.hpp"
#include "classify/classifier.hpp"
#include "common/text.hpp"
#include "decode/decoded_packet.hpp"
#include "decode/dns.hpp"
#include "enrich/enrichment.hpp"

namespace darkscope::dns {

void CappedSet::Add(uint64_t h) {
    auto it = std::lower_bound(hashes.begin(), hashes.end(), h);
    if (it != hashes.end() && *it == h) return;
    if (hashes.size() >= CAP) {
        capped = true;
        return;
    }
    hashes.insert(it, h);
}

void CappedSet::Merge(const CappedSet &o) {
    std::vector<uint64_t> out;
    out.reserve(std::min(hashes.size() + o.hashes.size(), CAP));
    std::set_union(hashes.begin(), hashes.end(), o.hashes.begin(), o.hashes.end(), std::back_inserter(out));
    capped = capped || o.capped || out.size() > CAP;
    if (out.size() > CAP) out.resize(CAP);
    hashes = std::move(out);
}

std::string CappedSet::Describe() const { return capped ? fmt::format("{}+", hashes.size()) : fmt::format("{}", hashes.size()); }

uint16_t GapHistogram::BucketOf(TimestampNs gap) {
    const uint64_t us = gap > 0 ? uint64_t(gap) / 1000 : 0;
    if (us == 0) return 0;
    // The doubling (the top bit's place) and the next three bits: eighths of the doubling, without a logarithm
    // on the per-packet path.
    const int e = std::bit_width(us) - 1;
    const uint64_t m = e >= 3 ? (us >> (e - 3)) & 7 : (us << (3 - e)) & 7;
    return uint16_t(1 + e * STEPS_PER_DOUBLING + int(m));
}

void GapHistogram::Add(TimestampNs gap) { ++buckets[BucketOf(gap)]; }

void GapHistogram::Merge(const GapHistogram &o) {
    for (auto [b, n] : o.buckets) buckets[b] += n;
}

uint64_t GapHistogram::Count() const {
    uint64_t n = 0;
    for (auto &[b, c] : buckets) n += c;
    return n;
}

double GapHistogram::MedianSeconds() const {
    const uint64_t n = Count();
    if (n == 0) return 0.0;
    // The lower median: the (n+1)/2-th gap in order.
    const uint64_t want = (n + 1) / 2;
    uint64_t seen = 0;
    for (auto &[b, c] : buckets) {
        seen += c;
        if (seen >= want) {
            if (b == 0) return 0.0;
            const int e = (b - 1) / STEPS_PER_DOUBLING, m = (b - 1) % STEPS_PER_DOUBLING;
            return std::ldexp(1.0 + (m + 0.5) / STEPS_PER_DOUBLING, e) / 1e6;
        }
    }
    return 0.0;
}

namespace {

void AddExample(std::vector<std::string> &examples, size_t max, const std::string &name) {
    if (examples.size() >= max || name.empty()) return;
    if (std::find(examples.begin(), examples.end(), name) == examples.end()) examples.push_back(name);
}

template <typename Map>
void AddCounts(Map &into, const Map &from) {
    for (auto &[k, v] : from) into[k] += v;
}

uint64_t HashText(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

// The order of source-days (negative, zero or positive): by day, address family and address. The fold sorts its
// records in it (then by time), so its pieces come out in it and merge with an earlier fold's in one pass. Addresses
// by Ipv6Less: comparing the byte arrays called memcmp, n log n times.
int CompareDayAddress(int64_t day_a, const IpAddress &a, int64_t day_b, const IpAddress &b) {
    if (day_a != day_b) return day_a < day_b ? -1 : 1;
    if (a.family != b.family) return a.family < b.family ? -1 : 1;
    if (Ipv6Less{}(a.bytes, b.bytes)) return -1;
    return Ipv6Less{}(b.bytes, a.bytes) ? 1 : 0;
}

uint64_t HashAddress(const IpAddress &a) { return XXH3_64bits(a.bytes.data(), a.family == 4 ? 4 : 16) ^ a.family; }

}  // namespace

void SourceDay::Merge(const SourceDay &o) {
    if (o.Packets() == 0) return;
    if (Packets() == 0) {
        const int64_t keep_day = day;
        *this = o;
        day = keep_day;
        return;
    }
    // Records of one source come in time order (files and days are read in order); the gap between them is a
    // gap like any other. Overlapping records (out-of-order files) add no gap rather than a wrong one.
    if (o.first_ts >= last_ts) gaps.Add(o.first_ts - last_ts);
    gaps.Merge(o.gaps);
    queries += o.queries;
    responses += o.responses;
    by_port += o.by_port;
    bytes += o.bytes;
    answers += o.answers;
    edns += o.edns;
    dnssec_ok += o.dnssec_ok;
    first_ts = std::min(first_ts, o.first_ts);
    last_ts = std::max(last_ts, o.last_ts);
    if (!research) research = o.research;
    AddCounts(qtypes, o.qtypes);
    AddCounts(rcodes, o.rcodes);
    names.Merge(o.names);
    for (auto &e : o.examples) AddExample(examples, EXAMPLES, e);
}

void ZoneHour::Merge(const ZoneHour &o) {
    queries += o.queries;
    responses += o.responses;
    names.Merge(o.names);
    sources.Merge(o.sources);
    AddCounts(rcodes, o.rcodes);
    for (auto &e : o.examples) AddExample(examples, EXAMPLES, e);
}

namespace {

// Label boundaries of a presentation-form name: dots not escaped by a backslash ("\." is part of a label).
std::vector<size_t> LabelStarts(const std::string &name) {
    std::vector<size_t> starts{0};
    for (size_t i = 0; i < name.size(); ++i) {
        if (name[i] == '\\') {
            ++i;  // the escaped character (or the first digit of \DDD, whose others are digits too)
        } else if (name[i] == '.' && i + 1 < name.size()) {
            starts.push_back(i + 1);
        }
    }
    return starts;
}

}  // namespace

std::string ZoneOf(const std::string &name) {
    if (name.empty() || name == ".") return ".";
    std::string n = name;
    if (n.size() > 1 && n.back() == '.' && (n.size() < 2 || n[n.size() - 2] != '\\')) n.pop_back();
    // libpsl's built-in list (the one compiled into the Debian package): the same answer on every machine of
    // one release, with nothing read at run time.
    if (n.find('\\') == std::string::npos) {
        if (const char *r = psl_registrable_domain(psl_builtin(), n.c_str())) return r;
    }
    const auto starts = LabelStarts(n);
    return starts.size() <= 2 ? n : n.substr(starts[starts.size() - 2]);
}

std::string QtypeName(uint16_t t) {
    switch (t) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 12: return "PTR";
    case 13: return "HINFO";
    case 15: return "MX";
    case 16: return "TXT";
    case 28: return "AAAA";
    case 33: return "SRV";
    case 35: return "NAPTR";
    case 41: return "OPT";
    case 43: return "DS";
    case 46: return "RRSIG";
    case 47: return "NSEC";
    case 48: return "DNSKEY";
    case 64: return "SVCB";
    case 65: return "HTTPS";
    case 99: return "SPF";
    case 252: return "AXFR";
    case 255: return "ANY";
    case 256: return "URI";
    case 257: return "CAA";
    default: return fmt::format("TYPE{}", t);
    }
}

std::string RcodeName(uint16_t r) {
    static constexpr const char *NAMES[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                            "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI"};
    if (r < std::size(NAMES)) return NAMES[r];
    if (r == 16) return "BADVERS";
    return fmt::format("RCODE{}", r);
}

namespace {

using nlohmann::json;

template <typename Map>
void CountsFromJson(const json &j, Map &m) {
    for (auto &pair : j) m[pair.at(0).get<typename Map::key_type>()] += pair.at(1).get<uint64_t>();
}

// JSON text for the store, written directly: a day of a busy telescope writes tens of thousands of these at the
// end of a file, and building a json object for each cost more than the rest of the DNS study's fold.
void AppendJsonString(std::string &out, std::string_view v) {
    out += '"';
    for (unsigned char c : v) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c < 0x20) {
            out += fmt::format("\\u{:04x}", c);
        } else {
            out += char(c);
        }
    }
    out += '"';
}

template <typename Map>
void AppendCounts(std::string &out, const Map &m) {
    out += '[';
    bool first = true;
    for (auto &[k, v] : m) {
        out += first ? "[" : ",[";
        AppendDecimal(out, k);
        out += ',';
        AppendDecimal(out, v);
        out += ']';
        first = false;
    }
    out += ']';
}

// "key":value, after a comma unless first.
template <typename Int>
void AppendField(std::string &out, std::string_view key, Int value, bool first = false) {
    if (!first) out += ',';
    out += '"';
    out += key;
    out += "\":";
    AppendDecimal(out, value);
}

void AppendStrings(std::string &out, const std::vector<std::string> &list) {
    out += '[';
    for (size_t i = 0; i < list.size(); ++i) {
        if (i) out += ',';
        AppendJsonString(out, list[i]);
    }
    out += ']';
}

}  // namespace

std::string ToJsonText(const SourceDay &s) {
    std::string out;
    out.reserve(256);
    out += '{';
    AppendField(out, "day", s.day, true);
    out += ",\"address\":\"";
    out += s.address.ToString();
    out += '"';
    AppendField(out, "queries", s.queries);
    AppendField(out, "responses", s.responses);
    AppendField(out, "by_port", s.by_port);
    AppendField(out, "bytes", s.bytes);
    AppendField(out, "answers", s.answers);
    AppendField(out, "edns", s.edns);
    AppendField(out, "do", s.dnssec_ok);
    AppendField(out, "first_ns", s.first_ts);
    AppendField(out, "last_ns", s.last_ts);
    AppendField(out, "research", s.research);
    out += ",\"gaps\":";
    AppendCounts(out, s.gaps.buckets);
    out += ",\"qtypes\":";
    AppendCounts(out, s.qtypes);
    out += ",\"rcodes\":";
    AppendCounts(out, s.rcodes);
    out += s.names.capped ? ",\"names_capped\":true" : ",\"names_capped\":false";
    out += ",\"examples\":";
    AppendStrings(out, s.examples);
    out += '}';
    return out;
}

SourceDay SourceDayFromJsonText(std::string_view text) {
    try {
        const json j = json::parse(text);
        SourceDay s;
        s.day = j.at("day").get<int64_t>();
        const auto address = IpAddress::Parse(j.at("address").get<std::string>());
        if (!address) throw std::runtime_error("bad address");
        s.address = *address;
        s.queries = j.at("queries").get<uint64_t>();
        s.responses = j.at("responses").get<uint64_t>();
        s.by_port = j.at("by_port").get<uint64_t>();
        s.bytes = j.at("bytes").get<uint64_t>();
        s.answers = j.at("answers").get<uint64_t>();
        s.edns = j.at("edns").get<uint64_t>();
        s.dnssec_ok = j.at("do").get<uint64_t>();
        s.first_ts = j.at("first_ns").get<int64_t>();
        s.last_ts = j.at("last_ns").get<int64_t>();
        s.research = j.at("research").get<uint16_t>();
        CountsFromJson(j.at("gaps"), s.gaps.buckets);
        CountsFromJson(j.at("qtypes"), s.qtypes);
        CountsFromJson(j.at("rcodes"), s.rcodes);
        s.names.capped = j.at("names_capped").get<bool>();
        s.examples = j.at("examples").get<std::vector<std::string>>();
        return s;
    } catch (const json::exception &e) {
        throw std::runtime_error(fmt::format("DNS source record: {}", e.what()));
    }
}

std::string ToJsonText(const ZoneHour &z) {
    std::string out;
    out.reserve(192);
    fmt::format_to(std::back_inserter(out), "{{\"hour\":{},\"zone\":", z.hour);
    AppendJsonString(out, z.zone);
    fmt::format_to(std::back_inserter(out), ",\"queries\":{},\"responses\":{},\"rcodes\":", z.queries, z.responses);
    AppendCounts(out, z.rcodes);
    fmt::format_to(std::back_inserter(out), ",\"names_capped\":{},\"sources_capped\":{},\"examples\":",
                   z.names.capped, z.sources.capped);
    AppendStrings(out, z.examples);
    out += '}';
    return out;
}

ZoneHour ZoneHourFromJsonText(std::string_view text) {
    try {
        const json j = json::parse(text);
        ZoneHour z;
        z.hour = j.at("hour").get<int64_t>();
        z.zone = j.at("zone").get<std::string>();
        z.queries = j.at("queries").get<uint64_t>();
        z.responses = j.at("responses").get<uint64_t>();
        CountsFromJson(j.at("rcodes"), z.rcodes);
        z.names.capped = j.at("names_capped").get<bool>();
        z.sources.capped = j.at("sources_capped").get<bool>();
        z.examples = j.at("examples").get<std::vector<std::string>>();
        return z;
    } catch (const json::exception &e) {
        throw std::runtime_error(fmt::format("DNS zone record: {}", e.what()));
    }
}

std::string PackHashes(const CappedSet &set) {
    std::string out(set.hashes.size() * 8, '\0');
    for (size_t i = 0; i < set.hashes.size(); ++i)
        for (int b = 0; b < 8; ++b) out[i * 8 + b] = char(uint8_t(set.hashes[i] >> (8 * b)));
    return out;
}

void UnpackHashes(std::string_view blob, CappedSet &set) {
    if (blob.size() % 8 != 0 || blob.size() / 8 > CappedSet::CAP)
        throw std::runtime_error(fmt::format("DNS hash set of {} bytes", blob.size()));
    set.hashes.resize(blob.size() / 8);
    for (size_t i = 0; i < set.hashes.size(); ++i) {
        uint64_t v = 0;
        for (int b = 7; b >= 0; --b) v = v << 8 | uint8_t(blob[i * 8 + b]);
        set.hashes[i] = v;
    }
    if (!std::is_sorted(set.hashes.begin(), set.hashes.end()))
        throw std::runtime_error("DNS hash set out of order");
}

size_t Accumulator::ZoneKeyHash::operator()(const std::pair<int64_t, uint64_t> &k) const noexcept {
    return size_t(k.second ^ (uint64_t(k.first) * 0x9E3779B97F4A7C15ull));
}

const Accumulator::CachedZone &Accumulator::ZoneOfName(const std::string &name, uint64_t name_hash) {
    auto it = zone_cache_.find(name_hash);
    if (it != zone_cache_.end() && it->second.name == name) return it->second;
    if (it == zone_cache_.end() && zone_cache_.size() >= ZONE_CACHE_LIMIT) zone_cache_.clear();
    CachedZone &c = zone_cache_[name_hash];  // a colliding name takes the slot over
    c.name = name;
    c.zone = ZoneOf(name);
    c.zone_hash = HashText(c.zone);
    return c;
}

void Accumulator::Add(const DecodedPacket &pkt, const ClassifiedPacket &cp) {
    if (cp.dns == DnsVerdict::NOT_DNS || !pkt.src.Valid()) return;
    ++packets_;
    Record r;
    r.ts = pkt.ts;
    r.day = DayOf(pkt.ts);
    r.src = pkt.src;
    r.wire_len = pkt.wire_len;
    r.flags = uint8_t(cp.dns_qr ? RESPONSE : 0);
    if (cp.dns == DnsVerdict::BY_PORT) {
        r.flags |= BY_PORT;
    } else {
        DnsMessage m;
        ParseDns(pkt.payload, pkt.payload_len, m, true);
        r.flags |= PARSED;
        if (m.qr) {
            r.rcode = m.rcode;
            r.answers = m.ancount;
        }
        if (m.edns) r.flags |= EDNS;
        if (m.dnssec_ok) r.flags |= DNSSEC_OK;
        if (m.has_question) {
            r.flags |= QUESTION;
            r.qtype = m.qtype;
            std::string &name = m.qname;
            // Names compare without case (RFC 4343); escapes are digits and punctuation, which lower-casing keeps.
            for (char &c : name)
                if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
            r.name_hash = HashText(name);
            r.name_offset = uint32_t(names_.size());
            r.name_length = uint16_t(name.size());
            names_ += name;

            const int64_t hour = HourOf(pkt.ts);
            const CachedZone &zone = ZoneOfName(name, r.name_hash);
            ZoneHour &z = zones_[{hour, zone.zone_hash}];
            if (z.queries + z.responses == 0) {
                z.hour = hour;
                z.zone = zone.zone;
            }
            (m.qr ? z.responses : z.queries) += 1;
            if (m.qr) ++z.rcodes[m.rcode];
            z.names.Add(r.name_hash);
            z.sources.Add(HashAddress(pkt.src));
            AddExample(z.examples, ZoneHour::EXAMPLES, name);
        }
    }
    records_.push_back(r);
    // The name arena's offsets are 32-bit: flush well before 4 GiB of names.
    if (records_.size() >= FLUSH_RECORDS || names_.size() > (size_t(1) << 30)) [[unlikely]] Fold();
}

std::vector<uint32_t> Accumulator::SortedOrder() const {
    const size_t n = records_.size();
    std::vector<uint32_t> order(n);
    if (n == 0) return order;
    // The common case, IPv4 sources over a few days with the records in time order (packets are read in
    // time order): a stable radix sort on (day, address) with the index below, which keeps time order
    // within each source-day.
    bool radix = n <= (size_t(1) << INDEX_BITS);
    int64_t min_day = records_[0].day, max_day = records_[0].day;
    for (size_t i = 0; i < n && radix; ++i) {
        const Record &r = records_[i];
        radix = r.src.family == 4 && (i == 0 || r.ts >= records_[i - 1].ts);
        min_day = std::min(min_day, r.day);
        max_day = std::max(max_day, r.day);
    }
    constexpr int DAY_BITS = 64 - 32 - INDEX_BITS;
    if (radix && uint64_t(max_day - min_day) < (uint64_t(1) << DAY_BITS)) {
        std::vector<uint64_t> keys(n), scratch;
        for (size_t i = 0; i < n; ++i) {
            const Record &r = records_[i];
            keys[i] = uint64_t(r.day - min_day) << (32 + INDEX_BITS) | uint64_t(r.src.V4HostOrder()) << INDEX_BITS | i;
        }
        RadixSort(keys, scratch, INDEX_BITS);
        for (size_t i = 0; i < n; ++i)
            order[i] = uint32_t(keys[i] & ((uint64_t(1) << INDEX_BITS) - 1));
        return order;
    }
    struct SortKey {
        int64_t day;
        uint8_t family;
        uint64_t high, low;  // the address's bytes, big endian: IpAddress order
        TimestampNs ts;
        uint32_t index;
        bool operator<(const SortKey &o) const {
            if (day != o.day) return day < o.day;
            if (family != o.family) return family < o.family;
            if (high != o.high) return high < o.high;
            if (low != o.low) return low < o.low;
            if (ts != o.ts) return ts < o.ts;
            return index < o.index;
        }
    };
    std::vector<SortKey> keys(n);
    for (size_t i = 0; i < n; ++i) {
        const Record &r = records_[i];
        keys[i] =
            SortKey{r.day, r.src.family, Ipv6Less::Word(r.src.bytes.data()), Ipv6Less::Word(r.src.bytes.data() + 8),
                    r.ts,  uint32_t(i)};
    }
    std::sort(keys.begin(), keys.end());
    for (size_t i = 0; i < n; ++i)
        order[i] = keys[i].index;
    return order;
}

void Accumulator::Fold() {
    // By day, source and time (then arrival): each source-day's records become one piece, its gaps in order.
    // The records stay where they are and their indexes are sorted: sorting the records themselves moved a
    // 72-byte record per step, and was most of the DNS study's cost at the end of an ingest.
    std::vector<uint32_t> order = SortedOrder();
    auto record = [&](size_t k) -> const Record & { return records_[order[k]]; };
    auto same_source_day = [](const Record &a, const Record &b) { return a.day == b.day && a.src == b.src; };
    std::vector<uint64_t> hashes;
    std::vector<SourceDay> pieces;
    for (size_t i = 0; i < order.size();) {
        size_t j = i;
        const Record &first = record(i);
        while (j < order.size() && same_source_day(record(j), first))
            ++j;
        SourceDay piece;
        piece.day = first.day;
        piece.address = first.src;
        piece.first_ts = first.ts;
        piece.last_ts = record(j - 1).ts;
        hashes.clear();
        for (size_t k = i; k < j; ++k) {
            const Record &r = record(k);
            if (k > i) piece.gaps.Add(r.ts - record(k - 1).ts);
            (r.flags & RESPONSE ? piece.responses : piece.queries) += 1;
            piece.bytes += r.wire_len;
            if (r.flags & BY_PORT) ++piece.by_port;
            if ((r.flags & PARSED) && (r.flags & RESPONSE)) {
                piece.answers += r.answers;
                ++piece.rcodes[r.rcode];
            }
            if (r.flags & EDNS) ++piece.edns;
            if (r.flags & DNSSEC_OK) ++piece.dnssec_ok;
            if (r.flags & QUESTION) {
                ++piece.qtypes[r.qtype];
                hashes.push_back(r.name_hash);
                if (piece.examples.size() < SourceDay::EXAMPLES)
                    AddExample(piece.examples, SourceDay::EXAMPLES, names_.substr(r.name_offset, r.name_length));
            }
        }
        std::sort(hashes.begin(), hashes.end());
        hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
        if (hashes.size() > CappedSet::CAP) {
            hashes.resize(CappedSet::CAP);
            piece.names.capped = true;
        }
        piece.names.hashes = hashes;
        if (enrichment_) piece.research = enrichment_->Lookup(first.src).research;
        pieces.push_back(std::move(piece));
        i = j;
    }
    records_.clear();
    names_.clear();
    if (sources_.empty()) {
        sources_ = std::move(pieces);
        return;
    }
    // A fold before this one (the buffer filled): the earlier records first, so that the gap between them counts.
    std::vector<SourceDay> merged;
    merged.reserve(sources_.size() + pieces.size());
    size_t a = 0, b = 0;
    while (a < sources_.size() || b < pieces.size()) {
        const int c = a == sources_.size() ? 1
                      : b == pieces.size()
                          ? -1
                          : CompareDayAddress(sources_[a].day, sources_[a].address, pieces[b].day, pieces[b].address);
        if (c < 0) {
            merged.push_back(std::move(sources_[a++]));
        } else if (c > 0) {
            merged.push_back(std::move(pieces[b++]));
        } else {
            sources_[a].Merge(pieces[b++]);
            merged.push_back(std::move(sources_[a++]));
        }
    }
    sources_ = std::move(merged);
}

std::vector<SourceDay> Accumulator::TakeSources() {
    Fold();
    return std::exchange(sources_, {});
}

std::vector<ZoneHour> Accumulator::TakeZones() {
    std::vector<ZoneHour> out;
    out.reserve(zones_.size());
    for (auto &[k, v] : zones_) out.push_back(std::move(v));
    zones_.clear();
    std::sort(out.begin(), out.end(),
              [](const ZoneHour &a, const ZoneHour &b) { return a.hour != b.hour ? a.hour < b.hour : a.zone < b.zone; });
    return out;
}

}  // namespace darkscope::dns
