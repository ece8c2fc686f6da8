#include "probe/nmap_devices.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pugixml.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "probe/text.hpp"

extern char **environ;

namespace darkscope::probe {
namespace {

// What the rules are allowed to read as "the host's own words": per open port, the version match's fields and
// the banner-like script outputs. The OS guess is kept apart (rules below say why).
constexpr std::string_view TEXT_SCRIPTS[] = {"banner", "http-title", "http-server-header"};

// Rules in the order ClassifyDevice tries them; docs/probes.md renders this table.
constexpr DeviceRule RULES[] = {
    {"no-open-port", "blocked", "host state, every scanned port's state",
     "Nothing answered on any scanned port (down, all filtered, or all closed): there is nothing to classify, "
     "as the paper's Block row counts."},
    {"dvr-product", "dvr",
     "product, version, extra info, banner, http-title: DVR, NVR, XVR, HVR, digital/network video recorder",
     "Before the camera rules: DVR makers (Hikvision, Dahua, Zmodo) also make cameras, and nmap files many DVRs "
     "under the webcam device type."},
    {"load-balancer", "load-balancer",
     "device type or OS class 'load balancer'; BIG-IP, F5, NetScaler, LoadMaster, 'load balancer' in products",
     "Before the service device types and the server rule: an F5 runs Linux and answers ssh and http like a "
     "server."},
    {"service-device-type", "router, printer, network-camera or nas, by the type",
     "the device type of nmap's -sV matches (router, broadband router, WAP, switch, firewall, bridge, hub -> "
     "router; printer, print server -> printer; webcam -> network-camera; storage-misc -> nas); the most ports "
     "win, ties in the order printer, network-camera, nas, router",
     "A -sV match names a product whose kind nmap's database records: the strongest evidence there is."},
    {"mikrotik", "router",
     "8728/tcp or 8729/tcp open (RouterOS API, the paper's figure 4), or MikroTik / RouterOS / winbox in "
     "service names, products, banners, titles, CPEs",
     "RouterOS runs only on MikroTik's routers and on routers built from it."},
    {"printer-service", "printer",
     "ipp (631/tcp), jetdirect (9100/tcp), printer (lpd, 515/tcp) service names; printer, LaserJet, JetDirect, "
     "OfficeJet, Kyocera, Lexmark, Xerox, Ricoh, Epson, Brother in products, banners, titles",
     "Print protocols are seldom offered by anything but a printer or print server."},
    {"camera-product", "network-camera",
     "IP camera, network camera, webcam, Hikvision, Dahua, AXIS, Foscam, Vivotek, Amcrest, Reolink, GeoVision, "
     "Mobotix, Uniview in products, banners, titles (RTSP on 554/tcp noted when open)",
     "RTSP alone is any media server: a camera needs a camera product."},
    {"nas-product", "nas",
     "Synology, DiskStation, QNAP, QTS, ReadyNAS, NAS, My Cloud, TerraMaster, ASUSTOR, LinkStation, TeraStation, "
     "FreeNAS, TrueNAS in products, banners, titles",
     "NAS makers' web interfaces and services carry their names."},
    {"router-product", "router",
     "router, OpenWrt, DD-WRT, ZyXEL, TP-Link, NETGEAR, D-Link, Linksys, DrayTek, FRITZ!Box, Ubiquiti, EdgeOS, "
     "AirOS, Cisco IOS, JunOS, VyOS, pfSense, OPNsense, FortiGate, SonicWall in products, banners, titles",
     "After printer, camera and NAS: those names are more specific than a vendor that makes routers too."},
    {"os-device-type", "router, printer, network-camera or nas, by the type",
     "the best OS match's classes (accuracy >= 90), mapped as the service device types",
     "After every product rule: an OS fingerprint is a guess from TCP/IP behaviour, a product match is not."},
    {"server", "server",
     "an open server service (ssh, http, https, smtp, domain, ftp, pop3, imap, mysql, postgresql, ms-sql-s, "
     "ldap, rdp, smb, ...) together with a general-purpose OS: the best OS class 'general purpose', a port's OS "
     "type (Linux, Windows, BSD, Solaris, macOS, ...), or a server product that runs on one (OpenSSH, Apache, "
     "nginx, IIS, BIND, Postfix, Exim, MySQL, ...)",
     "A service alone is not enough: routers answer http and domain too (dnsmasq on a home router)."},
    {"no-rule", "unknown", "open ports that no rule above explains",
     "The paper's 判別不能 row: something answers, nothing says what it is."},
};

std::regex Words(const char *pattern) { return std::regex(pattern, std::regex::ECMAScript | std::regex::icase); }

const std::regex &DvrWords() {
    static const std::regex r = Words(R"(\b(dvr|nvr|xvr|hvr|digital video recorder|network video recorder)\b)");
    return r;
}
const std::regex &LoadBalancerWords() {
    static const std::regex r = Words(R"(\b(big-?ip|f5 networks|netscaler|loadmaster|load[ -]?balancer)\b)");
    return r;
}
const std::regex &MikrotikWords() {
    static const std::regex r = Words(R"(mikrotik|routeros|\bwinbox\b)");
    return r;
}
const std::regex &PrinterWords() {
    static const std::regex r = Words(
        R"(\b(printer|laserjet|jetdirect|officejet|deskjet|pagewide|kyocera|lexmark|xerox|ricoh|konica minolta|epson|brother)\b)");
    return r;
}
const std::regex &CameraWords() {
    static const std::regex r = Words(
        R"(\b(ip ?camera|ip ?cam|network camera|web ?cam|camera|hikvision|dahua|foscam|vivotek|amcrest|reolink|geovision|mobotix|uniview|axis ([a-z]?\d{3,4}|network|communications)))");
    return r;
}
const std::regex &NasWords() {
    static const std::regex r = Words(
        R"(\b(synology|diskstation|qnap|qts|readynas|nas|my ?cloud|terramaster|asustor|linkstation|terastation|freenas|truenas|openmediavault)\b)");
    return r;
}
const std::regex &RouterWords() {
    static const std::regex r = Words(
        R"(\b(router|openwrt|dd-wrt|zyxel|tp-?link|netgear|d-link|linksys|draytek|fritz!?box|ubiquiti|edgeos|edgerouter|airos|cisco ios|junos|vyos|pfsense|opnsense|fortigate|sonicwall)\b)");
    return r;
}
const std::regex &GeneralOsWords() {
    static const std::regex r = Words(R"(linux|windows|unix|bsd|solaris|sunos|mac ?os|darwin|\baix\b|hp-ux)");
    return r;
}
const std::regex &ServerProductWords() {
    static const std::regex r = Words(
        R"(\b(openssh|apache|nginx|microsoft iis|microsoft httpapi|isc bind|bind|postfix|exim|sendmail|dovecot|mysql|mariadb|postgresql|microsoft sql server|proftpd|vsftpd|pure-ftpd|filezilla server|lighttpd|unbound|powerdns|microsoft dns|samba|microsoft windows rpc|openresty|caddy|tomcat|jetty|node\.js|werkzeug|simplehttpserver|gunicorn|litespeed|courier|openldap|redis|mongodb|memcached)\b)");
    return r;
}

constexpr std::string_view SERVER_SERVICES[] = {
    "ssh",        "http",          "https",        "http-proxy",  "http-alt", "https-alt",  "smtp",
    "submission", "smtps",         "domain",       "ftp",         "ftps",     "pop3",       "pop3s",
    "imap",       "imaps",         "mysql",        "postgresql",  "ms-sql-s", "oracle-tns", "ldap",
    "ldaps",      "ms-wbt-server", "microsoft-ds", "netbios-ssn", "msrpc",    "rpcbind",    "nfs",
    "redis",      "mongodb",       "memcached",    "xmpp-client", "irc",      "ntp",        "kerberos-sec",
};

std::optional<DeviceClass> MapDeviceType(std::string_view type) {
    std::string t(type);
    for (char &c : t)
        c = char(std::tolower(uint8_t(c)));
    if (t == "router" || t == "broadband router" || t == "broadand router" || t == "wap" || t == "switch" ||
        t == "firewall" || t == "bridge" || t == "hub")
        return DeviceClass::ROUTER;
    if (t == "printer" || t == "print server" || t == "hp printer") return DeviceClass::PRINTER;
    if (t == "webcam") return DeviceClass::NETWORK_CAMERA;
    if (t == "storage-misc") return DeviceClass::NAS;
    if (t == "load balancer") return DeviceClass::LOAD_BALANCER;
    return std::nullopt;
}

std::string PortLabel(const NmapPort &p) {
    return fmt::format("{}/{} {}", p.port, p.protocol, p.service.empty() ? "?" : EscapeWireText(p.service, 64));
}

// libstdc++'s regex engine recurses; what a host sends is cut before it is searched.
bool Search(const std::string &text, const std::regex &re) {
    constexpr size_t MAX_SEARCHED = 2048;
    return std::regex_search(text.begin(), text.begin() + std::ptrdiff_t(std::min(text.size(), MAX_SEARCHED)), re);
}

struct Hit {
    const NmapPort *port;
    std::string field;
    std::string text;
};

// The first open port whose own words match `re`, and which field matched.
std::optional<Hit> FindWords(const std::vector<const NmapPort *> &open, const std::regex &re) {
    for (const NmapPort *p : open) {
        const std::pair<const char *, const std::string *> fields[] = {{"product", &p->product},
                                                                       {"version", &p->version},
                                                                       {"extra info", &p->extrainfo},
                                                                       {"service", &p->service}};
        for (auto [name, value] : fields)
            if (!value->empty() && Search(*value, re)) return Hit{p, name, *value};
        for (const std::string &cpe : p->cpe)
            if (Search(cpe, re)) return Hit{p, "cpe", cpe};
        for (std::string_view id : TEXT_SCRIPTS)
            if (auto it = p->scripts.find(std::string(id)); it != p->scripts.end() && Search(it->second, re))
                return Hit{p, std::string(id), it->second};
    }
    return std::nullopt;
}

std::string Describe(const Hit &h) {
    return fmt::format("{} {} '{}'", PortLabel(*h.port), h.field, EscapeWireText(h.text, 120));
}

const NmapOsMatch *BestOs(const NmapHost &host) {
    if (host.os.empty() || host.os.front().accuracy < 90) return nullptr;
    return &host.os.front();
}

nlohmann::ordered_json DetailJson(const NmapHost &host, const std::vector<const NmapPort *> &open) {
    const auto e = [](const std::string &s) { return EscapeWireText(s, 512); };
    nlohmann::ordered_json d;
    d["state"] = e(host.state);
    if (!host.state_reason.empty()) d["state_reason"] = e(host.state_reason);
    if (host.timed_out) d["timed_out"] = true;
    auto ports = nlohmann::ordered_json::array();
    for (const NmapPort *p : open) {
        nlohmann::ordered_json j;
        j["port"] = p->port;
        j["protocol"] = e(p->protocol);
        j["service"] = e(p->service);
        for (auto [key, value] : {std::pair{"product", &p->product}, std::pair{"version", &p->version},
                                  std::pair{"extrainfo", &p->extrainfo}, std::pair{"devicetype", &p->devicetype},
                                  std::pair{"ostype", &p->ostype}, std::pair{"method", &p->method}})
            if (!value->empty()) j[key] = e(*value);
        if (p->tunnel_ssl) j["tunnel"] = "ssl";
        if (!p->cpe.empty()) {
            j["cpe"] = nlohmann::ordered_json::array();
            for (auto &c : p->cpe)
                j["cpe"].push_back(e(c));
        }
        if (!p->scripts.empty()) {
            j["scripts"] = nlohmann::ordered_json::object();
            for (auto &[id, output] : p->scripts)
                j["scripts"][e(id)] = e(output);
        }
        ports.push_back(std::move(j));
    }
    d["open_ports"] = std::move(ports);
    std::map<std::string, int> not_open;
    for (const NmapPort &p : host.ports)
        if (p.state != "open") ++not_open[p.state];
    for (auto &[state, n] : host.extraports)
        not_open[state] += n;
    if (!not_open.empty()) {
        d["not_open"] = nlohmann::ordered_json::object();
        for (auto &[state, n] : not_open)
            d["not_open"][e(state)] = n;
    }
    if (!host.os.empty()) {
        d["os"] = nlohmann::ordered_json::array();
        for (size_t i = 0; i < host.os.size() && i < 3; ++i) {
            const NmapOsMatch &m = host.os[i];
            nlohmann::ordered_json j{{"name", e(m.name)}, {"accuracy", m.accuracy}};
            j["classes"] = nlohmann::ordered_json::array();
            for (const NmapOsClass &c : m.classes)
                j["classes"].push_back({{"type", e(c.type)},
                                        {"vendor", e(c.vendor)},
                                        {"osfamily", e(c.osfamily)},
                                        {"osgen", e(c.osgen)},
                                        {"accuracy", c.accuracy}});
            d["os"].push_back(std::move(j));
        }
    }
    if (!host.mac_vendor.empty()) d["mac_vendor"] = e(host.mac_vendor);
    if (!host.hostnames.empty()) {
        d["hostnames"] = nlohmann::ordered_json::array();
        for (auto &h : host.hostnames)
            d["hostnames"].push_back(e(h));
    }
    return d;
}

int IntAttribute(const pugi::xml_node &node, const char *name) {
    const char *text = node.attribute(name).as_string();
    int value = 0;
    std::from_chars(text, text + std::strlen(text), value);
    return value;
}

NmapHost ParseHost(const pugi::xml_node &h, std::vector<std::string> *problems) {
    NmapHost host;
    host.state = h.child("status").attribute("state").as_string("unknown");
    host.state_reason = h.child("status").attribute("reason").as_string();
    host.timed_out = std::string_view(h.attribute("timedout").as_string()) == "true";
    for (const pugi::xml_node &a : h.children("address")) {
        const std::string_view type = a.attribute("addrtype").as_string();
        if (type == "ipv4" || type == "ipv6") {
            if (auto ip = IpAddress::Parse(a.attribute("addr").as_string()); ip && !host.address.Valid())
                host.address = *ip;
        } else if (type == "mac") {
            host.mac_vendor = a.attribute("vendor").as_string();
        }
    }
    for (const pugi::xml_node &n : h.child("hostnames").children("hostname"))
        host.hostnames.push_back(n.attribute("name").as_string());
    const pugi::xml_node ports = h.child("ports");
    for (const pugi::xml_node &x : ports.children("extraports"))
        host.extraports[x.attribute("state").as_string()] += IntAttribute(x, "count");
    for (const pugi::xml_node &p : ports.children("port")) {
        NmapPort port;
        const int number = IntAttribute(p, "portid");
        if (number <= 0 || number > 65535) {
            problems->push_back(
                fmt::format("a port with portid '{}' skipped", EscapeWireText(p.attribute("portid").as_string(), 20)));
            continue;
        }
        port.port = uint16_t(number);
        port.protocol = p.attribute("protocol").as_string();
        port.state = p.child("state").attribute("state").as_string();
        port.reason = p.child("state").attribute("reason").as_string();
        const pugi::xml_node s = p.child("service");
        port.service = s.attribute("name").as_string();
        port.product = s.attribute("product").as_string();
        port.version = s.attribute("version").as_string();
        port.extrainfo = s.attribute("extrainfo").as_string();
        port.devicetype = s.attribute("devicetype").as_string();
        port.ostype = s.attribute("ostype").as_string();
        port.method = s.attribute("method").as_string();
        port.tunnel_ssl = std::string_view(s.attribute("tunnel").as_string()) == "ssl";
        for (const pugi::xml_node &c : s.children("cpe"))
            port.cpe.push_back(c.text().as_string());
        for (const pugi::xml_node &script : p.children("script"))
            port.scripts[script.attribute("id").as_string()] = script.attribute("output").as_string();
        host.ports.push_back(std::move(port));
    }
    for (const pugi::xml_node &m : h.child("os").children("osmatch")) {
        NmapOsMatch match{m.attribute("name").as_string(), IntAttribute(m, "accuracy"), {}};
        for (const pugi::xml_node &c : m.children("osclass"))
            match.classes.push_back({c.attribute("type").as_string(), c.attribute("vendor").as_string(),
                                     c.attribute("osfamily").as_string(), c.attribute("osgen").as_string(),
                                     IntAttribute(c, "accuracy")});
        host.os.push_back(std::move(match));
    }
    for (const pugi::xml_node &script : h.child("hostscript").children("script"))
        host.host_scripts[script.attribute("id").as_string()] = script.attribute("output").as_string();
    return host;
}

}  // namespace

std::string_view DeviceClassName(DeviceClass c) {
    switch (c) {
        case DeviceClass::SERVER:
            return "server";
        case DeviceClass::ROUTER:
            return "router";
        case DeviceClass::PRINTER:
            return "printer";
        case DeviceClass::NETWORK_CAMERA:
            return "network-camera";
        case DeviceClass::NAS:
            return "nas";
        case DeviceClass::DVR:
            return "dvr";
        case DeviceClass::LOAD_BALANCER:
            return "load-balancer";
        case DeviceClass::UNKNOWN:
            return "unknown";
        case DeviceClass::BLOCKED:
            return "blocked";
    }
    return "?";
}

std::string_view DeviceClassJapanese(DeviceClass c) {
    switch (c) {
        case DeviceClass::SERVER:
            return "サーバ";
        case DeviceClass::ROUTER:
            return "ルータ";
        case DeviceClass::PRINTER:
            return "プリンタ";
        case DeviceClass::NETWORK_CAMERA:
            return "ネットワークカメラ";
        case DeviceClass::NAS:
            return "NAS";
        case DeviceClass::DVR:
            return "DVR";
        case DeviceClass::LOAD_BALANCER:
            return "ロードバランサ";
        case DeviceClass::UNKNOWN:
            return "判別不能";
        case DeviceClass::BLOCKED:
            return "Block";
    }
    return "?";
}

std::span<const DeviceRule> DeviceRules() { return RULES; }

NmapRun ParseNmapXml(std::string_view xml, const std::string &source) {
    pugi::xml_document doc;
    const pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default);
    if (!parsed) {
        const size_t offset = std::min(size_t(parsed.offset), xml.size());
        const bool at_end = offset + 64 >= xml.size();
        throw NmapXmlError(fmt::format(
            "{}: not well-formed XML at byte {} of {}: {}{}", source, offset, xml.size(), parsed.description(),
            at_end ? " (the file ends inside an element: nmap was interrupted, or the file was cut short; run nmap "
                     "again, or classify a complete -oX file)"
                   : ""));
    }
    const pugi::xml_node root = doc.child("nmaprun");
    if (!root)
        throw NmapXmlError(fmt::format("{}: no <nmaprun> element: not nmap's XML output (nmap -oX FILE)", source));
    NmapRun run;
    run.source = source;
    run.args = root.attribute("args").as_string();
    run.version = root.attribute("version").as_string();
    run.started = root.attribute("startstr").as_string();
    const pugi::xml_node finished = root.child("runstats").child("finished");
    run.finished = std::string_view(finished.attribute("exit").as_string()) == "success";
    run.error = finished.attribute("errormsg").as_string();
    if (!finished)
        throw NmapXmlError(
            fmt::format("{}: no <runstats><finished> element: the run did not complete (nmap was "
                        "interrupted before it wrote its end)",
                        source));
    std::vector<std::string> problems;
    for (const pugi::xml_node &h : root.children("host")) {
        NmapHost host = ParseHost(h, &problems);
        if (!host.address.Valid()) {
            problems.push_back("a host without an IPv4 or IPv6 address skipped");
            continue;
        }
        run.hosts.push_back(std::move(host));
    }
    if (!problems.empty()) {
        std::string all;
        for (auto &p : problems)
            all += (all.empty() ? "" : "; ") + p;
        run.error += (run.error.empty() ? "" : "; ") + all;
    }
    return run;
}

