#include "signature/rule_parser.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>
#include <algorithm>
#include <stdexcept>
#include <unordered_map>

#include <toml++/toml.h>

#include "signature/keywords/keyword_table.hpp"

namespace darkscope::sig {

std::string RuleMessage::ToString() const { return fmt::format("{}:{}: {}", file, line, text); }

std::optional<Category> ParseCategory(std::string_view text) {
    std::string k;
    for (char c : text)
        if (std::isalnum(static_cast<unsigned char>(c))) k.push_back(char(std::tolower(static_cast<unsigned char>(c))));
    if (k == "worm") return Category::WORM;
    if (k == "scan") return Category::SCAN;
    if (k == "scanp2p") return Category::SCAN_P2P;
    if (k == "udpspam") return Category::UDP_SPAM;
    if (k == "dos") return Category::DOS;
    if (k == "dns") return Category::DNS;
    if (k == "others" || k == "other") return Category::OTHERS;
    return std::nullopt;
}

std::map<std::string, std::string, std::less<>> ParseOptions::DefaultVars() {
    std::map<std::string, std::string, std::less<>> v;
    for (const char *name : {"HOME_NET", "EXTERNAL_NET", "HTTP_SERVERS", "SMTP_SERVERS", "SQL_SERVERS", "DNS_SERVERS",
                             "TELNET_SERVERS", "AIM_SERVERS", "DC_SERVERS", "DNP3_SERVER", "DNP3_CLIENT",
                             "MODBUS_CLIENT", "MODBUS_SERVER", "ENIP_CLIENT", "ENIP_SERVER", "SSH_SERVERS"})
        v[name] = "any";
    v["HTTP_PORTS"] = "[80,81,311,383,591,593,901,1220,1414,1741,1830,2301,2381,2809,3037,3128,3702,4343,4848,5250,"
                      "6988,7000,7001,7144,7145,7510,7777,7779,8000,8008,8014,8028,8080,8085,8088,8090,8118,8123,"
                      "8180,8181,8243,8280,8300,8800,8888,8899,9000,9060,9080,9090,9091,9443,9999,11371,34443,"
                      "34444,41080,50002,55555]";
    v["SHELLCODE_PORTS"] = "!80";
    v["ORACLE_PORTS"] = "1521";
    v["SSH_PORTS"] = "22";
    v["DNP3_PORTS"] = "20000";
    v["MODBUS_PORTS"] = "502";
    v["FILE_DATA_PORTS"] = "[$HTTP_PORTS,110,143]";
    v["FTP_PORTS"] = "21";
    v["GENEVE_PORTS"] = "6081";
    v["VXLAN_PORTS"] = "4789";
    v["TEREDO_PORTS"] = "3544";
    return v;
}

std::map<std::string, Category, std::less<>> ParseOptions::DefaultClasstypes() {
    // The classtypes of Suricata's classification.config that have an obvious NPA counterpart;
    // everything else falls in Others. Override or extend with --classtype-map.
    return {
        {"attempted-recon", Category::SCAN},      {"network-scan", Category::SCAN},
        {"successful-recon-limited", Category::SCAN}, {"successful-recon-largescale", Category::SCAN},
        {"attempted-dos", Category::DOS},         {"denial-of-service", Category::DOS},
        {"successful-dos", Category::DOS},        {"trojan-activity", Category::WORM},
        {"shellcode-detect", Category::WORM},     {"attempted-admin", Category::WORM},
        {"attempted-user", Category::WORM},       {"misc-activity", Category::OTHERS},
    };
}

namespace {

// Resolves $VARS (recursively, with a depth bound against self-reference).
bool ExpandVars(std::string_view text, const ParseOptions &options, std::string &out, std::string &error, int depth = 0) {
    if (depth > 8) {
        error = "variables nest too deeply (a variable refers to itself?)";
        return false;
    }
    for (size_t i = 0; i < text.size();) {
        if (text[i] != '$') {
            out.push_back(text[i++]);
            continue;
        }
        size_t j = i + 1;
        while (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_')) ++j;
        std::string_view name = text.substr(i + 1, j - i - 1);
        auto it = options.vars.find(name);
        if (it == options.vars.end()) {
            error = "unknown variable $" + std::string(name);
            return false;
        }
        if (!ExpandVars(it->second, options, out, error, depth + 1)) return false;
        i = j;
    }
    return true;
}

// Splits a bracketed list at top-level commas.
bool SplitList(std::string_view s, std::vector<std::string_view> &items, std::string &error) {
    int level = 0;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '[') ++level;
        else if (s[i] == ']') {
            if (--level < 0) {
                error = "unbalanced ']'";
                return false;
            }
        } else if (s[i] == ',' && level == 0) {
            items.push_back(Trim(s.substr(start, i - start)));
            start = i + 1;
        }
    }
    if (level != 0) {
        error = "unbalanced '['";
        return false;
    }
    items.push_back(Trim(s.substr(start)));
    return true;
}

// One item or list of an address or port set into `node` (see ValueSet in rule.hpp).
template <typename Item, typename Leaf>
bool ParseSetNode(std::string_view s, typename ValueSet<Item>::Node &node, const char *what, Leaf leaf,
                  std::string &error, int depth) {
    s = Trim(s);
    if (depth > 16) {
        error = std::string(what) + " lists nest too deeply";
        return false;
    }
    if (s.empty()) {
        error = std::string("empty ") + what;
        return false;
    }
    if (s[0] == '!') {
        if (!ParseSetNode<Item>(s.substr(1), node, what, leaf, error, depth + 1)) return false;
        if (!node.leaf && node.children.empty() && !node.negated) {
            error = std::string("!any matches no ") + what;
            return false;
        }
        node.negated = !node.negated;
        return true;
    }
    if (s == "any") {  // an empty list: every value
        node.leaf = false;
        return true;
    }
    if (s[0] == '[') {
        if (s.back() != ']') {
            error = std::string(what) + " list '" + std::string(s) + "' has no closing ']'";
            return false;
        }
        std::vector<std::string_view> items;
        if (!SplitList(s.substr(1, s.size() - 2), items, error)) return false;
        node.leaf = false;
        for (auto item : items) {
            typename ValueSet<Item>::Node child;
            if (!ParseSetNode<Item>(item, child, what, leaf, error, depth + 1)) return false;
            node.children.push_back(std::move(child));
        }
        return true;
    }
    node.leaf = true;
    return leaf(s, node.item, error);
}

template <typename Set, typename Leaf>
bool ParseSet(std::string_view text, const ParseOptions &options, Set &set, const char *what, Leaf leaf,
              std::string &error) {
    std::string expanded;
    if (!ExpandVars(text, options, expanded, error)) return false;
    typename Set::Node root;
    if (!ParseSetNode<decltype(root.item)>(expanded, root, what, leaf, error, 0)) return false;
    // `any`, or a list holding only `any`s, is every value: no expression to evaluate per packet.
    bool all = !root.leaf && !root.negated;
    for (auto &c : root.children) all &= !c.leaf && !c.negated && c.children.empty();
    if (!all) set.root = std::move(root);
    return true;
}

bool ParseAddresses(std::string_view text, const ParseOptions &options, AddressSet &set, std::string &error) {
    return ParseSet(text, options, set, "address", [](std::string_view s, IpNetwork &out, std::string &e) {
        std::optional<IpNetwork> net;
        if (s.find('/') != std::string_view::npos) net = IpNetwork::Parse(s);
        else if (auto a = IpAddress::Parse(s)) net = IpNetwork{*a, uint8_t(a->IsV4() ? 32 : 128)};
        if (!net) {
            e = "'" + std::string(s) + "' is not an address or network";
            return false;
        }
        out = *net;
        return true;
    }, error);
}

bool ParsePort(std::string_view s, uint16_t &out, std::string &error) {
    uint64_t v = 0;
    if (!ParseUnsigned(s, 65535, v)) {
        error = "'" + std::string(s) + "' is not a port";
        return false;
    }
    out = uint16_t(v);
    return true;
}

bool ParsePorts(std::string_view text, const ParseOptions &options, PortSet &set, std::string &error) {
    return ParseSet(text, options, set, "port", [](std::string_view s, std::pair<uint16_t, uint16_t> &range,
                                                   std::string &e) {
        range = {0, 65535};
        if (size_t colon = s.find(':'); colon != std::string_view::npos) {
            if (colon > 0 && !ParsePort(s.substr(0, colon), range.first, e)) return false;
            if (colon + 1 < s.size() && !ParsePort(s.substr(colon + 1), range.second, e)) return false;
            if (range.first > range.second) {
                e = "port range '" + std::string(s) + "' is reversed";
                return false;
            }
            return true;
        }
        if (!ParsePort(s, range.first, e)) return false;
        range.second = range.first;
        return true;
    }, error);
}

// Takes the next header token: a bracketed list is one token even with spaces inside.
std::string_view NextToken(std::string_view &s) {
    s = Trim(s);
    int level = 0;
    size_t i = 0;
    for (; i < s.size(); ++i) {
        if (s[i] == '[') ++level;
        else if (s[i] == ']') --level;
        else if ((s[i] == ' ' || s[i] == '\t') && level <= 0) break;
    }
    std::string_view token = s.substr(0, i);
    s = s.substr(i);
    return token;
}

constexpr std::string_view APP_PROTOCOLS[] = {
    "http", "http1", "http2", "ftp", "ftp-data", "tls", "ssl", "smb", "dcerpc", "dns", "smtp", "imap", "pop3",
    "ssh", "modbus", "dnp3", "enip", "nfs", "ntp", "tftp", "ike", "ikev2", "krb5", "dhcp", "snmp", "sip", "rfb",
    "mqtt", "rdp", "pgsql", "telnet", "websocket", "ldap", "quic", "bittorrent-dht", "doh2", "template", "pkthdr",
    "sctp", "udp-pkt"};

}  // namespace

