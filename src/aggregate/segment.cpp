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

// a = a ∪ b for sorted, unique vectors, in a's own buffer: merged from the back into the room made at
// its end, then shifted down over the slots that duplicates left. A day's segment unites 24 hours
// into sets of hundreds of thousands of sources; a new vector per union was most of the cost.
template <typename T>
void UniteSorted(std::vector<T> &a, const std::vector<T> &b) {
    if (b.empty()) return;
    if (a.empty()) {
        a = b;
        return;
    }
    if (a.back() < b.front()) {  // hours often add sources above all those seen
        a.insert(a.end(), b.begin(), b.end());
        return;
    }
    const size_t n = a.size(), m = b.size();
    a.resize(n + m);
    size_t i = n, j = m, out = n + m;
    while (j > 0) {
        if (i > 0 && b[j - 1] < a[i - 1]) {
            a[--out] = a[--i];
        } else {
            if (i > 0 && !(a[i - 1] < b[j - 1])) --i;  // equal: keep one
            a[--out] = b[--j];
        }
    }
    // a[0, i) is already in place; the merged tail starts at `out`.
    if (out != i) {
        std::move(a.begin() + long(out), a.end(), a.begin() + long(i));
        a.resize(a.size() - (out - i));
    }
}

}  // namespace

SegmentRow &Segment::Row(uint32_t key) {
    if (!indexed_) {
        index_.Clear(rows_.size() * 2 + 64);
        for (size_t i = 0; i < rows_.size(); ++i) index_[rows_[i].key] = uint32_t(i + 1);
        indexed_ = true;
    }
    normalized_ = false;
    uint32_t &pos = index_[key];
    if (pos == 0) {
        rows_.emplace_back().key = key;
        pos = uint32_t(rows_.size());
    }
    return rows_[pos - 1];
}

void Segment::Normalize() {
    if (normalized_) return;
    std::sort(rows_.begin(), rows_.end(), [](const SegmentRow &a, const SegmentRow &b) { return a.key < b.key; });
    for (auto &r : rows_) {
        SortUnique(r.v4);
        SortUnique(r.v6);
    }
    indexed_ = false;
    normalized_ = true;
}

void Segment::Merge(const Segment &other) { MergeRows<false>(other); }

void Segment::Merge(Segment &&other) {
    if (rows_.empty()) {  // the first of a period's segments: taken as it is
        *this = std::move(other);
        other = Segment();
        return;
    }
    MergeRows<true>(other);
    other = Segment();
}

// MOVE: rows only `other` has are moved out of it (it is left in an unspecified state); otherwise
// `other` is only read.
template <bool MOVE>
void Segment::MergeRows(std::conditional_t<MOVE, Segment &, const Segment &> other) {
    if (!normalized_ || !other.normalized_) {
        for (const auto &o : other.rows_) {
            SegmentRow &r = Row(o.key);
            r.packets += o.packets;
            r.bytes += o.bytes;
            r.v4.insert(r.v4.end(), o.v4.begin(), o.v4.end());
            r.v6.insert(r.v6.end(), o.v6.begin(), o.v6.end());
        }
        return;
    }
    // Both sorted by key: one merge pass over the rows, and an ordered union of each row's sources.
    // When every key of other is already here (most hours of a day), the rows stay where they are.
    size_t new_keys = 0;
    for (size_t i = 0, j = 0; j < other.rows_.size();) {
        if (i == rows_.size() || other.rows_[j].key < rows_[i].key) ++new_keys, ++j;
        else if (rows_[i].key < other.rows_[j].key) ++i;
        else ++i, ++j;
    }
    if (new_keys == 0) {
        for (size_t i = 0, j = 0; j < other.rows_.size(); ++i) {
            if (rows_[i].key != other.rows_[j].key) continue;
            SegmentRow &r = rows_[i];
            const SegmentRow &o = other.rows_[j++];
            r.packets += o.packets;
            r.bytes += o.bytes;
            UniteSorted(r.v4, o.v4);
            UniteSorted(r.v6, o.v6);
        }
        return;
    }
    std::vector<SegmentRow> merged;
    merged.reserve(rows_.size() + other.rows_.size());
    size_t i = 0, j = 0;
    while (i < rows_.size() || j < other.rows_.size()) {
        if (j == other.rows_.size() || (i < rows_.size() && rows_[i].key < other.rows_[j].key)) {
            merged.push_back(std::move(rows_[i++]));
        } else if (i == rows_.size() || other.rows_[j].key < rows_[i].key) {
            auto &o = other.rows_[j++];
            if constexpr (MOVE) merged.push_back(std::move(o));
            else merged.push_back(SegmentRow{o.key, o.packets, o.bytes, o.v4, o.v6});
        } else {
            SegmentRow &r = rows_[i++];
            const SegmentRow &o = other.rows_[j++];
            r.packets += o.packets;
            r.bytes += o.bytes;
            UniteSorted(r.v4, o.v4);
            UniteSorted(r.v6, o.v6);
            merged.push_back(std::move(r));
        }
    }
    rows_.swap(merged);
    indexed_ = false;
}