NmapRun ParseNmapXmlFile(const std::filesystem::path &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw NmapXmlError(fmt::format("{}: cannot open", path.string()));
    std::stringstream buffer;
    buffer << in.rdbuf();
    return ParseNmapXml(buffer.str(), path.string());
}

DeviceVerdict ClassifyDevice(const NmapHost &host) {
    std::vector<const NmapPort *> open;
    for (const NmapPort &p : host.ports)
        if (p.state == "open") open.push_back(&p);
    DeviceVerdict v;
    v.detail = DetailJson(host, open);
    const auto verdict = [&](DeviceClass c, std::string_view rule, std::string reason) {
        v.device_class = c;
        v.rule = rule;
        v.reason = fmt::format("{}: {}", rule, reason);
        return v;
    };

    if (open.empty()) {
        std::map<std::string, int> counts;
        for (const NmapPort &p : host.ports)
            ++counts[p.state];
        for (auto &[state, n] : host.extraports)
            counts[state] += n;
        std::string states;
        for (auto &[state, n] : counts)
            states += fmt::format("{}{} {}", states.empty() ? "" : ", ", n, EscapeWireText(state, 32));
        std::string why =
            host.state == "up"
                ? fmt::format("host up, no open port ({})", states.empty() ? "no port scanned" : states)
                : fmt::format("host {} ({})", EscapeWireText(host.state, 32),
                              host.state_reason.empty() ? "no reason given" : EscapeWireText(host.state_reason, 120));
        if (host.timed_out) why += ", scan ended by --host-timeout";
        return verdict(DeviceClass::BLOCKED, "no-open-port", why);
    }
    if (auto hit = FindWords(open, DvrWords())) return verdict(DeviceClass::DVR, "dvr-product", Describe(*hit));

    for (const NmapPort *p : open)
        if (MapDeviceType(p->devicetype) == DeviceClass::LOAD_BALANCER)
            return verdict(DeviceClass::LOAD_BALANCER, "load-balancer",
                           fmt::format("{} nmap device type 'load balancer' ({})", PortLabel(*p),
                                       EscapeWireText(p->product, 120)));
    if (const NmapOsMatch *os = BestOs(host))
        for (const NmapOsClass &c : os->classes)
            if (MapDeviceType(c.type) == DeviceClass::LOAD_BALANCER)
                return verdict(
                    DeviceClass::LOAD_BALANCER, "load-balancer",
                    fmt::format("OS class 'load balancer' of '{}' ({}%)", EscapeWireText(os->name, 120), os->accuracy));
    if (auto hit = FindWords(open, LoadBalancerWords()))
        return verdict(DeviceClass::LOAD_BALANCER, "load-balancer", Describe(*hit));

    {
        // Each port's -sV device type votes; ties go to the more specific kind of device.
        constexpr DeviceClass PRIORITY[] = {DeviceClass::PRINTER, DeviceClass::NETWORK_CAMERA, DeviceClass::NAS,
                                            DeviceClass::ROUTER};
        std::map<DeviceClass, std::vector<const NmapPort *>> votes;
        for (const NmapPort *p : open)
            if (auto c = MapDeviceType(p->devicetype)) votes[*c].push_back(p);
        const std::vector<const NmapPort *> *best = nullptr;
        DeviceClass best_class = DeviceClass::UNKNOWN;
        for (DeviceClass c : PRIORITY)
            if (auto it = votes.find(c); it != votes.end() && (!best || it->second.size() > best->size()))
                best = &it->second, best_class = c;
        if (best) {
            std::string ports;
            for (const NmapPort *p : *best)
                ports += fmt::format("{}{} '{}' ({})", ports.empty() ? "" : ", ", PortLabel(*p),
                                     EscapeWireText(p->devicetype, 40), EscapeWireText(p->product, 120));
            return verdict(best_class, "service-device-type", "nmap -sV device type: " + ports);
        }
    }

    for (const NmapPort *p : open)
        if (p->protocol == "tcp" && (p->port == 8728 || p->port == 8729))
            return verdict(DeviceClass::ROUTER, "mikrotik",
                           fmt::format("{} open: the MikroTik RouterOS API port{}", PortLabel(*p),
                                       p->product.empty() ? "" : " (" + EscapeWireText(p->product, 120) + ")"));
    if (auto hit = FindWords(open, MikrotikWords())) return verdict(DeviceClass::ROUTER, "mikrotik", Describe(*hit));

    for (const NmapPort *p : open)
        if (p->service == "ipp" || p->service == "jetdirect" || p->service == "printer")
            return verdict(DeviceClass::PRINTER, "printer-service",
                           fmt::format("{} open{}", PortLabel(*p),
                                       p->method == "table" ? " (nmap's name for the port; no version match)"
                                       : p->product.empty() ? ""
                                                            : " (" + EscapeWireText(p->product, 120) + ")"));
    if (auto hit = FindWords(open, PrinterWords()))
        return verdict(DeviceClass::PRINTER, "printer-service", Describe(*hit));

    if (auto hit = FindWords(open, CameraWords())) {
        std::string rtsp;
        for (const NmapPort *p : open)
            if (p->service == "rtsp" || (p->protocol == "tcp" && p->port == 554)) rtsp = ", with " + PortLabel(*p);
        return verdict(DeviceClass::NETWORK_CAMERA, "camera-product", Describe(*hit) + rtsp);
    }
    if (auto hit = FindWords(open, NasWords())) return verdict(DeviceClass::NAS, "nas-product", Describe(*hit));
    if (auto hit = FindWords(open, RouterWords()))
        return verdict(DeviceClass::ROUTER, "router-product", Describe(*hit));

    const NmapOsMatch *os = BestOs(host);
    if (os)
        for (const NmapOsClass &c : os->classes)
            if (auto mapped = MapDeviceType(c.type))
                return verdict(*mapped, "os-device-type",
                               fmt::format("OS class '{}' of '{}' ({}%)", EscapeWireText(c.type, 40),
                                           EscapeWireText(os->name, 120), os->accuracy));

    std::vector<const NmapPort *> services;
    for (const NmapPort *p : open)
        if (std::find(std::begin(SERVER_SERVICES), std::end(SERVER_SERVICES), p->service) != std::end(SERVER_SERVICES))
            services.push_back(p);
    std::string service_list;
    for (const NmapPort *p : services)
        service_list += (service_list.empty() ? "" : ", ") + PortLabel(*p) +
                        (p->product.empty() ? "" : " '" + EscapeWireText(p->product, 80) + "'");
    if (!services.empty()) {
        std::string general;
        if (os)
            for (const NmapOsClass &c : os->classes)
                if (c.type == "general purpose" && general.empty())
                    general =
                        fmt::format("OS '{}' ({}%, general purpose)", EscapeWireText(os->name, 120), os->accuracy);
        for (const NmapPort *p : open)
            if (general.empty() && !p->ostype.empty() && Search(p->ostype, GeneralOsWords()))
                general = fmt::format("{} OS type '{}'", PortLabel(*p), EscapeWireText(p->ostype, 40));
        if (general.empty())
            if (auto hit = FindWords(services, ServerProductWords())) general = Describe(*hit);
        if (!general.empty())
            return verdict(DeviceClass::SERVER, "server", fmt::format("{}; {}", service_list, general));
    }

    std::string open_list;
    for (size_t i = 0; i < open.size() && i < 8; ++i)
        open_list += (i ? ", " : "") + PortLabel(*open[i]);
    if (open.size() > 8) open_list += fmt::format(", +{} more", open.size() - 8);
    return verdict(DeviceClass::UNKNOWN, "no-rule",
                   fmt::format("open {}{}", open_list,
                               services.empty() ? ""
                                                : "; server services without a general-purpose OS, product or OS "
                                                  "class to say it is a server"));
}

