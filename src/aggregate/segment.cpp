#include "aggregate/segment.hpp"

#include <algorithm>
#include <bit>
#include <functional>
#include <future>
#include <iterator>
#include <stdexcept>
#include <system_error>
#include <type_traits>

#include "common/varint.hpp"

namespace darkscope {
namespace {

// How sources are ordered: IPv4 as numbers, IPv6 by Ipv6Less (not memcmp).
template <typename T>
using SourceLess = std::conditional_t<std::is_same_v<T, Ipv6Bytes>, Ipv6Less, std::less<T>>;

template <typename T>
void SortUnique(std::vector<T> &v) {
    if (v.size() < 2) return;
    std::sort(v.begin(), v.end(), SourceLess<T>{});
    v.erase(std::unique(v.begin(), v.end()), v.end());
}

// |a ∪ b| of sorted, unique ranges, without writing it: lets a merge size its arrays exactly, so
// that a day's segments, united hour after hour, carry no spare capacity.
template <typename T>
size_t UnionSize(std::span<const T> a, std::span<const T> b) {
    const SourceLess<T> less;
    if (a.empty() || b.empty() || less(a.back(), b.front()) || less(b.back(), a.front())) return a.size() + b.size();
    size_t i = 0, j = 0, common = 0;
    while (i < a.size() && j < b.size()) {
        if (less(a[i], b[j])) ++i;
        else if (less(b[j], a[i])) ++j;
        else ++common, ++i, ++j;
    }
    return a.size() + b.size() - common;
}

// Hands each value of a ∪ b (sorted, unique ranges) to f, in order; returns how many there were.
template <typename T, typename F>
uint64_t ForEachOfUnion(std::span<const T> a, std::span<const T> b, F &&f) {
    const SourceLess<T> less;
    uint64_t n = 0;
    for (size_t i = 0, j = 0; i < a.size() || j < b.size(); ++n) {
        if (j == b.size() || (i < a.size() && less(a[i], b[j]))) f(a[i++]);
        else if (i == a.size() || less(b[j], a[i])) f(b[j++]);
        else f(a[i++]), ++j;
    }
    return n;
}

// Appends a ∪ b (sorted, unique) to out, whose capacity is already enough.
template <typename T>
void AppendUnion(std::vector<T> &out, std::span<const T> a, std::span<const T> b) {
    const SourceLess<T> less;
    if (b.empty() || a.empty() || less(a.back(), b.front())) {  // hours often add sources above all those seen
        out.insert(out.end(), a.begin(), a.end());
        out.insert(out.end(), b.begin(), b.end());
        return;
    }
    std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out), less);
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
    } else if (!Packed()) {
        MergeFrom(other);
    } else if (other.Packed()) {
        Settle();
        other.Settle();
        MergePacked(other);
    } else {
        if (pending_.empty()) pending_.emplace_back();
        pending_[0].Merge(other);
        ClearArrays();  // a read copy of the encoding is stale now
        if (pending_[0].ArrayBytes() * 2 > packed_.size()) SettlePending();
    }
}

void Segment::Merge(Segment &&other) {
    if (Empty()) *this = std::move(other);
    else Merge(std::as_const(other));
    other = Segment();
}

void Segment::SettlePending() const {
    Segment pending = std::move(pending_[0]);
    pending_.clear();
    MergePacked(pending);
}

void Segment::ClearArrays() const {
    std::vector<Head>().swap(heads_);
    std::vector<uint32_t>().swap(v4_);
    std::vector<Ipv6Bytes>().swap(v6_);
}

void Segment::Pack() {
    if (Packed() || heads_.empty()) return;  // a packed one keeps its pending hours pending
    // Counted while unpacked: once packed_ is set, Packets() and Bytes() answer from these.
    packed_rows_ = heads_.size();
    packed_packets_ = Packets();
    packed_bytes_ = Bytes();
    packed_ = Encode();
    ClearArrays();
}

void Segment::Unpack() const {
    Settle();
    if (!Packed() || !heads_.empty()) return;
    std::optional<Segment> s = Decode(packed_);
    // packed_ is what this process encoded, or what DecodePacked checked: a failure here is a bug, and returning
    // left a segment whose row count promised rows it did not have (a reader walked past its arrays).
    if (!s) throw std::logic_error("segment: an encoding made or checked in this process does not decode");
    heads_ = std::move(s->heads_);
    v4_ = std::move(s->v4_);
    v6_ = std::move(s->v6_);
}

