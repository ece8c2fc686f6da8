#include "synth/generator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <queue>
#include <set>
#include <stdexcept>
#include <unordered_set>

#include "synth/address_space.hpp"
#include "synth/packet_builder.hpp"
#include "synth/payloads.hpp"
#include "synth/random.hpp"

namespace darkscope::synth {
namespace {

constexpr double NS = 1e9;
constexpr size_t SERVICE_SLOTS = 5 * 65536;
constexpr size_t MIN_FRAME = 60;

// TCP option blocks of the SYNs each stack sends (timestamps patched per packet where present).
constexpr uint8_t OPT_MSS[] = {0x02, 0x04, 0x05, 0xb4};
constexpr uint8_t OPT_LINUX[] = {0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0,    0,
                                 0,    0,    0,    0,    0,    0,    0x01, 0x03, 0x03, 0x07};
constexpr size_t OPT_LINUX_TSVAL = 8;
constexpr uint8_t OPT_WINDOWS[] = {0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x08, 0x01, 0x01, 0x04, 0x02};
constexpr uint8_t OPT_BSD[] = {0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x06, 0x01, 0x01, 0x08, 0x0a,
                               0,    0,    0,    0,    0,    0,    0,    0,    0x04, 0x02, 0x00, 0x00};
constexpr size_t OPT_BSD_TSVAL = 12;
constexpr uint8_t OPT_XP[] = {0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02};

constexpr uint16_t ZMAP_IP_ID = 54321;

uint8_t InitialTtl(Tool t) {
    switch (t) {
        case Tool::ZMAP_OLD:
        case Tool::ZMAP_NEW:
        case Tool::MASSCAN:
        case Tool::MASSCAN_MSS:
            return 255;
        case Tool::WINDOWS:
        case Tool::WINDOWS_XP:
            return 128;
        default:
            return 64;
    }
}

// FNV-1a: a component's sources derive from its name, so adding, removing or reordering components leaves the
// sources of the others as they were.
uint64_t NameHash(std::string_view name) {
    uint64_t h = 1469598103934665603ull;
    for (char c : name)
        h = (h ^ uint8_t(c)) * 1099511628211ull;
    return h;
}

uint32_t KeySlot(ServiceKind kind, uint16_t value) { return ServiceKey::Make(kind, value).packed; }

struct Pending {
    TimestampNs ts;
    uint64_t order;  // ties keep their push order: output stays deterministic
    uint32_t component;
    uint32_t source;
    uint32_t sensor;
    friend bool operator>(const Pending &a, const Pending &b) { return a.ts != b.ts ? a.ts > b.ts : a.order > b.order; }
};

// What one emitted frame counts towards.
// A TCP SYN without ACK or RST: a probe by darkscope's classes, which the SYN fingerprint rules count.
bool IsTcpSyn(const uint8_t *frame, size_t len) {
    const size_t ip = ETH_LEN;
    if (len <= ip + IPV6_LEN) return false;
    size_t tcp = 0;
    if (frame[ip] >> 4 == 4 && frame[ip + 9] == PROTO_TCP)
        tcp = ip + size_t(frame[ip] & 0x0F) * 4;
    else if (frame[ip] >> 4 == 6 && frame[ip + 6] == PROTO_TCP)
        tcp = ip + IPV6_LEN;
    else
        return false;
    return len > tcp + 13 && (frame[tcp + 13] & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN;
}

struct Emitted {
    uint32_t service;  // ServiceKey.packed as darkscope classifies the frame
    uint32_t sensor;
    uint32_t label;
};

}  // namespace

struct Generator::Impl {
    struct Runtime {
        const Component *spec = nullptr;
        double rate_per_ns = 0;              // at shape factor 1, after --scale
        AliasTable sources;                  // index relative to truth.first_source (churn: into `active`)
        std::vector<double> weights;         // per source, relative to truth.first_source
        bool churn = false;                  // sources have lifetimes: `sources` is rebuilt each slice over `active`
        std::vector<uint32_t> active;        // churn: the sources active in the current slice
        std::vector<uint32_t> by_start;      // churn: sources in order of active_start
        size_t next_start = 0;               // churn: the first of by_start not yet entered
        std::vector<double> active_weights;  // churn: scratch
        AliasTable services;
        AliasTable responses;
        std::vector<uint32_t> round_sensors;  // every_sensor: the eligible sensors with IPv4 networks
        NetworkPicker dst_v4, dst_v6;
        std::vector<uint32_t> v4_net_sensor, v6_net_sensor;  // picker network -> sensor index
        std::vector<NetworkPicker> per_sensor_v4;            // every_sensor rounds
        uint16_t qtype = 1;
    };

    Scenario sc;
    GeneratorOptions opt;
    Truth truth;
    std::vector<Runtime> rt;
    Rng rng;
    uint8_t frame[MAX_FRAME];
    uint64_t pending_order = 0;
    size_t day_index = 0;
    TimestampNs day_begin = 0, day_end = 0;  // the day of day_index, [begin, end)
    std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending;

