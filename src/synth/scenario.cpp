// Scenario TOML: every key is checked against the list of known keys so that a typo is an error with its line,
// not a silently ignored setting.

#include "synth/scenario.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "synth/address_space.hpp"
#include "synth/payloads.hpp"

namespace darkscope::synth {
namespace {

constexpr std::string_view TOOL_NAMES[] = {"zmap-old", "zmap-new", "masscan", "masscan-mss", "mirai",
                                           "nmap",     "linux",    "windows", "bsd",         "windows-xp"};
constexpr std::string_view SHAPE_NAMES[] = {"flat", "ramp-up", "ramp-down", "triangle", "spike", "daily"};
constexpr std::string_view RESPONSE_NAMES[] = {"synack", "rst", "rstack", "icmp-unreachable", "icmp-time-exceeded"};

class Parser {
public:
    explicit Parser(std::string origin) : origin_(std::move(origin)) {}

    [[noreturn]] void Fail(const toml::source_region &where, const std::string &what) const {
        if (where.begin.line) throw std::runtime_error(fmt::format("{}:{}: {}", origin_, where.begin.line, what));
        throw std::runtime_error(fmt::format("{}: {}", origin_, what));
    }
    [[noreturn]] void Fail(const toml::node &node, const std::string &what) const { Fail(node.source(), what); }

    void CheckKeys(const toml::table &t, std::initializer_list<std::string_view> allowed, std::string_view what) {
        for (auto &[key, value] : t) {
            if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
            std::string list;
            for (auto a : allowed)
                list += (list.empty() ? "" : ", ") + std::string(a);
            Fail(value, fmt::format("unknown key '{}' in {} (known: {})", key.str(), what, list));
        }
    }

    std::string String(const toml::node &n, std::string_view key) {
        auto v = n.value<std::string>();
        if (!v) Fail(n, fmt::format("{} must be a string", key));
        return *v;
    }
    double Number(const toml::node &n, std::string_view key, double lo, double hi) {
        auto v = n.value<double>();
        if (!v) Fail(n, fmt::format("{} must be a number", key));
        if (!(*v >= lo && *v <= hi)) Fail(n, fmt::format("{} = {} is out of range [{}, {}]", key, *v, lo, hi));
        return *v;
    }
    std::vector<std::string> Strings(const toml::node &n, std::string_view key) {
        auto *a = n.as_array();
        if (!a) Fail(n, fmt::format("{} must be an array of strings", key));
        std::vector<std::string> out;
        for (auto &e : *a)
            out.push_back(String(e, key));
        return out;
    }
    // A table of name = weight.
    std::vector<std::pair<std::string, double>> Weights(const toml::node &n, std::string_view key) {
        auto *t = n.as_table();
        if (!t) Fail(n, fmt::format("{} must be a table of name = weight, e.g. {{ CN = 3, US = 1 }}", key));
        std::vector<std::pair<std::string, double>> out;
        for (auto &[k, v] : *t)
            out.emplace_back(std::string(k.str()), Number(v, fmt::format("{}.{}", key, k.str()), 0, 1e12));
        if (out.empty()) Fail(n, fmt::format("{} is empty", key));
        return out;
    }