// Row by row over an unpacked segment, for MergePacked.
class SegmentCursor {
public:
    explicit SegmentCursor(const Segment &s) : s_(s) { Next(); }
    bool Valid() const { return valid_; }
    void Next() {
        valid_ = i_ < s_.heads_.size();
        if (!valid_) return;
        row_ = s_.Row(i_++);
        k4_ = k6_ = 0;
    }
    uint32_t Key() const { return row_.key; }
    uint64_t Packets() const { return row_.packets; }
    uint64_t Bytes() const { return row_.bytes; }
    uint64_t N4() const { return row_.v4.size(); }
    uint64_t N6() const { return row_.v6.size(); }
    uint32_t NextV4() { return row_.v4[k4_++]; }
    Ipv6Bytes NextV6() { return row_.v6[k6_++]; }
    /// Appends the row's sources in the encoded form (deltas, then 16-byte addresses).
    void CopySources(std::string &out) {
        uint32_t prev = 0;
        for (uint32_t a : row_.v4) {
            PutVarint(out, a - prev);
            prev = a;
        }
        for (const Ipv6Bytes &a : row_.v6) out.append(reinterpret_cast<const char *>(a.data()), 16);
    }

private:
    const Segment &s_;
    size_t i_ = 0;
    bool valid_ = false;
    SegmentRowView row_;
    size_t k4_ = 0, k6_ = 0;
};

// Row by row over an encoded segment (one Encode wrote, so trusted; the reader still never reads
// past the end): one reader on the row heads, one on the sources after them.
class PackedCursor {
public:
    explicit PackedCursor(std::string_view bytes) : heads_(bytes.substr(bytes.empty() ? 0 : 1)), sources_(std::string_view()) {
        heads_.Read(rows_);
        // The sources begin after every row head: skip the heads once with a second reader.
        VarintReader skip = heads_;
        skip.Skip(rows_ * 5);
        sources_ = skip;
        Next();
    }
    bool Valid() const { return valid_; }
    void Next() {
        valid_ = rows_ > 0;
        if (!valid_) return;
        --rows_;
        uint64_t delta;
        heads_.Read(delta);
        key_ += delta;
        heads_.Read(packets_);
        heads_.Read(bytes_);
        heads_.Read(n4_);
        heads_.Read(n6_);
        prev4_ = 0;
    }
    uint32_t Key() const { return uint32_t(key_); }
    uint64_t Packets() const { return packets_; }
    uint64_t Bytes() const { return bytes_; }
    uint64_t N4() const { return n4_; }
    uint64_t N6() const { return n6_; }
    uint32_t NextV4() {
        uint64_t d = 0;
        sources_.Read(d);
        prev4_ += d;
        return uint32_t(prev4_);
    }
    Ipv6Bytes NextV6() {
        Ipv6Bytes a{};
        if (const uint8_t *p = sources_.Take(16)) std::copy(p, p + 16, a.begin());
        return a;
    }
    /// Appends the row's sources as they are encoded: deltas restart at each row, so the bytes copy.
    void CopySources(std::string &out) {
        const uint8_t *begin = sources_.Take(0);
        SkipSources();
        const uint8_t *end = sources_.Take(0);
        out.append(reinterpret_cast<const char *>(begin), size_t(end - begin));
    }
    /// Moves to the first row whose key is at least `key`.
    void SkipTo(uint64_t key) {
        while (valid_ && key_ < key) {
            SkipSources();
            Next();
        }
    }

private:
    void SkipSources() {
        sources_.Skip(n4_);
        sources_.Take(16 * n6_);
    }
    VarintReader heads_, sources_;
    uint64_t rows_ = 0;
    bool valid_ = false;
    uint64_t key_ = 0, packets_ = 0, bytes_ = 0, n4_ = 0, n6_ = 0, prev4_ = 0;
};