    Impl(const Scenario &scenario, GeneratorOptions o) : sc(scenario), opt(o), rng(Rng::Derive(o.seed, 0)) {
        truth.seed = o.seed;
        truth.scale = o.scale;
        truth.services.assign(SERVICE_SLOTS, 0);
        // by_day counts UTC calendar days from the start's day (a scenario may start at any time of day).
        size_t days = size_t(DayOf(sc.end - 1) - DayOf(sc.start) + 1);
        std::unordered_set<IpAddress, IpAddressHash> used;
        for (size_t ci = 0; ci < sc.components.size(); ++ci) {
            const Component &c = sc.components[ci];
            Runtime r;
            r.spec = &c;
            r.rate_per_ns = c.rate * opt.scale / 3600.0 / NS;
            ComponentTruth ct;
            ct.by_day.assign(days, 0);
            ct.by_sensor.assign(sc.sensors.size(), 0);
            SetupDestinations(c, r);
            SetupLabels(c, r, ct);
            ct.first_source = uint32_t(truth.sources.size());
            ct.source_count = c.sources;
            // Each component draws its sources from its own stream: editing one component leaves the others'.
            Rng srng = Rng::Derive(opt.seed, NameHash(c.name));
            std::vector<double> weights;
            AliasTable country_pick, tool_pick;
            std::vector<double> cw, tw;
            std::vector<NetworkPicker> country_v4, country_v6;
            for (auto &[code, w] : c.countries) {
                const CountryBlocks *cb = FindCountry(code);
                cw.push_back(w);
                std::vector<IpNetwork> v4, v6;
                for (auto t : cb->v4)
                    v4.push_back(*IpNetwork::Parse(t));
                for (auto t : cb->v6)
                    v6.push_back(*IpNetwork::Parse(t));
                country_v4.emplace_back(v4);
                country_v6.emplace_back(v6);
            }
            if (!cw.empty()) country_pick.Build(cw);
            for (auto &[tool, w] : c.tools)
                tw.push_back(w);
            tool_pick.Build(tw);
            const ResearchOrg *org = c.research.empty() ? nullptr : FindResearchOrg(c.research);
            NetworkPicker org_picker;
            if (org) {
                std::vector<IpNetwork> nets;
                for (auto t : org->v4)
                    nets.push_back(*IpNetwork::Parse(t));
                org_picker = NetworkPicker(nets);
            }
            for (uint32_t i = 0; i < c.sources; ++i) {
                SourceTruth s;
                s.component = uint16_t(ci);
                s.open_resolver = c.open_resolver;
                s.research = org;
                bool v6 = !org && c.ipv6 > 0 && srng.Chance(c.ipv6);
                for (int attempt = 0;; ++attempt) {
                    if (attempt == 10000)
                        throw std::runtime_error(fmt::format(
                            "{}:{}: '{}': cannot find {} distinct source addresses in its countries or ranges",
                            sc.origin, c.line, c.name, c.sources));
                    if (org) {
                        s.address = IpAddress::V4(org_picker.PickV4(srng));
                        s.country = std::string(org->country);
                    } else {
                        uint32_t k = country_pick.Pick(srng);
                        s.country = c.countries[k].first;
                        if (v6 && country_v6[k].Empty())
                            throw std::runtime_error(
                                fmt::format("{}:{}: '{}': no IPv6 blocks for country {} (ipv6 = {})", sc.origin, c.line,
                                            c.name, s.country, c.ipv6));
                        if (v6)
                            s.address = country_v6[k].PickV6(srng);
                        else {
                            uint32_t a = country_v4[k].PickV4(srng);
                            if (IsReservedV4(a) || (a & 0xFF) == 0 || (a & 0xFF) == 255) continue;
                            s.address = IpAddress::V4(a);
                        }
                    }
                    if (used.insert(s.address).second) break;
                }
                if (v6 && r.dst_v6.Empty())
                    throw std::runtime_error(fmt::format(
                        "{}:{}: '{}' has IPv6 sources (ipv6 = {}) but none of its sensors has an IPv6 network",
                        sc.origin, c.line, c.name, c.ipv6));
                s.tool = c.tools[tool_pick.Pick(srng)].first;
                uint8_t initial = s.tool == Tool::NMAP ? uint8_t(srng.Between(37, 59)) : InitialTtl(s.tool);
                s.ttl = uint8_t(initial - srng.Between(6, 24));
                s.sport = uint16_t(srng.Between(1024, 65535));
                s.ip_id = srng.Next16();
                s.ts_base = srng.Next32();
                if (c.kind == Kind::SCAN && c.services_per_source > 0 && c.services_per_source < c.services.size()) {
                    // A scan campaign covers a few ports: draw them by weight, without repeats.
                    for (int attempt = 0; s.services.size() < c.services_per_source && attempt < 10000; ++attempt) {
                        auto k = uint16_t(r.services.Pick(srng));
                        if (std::find(s.services.begin(), s.services.end(), k) == s.services.end())
                            s.services.push_back(k);
                    }
                    std::sort(s.services.begin(), s.services.end());
                }
                s.weight = c.rate_tail > 0 ? std::min(srng.Pareto(c.rate_tail), 1e6) : 1.0;
                s.active_start = c.start;
                s.active_end = c.end;
                if (c.lifetime_hours > 0) {
                    // Churn: an exponential lifetime placed so that activity is uniform over the window (start drawn
                    // from [window start - lifetime, window end)), clipped to the window. A source may be active in
                    // no slice at all (then it sends nothing, like any source whose rate is too small).
                    double window = double(c.end - c.start);
                    double life = srng.Exponential(1.0 / (c.lifetime_hours * 3600 * NS));
                    double start = double(c.start) - life + srng.Uniform() * (window + life);
                    // Whole hours from the start: activity is decided per slice (which never straddles an hour of
                    // this grid), and an hour grid changes the active set, so the alias table, six times less often.
                    constexpr TimestampNs HOUR = SECONDS_PER_HOUR * NS_PER_SEC;
                    TimestampNs from = TimestampNs(start) - sc.start, to = TimestampNs(start + life) - sc.start;
                    from = FloorDiv(from, HOUR) * HOUR;
                    to = (FloorDiv(to, HOUR) + 1) * HOUR;
                    s.active_start = std::max(c.start, sc.start + from);
                    s.active_end = std::min(c.end, sc.start + to);
                }
                weights.push_back(s.weight);
                truth.sources.push_back(std::move(s));
            }
            double sum = 0;
            for (double w : weights)
                sum += w;
            for (uint32_t i = 0; i < c.sources; ++i)
                truth.sources[ct.first_source + i].weight /= sum;
            r.sources.Build(weights);
            r.weights = std::move(weights);
            r.churn = c.lifetime_hours > 0;
            truth.components.push_back(std::move(ct));
            rt.push_back(std::move(r));
        }
    }