std::vector<std::string> NmapArguments(const NmapOptions &options, const std::string &targets_file,
                                       const std::string &xml_file) {
    std::vector<std::string> argv = {options.binary, "-sV"};
    if (options.os_detection) argv.push_back("-O");
    argv.insert(argv.end(), {"--script", "banner"});
    if (options.skip_discovery) argv.push_back("-Pn");
    if (!options.ports.empty()) argv.insert(argv.end(), {"-p", options.ports});
    if (options.max_rate > 0) argv.insert(argv.end(), {"--max-rate", std::to_string(options.max_rate)});
    if (options.host_timeout_s > 0)
        argv.insert(argv.end(), {"--host-timeout", std::to_string(options.host_timeout_s) + "s"});
    argv.insert(argv.end(), {"-oX", xml_file, "-iL", targets_file});
    return argv;
}

std::optional<std::filesystem::path> FindExecutable(const std::string &binary) {
    if (binary.empty()) return std::nullopt;
    if (binary.find('/') != std::string::npos)
        return ::access(binary.c_str(), X_OK) == 0 ? std::optional(std::filesystem::path(binary)) : std::nullopt;
    const char *path = std::getenv("PATH");
    std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    while (!dirs.empty()) {
        const size_t colon = dirs.find(':');
        const std::string_view dir = dirs.substr(0, colon);
        const auto candidate = std::filesystem::path(dir.empty() ? "." : std::string(dir)) / binary;
        if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate)) return candidate;
        if (colon == std::string_view::npos) break;
        dirs.remove_prefix(colon + 1);
    }
    return std::nullopt;
}

