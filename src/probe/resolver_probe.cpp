#include "probe/resolver_probe.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <deque>
#include <memory>
#include <stdexcept>
#include <thread>

#include "probe/text.hpp"

namespace darkscope::probe {
namespace {

constexpr uint16_t CLASS_IN = 1;
constexpr uint16_t TYPE_ANY = 255;

struct TypeName {
    uint16_t type;
    std::string_view name;
};
constexpr TypeName QUERY_TYPES[] = {
    {1, "A"},    {2, "NS"},    {5, "CNAME"}, {6, "SOA"}, {12, "PTR"},    {15, "MX"},
    {16, "TXT"}, {28, "AAAA"}, {33, "SRV"},  {43, "DS"}, {48, "DNSKEY"}, {255, "ANY"},
};

constexpr std::string_view RCODE_NAMES[] = {"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                            "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};

// A bounds-checked reader over one DNS message; names are walked by c-ares' own expander, which follows
// compression pointers and refuses loops and reads past the end.
class MessageReader {
public:
    explicit MessageReader(std::span<const uint8_t> m) : m_(m) {}
    bool U16(uint16_t &v) {
        if (pos_ + 2 > m_.size()) return false;
        v = uint16_t(m_[pos_] << 8 | m_[pos_ + 1]);
        pos_ += 2;
        return true;
    }
    bool Skip(size_t n) {
        if (pos_ + n > m_.size()) return false;
        pos_ += n;
        return true;
    }
    bool Name(std::string *out) { return NameAt(pos_, out, &pos_); }
    // The name at `at` (inside RDATA), without moving the reader.
    bool NameAt(size_t at, std::string *out, size_t *end = nullptr) const {
        if (at >= m_.size()) return false;
        char *name = nullptr;
        long length = 0;
        if (ares_expand_name(m_.data() + at, m_.data(), int(m_.size()), &name, &length) != ARES_SUCCESS) return false;
        if (out) *out = name;
        ares_free_string(name);
        if (end) *end = at + size_t(length);
        return true;
    }
    size_t Pos() const { return pos_; }
    std::span<const uint8_t> Bytes(size_t at, size_t n) const { return m_.subspan(at, n); }

private:
    std::span<const uint8_t> m_;
    size_t pos_ = 0;
};

std::string_view AsText(std::span<const uint8_t> b) { return {reinterpret_cast<const char *>(b.data()), b.size()}; }

// A TXT string quoted as dig prints it; the quotes inside are escaped so that the strings stay told apart.
std::string Quoted(std::span<const uint8_t> b) {
    std::string escaped = EscapeWireText(AsText(b), 512), out = "\"";
    for (char c : escaped)
        out += c == '"' ? std::string("\\\"") : std::string(1, c);
    return out + "\"";
}

struct Record {
    std::string text;  // as shown: escaped
    bool matches = false;
};

// Renders one answer record's data and says whether it holds the expected text.
std::optional<Record> ReadRecord(const MessageReader &r, uint16_t type, size_t at, size_t length,
                                 std::string_view expect) {
    Record rec;
    const auto data = r.Bytes(at, length);
    if (type == 16) {  // TXT: one or more <length><bytes> strings
        std::string joined;
        for (size_t i = 0; i < data.size();) {
            const size_t n = data[i];
            if (i + 1 + n > data.size()) return std::nullopt;
            const auto s = data.subspan(i + 1, n);
            rec.text += (rec.text.empty() ? "" : " ") + Quoted(s);
            rec.matches |= !expect.empty() && AsText(s).find(expect) != std::string_view::npos;
            joined.append(AsText(s));
            i += 1 + n;
        }
        // A long marker may be split over strings; the concatenation is what the record says.
        rec.matches |= expect.empty() || joined.find(expect) != std::string::npos;
        return rec;
    }
    if (type == 1 || type == 28) {
        if (length != (type == 1 ? 4u : 16u)) return std::nullopt;
        char buf[INET6_ADDRSTRLEN] = {};
        inet_ntop(type == 1 ? AF_INET : AF_INET6, data.data(), buf, sizeof buf);
        rec.text = buf;
    } else if (type == 2 || type == 5 || type == 12) {
        std::string name;
        if (!r.NameAt(at, &name)) return std::nullopt;
        rec.text = EscapeWireText(name, 300);
    } else if (type == 15) {
        std::string name;
        if (length < 3 || !r.NameAt(at + 2, &name)) return std::nullopt;
        rec.text = fmt::format("{} {}", data[0] << 8 | data[1], EscapeWireText(name, 300));
    } else {
        rec.text = fmt::format("\\# {}", length);
        for (size_t i = 0; i < std::min<size_t>(length, 64); ++i)
            rec.text += fmt::format("{:02x}", data[i]);
        if (length > 64) rec.text += "...";
    }
    rec.matches = expect.empty() || rec.text.find(expect) != std::string::npos;
    return rec;
}

std::string RcodeName(unsigned rcode) {
    return rcode < std::size(RCODE_NAMES) ? std::string(RCODE_NAMES[rcode]) : fmt::format("rcode {}", rcode);
}

}  // namespace

std::string_view ResolverStatusName(ResolverStatus s) {
    switch (s) {
        case ResolverStatus::OPEN:
            return "open";
        case ResolverStatus::NOT_OPEN:
            return "not-open";
        case ResolverStatus::NO_ANSWER:
            return "no-answer";
    }
    return "?";
}

std::optional<ResolverStatus> ParseResolverStatus(std::string_view text) {
    for (auto s : {ResolverStatus::OPEN, ResolverStatus::NOT_OPEN, ResolverStatus::NO_ANSWER})
        if (text == ResolverStatusName(s)) return s;
    return std::nullopt;
}

std::optional<uint16_t> ParseQueryType(std::string_view text) {
    std::string upper(text);
    for (char &c : upper)
        c = char(std::toupper(uint8_t(c)));
    for (const TypeName &t : QUERY_TYPES)
        if (upper == t.name) return t.type;
    if (upper.starts_with("TYPE")) {
        unsigned value = 0;
        auto [end, ec] = std::from_chars(upper.data() + 4, upper.data() + upper.size(), value);
        if (ec == std::errc() && end == upper.data() + upper.size() && upper.size() > 4 && value > 0 && value < 65536)
            return uint16_t(value);
    }
    return std::nullopt;
}

std::string QueryTypeName(uint16_t qtype) {
    for (const TypeName &t : QUERY_TYPES)
        if (t.type == qtype) return std::string(t.name);
    return fmt::format("TYPE{}", qtype);
}

ResolverVerdict ClassifyResolverResponse(std::span<const uint8_t> message, uint16_t qtype, std::string_view expect) {
    const auto not_open = [](std::string detail) {
        return ResolverVerdict{ResolverStatus::NOT_OPEN, std::move(detail)};
    };
    MessageReader r(message);
    uint16_t id, flags, qdcount, ancount, nscount, arcount;
    if (!r.U16(id) || !r.U16(flags) || !r.U16(qdcount) || !r.U16(ancount) || !r.U16(nscount) || !r.U16(arcount))
        return not_open(fmt::format("malformed response: {} bytes, shorter than a DNS header", message.size()));
    if (!(flags & 0x8000)) return not_open("not a response (QR=0)");
    const bool ra = flags & 0x0080, tc = flags & 0x0200;
    const unsigned rcode = flags & 0x000F;
    const std::string flag_note =
        fmt::format("{}{}", ra ? "" : ", no recursion (RA=0)", tc ? ", truncated (TC=1)" : "");
    if (rcode != 0) return not_open(fmt::format("rcode {}{}", RcodeName(rcode), flag_note));

    for (unsigned i = 0; i < qdcount; ++i)
        if (!r.Name(nullptr) || !r.Skip(4)) return not_open("malformed response: question section cut short");
    std::vector<std::string> of_type, other_types;
    std::optional<std::string> matched;
    for (unsigned i = 0; i < ancount; ++i) {
        uint16_t type, klass, rdlength;
        if (!r.Name(nullptr) || !r.U16(type) || !r.U16(klass) || !r.Skip(4) || !r.U16(rdlength) ||
            r.Pos() + rdlength > message.size())
            return not_open(fmt::format("malformed response: answer record {} of {} cut short", i + 1, ancount));
        const size_t at = r.Pos();
        r.Skip(rdlength);
        if (klass != CLASS_IN || (type != qtype && qtype != TYPE_ANY)) {
            other_types.push_back(QueryTypeName(type));
            continue;
        }
        auto record = ReadRecord(r, type, at, rdlength, expect);
        if (!record) return not_open(fmt::format("malformed response: {} record data", QueryTypeName(type)));
        if (record->matches && !matched) matched = record->text;
        of_type.push_back(std::move(record->text));
    }
    if (matched) {
        // Open even with RA=0: the answer is the proof. (Only the marker's own authoritative servers would
        // answer so without recursing, and they are not what a darknet sees.)
        return {ResolverStatus::OPEN, fmt::format("answer: {}{}", *matched, flag_note)};
    }
    if (!of_type.empty()) {
        std::string shown;
        for (size_t i = 0; i < of_type.size() && i < 3; ++i)
            shown += (i ? "; " : "") + of_type[i];
        if (of_type.size() > 3) shown += fmt::format("; +{} more", of_type.size() - 3);
        return not_open(fmt::format("answer without '{}': {}{}", EscapeWireText(expect), shown, flag_note));
    }
    if (!ra)
        return not_open(
            fmt::format("no recursion (RA=0), NOERROR without an answer{}", tc ? ", truncated (TC=1)" : ""));
    std::string others;
    for (auto &t : other_types)
        others += (others.empty() ? "" : ",") + t;
    return not_open(fmt::format("NOERROR without a {} answer{}{}", QueryTypeName(qtype),
                                others.empty() ? "" : " (only " + others + ")", flag_note));
}

TokenBucket::TokenBucket(double rate, Clock::time_point start)
    : interval_(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate))), next_(start) {}