    void SetupDestinations(const Component &c, Runtime &r) {
        std::vector<IpNetwork> v4, v6;
        for (uint32_t si = 0; si < sc.sensors.size(); ++si) {
            const Sensor &s = sc.sensors[si];
            bool ok = (c.sensors.empty() && c.providers.empty()) ||
                      std::find(c.sensors.begin(), c.sensors.end(), s.name) != c.sensors.end() ||
                      std::find(c.providers.begin(), c.providers.end(), s.provider) != c.providers.end();
            if (!ok) continue;
            std::vector<IpNetwork> mine;
            for (auto &n : s.networks) {
                if (n.base.IsV4()) {
                    v4.push_back(n);
                    r.v4_net_sensor.push_back(si);
                    mine.push_back(n);
                } else {
                    v6.push_back(n);
                    r.v6_net_sensor.push_back(si);
                }
            }
            if (!mine.empty()) {  // a round of spoofed queries goes to the IPv4 sensors
                r.round_sensors.push_back(si);
                r.per_sensor_v4.emplace_back(mine);
            }
        }
        if (v4.empty() && c.ipv6 < 1.0)
            throw std::runtime_error(
                fmt::format("{}:{}: '{}': none of its sensors has an IPv4 network", sc.origin, c.line, c.name));
        r.dst_v4 = NetworkPicker(v4);
        r.dst_v6 = NetworkPicker(v6);
        if (c.kind == Kind::DNS_QUERY || c.kind == Kind::DNS_RESPONSE) r.qtype = *DnsTypeCode(c.qtype);
    }

    void SetupLabels(const Component &c, Runtime &r, ComponentTruth &ct) {
        std::vector<double> w;
        switch (c.kind) {
            case Kind::SCAN:
                for (auto &s : c.services) {
                    ct.label_names.push_back(s.key.ToString());
                    w.push_back(s.weight);
                }
                r.services.Build(w);
                break;
            case Kind::BACKSCATTER:
                for (auto &[resp, weight] : c.responses) {
                    ct.label_names.push_back(fmt::format("{} from {}/{}", ResponseName(resp), c.port, c.port_proto));
                    w.push_back(weight);
                }
                r.responses.Build(w);
                break;
            case Kind::DNS_QUERY:
                ct.label_names.push_back(fmt::format("53/UDP {} query", c.qtype));
                break;
            case Kind::DNS_RESPONSE:
                ct.label_names.push_back(fmt::format("source port 53/UDP {} response", c.qtype));
                break;
            case Kind::WORM:
                ct.label_names.push_back(c.worm == Worm::SLAMMER     ? "1434/UDP slammer"
                                         : c.worm == Worm::CONFICKER ? "445/TCP conficker"
                                                                     : "8/ICMP nachi");
                break;
            case Kind::DHT:
                ct.label_names.push_back("BitTorrent DHT query to a high UDP port");
                break;
            case Kind::COUNT:
                break;
        }
        ct.labels.assign(ct.label_names.size(), 0);
    }