namespace {

// A private folder for nmap's target list and XML, removed with everything in it.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "darkscope-nmap-XXXXXX").string();
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot create a temporary folder for nmap's output");
        path = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

NmapRun RunOnce(const std::vector<IpAddress> &targets, bool v6, const NmapOptions &options,
                const std::filesystem::path &binary, const TempDir &dir, std::vector<std::string> *argv_out) {
    const std::string suffix = v6 ? "-v6" : "-v4";
    const auto targets_file = dir.path / ("targets" + suffix + ".txt");
    const auto xml_file = dir.path / ("nmap" + suffix + ".xml");
    {
        std::ofstream out(targets_file);
        for (const IpAddress &a : targets)
            out << a.ToString() << '\n';
        if (!out) throw std::runtime_error(fmt::format("{}: cannot write nmap's target list", targets_file.string()));
    }
    NmapOptions o = options;
    o.binary = binary.string();
    std::vector<std::string> argv = NmapArguments(o, targets_file.string(), xml_file.string());
    if (v6) argv.insert(argv.begin() + 1, "-6");  // nmap scans one address family per run
    *argv_out = argv;

    int pipe_fds[2] = {-1, -1};
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("cannot create a pipe for nmap's output");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    std::vector<char *> args;
    for (auto &a : argv)
        args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = -1;
    const int spawned = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    if (spawned != 0) {
        ::close(pipe_fds[0]);
        throw std::runtime_error(fmt::format("cannot run {}: {}", binary.string(), std::strerror(spawned)));
    }
    std::string pending;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        pending.append(buf, size_t(n));
        for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1))
            if (options.on_output) options.on_output(std::string_view(pending).substr(0, nl));
    }
    if (!pending.empty() && options.on_output) options.on_output(pending);
    ::close(pipe_fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error(fmt::format("{} {}", binary.string(),
                                             WIFEXITED(status)
                                                 ? fmt::format("exited {}", WEXITSTATUS(status))
                                                 : fmt::format("was killed by signal {}", WTERMSIG(status))));
    NmapRun run = ParseNmapXmlFile(xml_file);
    if (!run.finished)
        throw std::runtime_error(
            fmt::format("nmap did not finish its run{}", run.error.empty() ? "" : ": " + EscapeWireText(run.error)));
    if (!options.save_xml.empty()) {
        auto target = options.save_xml;
        if (v6) target += ".v6";
        std::error_code ec;
        std::filesystem::copy_file(xml_file, target, std::filesystem::copy_options::overwrite_existing, ec);
        if (ec) throw std::runtime_error(fmt::format("{}: cannot save nmap's XML: {}", target, ec.message()));
    }
    return run;
}

}  // namespace

