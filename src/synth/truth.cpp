#include "synth/truth.hpp"

#include <fmt/format.h>

#include "synth/address_space.hpp"

namespace darkscope::synth {
namespace {

std::string KindDescription(const Component &c) {
    switch (c.kind) {
        case Kind::SCAN:
            return "probes to the listed services";
        case Kind::DNS_QUERY:
            if (!c.zone.empty()) return fmt::format("DNS water torture: random subdomains of {}", c.zone);
            return c.every_sensor ? "spoofed DNS queries, one per sensor per round (amplification)" : "DNS queries";
        case Kind::DNS_RESPONSE:
            return c.open_resolver ? "DNS responses from source port 53 of open resolvers (reflection)"
                                   : "DNS responses from source port 53";
        case Kind::BACKSCATTER:
            return fmt::format("DoS backscatter from victims of an attack on {}/{}", c.port, c.port_proto);
        case Kind::WORM:
            return c.worm == Worm::SLAMMER     ? "SQL Slammer: one 376-byte datagram to 1434/UDP"
                   : c.worm == Worm::CONFICKER ? "Conficker: SYNs to 445/TCP from Windows XP hosts"
                                               : "Nachi/Welchia: ICMP echo requests with 64 bytes of 0xAA";
        case Kind::DHT:
            return "BitTorrent DHT queries to stale peer ports";
        case Kind::COUNT:
            break;
    }
    return "";
}

std::string Role(const Component &c) {
    switch (c.kind) {
        case Kind::BACKSCATTER:
            return "dos-victim";
        case Kind::DNS_RESPONSE:
            return c.open_resolver ? "open-resolver" : "dns-responder";
        case Kind::DNS_QUERY:
            return c.every_sensor ? "spoofed-victim" : "dns-querier";
        case Kind::WORM:
            return "worm";
        case Kind::DHT:
            return "bittorrent-peer";
        default:
            return "scanner";
    }
}

}  // namespace

nlohmann::ordered_json TruthToJson(const Scenario &sc, const Truth &t, const std::vector<std::string> &files) {
    using json = nlohmann::ordered_json;
    json j;
    j["schema"] = TRUTH_SCHEMA_VERSION;
    j["generator"] = fmt::format("darkscope synth {}", DARKSCOPE_VERSION);
    j["scenario"] = {{"name", sc.name},
                     {"description", sc.description},
                     {"origin", sc.origin},
                     {"start", FormatTimestamp(sc.start)},
                     {"end", FormatTimestamp(sc.end)}};
    j["seed"] = t.seed;
    j["scale"] = t.scale;
    j["files"] = files;
    json sensors = json::array();
    for (auto &s : sc.sensors) {
        json nets = json::array();
        for (auto &n : s.networks)
            nets.push_back(n.ToString());
        sensors.push_back({{"name", s.name},
                           {"networks", nets},
                           {"location", s.location},
                           {"provider", s.provider},
                           {"addresses", s.addresses}});
    }
    j["sensors"] = sensors;
    // Keys are distinct by construction: append to the ordered map's vector directly (its operator[] searches
    // linearly, quadratic over the tens of thousands of ports that backscatter and DHT reach).
    json services = json::object();
    auto &service_list = static_cast<json::object_t::Container &>(services.get_ref<json::object_t &>());
    for (size_t k = 0; k < t.services.size(); ++k)
        if (t.services[k]) service_list.emplace_back(ServiceKey{uint32_t(k)}.ToString(), t.services[k]);
    j["totals"] = {
        {"packets", t.packets}, {"frame_bytes", t.bytes}, {"sources", t.sources.size()}, {"services", services}};

    json comps = json::array();
    for (size_t ci = 0; ci < sc.components.size(); ++ci) {
        const Component &c = sc.components[ci];
        const ComponentTruth &ct = t.components[ci];
        json by_day = json::object();
        for (size_t d = 0; d < ct.by_day.size(); ++d)
            if (ct.by_day[d]) by_day[FormatDay(DayOf(sc.start) + int64_t(d))] = ct.by_day[d];
        json by_sensor = json::object();
        for (size_t s = 0; s < ct.by_sensor.size(); ++s)
            if (ct.by_sensor[s]) by_sensor[sc.sensors[s].name] = ct.by_sensor[s];
        json labels = json::object();
        for (size_t l = 0; l < ct.labels.size(); ++l)
            if (ct.labels[l]) labels[ct.label_names[l]] = ct.labels[l];
        json countries = json::object();
        for (auto &[code, w] : c.countries)
            countries[code] = w;
        json src = json::array();
        // Sources with no packet are listed in "sources" with packets = 0 but not as taking part in the event.
        for (uint32_t i = 0; i < ct.source_count; ++i) {
            auto &s = t.sources[ct.first_source + i];
            if (s.packets) src.push_back(s.address.ToString());
        }
        json entry = {
            {"name", c.name},
            {"type", c.is_event ? "event" : "population"},
            {"kind", c.kind_name},
            {"what", KindDescription(c)},
            {"window", {{"start", FormatTimestamp(c.start)}, {"end", FormatTimestamp(c.end)}}},
            {"shape", ShapeName(c.shape)},
            {"diurnal", c.diurnal},
            {"every_sensor", c.every_sensor},
            {"lifetime_hours", c.lifetime_hours},
            {"rate_per_hour", c.rate * t.scale},
            {"countries", countries},
            {"sensors", by_sensor},
            {"packets", ct.packets},
            {"expected_packets", std::llround(ct.expected_packets)},
            {"packets_by_day", by_day},
            {"breakdown", labels},
            {"expect", c.expect},
            {"config_line", c.line},
        };
        if (!c.research.empty()) entry["research"] = c.research;
        if (c.kind == Kind::BACKSCATTER) {
            entry["victims"] = src;
            entry["attacked_service"] = fmt::format("{}/{}", c.port, c.port_proto);
        } else {
            entry["sources"] = src;
        }
        if (c.kind == Kind::DNS_QUERY || c.kind == Kind::DNS_RESPONSE) {
            entry["qtype"] = c.qtype;
            if (!c.zone.empty())
                entry["zone"] = c.zone;
            else
                entry["qnames"] = c.qnames;
        }
        comps.push_back(std::move(entry));
    }
    j["components"] = comps;

    json sources = json::array();
    for (auto &s : t.sources) {
        const Component &c = sc.components[s.component];
        json e = {{"address", s.address.ToString()},
                  {"component", c.name},
                  {"role", Role(c)},
                  {"country", s.country},
                  {"tool", ToolName(s.tool)},
                  {"open_resolver", s.open_resolver},
                  {"research", s.research ? json(std::string(s.research->label)) : json(nullptr)},
                  {"rate_per_hour", c.lifetime_hours > 0 ? json(nullptr) : json(c.rate * t.scale * s.weight)},
                  {"weight", s.weight},
                  {"packets", s.packets},
                  {"syn_probes", s.syn_probes},
                  {"ttl", s.ttl}};
        if (s.research) {
            e["asn"] = s.research->asn;
            e["rdns"] = ResearchRdns(*s.research, s.address.V4HostOrder());
        }
        if (!s.services.empty()) {
            json list = json::array();
            for (uint16_t i : s.services)
                list.push_back(c.services[i].key.ToString());
            e["services"] = list;
        }
        if (c.lifetime_hours > 0)
            e["active"] = {{"start", FormatTimestamp(s.active_start)}, {"end", FormatTimestamp(s.active_end)}};
        if (s.packets) {
            e["first"] = FormatTimestamp(s.first);
            e["last"] = FormatTimestamp(s.last);
        }
        sources.push_back(std::move(e));
    }
    j["sources"] = sources;
    return j;
}

std::string SensorsToml(const Scenario &sc) {
    std::string out = fmt::format(
        "# Sensors of the synthetic telescope '{}' (written by darkscope synth; format of examples/sensors.toml).\n"
        "# Use: darkscope ingest --sensors THIS_FILE CAPTURE...\n",
        sc.name);
    auto quote = [](const std::string &s) {
        std::string q = "\"";
        for (char ch : s) {
            if (ch == '"' || ch == '\\') q += '\\';
            q += ch;
        }
        return q + "\"";
    };
    for (auto &s : sc.sensors) {
        out += "\n[[sensor]]\n";
        out += "name = " + quote(s.name) + "\n";
        out += "networks = [";
        for (size_t i = 0; i < s.networks.size(); ++i)
            out += (i ? ", " : "") + quote(s.networks[i].ToString());
        out += "]\n";
        if (!s.location.empty()) out += "location = " + quote(s.location) + "\n";
        if (!s.provider.empty()) out += "provider = " + quote(s.provider) + "\n";
    }
    return out;
}

}  // namespace darkscope::synth
