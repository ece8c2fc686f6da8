#include "aggregate/source_chunk.hpp"

#include <algorithm>
#include <bit>
#include <iterator>

#include "common/flat_map.hpp"
#include "common/varint.hpp"

namespace darkscope {
namespace {

void PutSet(std::string &out, std::span<const uint32_t> values) {
    PutVarint(out, values.size());
    // Room for the longest deltas first (five bytes for 32 bits), then written without a check per byte.
    const size_t at = out.size();
    out.resize(at + values.size() * 5);
    char *p = out.data() + at;
    uint32_t prev = 0;
    for (uint32_t v : values) {
        p = PutVarint(p, v - prev);
        prev = v;
    }
    out.resize(size_t(p - out.data()));
}

bool GetSet(VarintReader &in, std::vector<uint32_t> &values) {
    uint64_t n;
    if (!in.Read(n) || n > in.Remaining()) return false;  // each value takes at least a byte
    values.resize(n);
    uint64_t prev = 0;
    for (size_t i = 0; i < n; ++i) {
        uint64_t delta;
        if (!in.Read(delta) || (i > 0 && delta == 0)) return false;  // sorted and unique
        prev += delta;
        if (prev > UINT32_MAX) return false;
        values[i] = uint32_t(prev);
    }
    return true;
}

std::vector<uint32_t> Union(const std::vector<uint32_t> &a, const std::vector<uint32_t> &b) {
    std::vector<uint32_t> out;
    out.reserve(a.size() + b.size());
    std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
    return out;
}

}  // namespace

void SourceDay::Merge(const SourceDay &other) {
    if (other.packets == 0) return;
    if (packets == 0 || other.first_ts < first_ts) first_ts = other.first_ts;
    if (packets == 0 || other.last_ts > last_ts) last_ts = other.last_ts;
    packets += other.packets;
    bytes += other.bytes;
    destinations = Union(destinations, other.destinations);
    services = Union(services, other.services);
    sensors = Union(sensors, other.sensors);
    syn_packets += other.syn_packets;
    for (size_t i = 0; i < FINGERPRINT_RULES; ++i)
        rule_packets[i] += other.rule_packets[i];
    if (country == 0) country = other.country;
    if (asn == 0) asn = other.asn;
    if (research == 0) research = other.research;
}

uint16_t SourceBucket(const IpAddress &src) {
    if (src.IsV4()) return src.bytes[0];
    uint64_t h = 0;
    for (uint8_t b : src.bytes)
        h = h * 31 + b;
    return uint16_t(256 + (Mix64(h) & 0xFF));
}

SourceChunkWriter::SourceChunkWriter(size_t records) {
    out_.reserve(records * 24 + 8);
    out_.push_back(char(2));
    PutVarint(out_, records);
}

void SourceChunkWriter::Add(const SourceDayCounts &r, std::span<const uint32_t> destinations,
                            std::span<const uint32_t> services, std::span<const uint32_t> sensors) {
    out_.push_back(char(r.src.family));
    out_.append(reinterpret_cast<const char *>(r.src.bytes.data()), r.src.IsV4() ? 4 : 16);
    PutVarint(out_, r.packets);
    PutVarint(out_, r.bytes);
    PutVarint(out_, ZigZag(r.first_ts));
    PutVarint(out_, uint64_t(r.last_ts - r.first_ts));
    PutSet(out_, destinations);
    PutSet(out_, services);
    PutSet(out_, sensors);
    PutVarint(out_, r.syn_packets);
    uint64_t mask = 0;
    for (size_t i = 0; i < FINGERPRINT_RULES; ++i)
        mask |= uint64_t(r.rule_packets[i] != 0) << i;
    PutVarint(out_, mask);
    for (size_t i = 0; i < FINGERPRINT_RULES; ++i)
        if (r.rule_packets[i] != 0) PutVarint(out_, r.rule_packets[i]);
    PutVarint(out_, r.country);
    PutVarint(out_, r.asn);
    PutVarint(out_, r.research);
}

std::string EncodeSourceChunk(std::vector<SourceDay> &records) {
    std::sort(records.begin(), records.end(), [](const SourceDay &a, const SourceDay &b) { return a.src < b.src; });
    SourceChunkWriter w(records.size());
    for (const SourceDay &r : records)
        w.Add(r, r.destinations, r.services, r.sensors);
    return w.Take();
}

std::optional<std::vector<SourceDay>> DecodeSourceChunk(std::string_view bytes) {
    if (bytes.empty() || (uint8_t(bytes[0]) != 1 && uint8_t(bytes[0]) != 2)) return std::nullopt;
    const bool v2 = uint8_t(bytes[0]) == 2;
    VarintReader in(bytes.substr(1));
    uint64_t count;
    // A record takes at least 13 bytes: a count beyond that is corrupt, not a reason to allocate.
    if (!in.Read(count) || count > in.Remaining() / 13) return std::nullopt;
    std::vector<SourceDay> records(count);
    for (SourceDay &r : records) {
        const uint8_t *family = in.Take(1);
        if (!family || (*family != 4 && *family != 6)) return std::nullopt;
        const uint8_t *addr = in.Take(*family == 4 ? 4 : 16);
        if (!addr) return std::nullopt;
        r.src = *family == 4 ? IpAddress::V4FromBytes(addr) : IpAddress::V6FromBytes(addr);
        uint64_t first, span;
        if (!in.Read(r.packets) || !in.Read(r.bytes) || !in.Read(first) || !in.Read(span)) return std::nullopt;
        r.first_ts = UnZigZag(first);
        if (span > uint64_t(INT64_MAX) || r.first_ts > INT64_MAX - TimestampNs(span)) return std::nullopt;
        r.last_ts = r.first_ts + TimestampNs(span);
        if (!GetSet(in, r.destinations) || !GetSet(in, r.services) || !GetSet(in, r.sensors)) return std::nullopt;
        if (v2) {
            uint64_t mask, country, asn, research;
            if (!in.Read(r.syn_packets) || !in.Read(mask) || mask >> FINGERPRINT_RULES != 0) return std::nullopt;
            for (size_t i = 0; i < FINGERPRINT_RULES; ++i)
                if ((mask >> i & 1) && (!in.Read(r.rule_packets[i]) || r.rule_packets[i] == 0)) return std::nullopt;
            if (!in.Read(country) || !in.Read(asn) || !in.Read(research)) return std::nullopt;
            if (country > 26 * 26 || asn > UINT32_MAX || research > UINT16_MAX) return std::nullopt;
            r.country = uint16_t(country);
            r.asn = uint32_t(asn);
            r.research = uint16_t(research);
        }
    }
    if (in.Remaining() != 0) return std::nullopt;
    for (size_t i = 1; i < records.size(); ++i)
        if (!(records[i - 1].src < records[i].src)) return std::nullopt;
    return records;
}

std::optional<uint64_t> SourceChunkCount(std::string_view bytes) {
    if (bytes.empty() || (uint8_t(bytes[0]) != 1 && uint8_t(bytes[0]) != 2)) return std::nullopt;
    VarintReader in(bytes.substr(1));
    uint64_t count;
    if (!in.Read(count)) return std::nullopt;
    return count;
}

namespace {

// Walks a version 2 chunk record by record, reading only each record's address and where it ends.
class RecordSkimmer {
public:
    explicit RecordSkimmer(std::string_view chunk) : in_(chunk) {
        const uint8_t *version = in_.Take(1);
        ok_ = version && *version == 2 && in_.Read(left_);
    }
    bool Ok() const { return ok_; }
    uint64_t Count() const { return left_; }
    // Moves to the next record: false at the end, or on bytes that are not a record (Ok() then says which).
    bool Next() {
        if (!ok_ || left_ == 0) return false;
        --left_;
        start_ = in_.Take(0);
        const uint8_t *family = in_.Take(1);
        if (!family || (*family != 4 && *family != 6)) return Fail();
        const uint8_t *addr = in_.Take(*family == 4 ? 4 : 16);
        if (!addr) return Fail();
        const IpAddress previous = address_;
        address_ = *family == 4 ? IpAddress::V4FromBytes(addr) : IpAddress::V6FromBytes(addr);
        if (started_ && !(previous < address_)) return Fail();
        started_ = true;
        uint64_t v;
        for (int i = 0; i < 4; ++i)  // packets, bytes, first, span
            if (!in_.Read(v)) return Fail();
        for (int set = 0; set < 3; ++set) {
            uint64_t n;
            if (!in_.Read(n) || n > in_.Remaining()) return Fail();
            for (uint64_t i = 0; i < n; ++i)
                if (!in_.Read(v)) return Fail();
        }
        uint64_t mask;
        if (!in_.Read(v) || !in_.Read(mask) || mask >> FINGERPRINT_RULES != 0) return Fail();
        for (int i = std::popcount(mask) + 3; i > 0; --i)  // the rules' counts, country, AS, research
            if (!in_.Read(v)) return Fail();
        return true;
    }
    const IpAddress &Address() const { return address_; }
    std::string_view Record() { return {reinterpret_cast<const char *>(start_), size_t(in_.Take(0) - start_)}; }
    bool AtEnd() const { return in_.AtEnd(); }

private:
    bool Fail() {
        ok_ = false;
        return false;
    }
    VarintReader in_;
    const uint8_t *start_ = nullptr;
    uint64_t left_ = 0;
    bool ok_ = false, started_ = false;
    IpAddress address_;
};

}  // namespace

std::optional<std::string> InterleaveSourceChunks(std::span<const std::string> parts) {
    std::vector<RecordSkimmer> skimmers;
    skimmers.reserve(parts.size());
    uint64_t count = 0;
    size_t size = 0;
    for (const std::string &p : parts) {
        RecordSkimmer &s = skimmers.emplace_back(p);
        if (!s.Ok()) return std::nullopt;
        count += s.Count();
        size += p.size();
    }
    std::string out;
    out.reserve(size + 10);
    out.push_back(char(2));
    PutVarint(out, count);
    // A part's next record, or its end, which must be that of its bytes too.
    auto next = [](RecordSkimmer &s) { return s.Next() ? 1 : s.Ok() && s.AtEnd() ? 0 : -1; };
    std::vector<RecordSkimmer *> live;  // each at its current record
    for (RecordSkimmer &s : skimmers) {
        const int r = next(s);
        if (r < 0) return std::nullopt;
        if (r > 0) live.push_back(&s);
    }
    while (!live.empty()) {
        size_t least = 0;
        for (size_t i = 1; i < live.size(); ++i) {
            if (live[i]->Address() == live[least]->Address()) return std::nullopt;  // not disjoint
            if (live[i]->Address() < live[least]->Address()) least = i;
        }
        // Two parts may also meet on an address that is least only later: the test above sees it then.
        const std::string_view record = live[least]->Record();
        out.append(record.data(), record.size());
        const int r = next(*live[least]);
        if (r < 0) return std::nullopt;
        if (r == 0) live.erase(live.begin() + std::ptrdiff_t(least));
    }
    return out;
}

std::vector<SourceDay> MergeSourceChunks(std::vector<SourceDay> a, std::vector<SourceDay> b) {
    std::vector<SourceDay> out;
    out.reserve(a.size() + b.size());
    size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        if (j == b.size() || (i < a.size() && a[i].src < b[j].src)) {
            out.push_back(std::move(a[i++]));
        } else if (i == a.size() || b[j].src < a[i].src) {
            out.push_back(std::move(b[j++]));
        } else {
            a[i].Merge(b[j++]);
            out.push_back(std::move(a[i++]));
        }
    }
    return out;
}

}  // namespace darkscope