namespace {

// Writes a segment's encoding row by row: heads and sources into two strings, joined at the end.
struct PackedWriter {
    std::string heads, sources;
    uint64_t rows = 0, packets = 0, bytes = 0;
    uint32_t prev_key = 0;
    void Head(uint32_t key, uint64_t row_packets, uint64_t row_bytes, uint64_t n4, uint64_t n6) {
        PutVarint(heads, key - prev_key);
        prev_key = key;
        PutVarint(heads, row_packets);
        PutVarint(heads, row_bytes);
        PutVarint(heads, n4);
        PutVarint(heads, n6);
        ++rows;
        packets += row_packets;
        bytes += row_bytes;
    }
    std::string Finish() {
        std::string out;
        out.reserve(heads.size() + sources.size() + 12);
        out.push_back(char(1));
        PutVarint(out, rows);
        out += heads;
        out += sources;
        return out;
    }
};

// One encoding of the rows that `writers` wrote for ascending ranges of keys: their heads, then their sources,
// in order. A range's first key was written as a delta from 0, and becomes one from the previous range's last.
std::string JoinRanges(const std::vector<PackedWriter> &writers) {
    uint64_t rows = 0;
    size_t size = 1 + VARINT_MAX_BYTES;  // the format byte and the row count
    for (const PackedWriter &w : writers) {
        rows += w.rows;
        size += w.heads.size() + w.sources.size();
    }
    std::string out;
    out.reserve(size);
    out.push_back(char(1));
    PutVarint(out, rows);
    uint32_t last_key = 0;
    for (const PackedWriter &w : writers) {
        if (w.rows == 0) continue;
        VarintReader heads(w.heads);
        uint64_t first_key = 0;
        heads.Read(first_key);
        PutVarint(out, first_key - last_key);
        out.append(w.heads, w.heads.size() - heads.Remaining());
        last_key = w.prev_key;
    }
    for (const PackedWriter &w : writers)
        out += w.sources;
    return out;
}

template <typename A, typename B>
void MergeRowsInto(PackedWriter &w, A &a, B &b) {
    while (a.Valid() || b.Valid()) {
        if (!b.Valid() || (a.Valid() && a.Key() < b.Key())) {
            w.Head(a.Key(), a.Packets(), a.Bytes(), a.N4(), a.N6());
            a.CopySources(w.sources);
            a.Next();
        } else if (!a.Valid() || b.Key() < a.Key()) {
            w.Head(b.Key(), b.Packets(), b.Bytes(), b.N4(), b.N6());
            b.CopySources(w.sources);
            b.Next();
        } else {
            uint64_t n4 = 0, n6 = 0;
            uint64_t left_a = a.N4(), left_b = b.N4();
            uint32_t va = left_a ? a.NextV4() : 0, vb = left_b ? b.NextV4() : 0;
            uint32_t prev = 0;
            auto put = [&](uint32_t v) {
                PutVarint(w.sources, v - prev);
                prev = v;
                ++n4;
            };
            while (left_a && left_b) {
                if (va < vb) {
                    put(va);
                    va = --left_a ? a.NextV4() : 0;
                } else if (vb < va) {
                    put(vb);
                    vb = --left_b ? b.NextV4() : 0;
                } else {
                    put(va);
                    va = --left_a ? a.NextV4() : 0;
                    vb = --left_b ? b.NextV4() : 0;
                }
            }
            for (; left_a; va = --left_a ? a.NextV4() : 0) put(va);
            for (; left_b; vb = --left_b ? b.NextV4() : 0) put(vb);
            // IPv6 sources are few: gathered and united plainly.
            std::vector<Ipv6Bytes> sa, sb, u;
            for (uint64_t k = 0; k < a.N6(); ++k) sa.push_back(a.NextV6());
            for (uint64_t k = 0; k < b.N6(); ++k) sb.push_back(b.NextV6());
            std::set_union(sa.begin(), sa.end(), sb.begin(), sb.end(), std::back_inserter(u), Ipv6Less{});
            for (const Ipv6Bytes &x : u) w.sources.append(reinterpret_cast<const char *>(x.data()), 16);
            n6 = u.size();
            w.Head(a.Key(), a.Packets() + b.Packets(), a.Bytes() + b.Bytes(), n4, n6);
            a.Next();
            b.Next();
        }
    }
}

}  // namespace

// The result's sources are written in order as they come: no sizing pass, no arrays.
void Segment::MergePacked(const Segment &other) const {
    PackedWriter w;
    w.heads.reserve(packed_.size() / 4);
    w.sources.reserve(packed_.size() + (other.Packed() ? other.packed_.size() : other.v4_.size() * 2));
    PackedCursor a(packed_);
    if (other.Packed()) {
        PackedCursor b(other.packed_);
        MergeRowsInto(w, a, b);
    } else {
        SegmentCursor b(other);
        MergeRowsInto(w, a, b);
    }
    packed_ = w.Finish();
    packed_rows_ = w.rows;
    packed_packets_ = w.packets;
    packed_bytes_ = w.bytes;
    ClearArrays();
}

namespace {
// Sorts `v`, made of sorted runs starting at `runs` (ascending), by merging them pairwise: a day's hours give
// each key up to 24 runs, and merging them costs n log(runs) comparisons where sorting cost n log n (an IPv6
// sort was 4% of the instructions of the 1M benchmark ingest). Runs are sorted: Parse checks every segment's.
void MergeSortedRuns(std::vector<Ipv6Bytes> &v, std::vector<size_t> &runs, std::vector<Ipv6Bytes> &scratch) {
    while (runs.size() > 1) {
        scratch.resize(v.size());
        size_t kept = 0;
        for (size_t r = 0; r < runs.size(); r += 2) {
            const size_t from = runs[r], mid = r + 1 < runs.size() ? runs[r + 1] : v.size(),
                         to = r + 2 < runs.size() ? runs[r + 2] : v.size();
            std::merge(v.begin() + long(from), v.begin() + long(mid), v.begin() + long(mid), v.begin() + long(to),
                       scratch.begin() + long(from), Ipv6Less{});
            runs[kept++] = from;
        }
        runs.resize(kept);
        v.swap(scratch);
    }
}
}  // namespace

