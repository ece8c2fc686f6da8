#include "detect/stream.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <utility>

#include "classify/fingerprint.hpp"
#include "common/flat_map.hpp"
#include "common/varint.hpp"
#include "enrich/country.hpp"

namespace darkscope::detect {
namespace {

constexpr double TWO_POW_24 = 16777216.0;
constexpr double TWO_POW_32 = 4294967296.0;

uint64_t HashAddress(const IpAddress &a) {
    uint64_t lo, hi;
    std::memcpy(&lo, a.bytes.data(), 8);
    std::memcpy(&hi, a.bytes.data() + 8, 8);
    // An IPv4 address's high word is zero, so its inner mix is a constant: one multiply chain less per
    // lookup, and the tables take a few per packet.
    constexpr uint64_t V4_INNER = Mix64(4);
    return Mix64(lo ^ (a.family == 4 ? V4_INNER : Mix64(hi ^ a.family)));
}

// IPv6 destinations are folded to 32 bits, as the per-source destination counts of aggregation do.
uint32_t DestinationKey(const IpAddress &dst) {
    if (dst.IsV4()) return dst.V4HostOrder();
    return uint32_t(HashAddress(dst));
}

bool IsProbe(TrafficClass c) {
    return c == TrafficClass::SYN_PROBE || c == TrafficClass::UDP_PROBE || c == TrafficClass::ICMP_ECHO_REQUEST ||
           c == TrafficClass::DNS_QUERY;
}

// Index into VictimState::responses; -1 for classes that are not backscatter.
int BackscatterIndex(TrafficClass c) {
    switch (c) {
        case TrafficClass::SYNACK_BACKSCATTER:
            return 0;
        case TrafficClass::RST_BACKSCATTER:
            return 1;
        case TrafficClass::RSTACK_BACKSCATTER:
            return 2;
        case TrafficClass::ICMP_BACKSCATTER:
            return 3;
        default:
            return -1;
    }
}
constexpr TrafficClass BACKSCATTER_CLASSES[4] = {TrafficClass::SYNACK_BACKSCATTER, TrafficClass::RST_BACKSCATTER,
                                                 TrafficClass::RSTACK_BACKSCATTER, TrafficClass::ICMP_BACKSCATTER};
constexpr const char *BACKSCATTER_WORDS[4] = {"SYN/ACK", "RST", "RST/ACK", "ICMP error"};
constexpr const char *BACKSCATTER_WORDS_JA[4] = {"SYN/ACK", "RST", "RST/ACK", "ICMP エラー"};

// ---- The encoding of carried states: LEB128 varints, signed values zigzagged ----

constexpr uint8_t CARRY_FORMAT = 1;
// Timestamps read back must lie within this of the epoch, so that no difference of two overflows.
constexpr int64_t CARRY_TIME_LIMIT = int64_t(1) << 61;

void PutSigned(std::string &out, int64_t v) { PutVarint(out, ZigZag(v)); }

/// Reads what PutVarint and PutSigned wrote. The first fault (a read past the end, a value out of range)
/// fails the reader, and every read after it gives 0, so a decoder reads on and checks Ok once: the carry
/// table is read like a packet, never trusted.
class CarryReader {
public:
    explicit CarryReader(std::string_view s) : in_(s) {}
    uint64_t U64() {
        uint64_t v = 0;
        if (ok_ && !in_.Read(v)) Fail("truncated");
        return ok_ ? v : 0;
    }
    /// A value below `limit`.
    uint64_t Below(uint64_t limit, const char *what) {
        const uint64_t v = U64();
        if (ok_ && v >= limit) Fail(what);
        return ok_ ? v : 0;
    }
    uint32_t U32() { return uint32_t(Below(uint64_t(1) << 32, "a 32-bit count out of range")); }
    int64_t I64() { return UnZigZag(U64()); }
    TimestampNs Time() {
        const int64_t t = I64();
        if (ok_ && (t <= -CARRY_TIME_LIMIT || t >= CARRY_TIME_LIMIT)) Fail("a timestamp out of range");
        return ok_ ? t : 0;
    }
    const uint8_t *Bytes(size_t n) {
        if (!ok_) return nullptr;
        const uint8_t *p = in_.Take(n);
        if (p == nullptr) Fail("truncated");
        return p;
    }
    void Fail(std::string why) {
        if (!ok_) return;
        ok_ = false;
        error_ = std::move(why);
    }
    bool Ok() const { return ok_; }
    bool AtEnd() const { return in_.AtEnd(); }
    const std::string &Error() const { return error_; }

private:
    VarintReader in_;
    bool ok_ = true;
    std::string error_;
};

/// An open-addressing map whose entries lie densely in one vector, so that a sweep walks them in
/// order and an erase moves the last entry into the hole (FlatMap has no erase: its tables only grow
/// until they are drained). The probe table holds entry indexes; deletion shifts back the probe run
/// instead of leaving tombstones, so lookups stay short however many states come and go.
template <typename Key, typename Value, typename Hash>
class DenseMap {
public:
    DenseMap() { Rehash(MIN_SLOTS); }

    Value *Find(const Key &key) { return Find(key, uint32_t(Hash{}(key))); }
    /// With the key's hash already computed (`tag`: its low 32 bits).
    Value *Find(const Key &key, uint32_t tag) {
        for (size_t i = tag & mask_; slots_[i] != 0; i = (i + 1) & mask_)
            if (uint32_t(slots_[i] >> 32) == tag && entries_[Index(slots_[i])].first == key)
                return &entries_[Index(slots_[i])].second;
        return nullptr;
    }
    /// Adds key, which must be absent. Invalidates references to other values.
    Value &Insert(const Key &key) {
        if ((entries_.size() + 1) * 2 > slots_.size()) Rehash(slots_.size() * 2);
        const uint32_t tag = uint32_t(Hash{}(key));
        size_t i = tag & mask_;
        while (slots_[i] != 0)
            i = (i + 1) & mask_;
        entries_.emplace_back(key, Value{});
        slots_[i] = Slot(tag, entries_.size() - 1);
        return entries_.back().second;
    }
    /// Start loading what a Find of the key with hash `tag` will read: its home slot, and, once that is in
    /// cache, the entry the slot points at if the hashes agree (a key that lies further along is not fetched).
    void PrefetchSlot(uint32_t tag) const { PrefetchLine(&slots_[tag & mask_]); }
    void PrefetchEntry(uint32_t tag) const {
        const uint64_t slot = slots_[tag & mask_];
        if (slot != 0 && uint32_t(slot >> 32) == tag) PrefetchLine(&entries_[Index(slot)]);
    }
    size_t Size() const { return entries_.size(); }
    std::pair<Key, Value> &At(size_t e) { return entries_[e]; }
    /// For a run of EraseAt calls in descending entry order (each moves the then last entry into its hole):
    /// starts loading the entry that moves `ahead` erases from now, and the slot that names it, the two waits
    /// of an erase that the caller cannot see coming. The entry's key is read here, so `ahead` should lie
    /// behind a PrefetchLine of that entry some erases earlier (PrefetchMover's `line_ahead`).
    void PrefetchMover(size_t ahead, size_t line_ahead) const {
        if (line_ahead < entries_.size()) PrefetchLine(&entries_[entries_.size() - 1 - line_ahead]);
        if (ahead < entries_.size()) PrefetchSlot(uint32_t(Hash{}(entries_[entries_.size() - 1 - ahead].first)));
    }
    /// Starts loading every line of entry e (the hole an erase will fill).
    void PrefetchWhole(size_t e) const {
        const char *entry = reinterpret_cast<const char *>(&entries_[e]);
        for (size_t line = 0; line < sizeof(entries_[e]); line += 64)
            PrefetchLine(entry + line);
    }

