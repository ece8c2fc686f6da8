#pragma once
/// Device classification from nmap (`darkscope probe devices`): runs `nmap -sV -O --script banner -oX` on the
/// targets the exclusion list allows (or reads recorded XML), parses each host with pugixml, and classifies it
/// into the DNS paper's Table 2 classes by ordered, documented rules (docs/probes.md#device-rules).

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.hpp"
#include "probe/exclusion.hpp"

namespace darkscope::probe {

struct NmapPort {
    uint16_t port = 0;
    std::string protocol;  // tcp, udp, sctp
    std::string state;     // open, closed, filtered, open|filtered, ...
    std::string reason;
    std::string service;  // nmap's service name: http, ssh, domain, routeros-api, jetdirect, ...
    std::string product, version, extrainfo, devicetype, ostype;
    std::string method;  // probed (a -sV match) or table (the port's usual service only)
    bool tunnel_ssl = false;
    std::vector<std::string> cpe;
    std::map<std::string, std::string> scripts;  // id -> output (banner, http-title, ...)
};

struct NmapOsClass {
    std::string type, vendor, osfamily, osgen;
    int accuracy = 0;
};

struct NmapOsMatch {
    std::string name;
    int accuracy = 0;
    std::vector<NmapOsClass> classes;
};

struct NmapHost {
    IpAddress address;
    std::string state = "unknown";  // up, down, unknown
    std::string state_reason;
    std::string mac_vendor;
    std::vector<std::string> hostnames;
    bool timed_out = false;  // --host-timeout ended its scan
    std::vector<NmapPort> ports;
    std::map<std::string, int> extraports;  // state -> count of ports nmap folded away (filtered: 995)
    std::vector<NmapOsMatch> os;            // best first, as nmap lists them
    std::map<std::string, std::string> host_scripts;
};

struct NmapRun {
    std::string source;  // the file, or "nmap" for a run of ours
    std::string args;    // the command line nmap recorded
    std::string version;
    std::string started;    // nmap's startstr
    bool finished = false;  // a <finished> element with exit="success"
    std::string error;      // <finished errormsg="...">
    std::vector<NmapHost> hosts;
};

/// Raised for XML that is not a complete nmap run; the message names the source, the offset and the fault.
struct NmapXmlError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Parses nmap's -oX output. Throws NmapXmlError for malformed or truncated XML, or XML that is not nmap's.
NmapRun ParseNmapXml(std::string_view xml, const std::string &source);
NmapRun ParseNmapXmlFile(const std::filesystem::path &path);

enum class DeviceClass : uint8_t { SERVER, ROUTER, PRINTER, NETWORK_CAMERA, NAS, DVR, LOAD_BALANCER, UNKNOWN, BLOCKED };
/// Table 2's rows, in its order.
constexpr DeviceClass DEVICE_CLASSES[] = {DeviceClass::SERVER,         DeviceClass::ROUTER,  DeviceClass::PRINTER,
                                          DeviceClass::NETWORK_CAMERA, DeviceClass::NAS,     DeviceClass::DVR,
                                          DeviceClass::LOAD_BALANCER,  DeviceClass::UNKNOWN, DeviceClass::BLOCKED};
/// The store's words: server, router, printer, network-camera, nas, dvr, load-balancer, unknown, blocked.
std::string_view DeviceClassName(DeviceClass c);
/// The paper's words: サーバ, ルータ, プリンタ, ネットワークカメラ, NAS, DVR, ロードバランサ, 判別不能, Block.
std::string_view DeviceClassJapanese(DeviceClass c);

/// One rule of the classification, in the order they are tried (docs/probes.md#device-rules).
struct DeviceRule {
    std::string_view id;
    std::string_view yields;  // the class it gives (or "by the type" for the device-type rules)
    std::string_view reads;   // what it looks at
    std::string_view why;     // why it sits where it does
};
std::span<const DeviceRule> DeviceRules();

struct DeviceVerdict {
    DeviceClass device_class = DeviceClass::UNKNOWN;
    std::string rule;               // the DeviceRule id
    std::string reason;             // the rule and what matched, in words; wire text escaped
    nlohmann::ordered_json detail;  // what the rules read, wire text escaped
};

/// Classifies one host by the first rule that matches.
DeviceVerdict ClassifyDevice(const NmapHost &host);

struct NmapOptions {
    std::string binary = "nmap";  // a name looked up in PATH, or a path
    std::string ports;            // -p LIST; empty: nmap's default top 1000
    int max_rate = 100;           // --max-rate (packets per second); 0: nmap's own pacing
    int host_timeout_s = 300;     // --host-timeout; 0: none
    bool os_detection = true;     // -O (needs root)
    bool skip_discovery = false;  // -Pn
    /// Where to keep a copy of nmap's XML (IPv6 targets: this path plus ".v6"), for `--nmap-xml` later.
    std::string save_xml;
    /// Receives nmap's own progress lines (its stdout); none when empty.
    std::function<void(std::string_view)> on_output;
};

/// The argument vector RunNmap executes: nmap -sV -O --script banner [-p] [--max-rate] [--host-timeout] -oX xml
/// -iL targets. Exposed for tests and for the output, which shows it.
std::vector<std::string> NmapArguments(const NmapOptions &options, const std::string &targets_file,
                                       const std::string &xml_file);

/// Whether `binary` can be executed (found in PATH when it has no slash).
std::optional<std::filesystem::path> FindExecutable(const std::string &binary);

/// Runs nmap on `targets` (never on an address the caller did not pass: the exclusion is the caller's, see
/// ScanDevices), once per address family, and parses its XML; `argv`, when given, receives each command line
/// run. Throws std::runtime_error when nmap is missing, fails, or writes no complete run.
NmapRun RunNmap(const std::vector<IpAddress> &targets, const NmapOptions &options,
                std::vector<std::string> *argv = nullptr);

/// Partitions the targets through the exclusion list, runs nmap on the allowed ones, and marks every allowed
/// target nmap left out of its XML (it lists no host it found down) as down.
struct DeviceScan {
    NmapRun run;
    TargetPartition partition;
    std::vector<std::string> commands;  // the nmap command lines run
};
DeviceScan ScanDevices(const std::vector<IpAddress> &targets, const ExclusionList &exclusion,
                       const NmapOptions &options);

}  // namespace darkscope::probe