namespace {

// The rows of `parts` (packed) with keys in [from, to), united into w.
void UniteRange(const std::vector<std::string_view> &parts, uint64_t from, uint64_t to, PackedWriter &w) {
    std::vector<PackedCursor> cursors;
    cursors.reserve(parts.size());
    size_t encoded = 0;
    for (const std::string_view p : parts) {
        cursors.emplace_back(p).SkipTo(from);
        encoded += p.size();
    }
    // A union's deltas are no longer than its parts' (each source's predecessor can only come closer),
    // so the sources fit in the parts' bytes.
    w.sources.reserve(encoded);
    w.heads.reserve(encoded / 4);
    // IPv4 sources as 32-bit values: the radix passes move half the bytes of 64-bit ones.
    thread_local std::vector<uint32_t> v4, scratch;
    std::vector<Ipv6Bytes> v6, v6_scratch;
    std::vector<size_t> at, v6_runs;
    for (;;) {
        bool any = false;
        uint32_t key = 0;
        for (const PackedCursor &c : cursors)
            if (c.Valid() && (!any || c.Key() < key)) key = c.Key(), any = true;
        if (!any || key >= to) break;
        at.clear();
        for (size_t i = 0; i < cursors.size(); ++i)
            if (cursors[i].Valid() && cursors[i].Key() == key) at.push_back(i);
        if (at.size() == 1) {
            PackedCursor &c = cursors[at[0]];
            w.Head(key, c.Packets(), c.Bytes(), c.N4(), c.N6());
            c.CopySources(w.sources);
            c.Next();
            continue;
        }
        uint64_t packets = 0, bytes = 0;
        v4.clear();
        v6.clear();
        v6_runs.clear();
        for (size_t i : at) {
            PackedCursor &c = cursors[i];
            packets += c.Packets();
            bytes += c.Bytes();
            for (uint64_t k = c.N4(); k > 0; --k) v4.push_back(c.NextV4());
            if (c.N6() > 0) v6_runs.push_back(v6.size());
            for (uint64_t k = c.N6(); k > 0; --k) v6.push_back(c.NextV6());
            c.Next();
        }
        RadixSort(v4, scratch);
        v4.erase(std::unique(v4.begin(), v4.end()), v4.end());
        MergeSortedRuns(v6, v6_runs, v6_scratch);
        v6.erase(std::unique(v6.begin(), v6.end()), v6.end());
        w.Head(key, packets, bytes, v4.size(), v6.size());
        uint32_t prev = 0;
        for (uint32_t v : v4) {
            PutVarint(w.sources, v - prev);
            prev = v;
        }
        for (const Ipv6Bytes &x : v6) w.sources.append(reinterpret_cast<const char *>(x.data()), 16);
    }
}

// Keys that cut `part`'s rows into `pieces` ranges of about equal weight (a row weighs its sources, and
// one), ascending, without the first range's start (0) or the last one's end; fewer when its rows are fewer.
std::vector<uint64_t> SplitKeys(std::string_view part, unsigned pieces) {
    uint64_t total = 0;
    for (PackedCursor c(part); c.Valid(); c.Next())
        total += 1 + c.N4() + c.N6();
    std::vector<uint64_t> keys;
    uint64_t before = 0;
    for (PackedCursor c(part); c.Valid() && keys.size() + 1 < pieces; c.Next()) {
        // The row that the next cut's share of the weight reaches begins the next range.
        if (before * pieces >= total * (keys.size() + 1) && (keys.empty() || c.Key() > keys.back()) && c.Key() > 0)
            keys.push_back(c.Key());
        before += 1 + c.N4() + c.N6();
    }
    return keys;
}

}  // namespace