NmapRun RunNmap(const std::vector<IpAddress> &targets, const NmapOptions &options, std::vector<std::string> *argv) {
    auto binary = FindExecutable(options.binary);
    if (!binary)
        throw std::runtime_error(fmt::format(
            "nmap not found ('{}'{}): install the nmap package (Debian: apt-get install nmap; scripts/setup.sh "
            "installs it), or give --nmap PATH",
            options.binary, options.binary.find('/') == std::string::npos ? " in PATH" : ""));
    std::vector<IpAddress> v4, v6;
    for (const IpAddress &a : targets)
        (a.IsV4() ? v4 : v6).push_back(a);
    TempDir dir;
    NmapRun all;
    all.source = "nmap";
    all.finished = true;
    std::vector<std::string> last_argv;
    for (auto [list, is_v6] : {std::pair{&v4, false}, std::pair{&v6, true}}) {
        if (list->empty()) continue;
        NmapRun run = RunOnce(*list, is_v6, options, *binary, dir, &last_argv);
        if (argv) {
            std::string joined;
            for (auto &a : last_argv)
                joined += (joined.empty() ? "" : " ") + a;
            argv->push_back(joined);
        }
        all.args = run.args;
        all.version = run.version;
        if (all.started.empty()) all.started = run.started;
        if (!run.error.empty()) all.error += (all.error.empty() ? "" : "; ") + run.error;
        for (auto &h : run.hosts)
            all.hosts.push_back(std::move(h));
    }
    return all;
}

DeviceScan ScanDevices(const std::vector<IpAddress> &targets, const ExclusionList &exclusion,
                       const NmapOptions &options) {
    DeviceScan scan;
    scan.partition = exclusion.Partition(targets);
    if (scan.partition.allowed.empty()) return scan;
    scan.run = RunNmap(scan.partition.allowed, options, &scan.commands);
    // nmap writes no <host> for a host it found down; every target gets a line all the same.
    std::set<IpAddress> seen;
    for (const NmapHost &h : scan.run.hosts)
        seen.insert(h.address);
    for (const IpAddress &a : scan.partition.allowed) {
        if (seen.count(a)) continue;
        NmapHost down;
        down.address = a;
        down.state = "down";
        down.state_reason = "not in nmap's output: no answer to its host discovery";
        scan.run.hosts.push_back(std::move(down));
    }
    return scan;
}

}  // namespace darkscope::probe
