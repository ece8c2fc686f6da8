#include "enrich/research.hpp"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <toml++/toml.h>

namespace darkscope {

std::optional<std::filesystem::path> ResearchList::DefaultPath() {
    if (const char *env = std::getenv("DARKSCOPE_RESEARCH_LIST")) return std::filesystem::path(env);
#ifdef DARKSCOPE_SOURCE_DIR_PATH
    std::filesystem::path p = std::filesystem::path(DARKSCOPE_SOURCE_DIR_PATH) / "data" / "research_scanners.toml";
    if (std::filesystem::exists(p)) return p;
#endif
    return std::nullopt;
}

ResearchList ResearchList::LoadToml(const std::filesystem::path &path) {
    toml::table doc;
    try {
        doc = toml::parse_file(path.string());
    } catch (const toml::parse_error &e) {
        throw std::runtime_error(fmt::format("{}:{}: {}", path.string(), e.source().begin.line, e.description()));
    }
    ResearchList list;
    list.location_ = path.string();
    const toml::array *scanners = doc["scanner"].as_array();
    if (!scanners) throw std::runtime_error(fmt::format("{}: no [[scanner]] entries", path.string()));
    for (const toml::node &node : *scanners) {
        const toml::table *t = node.as_table();
        const auto line = node.source().begin.line;
        auto bad = [&](const std::string &why) {
            return std::runtime_error(fmt::format("{}:{}: {}", path.string(), line, why));
        };
        if (!t) throw bad("[[scanner]] must be a table");
        ResearchScanner s;
        s.name = (*t)["name"].value_or(std::string());
        s.source = (*t)["source"].value_or(std::string());
        if (s.name.empty()) throw bad("scanner without a name");
        if (s.source.empty()) throw bad(fmt::format("scanner '{}' names no public source", s.name));
        if (const toml::array *a = (*t)["asns"].as_array())
            for (const toml::node &v : *a) {
                auto n = v.value<int64_t>();
                if (!n || *n <= 0 || *n > int64_t(UINT32_MAX)) throw bad(fmt::format("'{}': bad AS number", s.name));
                s.asns.push_back(uint32_t(*n));
            }
        if (const toml::array *a = (*t)["networks"].as_array())
            for (const toml::node &v : *a) {
                auto text = v.value<std::string>();
                auto net = text ? IpNetwork::Parse(*text) : std::nullopt;
                if (!net) throw bad(fmt::format("'{}': bad network {}", s.name, text.value_or("?")));
                s.networks.push_back(*net);
            }
        if (const toml::array *a = (*t)["rdns"].as_array())
            for (const toml::node &v : *a) {
                auto text = v.value<std::string>();
                if (!text || text->empty()) throw bad(fmt::format("'{}': bad rdns pattern", s.name));
                s.rdns.push_back(*text);
            }
        if (s.asns.empty() && s.networks.empty() && s.rdns.empty())
            throw bad(fmt::format("'{}' has no asns, networks or rdns patterns", s.name));
        list.entries_.push_back(std::move(s));
    }
    if (list.entries_.size() > UINT16_MAX - 1) throw std::runtime_error(path.string() + ": too many entries");
    return list;
}

uint16_t ResearchList::MatchAddress(const IpAddress &src, uint32_t asn) const {
    for (size_t i = 0; i < entries_.size(); ++i) {
        const ResearchScanner &s = entries_[i];
        if (asn != 0 && std::find(s.asns.begin(), s.asns.end(), asn) != s.asns.end()) return uint16_t(i + 1);
        for (const IpNetwork &n : s.networks)
            if (n.Contains(src)) return uint16_t(i + 1);
    }
    return 0;
}

uint16_t ResearchList::MatchName(std::string_view ptr_name) const {
    if (ptr_name.empty()) return 0;
    std::string name(ptr_name);
    if (name.back() != '.') name += '.';
    for (size_t i = 0; i < entries_.size(); ++i)
        for (const std::string &pattern : entries_[i].rdns)
            if (fnmatch(pattern.c_str(), name.c_str(), FNM_CASEFOLD) == 0) return uint16_t(i + 1);
    return 0;
}

std::string_view ResearchList::Name(uint16_t index) const {
    return index == 0 || index > entries_.size() ? std::string_view() : std::string_view(entries_[index - 1].name);
}

}  // namespace darkscope