    /// Removes key if present.
    void Erase(const Key &key) { Erase(key, uint32_t(Hash{}(key))); }
    void Erase(const Key &key, uint32_t tag) {
        for (size_t i = tag & mask_; slots_[i] != 0; i = (i + 1) & mask_) {
            if (uint32_t(slots_[i] >> 32) == tag && entries_[Index(slots_[i])].first == key) {
                EraseAt(Index(slots_[i]));
                return;
            }
        }
    }
    /// Removes entry e; the last entry takes its index (so sweep from the end).
    void EraseAt(size_t e) { EraseAt(e, uint32_t(Hash{}(entries_[e].first))); }
    /// With the hash of entry e's key (`tag`: its low 32 bits).
    void EraseAt(size_t e, uint32_t tag) {
        size_t hole = SlotOf(e, tag);
        for (size_t j = (hole + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
            const size_t home = uint32_t(slots_[j] >> 32) & mask_;
            // An entry stays where it is if its home lies cyclically in (hole, j].
            const bool stays = hole < j ? (home > hole && home <= j) : (home > hole || home <= j);
            if (stays) continue;
            slots_[hole] = slots_[j];
            hole = j;
        }
        slots_[hole] = 0;
        const size_t last = entries_.size() - 1;
        if (e != last) {
            const size_t moved = SlotOf(last, uint32_t(Hash{}(entries_[last].first)));
            entries_[e] = std::move(entries_[last]);
            slots_[moved] = Slot(uint32_t(slots_[moved] >> 32), e);
        }
        entries_.pop_back();
    }
    /// Gives memory back after a burst of states has expired.
    void ShrinkIfSparse() {
        if (slots_.size() > MIN_SLOTS && entries_.size() * 8 < slots_.size()) {
            size_t n = MIN_SLOTS;
            while (n < entries_.size() * 4)
                n <<= 1;
            Rehash(n);
        }
        if (entries_.capacity() > 1024 && entries_.size() * 4 < entries_.capacity()) entries_.shrink_to_fit();
    }

private:
    static constexpr size_t MIN_SLOTS = 64;
    // A slot holds the key's hash (low 32 bits) beside the entry index: a probe compares hashes before it
    // touches an entry (a state is a few hundred bytes, and most probes pass other keys), and an erase finds
    // where the entries it shifts belong without hashing them again.
    static uint64_t Slot(uint32_t tag, size_t e) { return uint64_t(tag) << 32 | uint64_t(e + 1); }
    static size_t Index(uint64_t slot) { return size_t(uint32_t(slot)) - 1; }
    size_t SlotOf(size_t e, uint32_t tag) const {
        size_t i = tag & mask_;
        while (uint32_t(slots_[i]) != e + 1)
            i = (i + 1) & mask_;
        return i;
    }
    void Rehash(size_t n) {
        slots_.assign(n, 0);
        mask_ = n - 1;
        for (size_t e = 0; e < entries_.size(); ++e) {
            const uint32_t tag = uint32_t(Hash{}(entries_[e].first));
            size_t i = tag & mask_;
            while (slots_[i] != 0)
                i = (i + 1) & mask_;
            slots_[i] = Slot(tag, e);
        }
    }

    std::vector<std::pair<Key, Value>> entries_;
    std::vector<uint64_t> slots_;  // hash << 32 | (entry index + 1); 0 empty
    size_t mask_ = 0;
};

/// Distinct 32-bit values: exact (four inline, then an open-addressing table) up to a cap, then a
/// HyperLogLog of 1024 registers (standard error 1.04 / sqrt(1024) = 3.3%), so that a scan across a
/// large telescope costs 1 KiB rather than 4 bytes per address. The table or the registers live behind
/// one pointer, straight to the array: most (source, service) states never leave the four inline values,
/// and a state table of small entries is what keeps the per-packet lookups and the sweeps in cache; and a
/// value's slot is one load from the state, which ObserveBatch fetches ahead (PrefetchSlot).
class DistinctCounter {
public:
    void Add(uint32_t v, uint32_t exact_cap) {
        switch (mode_) {
            case Mode::SKETCH:
                AddSketch(v);
                return;
            case Mode::INLINE:
                for (uint32_t i = 0; i < count_; ++i)
                    if (inline_[i] == v) return;
                if (count_ < INLINE) {
                    inline_[count_++] = v;
                    if (count_ >= exact_cap) ToSketch();
                    return;
                }
                Spill();
                [[fallthrough]];
            case Mode::TABLE:
                if (InsertExact(v) && count_ >= exact_cap) ToSketch();
                return;
        }
    }
    uint64_t Count() const {
        if (mode_ != Mode::SKETCH) return count_;
        double sum = 0;
        uint32_t zeros = 0;
        for (uint8_t r : std::span(Registers(), REGISTERS)) {
            sum += std::ldexp(1.0, -int(r));
            zeros += r == 0;
        }
        const double m = double(REGISTERS);
        double estimate = 0.7213 / (1 + 1.079 / m) * m * m / sum;
        if (estimate <= 2.5 * m && zeros > 0) estimate = m * std::log(m / double(zeros));
        // Never below what was counted exactly before the switch.
        return std::max<uint64_t>(count_, uint64_t(std::llround(estimate)));
    }
    bool Exact() const { return mode_ != Mode::SKETCH; }
    /// Starts loading the table slot where Add of v will look first, or the register it may raise.
    void PrefetchSlot(uint32_t v) const {
        if (mode_ == Mode::TABLE) PrefetchLine(&heap_[size_t(Mix64(v)) & (TableSize() - 1)]);
        else if (mode_ == Mode::SKETCH)
            PrefetchLine(&Registers()[SketchHash(v) >> 54]);
    }

    /// Exact values as a list (re-added when read back, which rebuilds the table), or the registers.
    void Encode(std::string &out) const {
        out.push_back(char(mode_));
        PutVarint(out, count_);
        switch (mode_) {
            case Mode::INLINE:
                for (uint32_t i = 0; i < count_; ++i)
                    PutVarint(out, inline_[i]);
                return;
            case Mode::TABLE:
                if (has_zero_) PutVarint(out, 0);
                for (uint32_t x : std::span(heap_.get(), TableSize()))
                    if (x != 0) PutVarint(out, x);
                return;
            case Mode::SKETCH:
                out.append(reinterpret_cast<const char *>(Registers()), REGISTERS);
                return;
        }
    }
    /// Reads what Encode wrote, for a counter of cap `exact_cap`; fails `in` on a counter Add cannot make.
    void Decode(CarryReader &in, uint32_t exact_cap) {
        *this = DistinctCounter{};
        const uint8_t *mode = in.Bytes(1);
        const uint64_t count = in.Below(uint64_t(1) << 32, "a destination count out of range");
        if (!in.Ok()) return;
        if (mode[0] == uint8_t(Mode::SKETCH)) {
            const uint8_t *registers = in.Bytes(REGISTERS);
            if (registers == nullptr) return;
            for (size_t r = 0; r < REGISTERS; ++r)
                if (registers[r] > MAX_RANK) return in.Fail("a HyperLogLog register out of range");
            heap_ = std::make_unique<uint32_t[]>(REGISTERS / 4);
            std::copy(registers, registers + REGISTERS, Registers());
            count_ = uint32_t(count);
            mode_ = Mode::SKETCH;
            return;
        }
        if (mode[0] > uint8_t(Mode::SKETCH)) return in.Fail("an unknown destination counter");
        // An exact counter holds fewer values than the cap (it turns into a sketch on reaching it).
        if (count >= std::max<uint32_t>(exact_cap, 1)) return in.Fail("more exact destinations than the cap");
        for (uint64_t i = 0; i < count && in.Ok(); ++i)
            Add(in.U32(), exact_cap);
        if (in.Ok() && count_ != count) in.Fail("a destination listed twice");
    }

private:
    static constexpr uint32_t INLINE = 4;
    static constexpr size_t REGISTERS = 1024;         // 2^10: the top 10 hash bits pick the register
    static constexpr uint8_t MAX_RANK = 64 - 10 + 1;  // AddSketch's rank of a hash whose other 54 bits are zero
    enum class Mode : uint8_t { INLINE, TABLE, SKETCH };
    size_t TableSize() const { return size_t(1) << table_bits_; }
    // The sketch's registers, bytes in the same array.
    uint8_t *Registers() const { return reinterpret_cast<uint8_t *>(heap_.get()); }

    void Spill() {
        const uint32_t n = count_;
        count_ = 0;
        heap_ = std::make_unique<uint32_t[]>(16);
        table_bits_ = 4;
        mode_ = Mode::TABLE;
        for (uint32_t i = 0; i < n; ++i)
            InsertExact(inline_[i]);
    }
    // The table marks empty slots with 0, so the value 0 is kept aside.
    bool InsertExact(uint32_t v) {
        if (v == 0) {
            if (has_zero_) return false;
            has_zero_ = true;
            ++count_;
            return true;
        }
        uint32_t *table = heap_.get();
        const size_t mask = TableSize() - 1;
        size_t i = size_t(Mix64(v)) & mask;
        for (; table[i] != 0; i = (i + 1) & mask)
            if (table[i] == v) return false;
        table[i] = v;
        ++count_;
        if (size_t(count_) * 2 > TableSize()) {
            std::unique_ptr<uint32_t[]> old = std::move(heap_);
            const size_t old_size = TableSize();
            ++table_bits_;
            heap_ = std::make_unique<uint32_t[]>(TableSize());
            table = heap_.get();
            const size_t m = TableSize() - 1;
            for (uint32_t x : std::span(old.get(), old_size)) {
                if (x == 0) continue;
                size_t j = size_t(Mix64(x)) & m;
                while (table[j] != 0)
                    j = (j + 1) & m;
                table[j] = x;
            }
        }
        return true;
    }
    void ToSketch() {
        std::unique_ptr<uint32_t[]> table = std::move(heap_);
        heap_ = std::make_unique<uint32_t[]>(REGISTERS / 4);
        if (mode_ == Mode::INLINE) {
            for (uint32_t i = 0; i < std::min(count_, INLINE); ++i)
                AddSketch(inline_[i]);
        } else {
            for (uint32_t x : std::span(table.get(), TableSize()))
                if (x != 0) AddSketch(x);
            if (has_zero_) AddSketch(0);
        }
        table_bits_ = 0;
        mode_ = Mode::SKETCH;
    }
    static uint64_t SketchHash(uint32_t v) { return Mix64(uint64_t(v) ^ 0x5DEECE66Dull); }
    void AddSketch(uint32_t v) {
        const uint64_t h = SketchHash(v);
        const size_t index = size_t(h >> 54);
        const uint8_t rank = uint8_t(std::countl_zero((h << 10) | (uint64_t(1) << 9)) + 1);
        uint8_t &r = Registers()[index];
        r = std::max(r, rank);
    }