std::optional<Rule> ParseRule(std::string_view text, const ParseOptions &options, std::string &error,
                              std::string &skip_keyword) {
    error.clear();
    skip_keyword.clear();
    text = Trim(text);
    const size_t open = text.find('(');
    if (open == std::string_view::npos || text.back() != ')') {
        error = "a rule is `action proto src sport -> dst dport (options)`: no option list in parentheses";
        return std::nullopt;
    }
    std::string_view header = text.substr(0, open);
    std::string_view body = text.substr(open + 1, text.size() - open - 2);
    Rule rule;

    rule.action = std::string(NextToken(header));
    if (rule.action != "alert" && rule.action != "log" && rule.action != "pass" && rule.action != "drop" &&
        rule.action != "reject" && rule.action != "rejectsrc" && rule.action != "rejectdst" &&
        rule.action != "rejectboth" && rule.action != "sdrop") {
        error = "unknown action '" + rule.action + "'";
        return std::nullopt;
    }
    if (rule.action == "pass") {
        skip_keyword = "pass";
        error = "pass rules suppress other rules' alerts, which darkscope does not model";
        return std::nullopt;
    }
    std::string proto(NextToken(header));
    for (auto &c : proto) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (proto == "ip" || proto == "ipv4" || proto == "ipv6" || proto == "pkthdr") rule.proto = RuleProto::IP;
    else if (proto == "tcp" || proto == "tcp-pkt") rule.proto = RuleProto::TCP;
    else if (proto == "udp") rule.proto = RuleProto::UDP;
    else if (proto == "icmp") rule.proto = RuleProto::ICMP;
    else if (proto == "icmpv6" || proto == "icmpv4") rule.proto = proto == "icmpv6" ? RuleProto::ICMPV6 : RuleProto::ICMP;
    else {
        for (auto app : APP_PROTOCOLS)
            if (proto == app) {
                skip_keyword = proto;
                error = "protocol '" + proto + "' needs an application-layer parser";
                return std::nullopt;
            }
        if (proto == "tcp-stream") {
            skip_keyword = proto;
            error = "protocol 'tcp-stream' needs stream reassembly";
            return std::nullopt;
        }
        error = "unknown protocol '" + proto + "'";
        return std::nullopt;
    }
    // icmpv4 is Suricata's name for ICMPv4 only; plain icmp matches both.
    const bool icmpv4_only = proto == "icmpv4";
    std::string_view src = NextToken(header), sport = NextToken(header), dir = NextToken(header),
                     dst = NextToken(header), dport = NextToken(header);
    if (dport.empty() || !Trim(header).empty()) {
        error = "the header needs `proto src sport -> dst dport`";
        return std::nullopt;
    }
    if (dir == "<>") rule.bidirectional = true;
    else if (dir != "->") {
        error = "direction must be -> or <>, not '" + std::string(dir) + "'";
        return std::nullopt;
    }
    std::string e;
    if (!ParseAddresses(src, options, rule.src, e) || !ParseAddresses(dst, options, rule.dst, e)) {
        error = "address: " + e;
        return std::nullopt;
    }
    if (!ParsePorts(sport, options, rule.sport, e) || !ParsePorts(dport, options, rule.dport, e)) {
        error = "port: " + e;
        return std::nullopt;
    }
    if ((rule.proto == RuleProto::IP || rule.proto == RuleProto::ICMP || rule.proto == RuleProto::ICMPV6) &&
        (!rule.sport.Any() || !rule.dport.Any())) {
        error = "ports are only for tcp and udp rules";
        return std::nullopt;
    }

    // Options: `name[:value];`, where a quoted value may hold escaped `\;` and `\"`.
    size_t i = 0;
    bool unsupported = false;
    while (i < body.size()) {
        while (i < body.size() && (body[i] == ' ' || body[i] == '\t')) ++i;
        if (i >= body.size()) break;
        size_t start = i;
        bool quoted = false;
        for (; i < body.size(); ++i) {
            if (body[i] == '\\' && i + 1 < body.size()) {
                ++i;
                continue;
            }
            if (body[i] == '"') quoted = !quoted;
            else if (body[i] == ';' && !quoted) break;
        }
        if (quoted) {
            error = "unterminated quoted string in the options";
            return std::nullopt;
        }
        if (i >= body.size()) {
            error = "the last option needs a ';'";
            return std::nullopt;
        }
        std::string_view option = Trim(body.substr(start, i - start));
        ++i;  // the ';'
        if (option.empty()) continue;
        size_t colon = option.find(':');
        std::string_view name = Trim(option.substr(0, colon));
        std::string_view value = colon == std::string_view::npos ? std::string_view() : Trim(option.substr(colon + 1));
        const Keyword *k = Keywords().Find(name);
        if (!k) {
            if (!unsupported) {
                unsupported = true;
                skip_keyword = std::string(name);
                error = name.find('.') != std::string_view::npos
                            ? "keyword '" + std::string(name) + "' is an application-layer buffer"
                            : "keyword '" + std::string(name) + "' is outside the single-packet subset";
            }
            continue;
        }
        KeywordResult r = k->parse(value, rule, options);
        if (r.status == KeywordResult::Status::ERROR) {
            error = std::string(name) + ": " + r.message;
            if (r.message.substr(0, name.size()) == name) error = r.message;
            skip_keyword.clear();
            return std::nullopt;
        }
        if (r.status == KeywordResult::Status::UNSUPPORTED && !unsupported) {
            unsupported = true;
            skip_keyword = std::string(name);
            error = "keyword '" + std::string(name) + "': " + r.message;
        }
    }
    if (rule.sid == 0) {
        error = "the rule has no sid";
        skip_keyword.clear();
        return std::nullopt;
    }
    if (unsupported) return std::nullopt;
    if (icmpv4_only) rule.fields.push_back(FieldCheck{Field::IP_PROTO, Comparison{Comparison::Op::EQ, 1, 0}});
    if (!rule.category_name.empty()) {
        rule.category = *ParseCategory(rule.category_name);
    } else if (auto it = options.classtypes.find(rule.classtype); it != options.classtypes.end()) {
        rule.category = it->second;
    }
    return rule;
}