    /// The shape factor of a component at time t (before the rate).
    double Factor(const Component &c, TimestampNs t) const {
        double x = double(t - c.start) / double(c.end - c.start);
        double f = 1;
        switch (c.shape) {
            case Shape::FLAT:
                break;
            case Shape::RAMP_UP:
                f = x;
                break;
            case Shape::RAMP_DOWN:
                f = 1 - x;
                break;
            case Shape::TRIANGLE:
                f = 1 - std::abs(2 * x - 1);
                break;
            case Shape::SPIKE:
                f = std::exp(-std::numbers::ln2 * double(t - c.start) / (c.half_life_hours * 3600 * NS));
                break;
            case Shape::DAILY: {
                size_t day = size_t((t - c.start) / (SECONDS_PER_DAY * NS_PER_SEC));
                f = c.daily[std::min(day, c.daily.size() - 1)];
                break;
            }
        }
        if (c.diurnal > 0) {
            double hour = double(((t / NS_PER_SEC) % SECONDS_PER_DAY)) / 3600.0;
            f *= 1 + c.diurnal * std::sin(2 * std::numbers::pi * (hour - 6) / 24);
        }
        return std::max(0.0, f);
    }

    void Run(PacketSink &sink, const std::function<void(double)> &progress) {
        // Slice boundaries: a regular grid from the start plus every component's start and end.
        std::set<TimestampNs> cuts;
        for (TimestampNs t = sc.start; t < sc.end; t += SLICE_NS)
            cuts.insert(t);
        cuts.insert(sc.end);
        for (auto &c : sc.components) {
            cuts.insert(c.start);
            cuts.insert(c.end);
        }
        std::vector<double> rates(rt.size());
        AliasTable pick;
        for (auto it = cuts.begin(); std::next(it) != cuts.end(); ++it) {
            TimestampNs a = *it, b = *std::next(it);
            TimestampNs mid = a + (b - a) / 2;
            double total = 0;
            for (size_t ci = 0; ci < rt.size(); ++ci) {
                const Component &c = *rt[ci].spec;
                rates[ci] = (mid >= c.start && mid < c.end) ? rt[ci].rate_per_ns * Factor(c, mid) : 0.0;
                if (rates[ci] > 0 && rt[ci].churn && !SelectActive(ci, mid)) rates[ci] = 0;  // nobody active now
                // every_sensor components send one packet per eligible sensor per arrival
                double per_arrival = c.every_sensor ? double(rt[ci].round_sensors.size()) : 1.0;
                truth.components[ci].expected_packets += rates[ci] * double(b - a) * per_arrival;
                total += rates[ci];
            }
            if (progress) progress(double(a - sc.start) / double(sc.end - sc.start));
            if (total <= 0) continue;
            pick.Build(rates);
            const double span = double(b - a);
            double offset = 0;
            for (;;) {
                offset += rng.Exponential(total);
                if (offset >= span) break;
                TimestampNs ts = a + TimestampNs(offset);
                FlushPending(sink, ts);
                uint32_t ci = pick.Pick(rng);
                Runtime &r = rt[ci];
                uint32_t pick_index = r.sources.Pick(rng);
                uint32_t src = truth.components[ci].first_source + (r.churn ? r.active[pick_index] : pick_index);
                if (r.spec->every_sensor) {
                    // A round of one spoofed source: a packet to every eligible sensor within spread_ms.
                    for (uint32_t k = 0; k < r.round_sensors.size(); ++k) {
                        TimestampNs at = ts + TimestampNs(rng.Uniform() * r.spec->spread_ms * 1e6);
                        pending.push({at, pending_order++, ci, src, k});
                    }
                    FlushPending(sink, ts);
                    continue;
                }
                Emit(sink, ts, ci, src, -1);
            }
        }
        FlushPending(sink, sc.end - 1);
        if (progress) progress(1.0);
    }

    // Churn: the alias table of a component over the sources active at `t`; false when none is. Slices come in time
    // order, so the active set is kept incrementally (sources enter in order of their start, leave when they end) and
    // the table is rebuilt only when the set changed.
    bool SelectActive(size_t ci, TimestampNs t) {
        Runtime &r = rt[ci];
        const ComponentTruth &ct = truth.components[ci];
        auto source = [&](uint32_t i) -> const SourceTruth & { return truth.sources[ct.first_source + i]; };
        if (r.by_start.empty() && ct.source_count) {
            for (uint32_t i = 0; i < ct.source_count; ++i)
                r.by_start.push_back(i);
            std::stable_sort(r.by_start.begin(), r.by_start.end(),
                             [&](uint32_t a, uint32_t b) { return source(a).active_start < source(b).active_start; });
        }
        size_t before = r.active.size();
        std::erase_if(r.active, [&](uint32_t i) { return source(i).active_end <= t; });
        bool changed = r.active.size() != before;
        for (; r.next_start < r.by_start.size() && source(r.by_start[r.next_start]).active_start <= t; ++r.next_start) {
            uint32_t i = r.by_start[r.next_start];
            if (source(i).active_end > t) {
                r.active.push_back(i);
                changed = true;
            }
        }
        if (r.active.empty()) return false;
        if (changed) {
            r.active_weights.clear();
            for (uint32_t i : r.active)
                r.active_weights.push_back(r.weights[i]);
            r.sources.Build(r.active_weights);
        }
        return true;
    }