    std::array<uint32_t, INLINE> inline_{};
    uint32_t count_ = 0;  // distinct values counted exactly (at the switch, in sketch mode)
    Mode mode_ = Mode::INLINE;
    bool has_zero_ = false;
    uint8_t table_bits_ = 0;  // the table's size is 2^table_bits_ (TABLE)
    // TABLE: the table, 0 marking an empty slot; SKETCH: the REGISTERS registers as bytes.
    std::unique_ptr<uint32_t[]> heap_;
};

/// Packets per sensor: two inline (most sources reach one sensor), the rest on the heap (deployments
/// have a few dozen sensors at most).
class SensorCounts {
public:
    struct Entry {
        SensorIndex sensor = 0;
        uint64_t packets = 0;
    };
    void Add(SensorIndex sensor, uint64_t packets = 1) {
        for (uint32_t i = 0; i < inline_count_; ++i)
            if (inline_[i].sensor == sensor) {
                inline_[i].packets += packets;
                return;
            }
        if (inline_count_ < INLINE) {
            inline_[inline_count_++] = Entry{sensor, packets};
            return;
        }
        if (!more_) more_ = std::make_unique<std::vector<Entry>>();
        for (Entry &e : *more_)
            if (e.sensor == sensor) {
                e.packets += packets;
                return;
            }
        more_->push_back(Entry{sensor, packets});
    }
    void Merge(const SensorCounts &other) {
        for (uint32_t i = 0; i < other.inline_count_; ++i)
            Add(other.inline_[i].sensor, other.inline_[i].packets);
        if (other.more_)
            for (const Entry &e : *other.more_)
                Add(e.sensor, e.packets);
    }
    size_t Size() const { return inline_count_ + (more_ ? more_->size() : 0); }
    void Encode(std::string &out) const {
        PutVarint(out, Size());
        auto put = [&](const Entry &e) {
            PutVarint(out, e.sensor);
            PutVarint(out, e.packets);
        };
        for (uint32_t i = 0; i < inline_count_; ++i)
            put(inline_[i]);
        if (more_)
            for (const Entry &e : *more_)
                put(e);
    }
    /// Reads what Encode wrote; `sensors`: how many sensors there are.
    void Decode(CarryReader &in, size_t sensors) {
        Clear();
        const uint64_t n = in.Below(sensors + 1, "more sensors than there are");
        for (uint64_t i = 0; i < n && in.Ok(); ++i) {
            const auto sensor = SensorIndex(in.Below(sensors, "a sensor index out of range"));
            const uint64_t packets = in.U64();
            if (in.Ok()) Add(sensor, packets);
        }
    }
    void Clear() {
        inline_count_ = 0;
        more_.reset();
    }
    /// Largest first, then by index.
    std::vector<Entry> Sorted() const {
        std::vector<Entry> out(inline_.begin(), inline_.begin() + inline_count_);
        if (more_) out.insert(out.end(), more_->begin(), more_->end());
        std::sort(out.begin(), out.end(), [](const Entry &a, const Entry &b) {
            return a.packets != b.packets ? a.packets > b.packets : a.sensor < b.sensor;
        });
        return out;
    }

private:
    static constexpr uint32_t INLINE = 2;
    std::array<Entry, INLINE> inline_{};
    uint32_t inline_count_ = 0;
    std::unique_ptr<std::vector<Entry>> more_;
};

/// The busiest 60 s of a flow, in 10 s steps: six buckets in a ring and their running sum.
class PeakWindow {
public:
    static constexpr TimestampNs STEP = 10 * NS_PER_SEC;
    static constexpr int64_t STEPS = 6;

    void Start(TimestampNs origin) {
        *this = PeakWindow{};
        origin_ = origin;
    }
    void Add(TimestampNs ts) {
        int64_t b = FloorDiv(ts - origin_, STEP);
        if (b > current_) {
            const int64_t advance = std::min(b - current_, STEPS);
            for (int64_t k = 1; k <= advance; ++k) {
                uint32_t &slot = buckets_[size_t(Ring(current_ + k))];
                sum_ -= slot;
                slot = 0;
            }
            current_ = b;
        } else if (current_ - b >= STEPS) {
            b = current_;  // a packet older than the window (time stepped back): counted in the present step
        }
        ++buckets_[size_t(Ring(b))];
        if (++sum_ > peak_) {
            peak_ = sum_;
            peak_step_ = current_;
        }
    }
    uint64_t Peak() const { return peak_; }
    /// Start of the busiest window (not before the flow's first packet).
    TimestampNs PeakStart() const { return origin_ + std::max<int64_t>(0, peak_step_ - STEPS + 1) * STEP; }

