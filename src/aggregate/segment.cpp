#include "aggregate/segment.hpp"

#include <algorithm>
#include <iterator>

#include "common/varint.hpp"

namespace darkscope {
namespace {

template <typename T>
void SortUnique(std::vector<T> &v) {
    if (v.size() < 2) return;
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
}

// |a ∪ b| of sorted, unique ranges, without writing it: lets a merge size its arrays exactly, so
// that a day's segments, united hour after hour, carry no spare capacity.
template <typename T>
size_t UnionSize(std::span<const T> a, std::span<const T> b) {
    if (a.empty() || b.empty() || a.back() < b.front() || b.back() < a.front()) return a.size() + b.size();
    size_t i = 0, j = 0, common = 0;
    while (i < a.size() && j < b.size()) {
        if (a[i] < b[j]) ++i;
        else if (b[j] < a[i]) ++j;
        else ++common, ++i, ++j;
    }
    return a.size() + b.size() - common;
}

// Appends a ∪ b (sorted, unique) to out, whose capacity is already enough.
template <typename T>
void AppendUnion(std::vector<T> &out, std::span<const T> a, std::span<const T> b) {
    if (b.empty() || a.empty() || a.back() < b.front()) {  // hours often add sources above all those seen
        out.insert(out.end(), a.begin(), a.end());
        out.insert(out.end(), b.begin(), b.end());
        return;
    }
    std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
}

}  // namespace

Segment Segment::FromRows(std::vector<SegmentRow> rows) {
    std::sort(rows.begin(), rows.end(), [](const SegmentRow &a, const SegmentRow &b) { return a.key < b.key; });
    Segment s;
    for (size_t i = 0; i < rows.size();) {
        SegmentRow &r = rows[i];
        size_t j = i + 1;
        for (; j < rows.size() && rows[j].key == r.key; ++j) {
            r.packets += rows[j].packets;
            r.bytes += rows[j].bytes;
            r.v4.insert(r.v4.end(), rows[j].v4.begin(), rows[j].v4.end());
            r.v6.insert(r.v6.end(), rows[j].v6.begin(), rows[j].v6.end());
        }
        SortUnique(r.v4);
        SortUnique(r.v6);
        s.v4_.insert(s.v4_.end(), r.v4.begin(), r.v4.end());
        s.v6_.insert(s.v6_.end(), r.v6.begin(), r.v6.end());
        s.heads_.push_back(Head{r.key, uint32_t(s.v4_.size()), uint32_t(s.v6_.size()), r.packets, r.bytes});
        i = j;
    }
    return s;
}

void Segment::Merge(const Segment &other) {
    if (other.Empty()) return;
    if (Empty()) {
        *this = other;
        return;
    }
    MergeFrom(other);
}

void Segment::Merge(Segment &&other) {
    if (Empty()) *this = std::move(other);
    else if (!other.Empty()) MergeFrom(other);
    other = Segment();
}

// One pass to size the result exactly, one to write it; both walk the two key-sorted head arrays.
template <typename SegmentRef>
void Segment::MergeFrom(SegmentRef &&other_ref) {
    const Segment &other = other_ref;
    size_t heads = 0, v4 = 0, v6 = 0;
    for (size_t i = 0, j = 0; i < Size() || j < other.Size(); ++heads) {
        if (j == other.Size() || (i < Size() && heads_[i].key < other.heads_[j].key)) {
            const SegmentRowView a = Row(i++);
            v4 += a.v4.size(), v6 += a.v6.size();
        } else if (i == Size() || other.heads_[j].key < heads_[i].key) {
            const SegmentRowView b = other.Row(j++);
            v4 += b.v4.size(), v6 += b.v6.size();
        } else {
            const SegmentRowView a = Row(i++), b = other.Row(j++);
            v4 += UnionSize(a.v4, b.v4);
            v6 += UnionSize(a.v6, b.v6);
        }
    }
    Segment out;
    out.heads_.reserve(heads);
    out.v4_.reserve(v4);
    out.v6_.reserve(v6);
    auto push = [&](uint32_t key, uint64_t packets, uint64_t bytes) {
        out.heads_.push_back(Head{key, uint32_t(out.v4_.size()), uint32_t(out.v6_.size()), packets, bytes});
    };
    for (size_t i = 0, j = 0; i < Size() || j < other.Size();) {
        if (j == other.Size() || (i < Size() && heads_[i].key < other.heads_[j].key)) {
            const SegmentRowView a = Row(i++);
            out.v4_.insert(out.v4_.end(), a.v4.begin(), a.v4.end());
            out.v6_.insert(out.v6_.end(), a.v6.begin(), a.v6.end());
            push(a.key, a.packets, a.bytes);
        } else if (i == Size() || other.heads_[j].key < heads_[i].key) {
            const SegmentRowView b = other.Row(j++);
            out.v4_.insert(out.v4_.end(), b.v4.begin(), b.v4.end());
            out.v6_.insert(out.v6_.end(), b.v6.begin(), b.v6.end());
            push(b.key, b.packets, b.bytes);
        } else {
            const SegmentRowView a = Row(i++), b = other.Row(j++);
            AppendUnion(out.v4_, a.v4, b.v4);
            AppendUnion(out.v6_, a.v6, b.v6);
            push(a.key, a.packets + b.packets, a.bytes + b.bytes);
        }
    }
    *this = std::move(out);
}

void RadixSort(std::vector<uint64_t> &values, std::vector<uint64_t> &scratch, int from_bit) {
    if (values.size() < 4096) {
        std::sort(values.begin(), values.end());
        return;
    }
    scratch.resize(values.size());
    std::vector<uint32_t> counts(1 << 16);
    for (int shift = from_bit; shift < 64; shift += 16) {
        std::fill(counts.begin(), counts.end(), 0);
        for (uint64_t v : values) ++counts[(v >> shift) & 0xFFFF];
        if (counts[(values[0] >> shift) & 0xFFFF] == values.size()) continue;  // every value shares this digit
        uint32_t sum = 0;
        for (auto &c : counts) {
            uint32_t n = c;
            c = sum;
            sum += n;
        }
        for (uint64_t v : values) scratch[counts[(v >> shift) & 0xFFFF]++] = v;
        values.swap(scratch);
    }
}

Segment SegmentBuilder::Build() {
    // Pairs arrive in ascending source order (FlushHour walks records sorted by source), so a stable
    // sort on the key half leaves each key's sources sorted: half the passes of a full sort.
    RadixSort(v4_pairs_, sort_scratch_, v4_sources_ascending_ ? 32 : 0);
    v4_sources_ascending_ = true;
    v4_pairs_.erase(std::unique(v4_pairs_.begin(), v4_pairs_.end()), v4_pairs_.end());
    std::sort(v6_pairs_.begin(), v6_pairs_.end());
    v6_pairs_.erase(std::unique(v6_pairs_.begin(), v6_pairs_.end()), v6_pairs_.end());
    Segment s;
    s.heads_.reserve(counts_.Size());
    counts_.ForEach([&](uint32_t key, const std::pair<uint64_t, uint64_t> &c) {
        s.heads_.push_back(Segment::Head{key, 0, 0, c.first, c.second});
    });
    std::sort(s.heads_.begin(), s.heads_.end(), [](const Segment::Head &a, const Segment::Head &b) { return a.key < b.key; });
    // Both pair arrays are sorted by key first: walk them beside the rows.
    s.v4_.resize(v4_pairs_.size());
    for (size_t i = 0; i < v4_pairs_.size(); ++i) s.v4_[i] = uint32_t(v4_pairs_[i]);
    s.v6_.reserve(v6_pairs_.size());
    size_t i4 = 0, i6 = 0;
    for (Segment::Head &h : s.heads_) {
        while (i4 < v4_pairs_.size() && uint32_t(v4_pairs_[i4] >> 32) == h.key) ++i4;
        while (i6 < v6_pairs_.size() && v6_pairs_[i6].first == h.key) s.v6_.push_back(v6_pairs_[i6++].second);
        h.v4_end = uint32_t(i4);
        h.v6_end = uint32_t(i6);
    }
    counts_.Reset();
    v4_pairs_.clear();
    v6_pairs_.clear();
    return s;
}

uint64_t Segment::Packets() const {
    uint64_t n = 0;
    for (const Head &h : heads_) n += h.packets;
    return n;
}

uint64_t Segment::Bytes() const {
    uint64_t n = 0;
    for (const Head &h : heads_) n += h.bytes;
    return n;
}

std::string Segment::Encode() const {
    std::string out;
    out.reserve(heads_.size() * 8 + v4_.size() * 2 + v6_.size() * 16 + 16);
    out.push_back(char(1));
    PutVarint(out, heads_.size());
    uint32_t prev_key = 0;
    for (size_t i = 0; i < Size(); ++i) {
        const SegmentRowView r = Row(i);
        PutVarint(out, r.key - prev_key);
        prev_key = r.key;
        PutVarint(out, r.packets);
        PutVarint(out, r.bytes);
        PutVarint(out, r.v4.size());
        PutVarint(out, r.v6.size());
    }
    for (size_t i = 0; i < Size(); ++i) {
        const SegmentRowView r = Row(i);
        uint32_t prev = 0;
        for (uint32_t a : r.v4) {
            PutVarint(out, a - prev);
            prev = a;
        }
        for (auto &a : r.v6) out.append(reinterpret_cast<const char *>(a.data()), 16);
    }
    return out;
}

std::optional<Segment> Segment::Decode(std::string_view bytes) {
    Segment s;
    if (bytes.empty()) return s;
    if (uint8_t(bytes[0]) != 1) return std::nullopt;
    VarintReader in(bytes.substr(1));
    uint64_t rows = 0;
    // Every row takes at least five bytes: a count beyond that is corrupt, not a reason to allocate.
    if (!in.Read(rows) || rows > in.Remaining() / 5) return std::nullopt;
    s.heads_.resize(rows);
    uint64_t key = 0;
    uint64_t n4_total = 0, n6_total = 0;
    for (size_t i = 0; i < rows; ++i) {
        Head &h = s.heads_[i];
        uint64_t delta, n4, n6;
        if (!in.Read(delta) || !in.Read(h.packets) || !in.Read(h.bytes) || !in.Read(n4) || !in.Read(n6))
            return std::nullopt;
        key += delta;
        // Keys strictly ascending: a zero delta after the first row is a repeated key.
        if (key > UINT32_MAX || (i > 0 && delta == 0)) return std::nullopt;
        n4_total += n4;
        n6_total += n6;
        // At least one byte per IPv4 source and 16 per IPv6 source remain to be read.
        if (n4_total + 16 * n6_total > in.Remaining() || n4_total > UINT32_MAX || n6_total > UINT32_MAX)
            return std::nullopt;
        h.key = uint32_t(key);
        h.v4_end = uint32_t(n4_total);
        h.v6_end = uint32_t(n6_total);
    }
    s.v4_.resize(n4_total);
    s.v6_.resize(n6_total);
    uint32_t b4 = 0, b6 = 0;
    for (const Head &h : s.heads_) {
        uint64_t prev = 0;
        // Written sorted and unique; checked rather than trusted, since a merge relies on the order:
        // every delta after a row's first must be positive.
        for (uint32_t k = b4; k < h.v4_end; ++k) {
            uint64_t delta;
            if (!in.Read(delta) || (k > b4 && delta == 0)) return std::nullopt;
            prev += delta;
            if (prev > UINT32_MAX) return std::nullopt;
            s.v4_[k] = uint32_t(prev);
        }
        for (uint32_t k = b6; k < h.v6_end; ++k) {
            const uint8_t *p = in.Take(16);
            if (!p) return std::nullopt;
            std::copy(p, p + 16, s.v6_[k].begin());
            if (k > b6 && !(s.v6_[k - 1] < s.v6_[k])) return std::nullopt;
        }
        b4 = h.v4_end;
        b6 = h.v6_end;
    }
    if (!in.AtEnd()) return std::nullopt;
    return s;
}

}  // namespace darkscope