    /// A time: a TOML date or date-time, or a string "YYYY-MM-DD" / "YYYY-MM-DDTHH:MM:SSZ" (UTC).
    TimestampNs Time(const toml::node &n, std::string_view key) {
        if (auto d = n.as_date()) return DayStart(n, d->get().year, d->get().month, d->get().day, 0, 0, 0);
        if (auto dt = n.as_date_time()) {
            auto &v = dt->get();
            if (v.offset && v.offset->minutes != 0) Fail(n, fmt::format("{}: give UTC times (Z)", key));
            return DayStart(n, v.date.year, v.date.month, v.date.day, v.time.hour, v.time.minute, v.time.second);
        }
        if (auto s = n.value<std::string>()) {
            auto day = ParseDay(std::string_view(*s).substr(0, 10));
            if (day) {
                if (s->size() == 10) return *day * SECONDS_PER_DAY * NS_PER_SEC;
                unsigned h, m, sec;
                if (s->size() == 20 && (*s)[10] == 'T' && (*s)[19] == 'Z' &&
                    std::sscanf(s->c_str() + 11, "%2u:%2u:%2u", &h, &m, &sec) == 3 && h < 24 && m < 60 && sec < 60)
                    return (*day * SECONDS_PER_DAY + h * 3600 + m * 60 + sec) * NS_PER_SEC;
            }
        }
        Fail(n, fmt::format("{} must be a UTC date (2024-10-01) or time (2024-10-01T06:00:00Z)", key));
    }
    TimestampNs DayStart(const toml::node &n, int y, int mo, int d, int h, int mi, int s) {
        auto day = ParseDay(fmt::format("{:04d}-{:02d}-{:02d}", y, mo, d));
        if (!day) Fail(n, "not a valid date");
        return (*day * SECONDS_PER_DAY + h * 3600 + mi * 60 + s) * NS_PER_SEC;
    }

    Scenario Parse(std::string_view text) {
        toml::table doc;
        try {
            doc = toml::parse(text, origin_);
        } catch (const toml::parse_error &e) {
            Fail(e.source(), std::string(e.description()));
        }
        CheckKeys(doc, {"scenario", "sensor", "population", "event"}, "the scenario file");
        Scenario sc;
        sc.origin = origin_;
        auto *head = doc["scenario"].as_table();
        if (!head) Fail(toml::source_region{}, "no [scenario] table (name, start, end)");
        CheckKeys(*head, {"name", "description", "start", "end", "seed"}, "[scenario]");
        if (auto n = (*head)["name"].node())
            sc.name = String(*n, "name");
        else
            Fail(*head, "[scenario] needs a name");
        if (auto n = (*head)["description"].node()) sc.description = String(*n, "description");
        auto *s = (*head)["start"].node();
        auto *e = (*head)["end"].node();
        if (!s || !e) Fail(*head, "[scenario] needs start and end (UTC dates; end is exclusive)");
        sc.start = Time(*s, "start");
        sc.end = Time(*e, "end");
        if (sc.end <= sc.start) Fail(*e, "end must be after start");
        if (auto n = (*head)["seed"].node()) sc.seed = uint64_t(Number(*n, "seed", 0, 9007199254740992.0));

        ParseSensors(doc, sc);
        for (const char *table : {"population", "event"}) {
            auto node = doc[table];
            if (!node) continue;
            auto *list = node.as_array();
            if (!list) Fail(*node.node(), fmt::format("{} must be written [[{}]]", table, table));
            for (auto &item : *list) {
                auto *t = item.as_table();
                if (!t) Fail(item, fmt::format("[[{}]] must be a table", table));
                sc.components.push_back(ParseComponent(*t, std::string_view(table) == "event", sc));
            }
        }
        if (sc.components.empty()) Fail(toml::source_region{}, "no [[population]] or [[event]]: nothing to send");
        std::set<std::string> names;
        for (auto &c : sc.components)
            if (!names.insert(c.name).second)
                throw std::runtime_error(fmt::format("{}:{}: name '{}' is used twice", origin_, c.line, c.name));
        return sc;
    }