    void Encode(std::string &out) const {
        PutSigned(out, origin_);
        PutVarint(out, uint64_t(current_));
        PutVarint(out, sum_);
        PutVarint(out, peak_);
        PutVarint(out, uint64_t(peak_step_));
        for (uint32_t b : buckets_)
            PutVarint(out, b);
    }
    void Decode(CarryReader &in) {
        *this = PeakWindow{};
        origin_ = in.Time();
        // Steps only go forward from the first packet's, and never further than the timestamps reach.
        const uint64_t steps = uint64_t(2 * CARRY_TIME_LIMIT / STEP);
        current_ = int64_t(in.Below(steps, "a peak window step out of range"));
        sum_ = in.U64();
        peak_ = in.U64();
        peak_step_ = int64_t(in.Below(uint64_t(current_) + 1, "a peak window step out of range"));
        uint64_t sum = 0;
        for (uint32_t &b : buckets_) {
            b = in.U32();
            sum += b;
        }
        if (in.Ok() && (sum != sum_ || peak_ < sum_)) in.Fail("peak window counts that do not add up");
    }

private:
    static int64_t Ring(int64_t b) { return ((b % STEPS) + STEPS) % STEPS; }
    std::array<uint32_t, STEPS> buckets_{};
    TimestampNs origin_ = 0;
    int64_t current_ = 0;
    uint64_t sum_ = 0;
    uint64_t peak_ = 0;
    int64_t peak_step_ = 0;
};

// The "many ports" state of a source that already has scan_services_per_source services.
constexpr uint32_t MANY_PORTS = 0xFFFFFFFFu;

struct ServiceStateKey {
    IpAddress src;
    uint32_t service = 0;  // ServiceKey::packed, or MANY_PORTS
    friend bool operator==(const ServiceStateKey &, const ServiceStateKey &) = default;
};
struct ServiceStateKeyHash {
    size_t operator()(const ServiceStateKey &k) const noexcept { return size_t(HashAddress(k.src) ^ Mix64(k.service)); }
};
struct AddressHash {
    size_t operator()(const IpAddress &a) const noexcept { return size_t(HashAddress(a)); }
};

struct ScanPart {
    TimestampNs start = 0;
    TimestampNs last = 0;
    uint64_t packets = 0;  // 0: no scan open
    DistinctCounter destinations;
    uint64_t syn_packets = 0;
    std::array<uint64_t, FINGERPRINT_RULES> rule_packets{};
    SensorCounts sensors;
    PeakWindow peak;
};

struct CampaignPart {
    // The round being watched: from its first packet for campaign_window.
    bool window_open = false;
    TimestampNs window_start = 0;
    TimestampNs window_last = 0;
    uint64_t window_packets = 0;
    SensorCounts window_sensors;
    // The qualifying rounds so far, and the windows that fell short of K since the first of them.
    uint32_t rounds = 0;
    uint32_t short_windows = 0;
    TimestampNs first_round = 0;
    TimestampNs last_round_end = 0;
    uint64_t packets = 0;
    SensorCounts sensors;
    TimestampNs busiest_round = 0;
    uint64_t busiest_round_packets = 0;
};

// The campaign part is made only where campaigns are watched (two sensors or more): with one sensor a
// state is a third of the size, and the sweeps and lookups touch that much less memory.
struct ServiceState {
    std::unique_ptr<CampaignPart> campaign;
    ScanPart scan;
    bool Idle() const { return scan.packets == 0 && (!campaign || (!campaign->window_open && campaign->rounds == 0)); }
};

struct SourceRecord {
    uint32_t services = 0;  // service states of the source, but its "many ports" one
    bool many_ports = false;
};

struct PortCount {
    uint32_t port = 0;  // ServiceKey::packed
    uint64_t packets = 0;
};

struct VictimState {
    static constexpr size_t PORTS = 8;
    TimestampNs start = 0;
    TimestampNs last = 0;
    uint64_t packets = 0;
    PeakWindow peak;
    std::array<PortCount, PORTS> ports{};
    uint32_t port_count = 0;
    uint64_t other_port_packets = 0;  // packets from ports beyond the first PORTS seen
    std::array<uint64_t, 4> responses{};
    SensorCounts sensors;
};

// ---- Carried states (StreamDetectors::Restore, FinishCarrying) ----

void EncodeScan(const ScanPart &scan, std::string &out) {
    PutSigned(out, scan.start);
    PutSigned(out, scan.last);
    PutVarint(out, scan.packets);
    scan.destinations.Encode(out);
    PutVarint(out, scan.syn_packets);
    PutVarint(out, FINGERPRINT_RULES);
    for (uint64_t n : scan.rule_packets)
        PutVarint(out, n);
    scan.sensors.Encode(out);
    scan.peak.Encode(out);
}

void DecodeScan(CarryReader &in, ScanPart &scan, const StreamOptions &options, size_t sensors) {
    scan.start = in.Time();
    scan.last = in.Time();
    scan.packets = in.U64();
    scan.destinations.Decode(in, options.scan_exact_destinations);
    scan.syn_packets = in.U64();
    // The fingerprint rules are a list of this darkscope's: another one's counts cannot be told apart.
    if (in.U64() != FINGERPRINT_RULES) in.Fail("counts of another set of fingerprint rules");
    for (uint64_t &n : scan.rule_packets)
        n = in.U64();
    scan.sensors.Decode(in, sensors);
    scan.peak.Decode(in);
    if (in.Ok() && (scan.packets == 0 || scan.start > scan.last))
        in.Fail("a scan with no packets or ending before it starts");
}

void EncodeCampaign(const CampaignPart &c, std::string &out) {
    out.push_back(char(c.window_open));
    PutSigned(out, c.window_start);
    PutSigned(out, c.window_last);
    PutVarint(out, c.window_packets);
    c.window_sensors.Encode(out);
    PutVarint(out, c.rounds);
    PutVarint(out, c.short_windows);
    PutSigned(out, c.first_round);
    PutSigned(out, c.last_round_end);
    PutVarint(out, c.packets);
    c.sensors.Encode(out);
    PutSigned(out, c.busiest_round);
    PutVarint(out, c.busiest_round_packets);
}

void DecodeCampaign(CarryReader &in, CampaignPart &c, size_t sensors) {
    const uint8_t *open = in.Bytes(1);
    if (open != nullptr && *open > 1) in.Fail("a round neither open nor closed");
    c.window_open = open != nullptr && *open == 1;
    c.window_start = in.Time();
    c.window_last = in.Time();
    c.window_packets = in.U64();
    c.window_sensors.Decode(in, sensors);
    c.rounds = in.U32();
    c.short_windows = in.U32();
    c.first_round = in.Time();
    c.last_round_end = in.Time();
    c.packets = in.U64();
    c.sensors.Decode(in, sensors);
    c.busiest_round = in.Time();
    c.busiest_round_packets = in.U64();
    if (in.Ok() && !c.window_open && c.rounds == 0) in.Fail("a campaign with no round");
}

void EncodeVictim(const VictimState &v, std::string &out) {
    PutSigned(out, v.start);
    PutSigned(out, v.last);
    PutVarint(out, v.packets);
    v.peak.Encode(out);
    PutVarint(out, v.port_count);
    for (uint32_t i = 0; i < v.port_count; ++i) {
        PutVarint(out, v.ports[i].port);
        PutVarint(out, v.ports[i].packets);
    }
    PutVarint(out, v.other_port_packets);
    PutVarint(out, v.responses.size());
    for (uint64_t n : v.responses)
        PutVarint(out, n);
    v.sensors.Encode(out);
}

void DecodeVictim(CarryReader &in, VictimState &v, size_t sensors) {
    v.start = in.Time();
    v.last = in.Time();
    v.packets = in.U64();
    v.peak.Decode(in);
    v.port_count = uint32_t(in.Below(VictimState::PORTS + 1, "more ports than a flow keeps"));
    for (uint32_t i = 0; i < v.port_count && in.Ok(); ++i) {
        v.ports[i].port = in.U32();
        v.ports[i].packets = in.U64();
    }
    v.other_port_packets = in.U64();
    if (in.U64() != v.responses.size()) in.Fail("counts of another set of response types");
    for (uint64_t &n : v.responses)
        n = in.U64();
    v.sensors.Decode(in, sensors);
    if (in.Ok() && (v.packets == 0 || v.start > v.last)) in.Fail("a flow with no packets or ending before it starts");
}

// A carried state's key: its kind beside its (source, service); victims have service 0.
struct CarryKey {
    IpAddress src;
    uint32_t service = 0;
    CarriedState::Kind kind = CarriedState::Kind::SCAN;
    friend bool operator==(const CarryKey &, const CarryKey &) = default;
};
struct CarryKeyHash {
    size_t operator()(const CarryKey &k) const noexcept {
        return size_t(HashAddress(k.src) ^ Mix64(uint64_t(k.service) << 8 | uint64_t(k.kind)));
    }
};
struct CarryMark {
    int64_t event_id = 0;  // its stored event, 0 none
    bool changed = false;  // a packet since it was taken up: it closes as an event of its own again
};

// ---- Words and numbers for the sentences ----

std::string Fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

/// 35.2, 8,421, 123,456, 1.2 million, 3.4 billion.
std::string RateEn(double v) {
    if (v >= 1e9) return Fixed(v / 1e9, 1) + " billion";
    if (v >= 1e6) return Fixed(v / 1e6, 1) + " million";
    if (v >= 100) return GroupDigits(uint64_t(std::llround(v)));
    return Fixed(v, v >= 10 ? 1 : 2);
}

/// 35.2, 8,421, 12.3万, 120万, 3.4億 (the Japanese reports count in 万 and 億).
std::string RateJa(double v) {
    if (v >= 1e8) return Fixed(v / 1e8, 1) + "億";
    if (v >= 1e4) return v >= 1e6 ? GroupDigits(uint64_t(std::llround(v / 1e4))) + "万" : Fixed(v / 1e4, 1) + "万";
    if (v >= 100) return GroupDigits(uint64_t(std::llround(v)));
    return Fixed(v, v >= 10 ? 1 : 2);
}

std::string Percent(double fraction) {
    const double p = fraction * 100;
    return Fixed(p, p >= 10 ? 1 : p >= 0.1 ? 2 : 4) + "%";
}

struct Clock {
    std::string day;  // 2024-10-01
    int year = 0, month = 0, mday = 0;
    std::string time;  // 20:00 or 20:00:05
};

Clock ClockOf(TimestampNs ts, bool seconds) {
    Clock c;
    const std::string iso = FormatTimestamp(ts);  // 2024-10-01T20:00:05Z
    c.day = iso.substr(0, 10);
    std::sscanf(c.day.c_str(), "%d-%d-%d", &c.year, &c.month, &c.mday);
    c.time = iso.substr(11, seconds ? 8 : 5);
    return c;
}

// Minutes for long events, seconds for those shorter than ten minutes, where minutes would blur them.
bool WithSeconds(TimestampNs start, TimestampNs end) { return end - start < 600 * NS_PER_SEC; }

/// "between 20:00 and 22:30 UTC on 2024-10-01", or with both days when it spans midnight.
std::string SpanEn(TimestampNs start, TimestampNs end) {
    const bool s = WithSeconds(start, end);
    const Clock a = ClockOf(start, s), b = ClockOf(end, s);
    if (a.day == b.day) return "between " + a.time + " and " + b.time + " UTC on " + a.day;
    return "between " + a.day + " " + a.time + " and " + b.day + " " + b.time + " UTC";
}

/// "2024年10月1日 20:00から22:30まで (UTC)".
std::string SpanJa(TimestampNs start, TimestampNs end) {
    const bool s = WithSeconds(start, end);
    const Clock a = ClockOf(start, s), b = ClockOf(end, s);
    auto date = [](const Clock &c, bool year) {
        return (year ? std::to_string(c.year) + "年" : std::string()) + std::to_string(c.month) + "月" +
               std::to_string(c.mday) + "日";
    };
    const std::string to = a.day == b.day ? b.time : date(b, a.year != b.year) + " " + b.time;
    return date(a, true) + " " + a.time + "から" + to + "まで (UTC)";
}

double Seconds(TimestampNs d) { return double(d) / double(NS_PER_SEC); }

}  // namespace

std::string_view CarriedKindName(CarriedState::Kind kind) {
    switch (kind) {
        case CarriedState::Kind::SCAN:
            return "scan";
        case CarriedState::Kind::CAMPAIGN:
            return "campaign";
        case CarriedState::Kind::RSDOS:
            return "rsdos";
    }
    return "scan";
}

std::optional<CarriedState::Kind> CarriedKindFromName(std::string_view name) {
    for (auto kind : {CarriedState::Kind::SCAN, CarriedState::Kind::CAMPAIGN, CarriedState::Kind::RSDOS})
        if (CarriedKindName(kind) == name) return kind;
    return std::nullopt;
}

uint64_t StreamOptions::ScanThreshold() const {
    const uint64_t scaled = uint64_t(std::ceil(100.0 * double(monitored_addresses) / TWO_POW_24));
    return std::max(scan_floor, scaled);
}

struct StreamDetectors::Impl {
    StreamOptions options;
    std::vector<std::string> sensor_names;
    const Enrichment *enrichment = nullptr;
    uint64_t scan_threshold = 0;
    uint32_t campaign_k = 0;

    DenseMap<ServiceStateKey, ServiceState, ServiceStateKeyHash> services;
    DenseMap<IpAddress, SourceRecord, AddressHash> sources;
    DenseMap<IpAddress, VictimState, AddressHash> victims;

    // The states carried in from the previous run (Restore) and not closed yet, with what their closing must
    // know. It empties as they close, within the timeouts of packet time into the run; until then a packet of
    // a carried state marks it changed, and after it each packet pays one size check.
    DenseMap<CarryKey, CarryMark, CarryKeyHash> carried;
    TimestampNs carried_last = INT64_MIN;  // the latest packet of a carried state
    std::vector<int64_t> superseded;       // stored events that events emitted since TakeSuperseded replace

