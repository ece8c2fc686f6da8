#include "classify/sensors.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace darkscope {

SensorMap SensorMap::Implicit() {
    SensorMap m;
    Sensor s;
    s.name = "all";
    s.implicit = true;
    s.location = "";
    m.sensors_.push_back(std::move(s));
    return m;
}

SensorMap SensorMap::LoadToml(const std::filesystem::path &path) {
    toml::table doc;
    try {
        doc = toml::parse_file(path.string());
    } catch (const toml::parse_error &e) {
        throw std::runtime_error(fmt::format("{}:{}: {}", path.string(), e.source().begin.line, e.description()));
    }
    auto *list = doc["sensor"].as_array();
    if (!list || list->empty())
        throw std::runtime_error(fmt::format("{}: no [[sensor]] tables: each sensor needs a name and networks",
                                             path.string()));
    std::vector<Sensor> sensors;
    std::set<std::string> names;
    for (auto &node : *list) {
        auto line = node.source().begin.line;
        auto where = fmt::format("{}:{}", path.string(), line);
        auto *t = node.as_table();
        if (!t) throw std::runtime_error(where + ": [[sensor]] must be a table");
        for (auto &[key, value] : *t) {
            if (key != "name" && key != "networks" && key != "location" && key != "provider")
                throw std::runtime_error(fmt::format("{}:{}: unknown key '{}' (expected name, networks, location, provider)",
                                                     path.string(), value.source().begin.line, key.str()));
        }
        Sensor s;
        auto name = (*t)["name"].value<std::string>();
        if (!name || name->empty()) throw std::runtime_error(where + ": sensor without a name");
        s.name = *name;
        if (!names.insert(s.name).second)
            throw std::runtime_error(fmt::format("{}: sensor name '{}' is used twice", where, s.name));
        auto *nets = (*t)["networks"].as_array();
        if (!nets || nets->empty())
            throw std::runtime_error(fmt::format("{}: sensor '{}' has no networks (networks = [\"192.0.2.0/24\"])",
                                                 where, s.name));
        for (auto &n : *nets) {
            auto text = n.value<std::string>();
            auto net = text ? IpNetwork::Parse(*text) : std::nullopt;
            if (!net)
                throw std::runtime_error(fmt::format("{}:{}: sensor '{}': '{}' is not a network in CIDR notation",
                                                     path.string(), n.source().begin.line, s.name,
                                                     text.value_or("(not a string)")));
            s.networks.push_back(*net);
        }
        for (const char *key : {"location", "provider"}) {
            auto node = (*t)[key];
            if (!node) continue;
            auto text = node.value<std::string>();
            if (!text)
                throw std::runtime_error(fmt::format("{}:{}: sensor '{}': {} must be a string", path.string(),
                                                     node.node()->source().begin.line, s.name, key));
            (std::string_view(key) == "location" ? s.location : s.provider) = *text;
        }
        sensors.push_back(std::move(s));
    }
    try {
        return FromSensors(std::move(sensors));
    } catch (const std::runtime_error &e) {
        throw std::runtime_error(fmt::format("{}: {}", path.string(), e.what()));
    }
}

SensorMap SensorMap::FromSensors(std::vector<Sensor> sensors) {
    if (sensors.size() > MAX_SENSORS)
        throw std::runtime_error(fmt::format("{} sensors; at most {} are supported", sensors.size(), MAX_SENSORS));
    SensorMap m;
    m.sensors_ = std::move(sensors);
    for (auto &s : m.sensors_) {
        if (s.implicit) continue;
        s.addresses = 0;
        for (auto &n : s.networks) {
            uint64_t size = n.Size();
            s.addresses = s.addresses + size < s.addresses ? UINT64_MAX : s.addresses + size;
        }
    }
    m.BuildIndex();
    return m;
}

void SensorMap::BuildIndex() {
    v4_ranges_.clear();
    v6_networks_.clear();
    for (size_t i = 0; i < sensors_.size(); ++i) {
        for (auto &n : sensors_[i].networks) {
            if (n.base.IsV4()) {
                uint32_t first = n.base.V4HostOrder();
                uint32_t last = n.prefix == 0 ? UINT32_MAX : first | (UINT32_MAX >> n.prefix);
                v4_ranges_.push_back({first, last, SensorIndex(i)});
            } else {
                v6_networks_.push_back({n, SensorIndex(i)});
            }
        }
    }
    std::sort(v4_ranges_.begin(), v4_ranges_.end(), [](auto &a, auto &b) { return a.first < b.first; });
    for (size_t i = 1; i < v4_ranges_.size(); ++i) {
        if (v4_ranges_[i].first <= v4_ranges_[i - 1].last) {
            auto &a = sensors_[v4_ranges_[i - 1].sensor];
            auto &b = sensors_[v4_ranges_[i].sensor];
            throw std::runtime_error(fmt::format(
                "networks overlap: sensor '{}' and sensor '{}' both hold {}: a packet must belong to one sensor",
                a.name, b.name, IpAddress::V4(v4_ranges_[i].first).ToString()));
        }
    }
    for (size_t i = 0; i < v6_networks_.size(); ++i)
        for (size_t j = i + 1; j < v6_networks_.size(); ++j) {
            auto &a = v6_networks_[i].first, &b = v6_networks_[j].first;
            if (a.Contains(b.base) || b.Contains(a.base))
                throw std::runtime_error(fmt::format("networks overlap: {} (sensor '{}') and {} (sensor '{}')",
                                                     a.ToString(), sensors_[v6_networks_[i].second].name,
                                                     b.ToString(), sensors_[v6_networks_[j].second].name));
        }
    // Longest prefixes first so that the linear IPv6 scan finds the most specific network.
    std::sort(v6_networks_.begin(), v6_networks_.end(),
              [](auto &a, auto &b) { return a.first.prefix > b.first.prefix; });
}

SensorIndex SensorMap::LookupV4(uint32_t addr) const {
    // upper_bound on first, then step back: ranges do not overlap.
    auto it = std::upper_bound(v4_ranges_.begin(), v4_ranges_.end(), addr,
                               [](uint32_t a, const V4Range &r) { return a < r.first; });
    if (it == v4_ranges_.begin()) return UNATTRIBUTED;
    --it;
    return addr <= it->last ? it->sensor : UNATTRIBUTED;
}

SensorIndex SensorMap::LookupV6(const IpAddress &dst) const {
    for (auto &[net, idx] : v6_networks_)
        if (net.Contains(dst)) return idx;
    return UNATTRIBUTED;
}

}  // namespace darkscope