Segment Segment::UniteMany(std::vector<Segment> parts, unsigned pieces) {
    std::erase_if(parts, [](const Segment &s) { return s.Empty(); });
    if (parts.empty()) return Segment();
    if (parts.size() == 1) return std::move(parts[0]);
    std::vector<std::string_view> encodings;
    size_t largest = 0;
    for (Segment &p : parts) {
        p.Settle();
        p.Pack();
        encodings.push_back(p.packed_);
        if (p.packed_.size() > encodings[largest].size()) largest = encodings.size() - 1;
    }
    std::vector<uint64_t> cuts = pieces > 1 ? SplitKeys(encodings[largest], pieces) : std::vector<uint64_t>();
    cuts.insert(cuts.begin(), 0);
    cuts.push_back(uint64_t(1) << 32);
    std::vector<PackedWriter> writers(cuts.size() - 1);
    std::vector<std::future<void>> others;
    std::vector<size_t> here = {0};  // the ranges this thread unites: the first, and any no thread was had for
    for (size_t i = 1; i < writers.size(); ++i) {
        try {
            others.push_back(
                std::async(std::launch::async, [&, i] { UniteRange(encodings, cuts[i], cuts[i + 1], writers[i]); }));
        } catch (const std::system_error &) {
            here.push_back(i);
        }
    }
    std::exception_ptr error;
    try {
        for (const size_t i : here)
            UniteRange(encodings, cuts[i], cuts[i + 1], writers[i]);
    } catch (...) {
        error = std::current_exception();
    }
    for (std::future<void> &f : others) {
        try {
            f.get();
        } catch (...) {
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
    Segment out;
    out.packed_ = JoinRanges(writers);
    for (const PackedWriter &w : writers) {
        out.packed_rows_ += w.rows;
        out.packed_packets_ += w.packets;
        out.packed_bytes_ += w.bytes;
    }
    return out;
}

// One pass to size the result exactly, one to write it; both walk the two key-sorted head arrays.
template <typename SegmentRef>
void Segment::MergeFrom(SegmentRef &&other_ref) {
    const Segment &other = other_ref;
    other.Unpack();
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

namespace {

// What EncodeUnion's walk writes: the heads and the sources into buffers of their own, and the totals.
struct UnionWriter {
    char *heads, *sources;
    uint32_t prev_key = 0;
    uint64_t rows = 0, packets = 0, bytes = 0;
    void V4(uint32_t delta) { sources = PutVarint(sources, delta); }
    void V6(const Ipv6Bytes &a) { sources = std::copy(a.begin(), a.end(), sources); }
    void Head(uint32_t key, uint64_t row_packets, uint64_t row_bytes, uint64_t n4, uint64_t n6) {
        heads = PutVarint(heads, key - prev_key);
        prev_key = key;
        heads = PutVarint(heads, row_packets);
        heads = PutVarint(heads, row_bytes);
        heads = PutVarint(heads, n4);
        heads = PutVarint(heads, n6);
        ++rows;
        packets += row_packets;
        bytes += row_bytes;
    }
};

}  // namespace

// The rows of a ∪ b in key order, as MergeFrom makes them: each row's sources (IPv4 deltas, then IPv6
// addresses), then its head.
template <typename Out>
void Segment::WalkUnion(const Segment &a, const Segment &b, Out &out) {
    auto one = [&](const SegmentRowView &r) {
        uint32_t prev = 0;
        for (uint32_t v : r.v4) {
            out.V4(v - prev);
            prev = v;
        }
        for (const Ipv6Bytes &v : r.v6) out.V6(v);
        out.Head(r.key, r.packets, r.bytes, r.v4.size(), r.v6.size());
    };
    const size_t na = a.Size(), nb = b.Size();
    for (size_t i = 0, j = 0; i < na || j < nb;) {
        if (j == nb || (i < na && a.heads_[i].key < b.heads_[j].key)) {
            one(a.Row(i++));
            continue;
        }
        if (i == na || b.heads_[j].key < a.heads_[i].key) {
            one(b.Row(j++));
            continue;
        }
        const SegmentRowView x = a.Row(i++), y = b.Row(j++);
        uint32_t prev = 0;
        const uint64_t n4 = ForEachOfUnion(x.v4, y.v4, [&](uint32_t v) {
            out.V4(v - prev);
            prev = v;
        });
        const uint64_t n6 = ForEachOfUnion(x.v6, y.v6, [&](const Ipv6Bytes &v) { out.V6(v); });
        out.Head(x.key, x.packets + y.packets, x.bytes + y.bytes, n4, n6);
    }
}

constexpr size_t KEPT_ENCODE_BUFFER_BYTES = size_t(32) << 20;

// The encoding of a ∪ b (b empty: of a alone), written in one walk without a check of room per byte: heads
// and sources into a thread's buffers sized for the longest varints, then copied into a string of the exact
// size (a packed segment keeps its string, so room to spare would stay with it). A first walk that sized the
// encoding exactly cost as much as the writing.
std::string Segment::EncodeUnion(const Segment &a, const Segment &b, uint64_t &rows, uint64_t &packets,
                                 uint64_t &bytes) {
    a.Unpack();
    b.Unpack();
    // Five varints a row, one per IPv4 source (at most five bytes: a 32-bit delta), 16 bytes per IPv6 source.
    const size_t most_heads = (a.heads_.size() + b.heads_.size()) * 5 * VARINT_MAX_BYTES;
    const size_t most_sources = (a.v4_.size() + b.v4_.size()) * 5 + (a.v6_.size() + b.v6_.size()) * 16;
    // Kept at their largest size, so that the growth alone is ever zeroed.
    thread_local std::vector<char> heads, sources;
    if (heads.size() < most_heads) heads.resize(most_heads);
    if (sources.size() < most_sources) sources.resize(most_sources);
    UnionWriter write{heads.data(), sources.data()};
    WalkUnion(a, b, write);
    const size_t head_bytes = size_t(write.heads - heads.data()), source_bytes = size_t(write.sources - sources.data());
    std::string out(1 + VarintSize(write.rows) + head_bytes + source_bytes, '\0');
    char *p = out.data();
    *p++ = char(1);
    p = PutVarint(p, write.rows);
    p = std::copy_n(heads.data(), head_bytes, p);
    std::copy_n(sources.data(), source_bytes, p);
    rows = write.rows;
    packets = write.packets;
    bytes = write.bytes;
    // A thread that once encoded a large union (a quarter's report merging days) does not keep its buffers.
    if (heads.size() + sources.size() > KEPT_ENCODE_BUFFER_BYTES) {
        std::vector<char>().swap(heads);
        std::vector<char>().swap(sources);
    }
    return out;
}

Segment Segment::PackedUnion(const Segment &a, const Segment &b) {
    Segment out;
    std::string encoding = EncodeUnion(a, b, out.packed_rows_, out.packed_packets_, out.packed_bytes_);
    if (out.packed_rows_ == 0) return Segment();
    out.packed_ = std::move(encoding);
    return out;
}

namespace {

template <typename T>
void RadixSortImpl(std::vector<T> &values, std::vector<T> &scratch, int from_bit) {
    constexpr int BITS = 8 * sizeof(T);
    const size_t n = values.size();
    if (from_bit >= BITS) return;
    // Below this a comparison sort wins (docs/performance.md, thirteenth session). A full sort is what
    // a stable sort on the upper bits gives too, when the lower bits come in order.
    if (n < 1024) {
        std::sort(values.begin(), values.end());
        return;
    }
    // Only the bits in which some values differ need a pass: sources of a /20 telescope's day, or the keys of
    // one dimension, vary in a few of the 64. One reading pass finds them, and a second counts every digit.
    const T first = values[0];
    T varying = 0;
    for (T v : values)
        varying |= v ^ first;
    varying &= T(~T(0) << from_bit);
    if (varying == 0) return;
    constexpr int DIGIT = 11;  // 2048 buckets: the counts of a pass stay in the first-level cache
    constexpr size_t BUCKETS = size_t(1) << DIGIT;
    const int low = std::countr_zero(varying), high = BITS - std::countl_zero(varying);
    const int passes = (high - low + DIGIT - 1) / DIGIT;
    thread_local std::vector<uint32_t> counts;
    counts.assign(size_t(passes) * BUCKETS, 0);
    for (T v : values) {
        const T k = v >> low;
        for (int p = 0; p < passes; ++p) ++counts[size_t(p) * BUCKETS + ((k >> (p * DIGIT)) & (BUCKETS - 1))];
    }
    scratch.resize(n);
    // The passes go back and forth between the two buffers, which keep their owners: `values` is often a
    // builder's own vector and `scratch` a thread's, and swapping them would hand the thread's large buffer
    // to one builder after another.
    T *from = values.data(), *to = scratch.data();
    for (int p = 0; p < passes; ++p) {
        uint32_t *c = &counts[size_t(p) * BUCKETS];
        const int shift = low + p * DIGIT;
        if (c[(first >> shift) & (BUCKETS - 1)] == n) continue;  // every value shares this digit
        uint32_t sum = 0;
        for (size_t b = 0; b < BUCKETS; ++b) {
            const uint32_t m = c[b];
            c[b] = sum;
            sum += m;
        }
        for (size_t i = 0; i < n; ++i) to[c[(from[i] >> shift) & (BUCKETS - 1)]++] = from[i];
        std::swap(from, to);
    }
    if (from != values.data()) std::copy(from, from + n, values.data());
}

}  // namespace

void RadixSort(std::vector<uint64_t> &values, std::vector<uint64_t> &scratch, int from_bit) {
    RadixSortImpl(values, scratch, from_bit);
}

void RadixSort(std::vector<uint32_t> &values, std::vector<uint32_t> &scratch) { RadixSortImpl(values, scratch, 0); }

namespace {

// Deals a builder's (entry index, source) pairs out by key into `out`: `order` holds (key << 32 | entry index) in
// key order, and each pair's source goes to its key's place in the order the pairs come. Each entry's sources must
// come in ascending order; their repeats, then adjacent, are dropped. end(r, n): row r's sources end at out[n].
template <typename Pairs, typename Source, typename EntryOf, typename SourceOf, typename End>
void DealByKey(const Pairs &pairs, const std::vector<uint64_t> &order, std::vector<Source> &out, EntryOf entry_of,
               SourceOf source_of, End end) {
    thread_local std::vector<uint32_t> start;  // by entry index: where its key's sources begin in out
    start.assign(order.size(), 0);
    for (const auto &p : pairs)
        ++start[entry_of(p)];
    uint32_t at = 0;
    for (const uint64_t o : order)
        at += std::exchange(start[uint32_t(o)], at);
    out.resize(pairs.size());
    for (const auto &p : pairs)
        out[start[entry_of(p)]++] = source_of(p);
    // Each key's sources end where start now points.
    size_t kept = 0, from = 0;
    for (size_t r = 0; r < order.size(); ++r) {
        const size_t to = start[uint32_t(order[r])];
        for (size_t i = from; i < to; ++i)
            if (i == from || out[i] != out[kept - 1]) out[kept++] = out[i];
        end(r, uint32_t(kept));
        from = to;
    }
    out.resize(kept);
}

}  // namespace

Segment SegmentBuilder::Build() {
    Segment s;
    // The rows in key order: (key, entry index) pairs sorted as integers, then the rows gathered in that order.
    // One scratch per thread, kept between builds: a shard runs a dozen builders every hour, one at a time, and
    // a scratch each held as much memory as all their pairs.
    thread_local std::vector<uint64_t> sort_scratch, order;
    order.clear();
    counts_.ForEach([&](uint32_t key, const std::pair<uint64_t, uint64_t> &) {
        order.push_back(uint64_t(key) << 32 | order.size());
    });
    RadixSort(order, sort_scratch, 32);
    s.heads_.resize(order.size());
    for (size_t r = 0; r < order.size(); ++r) {
        const std::pair<uint64_t, uint64_t> &c = counts_.ValueAt(uint32_t(order[r]));
        s.heads_[r] = Segment::Head{uint32_t(order[r] >> 32), 0, 0, c.first, c.second};
    }
    // The pairs came in ascending source order (FlushHour walks records sorted by source), which leaves each key's
    // sources sorted once dealt out. Pairs in any other order (signature records come in arrival order) are sorted
    // by (entry, source) first.
    if (!v4_sources_ascending_) RadixSort(v4_pairs_, sort_scratch);
    if (!v6_sources_ascending_)
        std::sort(v6_pairs_.begin(), v6_pairs_.end(), [](const auto &a, const auto &b) {
            return a.first != b.first ? a.first < b.first : Ipv6Less{}(a.second, b.second);
        });
    DealByKey(
        v4_pairs_, order, s.v4_, [](uint64_t p) { return uint32_t(p >> 32); }, [](uint64_t p) { return uint32_t(p); },
        [&](size_t r, uint32_t n) { s.heads_[r].v4_end = n; });
    DealByKey(
        v6_pairs_, order, s.v6_, [](const auto &p) { return p.first; }, [](const auto &p) { return p.second; },
        [&](size_t r, uint32_t n) { s.heads_[r].v6_end = n; });
    v4_sources_ascending_ = v6_sources_ascending_ = true;
    counts_.Reset();
    last_counts_ = nullptr;
    v4_pairs_.clear();
    v6_pairs_.clear();
    return s;
}

uint64_t Segment::Packets() const {
    Settle();
    if (Packed()) return packed_packets_;
    uint64_t n = 0;
    for (const Head &h : heads_) n += h.packets;
    return n;
}

uint64_t Segment::Bytes() const {
    Settle();
    if (Packed()) return packed_bytes_;
    uint64_t n = 0;
    for (const Head &h : heads_) n += h.bytes;
    return n;
}

std::string Segment::Encode() const {
    Settle();
    if (Packed()) return packed_;
    uint64_t rows, packets, bytes;
    return EncodeUnion(*this, Segment(), rows, packets, bytes);
}

// Checks an encoding as Decode promises (never reading past its end) and fills the row heads, and the
// sources too when FILL. False for bytes that are not a valid segment.
template <bool FILL>
bool Segment::Parse(std::string_view bytes) {
    if (bytes.empty()) return true;
    if (uint8_t(bytes[0]) != 1) return false;
    VarintReader in(bytes.substr(1));
    uint64_t rows = 0;
    // Every row takes at least five bytes: a count beyond that is corrupt, not a reason to allocate.
    if (!in.Read(rows) || rows > in.Remaining() / 5) return false;
    heads_.resize(rows);
    uint64_t key = 0;
    uint64_t n4_total = 0, n6_total = 0;
    for (size_t i = 0; i < rows; ++i) {
        Head &h = heads_[i];
        uint64_t delta, n4, n6;
        if (!in.Read(delta) || !in.Read(h.packets) || !in.Read(h.bytes) || !in.Read(n4) || !in.Read(n6)) return false;
        key += delta;
        // Keys strictly ascending: a zero delta after the first row is a repeated key.
        if (key > UINT32_MAX || (i > 0 && delta == 0)) return false;
        n4_total += n4;
        n6_total += n6;
        // At least one byte per IPv4 source and 16 per IPv6 source remain to be read.
        if (n4_total + 16 * n6_total > in.Remaining() || n4_total > UINT32_MAX || n6_total > UINT32_MAX) return false;
        h.key = uint32_t(key);
        h.v4_end = uint32_t(n4_total);
        h.v6_end = uint32_t(n6_total);
    }
    if constexpr (FILL) {
        v4_.resize(n4_total);
        v6_.resize(n6_total);
    }
    uint32_t b4 = 0, b6 = 0;
    for (const Head &h : heads_) {
        uint64_t prev = 0;
        // Written sorted and unique; checked rather than trusted, since a merge relies on the order:
        // every delta after a row's first must be positive.
        for (uint32_t k = b4; k < h.v4_end; ++k) {
            uint64_t delta;
            if (!in.Read(delta) || (k > b4 && delta == 0)) return false;
            prev += delta;
            if (prev > UINT32_MAX) return false;
            if constexpr (FILL) v4_[k] = uint32_t(prev);
        }
        const uint8_t *last = nullptr;
        for (uint32_t k = b6; k < h.v6_end; ++k) {
            const uint8_t *a = in.Take(16);
            if (!a || (last && !std::lexicographical_compare(last, last + 16, a, a + 16))) return false;
            if constexpr (FILL) std::copy(a, a + 16, v6_[k].begin());
            last = a;
        }
        b4 = h.v4_end;
        b6 = h.v6_end;
    }
    return in.AtEnd();
}

namespace {
// Reads the heads of `bytes` for ScanCounts (with_sources: the sources must follow, in the sizes the heads
// give) and ScanHeads (nothing may follow), handing each row to `sink`. Returns where the heads end, or 0
// for bytes that are not valid.
template <typename Sink>
size_t ParseHeads(std::string_view bytes, bool with_sources, Sink &&sink) {
    if (bytes.empty() || uint8_t(bytes[0]) != 1) return 0;
    VarintReader in(bytes.substr(1));
    uint64_t rows = 0;
    if (!in.Read(rows) || rows > in.Remaining() / 5) return 0;
    uint64_t key = 0, n4_total = 0, n6_total = 0;
    Segment::RowCounts r;
    for (size_t i = 0; i < rows; ++i) {
        uint64_t delta, n4, n6;
        if (!in.Read(delta) || !in.Read(r.packets) || !in.Read(r.bytes) || !in.Read(n4) || !in.Read(n6)) return 0;
        key += delta;
        if (key > UINT32_MAX || (i > 0 && delta == 0)) return 0;
        n4_total += n4;
        n6_total += n6;
        if (with_sources && n4_total + 16 * n6_total > in.Remaining()) return 0;
        r.key = uint32_t(key);
        r.unique_sources = n4 + n6;
        sink(r);
    }
    if (!with_sources && in.Remaining() != 0) return 0;
    return bytes.size() - in.Remaining();
}
}  // namespace

bool Segment::ScanCounts(std::string_view bytes, const std::function<void(const RowCounts &)> &f) {
    return bytes.empty() || ParseHeads(bytes, true, f) != 0;
}

std::optional<std::string_view> Segment::Heads(std::string_view bytes) {
    if (bytes.empty()) return bytes;
    const size_t end = ParseHeads(bytes, true, [](const RowCounts &) {});
    if (end == 0) return std::nullopt;
    return bytes.substr(0, end);
}

bool Segment::ScanHeads(std::string_view heads, const std::function<void(const RowCounts &)> &f) {
    return heads.empty() || ParseHeads(heads, false, f) != 0;
}

std::optional<Segment> Segment::Decode(std::string_view bytes) {
    Segment s;
    if (!s.Parse<true>(bytes)) return std::nullopt;
    return s;
}

std::optional<Segment> Segment::DecodePacked(std::string bytes) {
    Segment s;
    if (!s.Parse<false>(bytes)) return std::nullopt;
    if (s.heads_.empty()) return Segment();
    s.packed_rows_ = s.heads_.size();
    s.packed_packets_ = s.Packets();
    s.packed_bytes_ = s.Bytes();
    s.packed_ = std::move(bytes);
    s.ClearArrays();
    return s;
}

Segment Segment::FromOwnEncoding(std::string bytes, uint64_t rows, uint64_t packets, uint64_t bytes_total) {
    if (rows == 0) return Segment();
    Segment s;
    s.packed_rows_ = rows;
    s.packed_packets_ = packets;
    s.packed_bytes_ = bytes_total;
    s.packed_ = std::move(bytes);
    return s;
}

}  // namespace darkscope