    void FlushPending(PacketSink &sink, TimestampNs upto) {
        while (!pending.empty() && pending.top().ts <= upto) {
            Pending p = pending.top();
            pending.pop();
            if (p.ts >= sc.end || p.ts >= rt[p.component].spec->end) continue;  // spread past the window: not sent
            Emit(sink, p.ts, p.component, p.source, int(p.sensor));
        }
    }

    // Picks a destination (in sensor slot `forced` of the component when >= 0) and writes the frame.
    void Emit(PacketSink &sink, TimestampNs ts, uint32_t ci, uint32_t si, int forced) {
        Runtime &r = rt[ci];
        SourceTruth &s = truth.sources[si];
        bool v6 = s.address.IsV6();
        size_t net = 0;
        uint32_t dst4 = 0;
        IpAddress dst6;
        uint32_t sensor;
        if (v6) {
            dst6 = r.dst_v6.PickV6(rng, &net);
            sensor = r.v6_net_sensor[net];
        } else if (forced >= 0) {
            dst4 = r.per_sensor_v4[size_t(forced)].PickV4(rng);
            sensor = r.round_sensors[size_t(forced)];
        } else {
            dst4 = r.dst_v4.PickV4(rng, &net);
            sensor = r.v4_net_sensor[net];
        }
        Emitted e{0, sensor, 0};
        size_t len = 0;
        switch (r.spec->kind) {
            case Kind::SCAN:
                len = BuildScan(r, s, ts, dst4, dst6, e);
                break;
            case Kind::BACKSCATTER:
                len = BuildBackscatter(r, s, dst4, e);
                break;
            case Kind::DNS_QUERY:
            case Kind::DNS_RESPONSE:
                len = BuildDns(r, s, dst4, dst6, e);
                break;
            case Kind::WORM:
                len = BuildWorm(r, s, ts, dst4, e);
                break;
            case Kind::DHT:
                len = BuildDht(s, dst4, dst6, e);
                break;
            case Kind::COUNT:
                return;
        }
        if (len < MIN_FRAME) {
            // Ethernet pads short frames to 60 bytes on the wire (FCS stripped): what a capture port records.
            std::memset(frame + len, 0, MIN_FRAME - len);
            len = MIN_FRAME;
        }
        sink.Write(ts, frame, len);
        ++truth.packets;
        truth.bytes += len;
        ++truth.services[e.service];
        ComponentTruth &ct = truth.components[ci];
        ++ct.packets;
        if (ts < day_begin || ts >= day_end) {  // a division per day, not per packet
            day_index = size_t(DayOf(ts) - DayOf(sc.start));
            day_begin = DayOf(ts) * SECONDS_PER_DAY * NS_PER_SEC;
            day_end = day_begin + SECONDS_PER_DAY * NS_PER_SEC;
        }
        ++ct.by_day[day_index];
        ++ct.by_sensor[e.sensor];
        ++ct.labels[e.label];
        if (s.packets++ == 0) s.first = ts;
        s.last = ts;
        s.syn_probes += IsTcpSyn(frame, len);
    }

    // The IP header of a source: its TTL, and the IP ID its tool or stack writes.
    Ipv4Header Ip(SourceTruth &s, uint32_t dst) {
        Ipv4Header ip;
        ip.src = s.address.V4HostOrder();
        ip.dst = dst;
        ip.ttl = s.ttl;
        switch (s.tool) {
            case Tool::ZMAP_OLD:
                ip.id = ZMAP_IP_ID;
                break;
            case Tool::WINDOWS:
            case Tool::WINDOWS_XP:
                ip.id = s.ip_id++;
                ip.df = true;
                break;
            case Tool::LINUX:
            case Tool::BSD:
                ip.id = rng.Next16();
                ip.df = true;
                break;
            default:
                ip.id = rng.Next16();
        }
        return ip;
    }

    size_t L3(SourceTruth &s, uint32_t dst4, const IpAddress &dst6, uint8_t proto, size_t l4_len,
              Ipv4Header *hdr = nullptr) {
        if (s.address.IsV6()) return WriteEthIpv6(frame, s.address, dst6, proto, s.ttl, rng.Next32(), l4_len);
        Ipv4Header ip = hdr ? *hdr : Ip(s, dst4);
        return WriteEthIpv4(frame, ip, proto, l4_len);
    }