    void ParseSensors(const toml::table &doc, Scenario &sc) {
        auto *list = doc["sensor"].as_array();
        if (!list || list->empty())
            Fail(toml::source_region{}, "no [[sensor]] tables (name, networks, location, provider)");
        std::set<std::string> names;
        for (auto &item : *list) {
            auto *t = item.as_table();
            if (!t) Fail(item, "[[sensor]] must be a table");
            CheckKeys(*t, {"name", "networks", "location", "provider"}, "[[sensor]]");
            Sensor s;
            if (auto n = (*t)["name"].node()) s.name = String(*n, "name");
            if (s.name.empty()) Fail(*t, "sensor without a name");
            if (!names.insert(s.name).second) Fail(*t, fmt::format("sensor name '{}' is used twice", s.name));
            auto *nets = (*t)["networks"].node();
            if (!nets) Fail(*t, fmt::format("sensor '{}' has no networks", s.name));
            for (auto &text : Strings(*nets, "networks")) {
                auto net = IpNetwork::Parse(text);
                if (!net) Fail(*nets, fmt::format("sensor '{}': '{}' is not a network in CIDR notation", s.name, text));
                s.networks.push_back(*net);
            }
            if (s.networks.empty()) Fail(*nets, fmt::format("sensor '{}' has no networks", s.name));
            if (auto n = (*t)["location"].node()) s.location = String(*n, "location");
            if (auto n = (*t)["provider"].node()) s.provider = String(*n, "provider");
            sc.sensors.push_back(std::move(s));
        }
        try {
            sc.sensors = SensorMap::FromSensors(sc.sensors).Sensors();
        } catch (const std::runtime_error &err) {
            Fail(*list, err.what());
        }
    }