Segment Segment::FromNormalizedRows(std::vector<SegmentRow> rows) {
    Segment s;
    s.rows_ = std::move(rows);
    s.indexed_ = false;
    s.normalized_ = true;
    return s;
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
    std::vector<SegmentRow> rows;
    rows.reserve(counts_.Size());
    counts_.ForEach([&](uint32_t key, const std::pair<uint64_t, uint64_t> &c) {
        rows.push_back(SegmentRow{key, c.first, c.second, {}, {}});
    });
    std::sort(rows.begin(), rows.end(), [](const SegmentRow &a, const SegmentRow &b) { return a.key < b.key; });
    // Both pair arrays are sorted by key first: walk them beside the rows.
    size_t i4 = 0, i6 = 0;
    for (SegmentRow &row : rows) {
        size_t start = i4;
        while (i4 < v4_pairs_.size() && uint32_t(v4_pairs_[i4] >> 32) == row.key) ++i4;
        row.v4.resize(i4 - start);
        for (size_t j = start; j < i4; ++j) row.v4[j - start] = uint32_t(v4_pairs_[j]);
        while (i6 < v6_pairs_.size() && v6_pairs_[i6].first == row.key) row.v6.push_back(v6_pairs_[i6++].second);
    }
    counts_.Reset();
    v4_pairs_.clear();
    v6_pairs_.clear();
    return Segment::FromNormalizedRows(std::move(rows));
}

uint64_t Segment::Packets() const {
    uint64_t n = 0;
    for (auto &r : rows_) n += r.packets;
    return n;
}

std::string Segment::Encode() {
    Normalize();
    std::string out;
    out.reserve(rows_.size() * 8 + 16);
    out.push_back(char(1));
    PutVarint(out, rows_.size());
    uint32_t prev_key = 0;
    for (auto &r : rows_) {
        PutVarint(out, r.key - prev_key);
        prev_key = r.key;
        PutVarint(out, r.packets);
        PutVarint(out, r.bytes);
        PutVarint(out, r.v4.size());
        PutVarint(out, r.v6.size());
    }
    for (auto &r : rows_) {
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
    s.rows_.resize(rows);
    uint64_t key = 0;
    uint64_t source_bytes = 0;  // at least one byte per IPv4 source, 16 per IPv6 source
    for (auto &r : s.rows_) {
        uint64_t delta, n4, n6;
        if (!in.Read(delta) || !in.Read(r.packets) || !in.Read(r.bytes) || !in.Read(n4) || !in.Read(n6))
            return std::nullopt;
        key += delta;
        if (key > UINT32_MAX || n4 > in.Remaining() || n6 > in.Remaining() / 16) return std::nullopt;
        source_bytes += n4 + 16 * n6;
        if (source_bytes > in.Remaining()) return std::nullopt;
        r.key = uint32_t(key);
        r.v4.resize(n4);
        r.v6.resize(n6);
    }
    for (auto &r : s.rows_) {
        uint64_t prev = 0;
        for (auto &a : r.v4) {
            uint64_t delta;
            if (!in.Read(delta)) return std::nullopt;
            prev += delta;
            if (prev > UINT32_MAX) return std::nullopt;
            a = uint32_t(prev);
        }
        for (auto &a : r.v6) {
            const uint8_t *p = in.Take(16);
            if (!p) return std::nullopt;
            std::copy(p, p + 16, a.begin());
        }
    }
    if (!in.AtEnd()) return std::nullopt;
    // Written normalised; check rather than trust, since a merge relies on the order.
    for (size_t i = 0; i < s.rows_.size(); ++i) {
        const SegmentRow &r = s.rows_[i];
        if ((i > 0 && r.key <= s.rows_[i - 1].key) || !std::is_sorted(r.v4.begin(), r.v4.end()) ||
            std::adjacent_find(r.v4.begin(), r.v4.end()) != r.v4.end() || !std::is_sorted(r.v6.begin(), r.v6.end()) ||
            std::adjacent_find(r.v6.begin(), r.v6.end()) != r.v6.end())
            return std::nullopt;
    }
    s.indexed_ = false;
    return s;
}

}  // namespace darkscope