    bool started = false;
    TimestampNs now = 0;         // the latest packet time
    TimestampNs next_sweep = 0;  // packet time at which Observe sweeps the tables
    std::vector<DetectedEvent> events;
    // A sweep's states to erase (kept between sweeps for its capacity).
    struct IdleState {
        size_t entry;
        uint32_t service_tag;
        uint32_t source_tag;
        IpAddress src;
        bool many;
    };
    std::vector<IdleState> idle;

    Impl(StreamOptions o, std::vector<std::string> names, const Enrichment *e)
        : options(o), sensor_names(std::move(names)), enrichment(e), scan_threshold(o.ScanThreshold()) {
        if (options.campaigns && sensor_names.size() >= 2)
            campaign_k =
                uint32_t(std::max<uint64_t>(2, std::min<uint64_t>(options.campaign_min_sensors, sensor_names.size())));
    }

    static uint32_t ProbeTag(const Observation &o) {
        return uint32_t(ServiceStateKeyHash{}(ServiceStateKey{o.src, o.cp.service.packed}));
    }

    // The states of the probes a few packets ahead are brought into cache while this one is handled, as
    // the aggregation shard does with its tables: a lookup in a table of tens of thousands of states
    // otherwise waits on memory twice per packet (its slot, then its entry).
    void ObserveBatch(std::span<const Observation> batch) {
        if (!options.scans && campaign_k == 0) {
            for (const Observation &o : batch)
                Observe(o, 0);
            return;
        }
        constexpr size_t SLOT_AHEAD = 16, ENTRY_AHEAD = 8, TABLE_AHEAD = 4, RING = 32;
        std::array<uint32_t, RING> tags{};
        const size_t n = batch.size();
        auto fetch_slot = [&](size_t i) {
            if (!IsProbe(batch[i].cp.cls)) return;
            tags[i % RING] = ProbeTag(batch[i]);
            services.PrefetchSlot(tags[i % RING]);
        };
        for (size_t i = 0; i < std::min(n, SLOT_AHEAD); ++i)
            fetch_slot(i);
        for (size_t i = 0; i < n; ++i) {
            if (i + SLOT_AHEAD < n) fetch_slot(i + SLOT_AHEAD);
            if (i + ENTRY_AHEAD < n && IsProbe(batch[i + ENTRY_AHEAD].cp.cls))
                services.PrefetchEntry(tags[(i + ENTRY_AHEAD) % RING]);
            // Once the state is in cache, a third wait: a scan past its inline destinations keeps them in a table
            // (or a sketch) of its own, where the packet's destination has a slot; a probe with no state yet
            // counts against its source's record, found through a slot of its own.
            if (i + TABLE_AHEAD < n && IsProbe(batch[i + TABLE_AHEAD].cp.cls)) {
                const Observation &o = batch[i + TABLE_AHEAD];
                const ServiceState *state =
                    services.Find(ServiceStateKey{o.src, o.cp.service.packed}, tags[(i + TABLE_AHEAD) % RING]);
                if (state == nullptr)
                    sources.PrefetchSlot(uint32_t(AddressHash{}(o.src)));
                else if (options.scans)
                    state->scan.destinations.PrefetchSlot(DestinationKey(o.dst));
            }
            Observe(batch[i], tags[i % RING]);
        }
    }

    void Observe(const Observation &o) { Observe(o, IsProbe(o.cp.cls) ? ProbeTag(o) : 0); }

    // `tag`: ProbeTag(o) for a probe.
    void Observe(const Observation &o, uint32_t tag) {
        if (!started && carried.Size() > 0) [[unlikely]]
            DropCarriedFromTheFuture(o.ts);
        if (!started || o.ts > now) now = o.ts;
        if (!started || now >= next_sweep) {
            started = true;
            // At the last multiple of the interval in packet time, not at this packet: a sweep frees idle service
            // states, which decides when a source's next service folds into "many ports". Swept when one worker's
            // next packet came, the same source's scans came out differently with other sources beside it in its
            // worker, so with another number of threads.
            const TimestampNs at = FloorDiv(now, StreamDetectors::SWEEP_INTERVAL) * StreamDetectors::SWEEP_INTERVAL;
            Sweep(at, false);
            next_sweep = at + StreamDetectors::SWEEP_INTERVAL;
        }
        const TrafficClass cls = o.cp.cls;
        if (IsProbe(cls)) {
            if (options.scans || campaign_k > 0) ObserveProbe(o, tag);
        } else if (const int response = BackscatterIndex(cls); response >= 0) {
            if (options.rsdos) ObserveBackscatter(o, response);
        }
    }

    void ObserveProbe(const Observation &o, uint32_t tag) {
        ServiceStateKey key{o.src, o.cp.service.packed};
        ServiceState *state = services.Find(key, tag);
        if (state == nullptr) {
            SourceRecord *record = sources.Find(o.src);
            if (record == nullptr) record = &sources.Insert(o.src);
            if (record->services >= options.scan_services_per_source) {
                key.service = MANY_PORTS;
                state = services.Find(key);
                if (state == nullptr) {
                    record->many_ports = true;
                    state = &services.Insert(key);
                }
            } else {
                ++record->services;
                state = &services.Insert(key);
            }
        }
        if (options.scans) ObserveScan(key, state->scan, o);
        if (campaign_k > 0) {
            if (!state->campaign) state->campaign = std::make_unique<CampaignPart>();
            ObserveCampaign(key, *state->campaign, o);
        }
    }

    void ObserveScan(const ServiceStateKey &key, ScanPart &scan, const Observation &o) {
        if (scan.packets > 0 && o.ts - scan.last > options.scan_gap) CloseScan(key, scan);
        if (carried.Size() > 0) [[unlikely]]
            MarkChanged(CarriedState::Kind::SCAN, key.src, key.service);
        if (scan.packets == 0) {
            scan.start = scan.last = o.ts;
            scan.peak.Start(o.ts);
        }
        scan.start = std::min(scan.start, o.ts);
        scan.last = std::max(scan.last, o.ts);
        ++scan.packets;
        scan.destinations.Add(DestinationKey(o.dst), options.scan_exact_destinations);
        if (o.cp.cls == TrafficClass::SYN_PROBE) ++scan.syn_packets;
        for (uint8_t bits = o.cp.fingerprints; bits != 0; bits &= uint8_t(bits - 1)) {
            const unsigned rule = unsigned(std::countr_zero(bits));
            if (rule < FINGERPRINT_RULES) ++scan.rule_packets[rule];
        }
        if (o.sensor != UNATTRIBUTED) scan.sensors.Add(o.sensor);
        scan.peak.Add(o.ts);
    }

    void ObserveCampaign(const ServiceStateKey &key, CampaignPart &c, const Observation &o) {
        if (c.window_open && o.ts - c.window_start > options.campaign_window) CloseRound(key, c);
        if (c.rounds > 0 && o.ts - c.last_round_end > options.campaign_timeout) CloseCampaign(key, c);
        if (carried.Size() > 0) [[unlikely]]
            MarkChanged(CarriedState::Kind::CAMPAIGN, key.src, key.service);
        if (!c.window_open) {
            c.window_open = true;
            c.window_start = c.window_last = o.ts;
        }
        c.window_last = std::max(c.window_last, o.ts);
        ++c.window_packets;
        if (o.sensor != UNATTRIBUTED) c.window_sensors.Add(o.sensor);
    }

    void ObserveBackscatter(const Observation &o, int response) {
        VictimState *v = victims.Find(o.src);
        if (v != nullptr && o.ts - v->last > options.rsdos_timeout) {
            CloseVictim(o.src, *v);
            *v = VictimState{};
        }
        if (v == nullptr) v = &victims.Insert(o.src);
        if (carried.Size() > 0) [[unlikely]]
            MarkChanged(CarriedState::Kind::RSDOS, o.src, 0);
        if (v->packets == 0) {
            v->start = v->last = o.ts;
            v->peak.Start(o.ts);
        }
        v->start = std::min(v->start, o.ts);
        v->last = std::max(v->last, o.ts);
        ++v->packets;
        v->peak.Add(o.ts);
        ++v->responses[size_t(response)];
        if (o.sensor != UNATTRIBUTED) v->sensors.Add(o.sensor);
        const uint32_t port = o.cp.source_port.packed;
        for (uint32_t i = 0; i < v->port_count; ++i)
            if (v->ports[i].port == port) {
                ++v->ports[i].packets;
                return;
            }
        if (v->port_count < VictimState::PORTS)
            v->ports[v->port_count++] = PortCount{port, 1};
        else
            ++v->other_port_packets;
    }