    Component ParseComponent(const toml::table &t, bool is_event, const Scenario &sc) {
        CheckKeys(t,
                  {"name",
                   "kind",
                   "start",
                   "end",
                   "shape",
                   "daily",
                   "half_life_hours",
                   "diurnal",
                   "rate",
                   "sources",
                   "rate_tail",
                   "lifetime_hours",
                   "countries",
                   "research",
                   "tool",
                   "tools",
                   "services",
                   "source_port",
                   "services_per_source",
                   "ipv6",
                   "sensors",
                   "providers",
                   "every_sensor",
                   "spread_ms",
                   "qnames",
                   "qtype",
                   "zone",
                   "open_resolver",
                   "edns",
                   "port",
                   "responses",
                   "worm",
                   "expect"},
                  is_event ? "[[event]]" : "[[population]]");
        Component c;
        c.is_event = is_event;
        c.line = int(t.source().begin.line);
        if (auto n = t["name"].node()) c.name = String(*n, "name");
        if (c.name.empty()) Fail(t, "needs a name");
        c.kind_name = is_event ? "" : "scan";
        if (auto n = t["kind"].node()) c.kind_name = String(*n, "kind");
        if (c.kind_name.empty()) Fail(t, fmt::format("event '{}' needs a kind", c.name));
        SetKind(t, c);

        c.start = sc.start;
        c.end = sc.end;
        if (auto n = t["start"].node()) c.start = Time(*n, "start");
        if (auto n = t["end"].node()) c.end = Time(*n, "end");
        if (c.end <= c.start) Fail(t, fmt::format("'{}': end must be after start", c.name));
        if (c.start < sc.start || c.end > sc.end)
            Fail(t, fmt::format("'{}': its window lies outside the scenario's [start, end)", c.name));
        if (auto n = t["shape"].node()) {
            auto name = String(*n, "shape");
            auto it = std::find(std::begin(SHAPE_NAMES), std::end(SHAPE_NAMES), name);
            if (it == std::end(SHAPE_NAMES))
                Fail(*n, fmt::format("unknown shape '{}' (flat, ramp-up, ramp-down, triangle, spike, daily)", name));
            c.shape = Shape(it - std::begin(SHAPE_NAMES));
        }
        if (auto n = t["daily"].node()) {
            auto *a = n->as_array();
            if (!a || a->empty()) Fail(*n, "daily must be an array of numbers (a factor per day)");
            for (auto &v : *a)
                c.daily.push_back(Number(v, "daily", 0, 1e9));
            if (c.shape == Shape::FLAT) c.shape = Shape::DAILY;
        }
        if (c.shape == Shape::DAILY && c.daily.empty())
            Fail(t, fmt::format("'{}': shape daily needs daily = [...]", c.name));
        if (auto n = t["half_life_hours"].node()) c.half_life_hours = Number(*n, "half_life_hours", 0.01, 1e6);
        if (auto n = t["diurnal"].node()) c.diurnal = Number(*n, "diurnal", 0, 1);
        auto *rate = t["rate"].node();
        if (!rate) Fail(t, fmt::format("'{}' needs a rate (packets per hour)", c.name));
        c.rate = Number(*rate, "rate", 0, 1e10);
        if (auto n = t["sources"].node()) c.sources = uint32_t(Number(*n, "sources", 1, 10'000'000));
        if (auto n = t["rate_tail"].node()) c.rate_tail = Number(*n, "rate_tail", 0, 100);
        if (auto n = t["lifetime_hours"].node()) c.lifetime_hours = Number(*n, "lifetime_hours", 0, 1e6);
        if (auto n = t["countries"].node()) {
            c.countries = Weights(*n, "countries");
            for (auto &[code, w] : c.countries)
                if (!FindCountry(code))
                    Fail(*n, fmt::format("no prefixes for country '{}' (known: {})", code, KnownCountries()));
        }
        if (auto n = t["research"].node()) {
            c.research = String(*n, "research");
            if (!FindResearchOrg(c.research))
                Fail(*n,
                     fmt::format("unknown research organisation '{}' (known: {})", c.research, KnownResearchOrgs()));
        }
        if (c.countries.empty() && c.research.empty())
            Fail(t, fmt::format("'{}' needs countries = {{ CC = weight, ... }} or research = \"org\"", c.name));
        if (auto n = t["tool"].node()) c.tools.emplace_back(ToolOf(*n, String(*n, "tool")), 1.0);
        if (auto n = t["tools"].node())
            for (auto &[name, w] : Weights(*n, "tools"))
                c.tools.emplace_back(ToolOf(*n, name), w);
        // No tool: the research organisation's own, else old Windows for worms, else a Linux stack.
        if (c.tools.empty() && !c.research.empty())
            c.tools.emplace_back(*ParseTool(FindResearchOrg(c.research)->tool), 1.0);
        if (c.tools.empty()) c.tools.emplace_back(c.kind == Kind::WORM ? Tool::WINDOWS_XP : Tool::LINUX, 1.0);
        if (auto n = t["services"].node()) {
            for (auto &[name, w] : Weights(*n, "services")) {
                auto key = ServiceKey::Parse(name);
                if (!key || (key->Kind() != ServiceKind::TCP && key->Kind() != ServiceKind::UDP &&
                             key->Kind() != ServiceKind::ICMP))
                    Fail(*n, fmt::format("'{}' is not a service like 445/TCP, 123/UDP or 8/ICMP", name));
                if (key->Kind() == ServiceKind::ICMP && key->Value() != 8)
                    Fail(*n, fmt::format("'{}': scans send ICMP echo requests (8/ICMP) only", name));
                c.services.push_back({*key, w});
            }
        }
        if (c.kind == Kind::SCAN && c.services.empty())
            Fail(t, fmt::format("'{}' needs services = {{ \"23/TCP\" = 1, ... }}", c.name));
        if (auto n = t["source_port"].node()) c.source_port = uint16_t(Number(*n, "source_port", 1, 65535));
        if (auto n = t["services_per_source"].node()) {
            c.services_per_source = uint32_t(Number(*n, "services_per_source", 0, 64));
            if (c.kind != Kind::SCAN) Fail(*n, fmt::format("'{}': services_per_source is for scans", c.name));
        }
        if (auto n = t["ipv6"].node()) {
            c.ipv6 = Number(*n, "ipv6", 0, 1);
            if (c.ipv6 > 0 && (c.kind == Kind::BACKSCATTER || c.kind == Kind::WORM))
                Fail(*n, fmt::format("'{}': {} sources are IPv4 only (ipv6 is for scans, DNS and DHT)", c.name,
                                     c.kind_name));
        }
        if (auto n = t["sensors"].node()) c.sensors = Strings(*n, "sensors");
        if (auto n = t["providers"].node()) c.providers = Strings(*n, "providers");
        for (auto &name : c.sensors)
            if (std::none_of(sc.sensors.begin(), sc.sensors.end(), [&](auto &s) { return s.name == name; }))
                Fail(*t["sensors"].node(), fmt::format("'{}': no sensor named '{}'", c.name, name));
        for (auto &p : c.providers)
            if (std::none_of(sc.sensors.begin(), sc.sensors.end(), [&](auto &s) { return s.provider == p; }))
                Fail(*t["providers"].node(), fmt::format("'{}': no sensor has provider '{}'", c.name, p));
        if (auto n = t["every_sensor"].node()) {
            auto v = n->value<bool>();
            if (!v) Fail(*n, "every_sensor must be true or false");
            c.every_sensor = *v;
        }
        if (auto n = t["spread_ms"].node()) c.spread_ms = Number(*n, "spread_ms", 0, 3.6e6);
        if (auto n = t["qnames"].node()) c.qnames = Strings(*n, "qnames");
        for (auto &q : c.qnames)
            if (q.empty() || q.size() > 200) Fail(*t["qnames"].node(), fmt::format("'{}' is not a usable name", q));
        if (auto n = t["qtype"].node()) {
            c.qtype = String(*n, "qtype");
            if (!DnsTypeCode(c.qtype))
                Fail(*n, fmt::format("unknown qtype '{}' (A, AAAA, ANY, TXT, MX, NS, DNSKEY)", c.qtype));
        }
        if (auto n = t["zone"].node()) c.zone = String(*n, "zone");
        if ((c.kind == Kind::DNS_QUERY || c.kind == Kind::DNS_RESPONSE) && c.qnames.empty() && c.zone.empty())
            c.qnames = {"isc.org"};
        if (auto n = t["open_resolver"].node()) {
            auto v = n->value<bool>();
            if (!v) Fail(*n, "open_resolver must be true or false");
            c.open_resolver = *v;
        }
        if (auto n = t["edns"].node()) {
            auto v = n->value<bool>();
            if (!v) Fail(*n, "edns must be true or false");
            c.edns = *v;
        }
        if (auto n = t["port"].node()) {
            auto text = n->value<std::string>();
            auto key = text ? ServiceKey::Parse(*text) : std::nullopt;
            if (!key || (key->Kind() != ServiceKind::TCP && key->Kind() != ServiceKind::UDP))
                Fail(*n, "port must be a service such as \"80/TCP\" or \"53/UDP\"");
            c.port = key->Value();
            c.port_proto = key->Kind() == ServiceKind::TCP ? "TCP" : "UDP";
        }
        if (auto n = t["responses"].node()) {
            for (auto &[name, w] : Weights(*n, "responses")) {
                auto it = std::find(std::begin(RESPONSE_NAMES), std::end(RESPONSE_NAMES), name);
                if (it == std::end(RESPONSE_NAMES))
                    Fail(*n, fmt::format("unknown response '{}' (synack, rst, rstack, icmp-unreachable, "
                                         "icmp-time-exceeded)",
                                         name));
                c.responses.emplace_back(Response(it - std::begin(RESPONSE_NAMES)), w);
            }
        }
        if (c.kind == Kind::BACKSCATTER && c.responses.empty()) {
            if (c.port_proto == "TCP")
                c.responses = {{Response::SYNACK, 0.6}, {Response::RSTACK, 0.3}, {Response::RST, 0.1}};
            else
                c.responses = {{Response::ICMP_UNREACHABLE, 1.0}};
        }
        if (c.kind == Kind::BACKSCATTER && c.port_proto == "UDP")
            for (auto &[r, w] : c.responses)
                if (r == Response::SYNACK || r == Response::RST || r == Response::RSTACK)
                    Fail(*t["responses"].node(), "a UDP service is answered with ICMP errors, not TCP flags");
        if (auto n = t["worm"].node()) {
            auto w = String(*n, "worm");
            if (w == "slammer")
                c.worm = Worm::SLAMMER;
            else if (w == "conficker")
                c.worm = Worm::CONFICKER;
            else if (w == "nachi")
                c.worm = Worm::NACHI;
            else
                Fail(*n, fmt::format("unknown worm '{}' (slammer, conficker, nachi)", w));
        } else if (c.kind == Kind::WORM) {
            Fail(t, fmt::format("'{}' needs worm = \"slammer\", \"conficker\" or \"nachi\"", c.name));
        }
        if (auto n = t["expect"].node()) c.expect = String(*n, "expect");
        return c;
    }