    size_t BuildScan(Runtime &r, SourceTruth &s, TimestampNs ts, uint32_t dst4, const IpAddress &dst6, Emitted &e) {
        uint32_t k;
        if (s.services.empty()) {
            k = r.services.Pick(rng);
        } else {  // this source's own few services, in the component's proportions
            double total = 0;
            for (uint16_t i : s.services)
                total += r.spec->services[i].weight;
            double u = rng.Uniform() * total;
            k = s.services.back();
            for (uint16_t i : s.services) {
                if (u < r.spec->services[i].weight) {
                    k = i;
                    break;
                }
                u -= r.spec->services[i].weight;
            }
        }
        e.label = k;
        ServiceKey key = r.spec->services[k].key;
        uint16_t port = key.Value();
        bool v6 = s.address.IsV6();
        size_t ip_off = ETH_LEN;
        if (key.Kind() == ServiceKind::ICMP) {
            // Echo request: ZMap's icmp_echoscan sends no data; ping sends 56 bytes.
            uint8_t data[56];
            size_t n = 0;
            if (s.tool != Tool::ZMAP_OLD && s.tool != Tool::ZMAP_NEW && s.tool != Tool::MASSCAN &&
                s.tool != Tool::MASSCAN_MSS) {
                uint64_t t = uint64_t(ts / 1000);
                for (int i = 0; i < 8; ++i)
                    data[i] = uint8_t(t >> (8 * i));
                for (n = 8; n < 56; ++n)
                    data[n] = uint8_t(n + 8);  // ping's 0x10, 0x11, ... pattern
            }
            uint8_t type = v6 ? 128 : 8;
            L3(s, dst4, dst6, v6 ? PROTO_ICMPV6 : PROTO_ICMP, ICMP_LEN + n);
            uint32_t rest = uint32_t(s.sport) << 16 | (rng.Next16());
            size_t l4 = WriteIcmp(frame, ip_off, v6, type, 0, rest, {data, n});
            e.service = KeySlot(v6 ? ServiceKind::ICMPV6 : ServiceKind::ICMP, type);
            return ip_off + (v6 ? IPV6_LEN : IPV4_LEN) + l4;
        }
        if (key.Kind() == ServiceKind::UDP) {
            uint8_t payload[1024];
            size_t n = BuildUdpProbe(payload, port, dst4, rng);
            L3(s, dst4, dst6, PROTO_UDP, UDP_LEN + n);
            uint16_t sport = (s.tool == Tool::NMAP || s.tool == Tool::MIRAI) ? s.sport : EphemeralPort(s.tool);
            if (r.spec->source_port) sport = r.spec->source_port;
            size_t l4 = WriteUdp(frame, ip_off, v6, sport, port, {payload, n});
            e.service = KeySlot(ServiceKind::UDP, port);
            return ip_off + (v6 ? IPV6_LEN : IPV4_LEN) + l4;
        }
        TcpHeader tcp;
        tcp.dport = port;
        tcp.seq = rng.Next32();
        tcp.flags = TCP_SYN;
        uint8_t opts[24];
        Ipv4Header ip = v6 ? Ipv4Header{} : Ip(s, dst4);
        switch (s.tool) {
            case Tool::ZMAP_OLD:
            case Tool::ZMAP_NEW:
                tcp.sport = EphemeralPort(s.tool);
                tcp.window = 65535;
                break;
            case Tool::MASSCAN:
            case Tool::MASSCAN_MSS:
                tcp.sport = s.sport;
                tcp.window = 1024;
                ip.id = uint16_t(dst4 ^ port ^ tcp.seq);
                if (s.tool == Tool::MASSCAN_MSS) tcp.options = OPT_MSS;
                break;
            case Tool::MIRAI:
                tcp.sport = s.sport;
                tcp.seq = v6 ? tcp.seq : dst4;
                tcp.window = rng.Next16();
                break;
            case Tool::NMAP:
                tcp.sport = s.sport;
                tcp.window = 1024;
                tcp.options = OPT_MSS;
                break;
            case Tool::LINUX:
                tcp.sport = EphemeralPort(s.tool);
                tcp.window = 64240;
                std::memcpy(opts, OPT_LINUX, sizeof OPT_LINUX);
                StoreBe32(opts + OPT_LINUX_TSVAL, s.ts_base + uint32_t(ts / 1'000'000));
                tcp.options = {opts, sizeof OPT_LINUX};
                break;
            case Tool::WINDOWS:
                tcp.sport = EphemeralPort(s.tool);
                tcp.window = 64240;
                tcp.options = OPT_WINDOWS;
                break;
            case Tool::BSD:
                tcp.sport = EphemeralPort(s.tool);
                tcp.window = 65535;
                std::memcpy(opts, OPT_BSD, sizeof OPT_BSD);
                StoreBe32(opts + OPT_BSD_TSVAL, s.ts_base + uint32_t(ts / 1'000'000));
                tcp.options = {opts, sizeof OPT_BSD};
                break;
            case Tool::WINDOWS_XP:
            case Tool::COUNT:
                tcp.sport = EphemeralPort(Tool::WINDOWS_XP);
                tcp.window = 65535;
                tcp.options = OPT_XP;
                break;
        }
        if (r.spec->source_port) tcp.sport = r.spec->source_port;
        size_t l4_len = TcpLength(tcp);
        L3(s, dst4, dst6, PROTO_TCP, l4_len, &ip);
        WriteTcp(frame, ip_off, v6, tcp);
        e.service = KeySlot(ServiceKind::TCP, port);
        return ip_off + (v6 ? IPV6_LEN : IPV4_LEN) + l4_len;
    }