    // `all`: end of input, everything closes whatever its age.
    void Sweep(TimestampNs at, bool all) {
        for (size_t e = services.Size(); e-- > 0;) {
            // The states are walked a few hundred bytes apart, further than the hardware fetches ahead.
            if (e >= 8) PrefetchLine(&services.At(e - 8).second.scan);
            auto &[key, state] = services.At(e);
            ScanPart &scan = state.scan;
            if (scan.packets > 0 && (all || at - scan.last > options.scan_gap)) CloseScan(key, scan);
            if (CampaignPart *c = state.campaign.get()) {
                if (c->window_open && (all || at - c->window_start > options.campaign_window)) CloseRound(key, *c);
                if (c->rounds > 0 && (all || at - c->last_round_end > options.campaign_timeout)) CloseCampaign(key, *c);
            }
            if (!state.Idle()) continue;
            // A carried campaign part that never had a round ends without CloseCampaign.
            if (carried.Size() > 0) [[unlikely]]
                carried.Erase(CarryKey{key.src, key.service, CarriedState::Kind::CAMPAIGN});
            idle.push_back(IdleState{e, uint32_t(ServiceStateKeyHash{}(key)), uint32_t(AddressHash{}(key.src)), key.src,
                                     key.service == MANY_PORTS});
        }
        // The idle states go in a second pass, in the same (descending) order, so that the slots and source
        // records of the erases a few places on can be fetched meanwhile: each erase otherwise waits on
        // memory three times (its slot, its source's slot and record), and most states end this way.
        constexpr size_t AHEAD = 8;
        for (size_t k = 0; k < idle.size(); ++k) {
            if (k + AHEAD < idle.size()) {
                services.PrefetchSlot(idle[k + AHEAD].service_tag);
                sources.PrefetchSlot(idle[k + AHEAD].source_tag);
                services.PrefetchMover(AHEAD, 2 * AHEAD);
                services.PrefetchWhole(idle[k + AHEAD].entry);
            }
            if (k + AHEAD / 2 < idle.size()) sources.PrefetchEntry(idle[k + AHEAD / 2].source_tag);
            const IdleState &d = idle[k];
            services.EraseAt(d.entry, d.service_tag);
            if (SourceRecord *record = sources.Find(d.src, d.source_tag); record != nullptr) {
                if (d.many)
                    record->many_ports = false;
                else if (record->services > 0)
                    --record->services;
                if (record->services == 0 && !record->many_ports) sources.Erase(d.src, d.source_tag);
            }
        }
        idle.clear();
        for (size_t e = victims.Size(); e-- > 0;) {
            auto &[victim, v] = victims.At(e);
            if (all || at - v.last > options.rsdos_timeout) {
                CloseVictim(victim, v);
                victims.EraseAt(e);
            }
        }
        services.ShrinkIfSparse();
        sources.ShrinkIfSparse();
        victims.ShrinkIfSparse();
    }

    // ---- States carried across runs ----

    void MarkChanged(CarriedState::Kind kind, const IpAddress &src, uint32_t service) {
        if (CarryMark *mark = carried.Find(CarryKey{src, service, kind})) mark->changed = true;
    }

    struct CarryVerdict {
        bool emit = true;      // false: a carried state with no packet since, whose event (if any) is stored
        int64_t replaces = 0;  // the stored event that its closing replaces
    };
    // A state closes: it is no longer carried. The event stored for a carried state when its run ended was
    // that of a state cut short; once the state has changed, what it closes as replaces that event, and
    // where it no longer qualifies (a campaign whose short windows grew past its rounds) replaces it with
    // nothing, as one run over both would have emitted nothing.
    CarryVerdict EndCarried(CarriedState::Kind kind, const IpAddress &src, uint32_t service) {
        if (carried.Size() == 0) return {};
        const CarryKey key{src, service, kind};
        const CarryMark *mark = carried.Find(key);
        if (mark == nullptr) return {};
        const CarryVerdict verdict{mark->changed, mark->changed ? mark->event_id : 0};
        carried.Erase(key);
        return verdict;
    }

    uint64_t LongestTimeout() const {
        return std::max({uint64_t(options.scan_gap), uint64_t(options.rsdos_timeout),
                         uint64_t(options.campaign_timeout) + uint64_t(options.campaign_window)});
    }

    // The first packet of the run lies before the carried states by more than any timeout: the run reads an
    // earlier stretch of time (a backfill), which those states cannot go on into. They close as they are,
    // without events (theirs are stored).
    void DropCarriedFromTheFuture(TimestampNs first) {
        if (first >= carried_last || uint64_t(carried_last - first) <= LongestTimeout()) return;
        Sweep(0, true);
        carried = {};
    }

    ServiceState &RestoredServiceState(const ServiceStateKey &key) {
        if (ServiceState *state = services.Find(key)) return *state;
        SourceRecord *record = sources.Find(key.src);
        if (record == nullptr) record = &sources.Insert(key.src);
        if (key.service == MANY_PORTS)
            record->many_ports = true;
        else
            ++record->services;
        return services.Insert(key);
    }

    std::string Restore(const CarriedState &c) {
        CarryReader in(c.state);
        const uint8_t *format = in.Bytes(1);
        if (format == nullptr) return "empty";
        if (*format != CARRY_FORMAT)
            return "encoding " + std::to_string(*format) + " (this darkscope reads " + std::to_string(CARRY_FORMAT) +
                   ")";
        if (!c.source.Valid()) return "no source address";
        const CarryKey key{c.source, c.kind == CarriedState::Kind::RSDOS ? 0 : c.service, c.kind};
        if (carried.Find(key) != nullptr) return "carried twice";
        const size_t sensors = sensor_names.size();
        TimestampNs last = 0;
        switch (c.kind) {
            case CarriedState::Kind::SCAN: {
                ScanPart scan;
                DecodeScan(in, scan, options, sensors);
                if (in.Ok() && !options.scans) return "scans are off";
                if (!in.Ok() || !in.AtEnd()) break;
                last = scan.last;
                RestoredServiceState(ServiceStateKey{c.source, c.service}).scan = std::move(scan);
                break;
            }
            case CarriedState::Kind::CAMPAIGN: {
                auto campaign = std::make_unique<CampaignPart>();
                DecodeCampaign(in, *campaign, sensors);
                if (in.Ok() && campaign_k == 0) return "campaigns are off";
                if (!in.Ok() || !in.AtEnd()) break;
                last = std::max(campaign->window_open ? campaign->window_last : INT64_MIN,
                                campaign->rounds > 0 ? campaign->last_round_end : INT64_MIN);
                RestoredServiceState(ServiceStateKey{c.source, c.service}).campaign = std::move(campaign);
                break;
            }
            case CarriedState::Kind::RSDOS: {
                VictimState v;
                DecodeVictim(in, v, sensors);
                if (in.Ok() && !options.rsdos) return "DoS backscatter detection is off";
                if (!in.Ok() || !in.AtEnd()) break;
                last = v.last;
                if (VictimState *held = victims.Find(c.source))
                    *held = std::move(v);
                else
                    victims.Insert(c.source) = std::move(v);
                break;
            }
        }
        if (!in.Ok()) return in.Error();
        if (!in.AtEnd()) return "bytes after the state";
        carried.Insert(key) = CarryMark{c.event_id, false};
        carried_last = std::max(carried_last, last);
        return {};
    }

    static CarriedState Carried(CarriedState::Kind kind, const IpAddress &src, uint32_t service, TimestampNs last) {
        CarriedState c;
        c.kind = kind;
        c.source = src;
        c.service = service;
        c.last = last;
        return c;
    }

    // Encodes a part, then closes it as Finish does; `close` closes it.
    template <typename Encode, typename Close>
    void CarryOut(std::vector<CarriedState> &out, CarriedState c, const Encode &encode, const Close &close) {
        c.state.push_back(char(CARRY_FORMAT));
        encode(c.state);
        const CarryKey key{c.source, c.service, c.kind};
        // A changed state's stored event goes as it closes below (TakeSuperseded), replaced or not.
        if (const CarryMark *mark = carried.Size() > 0 ? carried.Find(key) : nullptr)
            c.event_id = mark->changed ? 0 : mark->event_id;
        const size_t before = events.size();
        close();
        if (events.size() > before) {
            c.event = events.size() - 1;
            c.event_id = 0;  // the caller's, once stored
        }
        out.push_back(std::move(c));
    }

    std::vector<CarriedState> FinishCarrying(TimestampNs run_end) {
        Sweep(run_end, false);
        std::vector<CarriedState> out;
        for (size_t e = 0; e < services.Size(); ++e) {
            // Plain references, not a structured binding: clang before 16 cannot capture those in a lambda.
            auto &entry = services.At(e);
            const auto &key = entry.first;
            auto &state = entry.second;
            if (state.scan.packets > 0) {
                CarriedState c = Carried(CarriedState::Kind::SCAN, key.src, key.service, state.scan.last);
                CarryOut(
                    out, std::move(c), [&](std::string &to) { EncodeScan(state.scan, to); },
                    [&] { CloseScan(key, state.scan); });
            }
            CampaignPart *campaign = state.campaign.get();
            if (campaign != nullptr && (campaign->window_open || campaign->rounds > 0)) {
                const TimestampNs last = std::max(campaign->window_open ? campaign->window_last : INT64_MIN,
                                                  campaign->rounds > 0 ? campaign->last_round_end : INT64_MIN);
                CarriedState c = Carried(CarriedState::Kind::CAMPAIGN, key.src, key.service, last);
                CarryOut(
                    out, std::move(c), [&](std::string &to) { EncodeCampaign(*campaign, to); },
                    [&] {
                        if (campaign->window_open) CloseRound(key, *campaign);
                        if (campaign->rounds > 0) CloseCampaign(key, *campaign);
                        // A carried campaign without a round ends here too.
                        EndCarried(CarriedState::Kind::CAMPAIGN, key.src, key.service);
                    });
            }
        }
        for (size_t e = 0; e < victims.Size(); ++e) {
            auto &entry = victims.At(e);
            const auto &victim = entry.first;
            auto &v = entry.second;
            CarriedState c = Carried(CarriedState::Kind::RSDOS, victim, 0, v.last);
            CarryOut(
                out, std::move(c), [&](std::string &to) { EncodeVictim(v, to); }, [&] { CloseVictim(victim, v); });
        }
        services = {};
        sources = {};
        victims = {};
        carried = {};
        return out;
    }