    Tool ToolOf(const toml::node &n, const std::string &name) {
        auto tool = ParseTool(name);
        if (!tool) {
            std::string list;
            for (auto t : TOOL_NAMES)
                list += (list.empty() ? "" : ", ") + std::string(t);
            Fail(n, fmt::format("unknown tool '{}' (known: {})", name, list));
        }
        return *tool;
    }

    void SetKind(const toml::table &t, Component &c) {
        const std::string &k = c.kind_name;
        if (k == "scan" || k == "surge" || k == "new-service")
            c.kind = Kind::SCAN;
        else if (k == "dns-query")
            c.kind = Kind::DNS_QUERY;
        else if (k == "spoofed-dns") {
            c.kind = Kind::DNS_QUERY;
            c.every_sensor = true;
        } else if (k == "water-torture")
            c.kind = Kind::DNS_QUERY;
        else if (k == "dns-response")
            c.kind = Kind::DNS_RESPONSE;
        else if (k == "open-resolver") {
            c.kind = Kind::DNS_RESPONSE;
            c.open_resolver = true;
        } else if (k == "backscatter")
            c.kind = Kind::BACKSCATTER;
        else if (k == "worm")
            c.kind = Kind::WORM;
        else if (k == "dht")
            c.kind = Kind::DHT;
        else
            Fail(t, fmt::format("unknown kind '{}' (scan, surge, new-service, dns-query, spoofed-dns, water-torture, "
                                "dns-response, open-resolver, backscatter, worm, dht)",
                                k));
        if (k == "water-torture" && !t["zone"]) Fail(t, fmt::format("water-torture '{}' needs zone = \"...\"", c.name));
    }

private:
    std::string origin_;
};

}  // namespace

std::string_view ToolName(Tool t) { return TOOL_NAMES[int(t)]; }
std::optional<Tool> ParseTool(std::string_view name) {
    for (int i = 0; i < int(Tool::COUNT); ++i)
        if (TOOL_NAMES[i] == name) return Tool(i);
    return std::nullopt;
}
std::string_view ShapeName(Shape s) { return SHAPE_NAMES[int(s)]; }
std::string_view ResponseName(Response r) { return RESPONSE_NAMES[int(r)]; }

Scenario ParseScenario(std::string_view text, const std::string &origin) { return Parser(origin).Parse(text); }

Scenario LoadScenarioFile(const std::filesystem::path &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("{}: cannot open the scenario file", path.string()));
    std::stringstream ss;
    ss << in.rdbuf();
    return ParseScenario(ss.str(), path.string());
}

Scenario LoadScenario(const std::string &name_or_path) {
    for (auto &b : BuiltinScenarios())
        if (b.name == name_or_path) return ParseScenario(b.text, fmt::format("built-in scenario {}", b.name));
    std::error_code ec;
    if (std::filesystem::is_regular_file(name_or_path, ec)) return LoadScenarioFile(name_or_path);
    std::string names;
    for (auto &b : BuiltinScenarios())
        names += (names.empty() ? "" : ", ") + std::string(b.name);
    throw std::runtime_error(
        fmt::format("'{}' is neither a built-in scenario ({}) nor a scenario file", name_or_path, names));
}

}  // namespace darkscope::synth