    uint16_t EphemeralPort(Tool t) {
        switch (t) {
            case Tool::ZMAP_OLD:
            case Tool::ZMAP_NEW:
                return uint16_t(rng.Between(32768, 61000));  // ZMap's default --source-port range
            case Tool::LINUX:
                return uint16_t(rng.Between(32768, 60999));  // net.ipv4.ip_local_port_range
            case Tool::WINDOWS_XP:
                return uint16_t(rng.Between(1025, 5000));
            default:
                return uint16_t(rng.Between(49152, 65535));  // IANA dynamic range (Windows, BSD)
        }
    }

    size_t BuildBackscatter(Runtime &r, SourceTruth &s, uint32_t dark, Emitted &e) {
        const Component &c = *r.spec;
        uint32_t k = r.responses.Pick(rng);
        e.label = k;
        Response resp = c.responses[k].first;
        uint16_t spoofed_port = uint16_t(rng.Between(1024, 65535));  // the attacker's forged source port
        Ipv4Header ip = Ip(s, dark);
        if (resp == Response::ICMP_UNREACHABLE || resp == Response::ICMP_TIME_EXCEEDED) {
            // The victim (or a router in front of it) quotes the spoofed packet: its IPv4 header, from the
            // darknet address to the victim, and the first 8 bytes of its transport header.
            bool tcp = c.port_proto == "TCP";
            uint8_t quote[28];
            Ipv4Header inner;
            inner.src = dark;
            inner.dst = s.address.V4HostOrder();
            inner.id = rng.Next16();
            inner.ttl = resp == Response::ICMP_TIME_EXCEEDED ? 1 : uint8_t(rng.Between(30, 240));
            WriteIpv4Header(
                quote, inner, tcp ? PROTO_TCP : PROTO_UDP,
                tcp ? 40
                    : 28 + rng.Between(1, 64));  // UDP with data: its checksum cannot be checked from 8 quoted bytes
            StoreBe16(quote + 20, spoofed_port);
            StoreBe16(quote + 22, c.port);
            StoreBe32(quote + 24, rng.Next32());  // TCP: sequence number; UDP: length and checksum
            if (!tcp) StoreBe16(quote + 24, uint16_t(LoadBe16Local(quote + 2) - 20));
            uint8_t type = resp == Response::ICMP_TIME_EXCEEDED ? 11 : 3;
            uint8_t code = resp == Response::ICMP_TIME_EXCEEDED ? 0 : (tcp ? (rng.Chance(0.5) ? 1 : 13) : 3);
            ip.df = false;
            WriteEthIpv4(frame, ip, PROTO_ICMP, ICMP_LEN + sizeof quote);
            size_t l4 = WriteIcmp(frame, ETH_LEN, false, type, code, 0, quote);
            e.service = KeySlot(ServiceKind::ICMP, type);
            return ETH_LEN + IPV4_LEN + l4;
        }
        TcpHeader tcp;
        tcp.sport = c.port;
        tcp.dport = spoofed_port;
        switch (resp) {
            case Response::SYNACK:
                tcp.flags = TCP_SYN | TCP_ACK;
                tcp.seq = rng.Next32();
                tcp.ack = rng.Next32();
                tcp.window = s.tool == Tool::WINDOWS ? 65535 : 64240;
                tcp.options = OPT_MSS;
                break;
            case Response::RST:
                tcp.flags = TCP_RST;
                tcp.seq = rng.Next32();
                break;
            default:
                tcp.flags = TCP_RST | TCP_ACK;
                tcp.ack = rng.Next32();
                break;
        }
        size_t l4_len = TcpLength(tcp);
        WriteEthIpv4(frame, ip, PROTO_TCP, l4_len);
        WriteTcp(frame, ETH_LEN, false, tcp);
        e.service = KeySlot(ServiceKind::TCP, spoofed_port);
        return ETH_LEN + IPV4_LEN + l4_len;
    }

    static uint16_t LoadBe16Local(const uint8_t *p) { return uint16_t(p[0] << 8 | p[1]); }