void ParseRules(std::string_view text, std::string_view file, const ParseOptions &options, RuleSet &out) {
    uint32_t line_no = 0;
    std::string pending;
    uint32_t pending_line = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t nl = text.find('\n', pos);
        std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        std::string_view t = Trim(line);
        if (pending.empty()) {
            if (t.empty()) continue;
            if (t[0] == '#') {
                std::string_view rest = Trim(t.substr(1));
                for (auto action : {"alert ", "drop ", "log ", "pass ", "reject "})
                    if (rest.substr(0, std::strlen(action)) == action) ++out.disabled;
                continue;
            }
            pending_line = line_no;
        }
        if (!t.empty() && t.back() == '\\') {
            pending.append(t.substr(0, t.size() - 1));
            if (pending.size() > (1 << 20)) {
                out.errors.push_back({std::string(file), pending_line, "", "rule longer than 1 MiB"});
                pending.clear();
            }
            continue;
        }
        pending.append(t);
        std::string error, keyword;
        if (auto rule = ParseRule(pending, options, error, keyword)) {
            rule->file = std::string(file);
            rule->line = pending_line;
            out.rules.push_back(std::move(*rule));
        } else if (!keyword.empty()) {
            out.skipped.push_back({std::string(file), pending_line, keyword, "skipped: " + error});
        } else {
            out.errors.push_back({std::string(file), pending_line, "", error});
        }
        pending.clear();
    }
    if (!pending.empty()) out.errors.push_back({std::string(file), pending_line, "", "the file ends inside a rule (a trailing '\\')"});
}

