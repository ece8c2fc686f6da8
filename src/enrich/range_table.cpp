#include "enrich/range_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "enrich/country.hpp"

namespace darkscope {
namespace {

constexpr char MAGIC[8] = {'D', 'S', 'R', 'A', 'N', 'G', 'E', '1'};

template <typename T>
void Put(std::string &out, T v) {
    out.append(reinterpret_cast<const char *>(&v), sizeof v);
}

class Reader {
public:
    Reader(std::string_view bytes, const std::filesystem::path &path) : bytes_(bytes), path_(path) {}
    template <typename T>
    T Get() {
        T v;
        std::memcpy(&v, Take(sizeof v), sizeof v);
        return v;
    }
    const char *Take(size_t n) {
        if (n > bytes_.size() - pos_) throw std::runtime_error(fmt::format("{}: truncated lookup file", path_.string()));
        const char *p = bytes_.data() + pos_;
        pos_ += n;
        return p;
    }
    size_t Remaining() const { return bytes_.size() - pos_; }

private:
    std::string_view bytes_;
    size_t pos_ = 0;
    const std::filesystem::path &path_;
};

// A 16-byte address + 1, for joining adjacent IPv6 ranges.
std::array<uint8_t, 16> Next(std::array<uint8_t, 16> a) {
    for (int i = 15; i >= 0; --i)
        if (++a[size_t(i)] != 0) break;
    return a;
}

// Splits a CSV line on commas outside double quotes ("" inside quotes is a quote).
std::vector<std::string> SplitCsv(std::string_view line) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                fields.back() += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                fields.back() += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            fields.emplace_back();
        } else if (c != '\r') {
            fields.back() += c;
        }
    }
    return fields;
}

}  // namespace

void RangeTable::Add(const IpAddress &first, const IpAddress &last, uint32_t value) {
    if (first.IsV4()) v4.push_back({first.V4HostOrder(), last.V4HostOrder(), value});
    else v6.push_back({first.bytes, last.bytes, value});
}

size_t RangeTable::Finish() {
    size_t dropped = 0;
    std::sort(v4.begin(), v4.end(), [](const V4 &a, const V4 &b) { return a.first < b.first; });
    std::vector<V4> j4;
    for (const V4 &r : v4) {
        if (r.last < r.first) {
            ++dropped;
            continue;
        }
        if (!j4.empty() && r.first <= j4.back().last) {
            ++dropped;
            continue;
        }
        if (!j4.empty() && j4.back().value == r.value && j4.back().last + 1 == r.first) j4.back().last = r.last;
        else j4.push_back(r);
    }
    v4.swap(j4);
    std::sort(v6.begin(), v6.end(), [](const V6 &a, const V6 &b) { return a.first < b.first; });
    std::vector<V6> j6;
    for (const V6 &r : v6) {
        if (r.last < r.first || (!j6.empty() && r.first <= j6.back().last)) {
            ++dropped;
            continue;
        }
        if (!j6.empty() && j6.back().value == r.value && Next(j6.back().last) == r.first) j6.back().last = r.last;
        else j6.push_back(r);
    }
    v6.swap(j6);
    return dropped;
}

uint32_t RangeTable::Lookup(const IpAddress &a) const {
    if (a.IsV4()) {
        const uint32_t x = a.V4HostOrder();
        auto it = std::upper_bound(v4.begin(), v4.end(), x, [](uint32_t v, const V4 &r) { return v < r.first; });
        if (it == v4.begin()) return 0;
        --it;
        return x <= it->last ? it->value : 0;
    }
    if (a.IsV6()) {
        auto it = std::upper_bound(v6.begin(), v6.end(), a.bytes,
                                   [](const std::array<uint8_t, 16> &v, const V6 &r) { return v < r.first; });
        if (it == v6.begin()) return 0;
        --it;
        return a.bytes <= it->last ? it->value : 0;
    }
    return 0;
}

std::string_view RangeTable::Name(uint32_t value) const {
    auto it = names.find(value);
    return it == names.end() ? std::string_view() : std::string_view(it->second);
}

void RangeTable::Save(const std::filesystem::path &path) const {
    std::string out(MAGIC, sizeof MAGIC);
    Put(out, uint32_t(kind));
    Put(out, uint32_t(description.size()));
    out += description;
    Put(out, uint64_t(v4.size()));
    for (const V4 &r : v4) {
        Put(out, r.first);
        Put(out, r.last);
        Put(out, r.value);
    }
    Put(out, uint64_t(v6.size()));
    for (const V6 &r : v6) {
        out.append(reinterpret_cast<const char *>(r.first.data()), 16);
        out.append(reinterpret_cast<const char *>(r.last.data()), 16);
        Put(out, r.value);
    }
    Put(out, uint64_t(names.size()));
    for (const auto &[value, name] : names) {
        Put(out, value);
        Put(out, uint32_t(name.size()));
        out += name;
    }
    // Written beside and renamed: a reader never sees half a file.
    const std::filesystem::path tmp = path.string() + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        f.write(out.data(), std::streamsize(out.size()));
        if (!f) throw std::runtime_error(fmt::format("{}: cannot write", tmp.string()));
    }
    std::filesystem::rename(tmp, path);
}

bool RangeTable::HasMagic(const std::filesystem::path &path) {
    std::ifstream f(path, std::ios::binary);
    char head[sizeof MAGIC] = {};
    f.read(head, sizeof head);
    return f && std::memcmp(head, MAGIC, sizeof MAGIC) == 0;
}