bool TokenBucket::TryTake(Clock::time_point now) {
    if (now < next_) return false;
    // The bucket holds one token: time left unused is not saved up, so no two queries start closer than
    // 1/rate, whatever the loop's delays.
    next_ = std::max(next_, now) + interval_;
    return true;
}

namespace {

// One query in flight on its own channel: a c-ares channel talks to one server list, and every target is a
// different server.
struct Slot {
    ares_channel channel = nullptr;
    bool busy = false;
    bool done = false;
    size_t target = 0;
    int tries = 0;
    int status = ARES_SUCCESS;
    std::vector<uint8_t> response;
};

void OnResponse(void *arg, int status, int /*timeouts*/, unsigned char *abuf, int alen) {
    auto *slot = static_cast<Slot *>(arg);
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;
    slot->done = true;
    slot->status = status;
    slot->response.assign(abuf, abuf + (abuf && alen > 0 ? alen : 0));
}

struct Pending {
    size_t target;
    int tries;  // already made
};

}  // namespace

TargetPartition ProbeResolvers(const std::vector<IpAddress> &targets, const ExclusionList &exclusion,
                               const ResolverProbeOptions &options,
                               const std::function<void(ResolverProbeResult &&)> &on_result) {
    if (options.rate <= 0) throw std::runtime_error("the rate must be above 0 queries per second");
    TargetPartition partition = exclusion.Partition(targets);
    const std::vector<IpAddress> &allowed = partition.allowed;
    if (allowed.empty()) return partition;

    if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) throw std::runtime_error("c-ares: cannot initialise");
    struct Library {
        ~Library() { ares_library_cleanup(); }
    } library;
    unsigned char *query = nullptr;
    int query_length = 0;
    // RD=1: the probe asks the target to recurse for a name it has no authority over. No EDNS: the marker's TXT
    // answer is a few dozen bytes, well inside 512.
    int rc = ares_create_query(options.name.c_str(), CLASS_IN, options.qtype, 0, 1, &query, &query_length, 0);
    if (rc != ARES_SUCCESS)
        throw std::runtime_error(fmt::format("query for '{}': {}", EscapeWireText(options.name), ares_strerror(rc)));
    std::unique_ptr<unsigned char, void (*)(void *)> query_owner(query, [](void *p) { ares_free_string(p); });

    const size_t slots_wanted = std::max<size_t>(1, std::min<size_t>(options.concurrency, allowed.size()));
    std::vector<std::unique_ptr<Slot>> slots;
    struct Channels {
        std::vector<std::unique_ptr<Slot>> *slots;
        ~Channels() {
            for (auto &s : *slots)
                if (s->channel) ares_destroy(s->channel);
        }
    } channels{&slots};
    for (size_t i = 0; i < slots_wanted; ++i) {
        auto slot = std::make_unique<Slot>();
        ares_options o{};
        char lookups[] = "b";  // DNS only: never /etc/hosts
        o.lookups = lookups;
        o.timeout = options.timeout_ms;
        o.tries = 1;  // retries go back through the token bucket, so that --rate bounds every packet sent
        // The answer is wanted whatever its rcode (REFUSED is a finding, not a reason to try elsewhere), and a
        // truncated one is not retried over TCP: one UDP query per try.
        o.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_IGNTC;
        rc = ares_init_options(&slot->channel, &o,
                               ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS);
        if (rc != ARES_SUCCESS) throw std::runtime_error(fmt::format("c-ares: {}", ares_strerror(rc)));
        slots.push_back(std::move(slot));
    }

    using Clock = TokenBucket::Clock;
    TokenBucket bucket(options.rate);
    std::deque<Pending> pending;
    for (size_t i = 0; i < allowed.size(); ++i)
        pending.push_back({i, 0});
    size_t busy = 0;
    const int max_tries = 1 + std::max(0, options.retries);

    const auto start = [&](Slot &slot, const Pending &p) {
        const IpAddress &a = allowed[p.target];
        ares_addr_port_node server{};
        server.family = a.IsV4() ? AF_INET : AF_INET6;
        if (a.IsV4())
            std::memcpy(&server.addr.addr4, a.bytes.data(), 4);
        else
            std::memcpy(&server.addr.addr6, a.bytes.data(), 16);
        server.udp_port = options.port;
        server.tcp_port = options.port;
        const int set = ares_set_servers_ports(slot.channel, &server);
        if (set != ARES_SUCCESS)
            throw std::runtime_error(fmt::format("c-ares: server {}: {}", a.ToString(), ares_strerror(set)));
        slot.busy = true;
        slot.done = false;
        slot.target = p.target;
        slot.tries = p.tries + 1;
        slot.response.clear();
        ++busy;
        ares_send(slot.channel, query, query_length, OnResponse, &slot);
    };

    const auto finish = [&](Slot &slot) {
        slot.busy = false;
        --busy;
        ResolverProbeResult result;
        result.address = allowed[slot.target];
        result.tries = slot.tries;
        if (slot.status == ARES_SUCCESS) {
            auto verdict = ClassifyResolverResponse(slot.response, options.qtype, options.expect);
            result.status = verdict.status;
            result.detail = std::move(verdict.detail);
        } else if (slot.status == ARES_ETIMEOUT) {
            if (slot.tries < max_tries) {
                pending.push_front({slot.target, slot.tries});  // ahead of first tries: finish what was started
                return;
            }
            result.status = ResolverStatus::NO_ANSWER;
            result.detail = fmt::format("timeout after {} {}", slot.tries, slot.tries == 1 ? "try" : "tries");
        } else if (slot.status == ARES_ECONNREFUSED) {
            // c-ares's UDP socket is connected, so an ICMP port (or host) unreachable comes back as an error on
            // it: an answer of sorts, final, not retried.
            result.status = ResolverStatus::NO_ANSWER;
            result.detail = "port unreachable (ICMP error to the query)";
        } else {
            result.status = ResolverStatus::NO_ANSWER;
            result.detail = fmt::format("no DNS answer: {}", ares_strerror(slot.status));
        }
        result.finished_at = std::chrono::system_clock::now();
        on_result(std::move(result));
    };

    std::vector<pollfd> fds;
    std::vector<Slot *> fd_slot;
    while (!pending.empty() || busy > 0) {
        for (auto &slot : slots) {
            if (pending.empty()) break;
            if (slot->busy) continue;
            if (!bucket.TryTake(Clock::now())) break;
            const Pending p = pending.front();
            pending.pop_front();
            start(*slot, p);
        }
        // A query that failed at once (no socket) has already called back.
        for (auto &slot : slots)
            if (slot->busy && slot->done) finish(*slot);

        auto wait = std::chrono::milliseconds(100);
        const bool free_slot = busy < slots.size();
        if (!pending.empty() && free_slot)
            wait = std::clamp(std::chrono::ceil<std::chrono::milliseconds>(bucket.NextToken() - Clock::now()),
                              std::chrono::milliseconds(0), wait);
        fds.clear();
        fd_slot.clear();
        for (auto &slot : slots) {
            if (!slot->busy) continue;
            ares_socket_t socks[ARES_GETSOCK_MAXNUM];
            const int bits = ares_getsock(slot->channel, socks, ARES_GETSOCK_MAXNUM);
            for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
                short events = 0;
                if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
                if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
                if (events) {
                    fds.push_back(pollfd{socks[i], events, 0});
                    fd_slot.push_back(slot.get());
                }
            }
            timeval max_tv{long(wait.count() / 1000), long(wait.count() % 1000) * 1000}, tv{};
            const timeval *t = ares_timeout(slot->channel, &max_tv, &tv);
            wait = std::min(wait, std::chrono::milliseconds(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000));
        }
        if (fds.empty()) {
            if (wait.count() > 0) std::this_thread::sleep_for(wait);
        } else {
            ::poll(fds.data(), nfds_t(fds.size()), int(wait.count()));
        }
        for (size_t i = 0; i < fds.size(); ++i) {
            if (!fds[i].revents) continue;
            ares_process_fd(fd_slot[i]->channel,
                            (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) ? fds[i].fd : ARES_SOCKET_BAD,
                            (fds[i].revents & POLLOUT) ? fds[i].fd : ARES_SOCKET_BAD);
        }
        for (auto &slot : slots) {
            if (!slot->busy) continue;
            if (!slot->done) ares_process_fd(slot->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // its timeouts
            if (slot->done) finish(*slot);
        }
    }
    return partition;
}

}  // namespace darkscope::probe