void ParseRuleFile(const std::filesystem::path &path, const ParseOptions &options, RuleSet &out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("{}: cannot open rule file", path.string()));
    std::stringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw std::runtime_error(fmt::format("{}: read error", path.string()));
    ParseRules(ss.str(), path.string(), options, out);
}

void LoadClasstypeMap(const std::filesystem::path &path, ParseOptions &options) {
    toml::table table;
    try {
        table = toml::parse_file(path.string());
    } catch (const toml::parse_error &e) {
        throw std::runtime_error(fmt::format("{}:{}: {}", path.string(), e.source().begin.line, e.description()));
    }
    auto *classtypes = table["classtypes"].as_table();
    if (!classtypes) throw std::runtime_error(fmt::format("{}: no [classtypes] table", path.string()));
    for (auto &[key, value] : *classtypes) {
        auto name = value.value<std::string>();
        auto category = name ? ParseCategory(*name) : std::nullopt;
        if (!category)
            throw std::runtime_error(fmt::format(
                "{}:{}: classtype '{}': expected one of Worm, Scan, Scan(P2P), UDP spam, DoS, DNS, Others",
                path.string(), value.source().begin.line, key.str()));
        options.classtypes[std::string(key.str())] = *category;
    }
}

RuleSet LoadRules(bool with_default, const std::vector<std::filesystem::path> &files, const ParseOptions &options) {
    RuleSet all;
    std::unordered_map<uint32_t, std::pair<std::string, uint32_t>> where;  // sid -> file, line
    auto add = [&](RuleSet &&part) {
        for (Rule &r : part.rules) {
            auto [it, inserted] = where.try_emplace(r.sid, r.file, r.line);
            if (!inserted) {
                all.errors.push_back({r.file, r.line, "",
                                      fmt::format("sid {} is already used at {}:{}; this rule is left out", r.sid,
                                                  it->second.first, it->second.second)});
                continue;
            }
            all.rules.push_back(std::move(r));
        }
        for (auto &e : part.errors) all.errors.push_back(std::move(e));
        for (auto &e : part.skipped) all.skipped.push_back(std::move(e));
        all.disabled += part.disabled;
    };
    if (with_default) {
        RuleSet part;
        ParseRules(DefaultRulesText(), DEFAULT_RULES_NAME, options, part);
        add(std::move(part));
    }
    for (const auto &file : files) {
        RuleSet part;
        ParseRuleFile(file, options, part);
        add(std::move(part));
    }
    return all;
}

std::string SkippedByKeyword(const RuleSet &set) {
    std::map<std::string, size_t> counts;
    for (const RuleMessage &m : set.skipped) ++counts[m.keyword];
    std::vector<std::pair<size_t, std::string>> sorted;
    for (auto &[k, n] : counts) sorted.emplace_back(n, k);
    std::sort(sorted.begin(), sorted.end(), [](auto &a, auto &b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    std::string out;
    for (auto &[n, k] : sorted) out += fmt::format("{}{} ({})", out.empty() ? "" : ", ", k, n);
    return out;
}

}  // namespace darkscope::sig