RangeTable RangeTable::Load(const std::filesystem::path &path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error(fmt::format("{}: cannot open lookup file", path.string()));
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string bytes = ss.str();
    Reader in(bytes, path);
    if (std::memcmp(in.Take(sizeof MAGIC), MAGIC, sizeof MAGIC) != 0)
        throw std::runtime_error(fmt::format("{}: not a darkscope lookup file (no DSRANGE1 header)", path.string()));
    RangeTable t;
    const uint32_t kind = in.Get<uint32_t>();
    if (kind != uint32_t(RangeKind::COUNTRY) && kind != uint32_t(RangeKind::ASN))
        throw std::runtime_error(fmt::format("{}: unknown lookup kind {}", path.string(), kind));
    t.kind = RangeKind(kind);
    const uint32_t dlen = in.Get<uint32_t>();
    t.description.assign(in.Take(dlen), dlen);
    const uint64_t n4 = in.Get<uint64_t>();
    if (n4 > in.Remaining() / 12) throw std::runtime_error(fmt::format("{}: truncated lookup file", path.string()));
    t.v4.resize(n4);
    for (V4 &r : t.v4) {
        r.first = in.Get<uint32_t>();
        r.last = in.Get<uint32_t>();
        r.value = in.Get<uint32_t>();
    }
    const uint64_t n6 = in.Get<uint64_t>();
    if (n6 > in.Remaining() / 36) throw std::runtime_error(fmt::format("{}: truncated lookup file", path.string()));
    t.v6.resize(n6);
    for (V6 &r : t.v6) {
        std::memcpy(r.first.data(), in.Take(16), 16);
        std::memcpy(r.last.data(), in.Take(16), 16);
        r.value = in.Get<uint32_t>();
    }
    const uint64_t nn = in.Get<uint64_t>();
    for (uint64_t i = 0; i < nn; ++i) {
        const uint32_t value = in.Get<uint32_t>();
        const uint32_t len = in.Get<uint32_t>();
        t.names.emplace(value, std::string(in.Take(len), len));
    }
    for (size_t i = 1; i < t.v4.size(); ++i)
        if (t.v4[i].first <= t.v4[i - 1].last)
            throw std::runtime_error(fmt::format("{}: IPv4 ranges unsorted or overlapping", path.string()));
    return t;
}

void ReadAsnCsv(const std::filesystem::path &csv, RangeTable &into) {
    std::ifstream f(csv);
    if (!f) throw std::runtime_error(fmt::format("{}: cannot open", csv.string()));
    std::string line;
    size_t line_no = 0;
    while (std::getline(f, line)) {
        ++line_no;
        if (line.empty() || line[0] == '#') continue;
        auto fields = SplitCsv(line);
        auto bad = [&](const char *why) {
            return std::runtime_error(fmt::format("{}:{}: {}: {}", csv.string(), line_no, why, line));
        };
        if (fields.size() < 3) throw bad("expected first,last,asn[,organisation]");
        auto first = IpAddress::Parse(fields[0]), last = IpAddress::Parse(fields[1]);
        if (!first || !last || first->family != last->family) throw bad("not an address range");
        uint32_t asn = 0;
        try {
            const unsigned long v = std::stoul(fields[2]);
            if (v > UINT32_MAX) throw bad("AS number out of range");
            asn = uint32_t(v);
        } catch (const std::logic_error &) {
            throw bad("not an AS number");
        }
        into.Add(*first, *last, asn);
        if (fields.size() >= 4 && !fields[3].empty() && !into.names.count(asn)) into.names.emplace(asn, fields[3]);
    }
}

std::vector<std::string> ReadRirDelegated(const std::filesystem::path &file, RangeTable &into) {
    std::ifstream f(file);
    if (!f) throw std::runtime_error(fmt::format("{}: cannot open", file.string()));
    std::vector<std::string> headers;
    std::string line;
    size_t line_no = 0;
    while (std::getline(f, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> fields;
        std::stringstream ss(line);
        for (std::string field; std::getline(ss, field, '|');) fields.push_back(field);
        auto bad = [&](const char *why) {
            return std::runtime_error(fmt::format("{}:{}: {}: {}", file.string(), line_no, why, line));
        };
        // Version line: version|registry|serial|records|startdate|enddate|UTCoffset
        if (!fields.empty() && !fields[0].empty() && std::isdigit(uint8_t(fields[0][0]))) {
            if (fields.size() < 3) throw bad("short version line");
            headers.push_back(fmt::format("{} serial {}", fields[1], fields[2]));
            continue;
        }
        if (fields.size() >= 6 && fields.back() == "summary") continue;
        if (fields.size() < 7) throw bad("expected registry|cc|type|start|value|date|status");
        const std::string &cc = fields[1], &type = fields[2], &status = fields[6];
        if (type != "ipv4" && type != "ipv6") continue;
        if (status != "allocated" && status != "assigned") continue;
        const uint16_t country = CountryIndex(cc);
        if (country == UNKNOWN_COUNTRY) continue;
        auto start = IpAddress::Parse(fields[3]);
        if (!start || (type == "ipv4") != start->IsV4()) throw bad("bad start address");
        uint64_t value = 0;
        try {
            value = std::stoull(fields[4]);
        } catch (const std::logic_error &) {
            throw bad("bad value");
        }
        if (type == "ipv4") {
            // The value is a count of addresses, not always a power of two.
            const uint64_t first = start->V4HostOrder();
            if (value == 0 || first + value - 1 > UINT32_MAX) throw bad("range runs past 255.255.255.255");
            into.Add(*start, IpAddress::V4(uint32_t(first + value - 1)), country);
        } else {
            if (value == 0 || value > 128) throw bad("bad IPv6 prefix length");
            IpAddress last = *start;
            for (size_t bit = size_t(value); bit < 128; ++bit) last.bytes[bit / 8] |= uint8_t(0x80u >> (bit % 8));
            into.Add(*start, last, country);
        }
    }
    return headers;
}

}  // namespace darkscope