    std::string CarrySettings() const {
        nlohmann::ordered_json j;
        j["format"] = CARRY_FORMAT;
        j["monitored_addresses"] = options.monitored_addresses;
        j["scans"] = options.scans;
        j["scan_gap_ns"] = options.scan_gap;
        j["scan_floor"] = options.scan_floor;
        j["scan_exact_destinations"] = options.scan_exact_destinations;
        j["scan_services_per_source"] = options.scan_services_per_source;
        j["rsdos"] = options.rsdos;
        j["rsdos_timeout_ns"] = options.rsdos_timeout;
        j["rsdos_min_packets"] = options.rsdos_min_packets;
        j["rsdos_min_duration_ns"] = options.rsdos_min_duration;
        j["rsdos_min_peak_per_minute"] = options.rsdos_min_peak_per_minute;
        j["campaigns"] = options.campaigns;
        j["campaign_window_ns"] = options.campaign_window;
        j["campaign_min_sensors"] = options.campaign_min_sensors;
        j["campaign_min_rounds"] = options.campaign_min_rounds;
        j["campaign_min_round_share"] = options.campaign_min_round_share;
        j["campaign_timeout_ns"] = options.campaign_timeout;
        j["fingerprint_rules"] = FINGERPRINT_RULES;
        j["sensors"] = sensor_names;
        return j.dump();
    }

    // ---- Closing states ----

    std::string Country(const IpAddress &a) const {
        if (enrichment == nullptr) return "";
        const uint16_t c = enrichment->Lookup(a).country;
        return c == UNKNOWN_COUNTRY ? "" : CountryCode(c);
    }
    std::string SensorName(SensorIndex s) const {
        return s < sensor_names.size() ? sensor_names[s] : "sensor " + std::to_string(s);
    }
    DetectedEvent Base(EventKind kind, std::string detector, const IpAddress &src, uint64_t packets) const {
        DetectedEvent e;
        e.kind = kind;
        e.detector = std::move(detector);
        e.subject = src.ToString();
        e.packets = packets;
        e.sources = 1;
        const std::string country = Country(src);
        e.top_sources.push_back(EventSource{e.subject, country, packets});
        if (!country.empty()) e.regions.push_back(country);
        return e;
    }
    nlohmann::ordered_json SensorList(const SensorCounts &counts, DetectedEvent &e) const {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const SensorCounts::Entry &s : counts.Sorted()) {
            e.sensors.push_back(SensorName(s.sensor));
            out.push_back({{"sensor", SensorName(s.sensor)}, {"packets", s.packets}});
        }
        return out;
    }

    void CloseScan(const ServiceStateKey &key, ScanPart &scan) {
        const CarryVerdict carry = EndCarried(CarriedState::Kind::SCAN, key.src, key.service);
        const uint64_t distinct = scan.destinations.Count();
        if (carry.emit && distinct >= scan_threshold) EmitScan(key, scan, distinct);
        if (carry.replaces != 0) superseded.push_back(carry.replaces);
        scan = ScanPart{};
    }

    void EmitScan(const ServiceStateKey &key, const ScanPart &scan, uint64_t distinct) {
        DetectedEvent e = Base(EventKind::SCAN, "scan", key.src, scan.packets);
        e.start = scan.start;
        e.end = scan.last;
        e.peak = scan.peak.PeakStart();
        e.magnitude = double(distinct);
        // A one-packet-per-second floor on the duration: a burst inside one second has no rate of its own.
        const double duration = Seconds(scan.last - scan.start);
        const double rate = double(scan.packets) / std::max(duration, 1.0);
        const bool many = key.service == MANY_PORTS;
        const std::string service = many ? "" : ServiceKey{key.service}.ToString();

        FingerprintEvidence fp;
        fp.packets = scan.packets;
        fp.syn_packets = scan.syn_packets;
        for (size_t r = 0; r < FINGERPRINT_RULES; ++r)
            fp.matched[r] = scan.rule_packets[r];
        std::string tool;
        nlohmann::ordered_json tags = nlohmann::ordered_json::array();
        for (const TagVerdict &t : TagsOf(fp)) {
            tags.push_back(TagName(t.tag));
            if (t.tag == Tag::BOGON) continue;
            // A named tool's tag wins over irregular-syn, which any raw-socket tool leaves.
            if (tool.empty() || (tool == TagName(Tag::IRREGULAR_SYN) && t.tag != Tag::IRREGULAR_SYN))
                tool = std::string(TagName(t.tag));
        }

        const uint64_t monitored = options.monitored_addresses;
        std::optional<double> coverage, ipv4_rate;
        if (monitored > 0) coverage = std::min(1.0, double(distinct) / double(monitored));
        if (monitored > 0 && key.src.IsV4()) ipv4_rate = rate * TWO_POW_32 / double(monitored);

        auto &ev = e.evidence;
        ev["service"] = many ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(service);
        ev["many_ports"] = many;
        ev["packets"] = scan.packets;
        ev["distinct_destinations"] = distinct;
        ev["distinct_destinations_exact"] = scan.destinations.Exact();
        ev["threshold"] = scan_threshold;
        ev["duration_s"] = duration;
        ev["rate_pps"] = rate;
        ev["peak_packets_per_minute"] = scan.peak.Peak();
        ev["monitored_addresses"] = monitored;
        ev["coverage"] = coverage ? nlohmann::ordered_json(*coverage) : nlohmann::ordered_json(nullptr);
        ev["estimated_ipv4_rate_pps"] =
            ipv4_rate ? nlohmann::ordered_json(*ipv4_rate) : nlohmann::ordered_json(nullptr);
        ev["tool"] = tool.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(tool);
        ev["tags"] = tags;
        ev["sensors"] = SensorList(scan.sensors, e);

        const std::string what_en = many ? "many ports" : service;
        e.sentence_en = e.subject + " scanned " + what_en + " " + SpanEn(scan.start, scan.last) + ": " +
                        GroupDigits(scan.packets) + " packets to " + GroupDigits(distinct) + " darknet addresses";
        if (coverage) e.sentence_en += " (" + Percent(*coverage) + " of those monitored)";
        e.sentence_en += " at " + RateEn(rate) + " packets/s";
        if (ipv4_rate) e.sentence_en += ", an estimated " + RateEn(*ipv4_rate) + " packets/s over all of IPv4";
        if (!tool.empty()) e.sentence_en += ", with the marks of " + tool;
        e.sentence_en += ".";

        const std::string what_ja = many ? "多数のポート" : service;
        e.sentence_ja = SpanJa(scan.start, scan.last) + "、" + e.subject + " から " + what_ja +
                        " に対するスキャンを観測した。ダークネットの " + GroupDigits(distinct) + " アドレスに計 " +
                        GroupDigits(scan.packets) + " 件 (毎秒 " + RateJa(rate) + " 件)";
        if (coverage) e.sentence_ja += "で、監視対象アドレスの " + Percent(*coverage) + " に当たる";
        e.sentence_ja += "。";
        if (ipv4_rate) e.sentence_ja += "IPv4 全体では毎秒約 " + RateJa(*ipv4_rate) + " 件の送信と推定される。";
        if (!tool.empty()) e.sentence_ja += "ツールの特徴 (" + tool + ") が見られる。";
        events.push_back(std::move(e));
    }

    void CloseRound(const ServiceStateKey &key, CampaignPart &c) {
        if (c.window_sensors.Size() >= campaign_k) {
            // A round after a long silence starts a campaign of its own.
            if (c.rounds > 0 && c.window_start - c.last_round_end > options.campaign_timeout) CloseCampaign(key, c);
            c.first_round = c.rounds == 0 ? c.window_start : std::min(c.first_round, c.window_start);
            ++c.rounds;
            c.last_round_end = std::max(c.last_round_end, c.window_last);
            c.packets += c.window_packets;
            c.sensors.Merge(c.window_sensors);
            if (c.window_packets > c.busiest_round_packets) {
                c.busiest_round_packets = c.window_packets;
                c.busiest_round = c.window_start;
            }
        } else if (c.rounds > 0) {
            ++c.short_windows;
        }
        c.window_open = false;
        c.window_packets = 0;
        c.window_sensors.Clear();
    }

    void CloseCampaign(const ServiceStateKey &key, CampaignPart &c) {
        const CarryVerdict carry = EndCarried(CarriedState::Kind::CAMPAIGN, key.src, key.service);
        if (carry.emit && c.rounds >= options.campaign_min_rounds &&
            c.rounds >= options.campaign_min_round_share * double(c.rounds + c.short_windows))
            EmitCampaign(key, c);
        if (carry.replaces != 0) superseded.push_back(carry.replaces);
        c.rounds = 0;
        c.short_windows = 0;
        c.first_round = c.last_round_end = 0;
        c.packets = 0;
        c.sensors = SensorCounts{};
        c.busiest_round = 0;
        c.busiest_round_packets = 0;
    }