    size_t BuildDns(Runtime &r, SourceTruth &s, uint32_t dst4, const IpAddress &dst6, Emitted &e) {
        const Component &c = *r.spec;
        bool v6 = s.address.IsV6();
        DnsQuery q;
        q.id = rng.Next16();
        q.qtype = r.qtype;
        q.edns = c.edns;
        char label[16];
        if (!c.zone.empty()) {
            // Water torture: a fresh random label under the victim's zone, so that every query misses caches.
            static constexpr char ALPHABET[] = "abcdefghijklmnopqrstuvwxyz0123456789";
            size_t n = rng.Between(8, 16);
            for (size_t i = 0; i < n; ++i)
                label[i] = ALPHABET[rng.Below(36)];
            q.random_label = {label, n};
            q.qname = c.zone;
        } else {
            q.qname = c.qnames[rng.Below(uint32_t(c.qnames.size()))];
        }
        uint8_t payload[1500];
        bool response = c.kind == Kind::DNS_RESPONSE;
        size_t n = response ? BuildDnsResponse(payload, q, !c.zone.empty(), rng) : BuildDnsQuery(payload, q);
        uint16_t high = uint16_t(rng.Between(1024, 65535));
        L3(s, dst4, dst6, PROTO_UDP, UDP_LEN + n);
        size_t l4 = WriteUdp(frame, ETH_LEN, v6, response ? 53 : high, response ? high : 53, {payload, n});
        e.service = KeySlot(ServiceKind::UDP, response ? high : 53);
        return ETH_LEN + (v6 ? IPV6_LEN : IPV4_LEN) + l4;
    }

    size_t BuildWorm(Runtime &r, SourceTruth &s, TimestampNs ts, uint32_t dst4, Emitted &e) {
        Ipv4Header ip = Ip(s, dst4);
        switch (r.spec->worm) {
            case Worm::SLAMMER: {
                auto p = SlammerPayload();
                WriteEthIpv4(frame, ip, PROTO_UDP, UDP_LEN + p.size());
                size_t l4 = WriteUdp(frame, ETH_LEN, false, s.sport, 1434, p);
                e.service = KeySlot(ServiceKind::UDP, 1434);
                return ETH_LEN + IPV4_LEN + l4;
            }
            case Worm::CONFICKER: {
                TcpHeader tcp;
                tcp.sport = EphemeralPort(Tool::WINDOWS_XP);
                tcp.dport = 445;
                tcp.seq = rng.Next32();
                tcp.window = 65535;
                tcp.options = OPT_XP;
                size_t l4_len = TcpLength(tcp);
                WriteEthIpv4(frame, ip, PROTO_TCP, l4_len);
                WriteTcp(frame, ETH_LEN, false, tcp);
                e.service = KeySlot(ServiceKind::TCP, 445);
                return ETH_LEN + IPV4_LEN + l4_len;
            }
            case Worm::NACHI: {
                auto p = NachiPayload();
                WriteEthIpv4(frame, ip, PROTO_ICMP, ICMP_LEN + p.size());
                uint32_t rest = uint32_t(s.sport) << 16 | uint16_t(ts / NS_PER_SEC);
                size_t l4 = WriteIcmp(frame, ETH_LEN, false, 8, 0, rest, p);
                e.service = KeySlot(ServiceKind::ICMP, 8);
                return ETH_LEN + IPV4_LEN + l4;
            }
        }
        return 0;
    }

    size_t BuildDht(SourceTruth &s, uint32_t dst4, const IpAddress &dst6, Emitted &e) {
        bool v6 = s.address.IsV6();
        // A stale DHT entry names one port per address: derive it from the address, the same every time.
        uint64_t h = Mix64(v6 ? IpAddressHash{}(dst6) : dst4 ^ opt.seed);
        uint16_t dport = uint16_t(1024 + h % 64511);
        uint8_t payload[256];
        size_t n = BuildDhtQuery(payload, rng);
        L3(s, dst4, dst6, PROTO_UDP, UDP_LEN + n);
        // A client listens on 6881-6889 (the classic default) or on a random port above 10000 (uTorrent and others).
        uint16_t sport = (s.sport & 1) ? uint16_t(6881 + s.sport % 9) : uint16_t(10000 + s.sport % 55536);
        size_t l4 = WriteUdp(frame, ETH_LEN, v6, sport, dport, {payload, n});
        e.service = KeySlot(ServiceKind::UDP, dport);
        return ETH_LEN + (v6 ? IPV6_LEN : IPV4_LEN) + l4;
    }
};

Generator::Generator(const Scenario &scenario, GeneratorOptions options)
    : impl_(std::make_unique<Impl>(scenario, options)) {}
Generator::~Generator() = default;
void Generator::Run(PacketSink &sink, const std::function<void(double)> &progress) { impl_->Run(sink, progress); }
const Truth &Generator::GetTruth() const { return impl_->truth; }
const Scenario &Generator::GetScenario() const { return impl_->sc; }

}  // namespace darkscope::synth