    void EmitCampaign(const ServiceStateKey &key, const CampaignPart &c) {
        DetectedEvent e = Base(EventKind::CAMPAIGN, "campaign", key.src, c.packets);
        e.start = c.first_round;
        e.end = std::max(c.first_round, c.last_round_end);
        e.peak = c.busiest_round;
        e.magnitude = double(c.sensors.Size());
        const bool many = key.service == MANY_PORTS;
        const std::string service = many ? "" : ServiceKey{key.service}.ToString();
        const std::string from = e.top_sources.front().country;

        auto &ev = e.evidence;
        ev["service"] = many ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(service);
        ev["many_ports"] = many;
        ev["rounds"] = c.rounds;
        ev["short_windows"] = c.short_windows;
        ev["packets"] = c.packets;
        ev["distinct_sensors"] = c.sensors.Size();
        ev["min_sensors"] = campaign_k;
        ev["window_s"] = Seconds(options.campaign_window);
        ev["sensors"] = SensorList(c.sensors, e);
        nlohmann::ordered_json flow = nlohmann::ordered_json::array();
        for (const SensorCounts::Entry &s : c.sensors.Sorted())
            flow.push_back({{"from", from}, {"to", SensorName(s.sensor)}, {"packets", s.packets}});
        ev["flow"] = flow;

        const std::string what = many ? "many ports" : service;
        std::string names;
        for (size_t i = 0; i < e.sensors.size(); ++i)
            names += (i ? ", " : "") + e.sensors[i];
        const double window_s = Seconds(options.campaign_window);
        const std::string window =
            window_s == std::floor(window_s) ? GroupDigits(uint64_t(window_s)) : Fixed(window_s, 1);
        e.sentence_en = e.subject + " sent " + what + " packets that reached " + std::to_string(c.sensors.Size()) +
                        " sensors (" + names + ") within " + window + " s, " + std::to_string(c.rounds) + " times " +
                        SpanEn(e.start, e.end) + ": " + GroupDigits(c.packets) + " packets, a campaign across sensors";
        if (service == "53/UDP")
            e.sentence_en += " (DNS queries in its name: likely spoofed, to reflect answers at it)";
        e.sentence_en += ".";

        std::string names_ja;
        for (size_t i = 0; i < e.sensors.size(); ++i)
            names_ja += (i ? "、" : "") + e.sensors[i];
        e.sentence_ja = SpanJa(e.start, e.end) + "、" + e.subject + " から " + (many ? "多数のポート" : service) +
                        " 宛てのパケットが " + window + " 秒以内に " + std::to_string(c.sensors.Size()) +
                        " か所のセンサー (" + names_ja + ") に到達する事象を " + std::to_string(c.rounds) +
                        " 回観測した (計 " + GroupDigits(c.packets) + " 件)。複数のセンサーにまたがる活動とみられる。";
        if (service == "53/UDP")
            e.sentence_ja +=
                "送信元を詐称した DNS 問い合わせであれば、同アドレスは DNS リフレクション攻撃の標的と考えられる。";
        events.push_back(std::move(e));
    }

    void CloseVictim(const IpAddress &victim, const VictimState &v) {
        const CarryVerdict carry = EndCarried(CarriedState::Kind::RSDOS, victim, 0);
        const TimestampNs duration = v.last - v.start;
        if (carry.emit && v.packets >= options.rsdos_min_packets && duration >= options.rsdos_min_duration &&
            v.peak.Peak() >= options.rsdos_min_peak_per_minute)
            EmitVictim(victim, v);
        if (carry.replaces != 0) superseded.push_back(carry.replaces);
    }

    void EmitVictim(const IpAddress &victim, const VictimState &v) {
        DetectedEvent e = Base(EventKind::BACKSCATTER, "rsdos", victim, v.packets);
        e.start = v.start;
        e.end = v.last;
        e.peak = v.peak.PeakStart();
        const double duration = Seconds(v.last - v.start);
        const double observed = double(v.packets) / std::max(duration, 1.0);
        const uint64_t monitored = options.monitored_addresses;
        const bool extrapolated = monitored > 0 && victim.IsV4();
        const double estimated = extrapolated ? observed * TWO_POW_32 / double(monitored) : observed;
        e.magnitude = estimated;

        std::vector<PortCount> ports(v.ports.begin(), v.ports.begin() + v.port_count);
        std::sort(ports.begin(), ports.end(), [](const PortCount &a, const PortCount &b) {
            return a.packets != b.packets ? a.packets > b.packets : a.port < b.port;
        });
        auto &ev = e.evidence;
        nlohmann::ordered_json port_list = nlohmann::ordered_json::array();
        for (const PortCount &p : ports)
            port_list.push_back({{"port", ServiceKey{p.port}.ToString()}, {"packets", p.packets}});
        ev["ports"] = port_list;
        ev["other_port_packets"] = v.other_port_packets;
        ev["packets"] = v.packets;
        ev["duration_s"] = duration;
        ev["peak_packets_per_minute"] = v.peak.Peak();
        ev["peak_window"] = "60 s sliding in 10 s steps";
        nlohmann::ordered_json responses = nlohmann::ordered_json::object();
        for (size_t r = 0; r < v.responses.size(); ++r)
            if (v.responses[r] > 0) responses[std::string(TrafficClassName(BACKSCATTER_CLASSES[r]))] = v.responses[r];
        ev["responses"] = responses;
        ev["observed_rate_pps"] = observed;
        ev["monitored_addresses"] = monitored;
        ev["extrapolated"] = extrapolated;
        ev["estimated_rate_pps"] = extrapolated ? nlohmann::ordered_json(estimated) : nlohmann::ordered_json(nullptr);
        ev["sensors"] = SensorList(v.sensors, e);

        std::string kinds_en, kinds_ja;
        size_t kinds = 0, seen = 0;
        for (uint64_t n : v.responses)
            kinds += n > 0;
        for (size_t r = 0; r < v.responses.size(); ++r) {
            if (v.responses[r] == 0) continue;
            ++seen;
            if (seen > 1) kinds_en += seen == kinds ? " and " : ", ";
            if (seen > 1) kinds_ja += "・";
            kinds_en += BACKSCATTER_WORDS[r];
            kinds_ja += BACKSCATTER_WORDS_JA[r];
        }
        std::string port_en, port_ja;
        if (!ports.empty() && !ServiceKey{ports[0].port}.Empty()) {
            const std::string top = ServiceKey{ports[0].port}.ToString();
            const size_t others = ports.size() - 1 + (v.other_port_packets > 0 ? 1 : 0);
            port_en = " from " + top;
            port_ja = top;
            if (others > 0) {
                port_en += " and " + std::string(v.other_port_packets > 0 ? "more than " : "") +
                           std::to_string(others) + " other port" + (others > 1 ? "s" : "");
                port_ja += " など";
            }
        }
        e.sentence_en = e.subject + " sent " + GroupDigits(v.packets) + " " + kinds_en + " packets" + port_en + " " +
                        SpanEn(v.start, v.last) + ": a DoS attack on it";
        if (extrapolated)
            e.sentence_en += " at an estimated " + RateEn(estimated) + " packets/s";
        else
            e.sentence_en += ", seen at " + RateEn(observed) + " packets/s (not extrapolated)";
        e.sentence_en += ".";
        e.sentence_ja =
            SpanJa(v.start, v.last) + "、" + e.subject + " から" +
            (port_ja.empty() ? "" : " " + port_ja + (port_ja.ends_with("など") ? "" : " ") + "を送信元とする") + " " +
            kinds_ja + " パケット " + GroupDigits(v.packets) +
            " 件を観測した。同アドレスに対する DoS 攻撃のバックスキャッタとみられ、";
        if (extrapolated)
            e.sentence_ja += "攻撃規模は毎秒約 " + RateJa(estimated) + " パケットと推定される。";
        else
            e.sentence_ja += "観測された規模は毎秒 " + RateJa(observed) + " パケットである。";
        events.push_back(std::move(e));
    }
};

StreamDetectors::StreamDetectors(StreamOptions options, std::vector<std::string> sensor_names,
                                 const Enrichment *enrichment)
    : impl_(std::make_unique<Impl>(options, std::move(sensor_names), enrichment)) {}
StreamDetectors::~StreamDetectors() = default;
StreamDetectors::StreamDetectors(StreamDetectors &&) noexcept = default;
StreamDetectors &StreamDetectors::operator=(StreamDetectors &&) noexcept = default;

void StreamDetectors::Observe(const Observation &o) { impl_->Observe(o); }
void StreamDetectors::ObserveBatch(std::span<const Observation> batch) { impl_->ObserveBatch(batch); }
void StreamDetectors::Expire(TimestampNs now) { impl_->Sweep(now, false); }
void StreamDetectors::Finish() { impl_->Sweep(0, true); }
std::vector<DetectedEvent> StreamDetectors::TakeEvents() { return std::exchange(impl_->events, {}); }
std::string StreamDetectors::CarrySettings() const { return impl_->CarrySettings(); }
std::string StreamDetectors::Restore(const CarriedState &state) { return impl_->Restore(state); }
std::vector<CarriedState> StreamDetectors::FinishCarrying(TimestampNs run_end) {
    return impl_->FinishCarrying(run_end);
}
std::vector<int64_t> StreamDetectors::TakeSuperseded() { return std::exchange(impl_->superseded, {}); }
size_t StreamDetectors::CarriedStates() const { return impl_->carried.Size(); }
size_t StreamDetectors::ActiveStates() const { return impl_->services.Size() + impl_->victims.Size(); }
uint32_t StreamDetectors::CampaignSensors() const { return impl_->campaign_k; }

}  // namespace darkscope::detect
