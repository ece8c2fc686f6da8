#pragma once
/// A scenario: what a synthetic telescope sees over a time range. Read from TOML (docs/synth.md,
/// examples/scenario.toml); the built-in scenarios under src/synth/scenarios/ are the same format.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "classify/sensors.hpp"
#include "classify/service_key.hpp"
#include "common/time.hpp"

namespace darkscope::synth {

/// The program (or operating system) that sent a source's probes; it decides the header fields.
enum class Tool : uint8_t {
    ZMAP_OLD,     // IP ID 54321, TTL 255, window 65535, no TCP options
    ZMAP_NEW,     // the same with a random IP ID (ZMap since 2023)
    MASSCAN,      // IP ID = low 16 bits of (dst IP ^ dst port ^ seq), TTL 255, window 1024, no options
    MASSCAN_MSS,  // masscan with the MSS option it sends since late 2023
    MIRAI,        // TCP seq = dst IP, TTL 64, random window and IP ID, no options
    NMAP,         // nmap -sS: window 1024, MSS only, TTL 37..59, one source port per scan
    LINUX,        // connect() from a Linux stack: TTL 64, window 64240, MSS,SACK,TS,NOP,WS7, DF
    WINDOWS,      // Windows 10/11: TTL 128, window 64240, MSS,NOP,WS8,NOP,NOP,SACK, DF, counting IP ID
    BSD,          // FreeBSD/macOS: TTL 64, window 65535, MSS,NOP,WS6,NOP,NOP,TS,SACK,EOL, DF
    WINDOWS_XP,   // old Windows (Conficker hosts): TTL 128, window 65535, MSS,NOP,NOP,SACK, DF, ports 1025..5000
    COUNT
};
std::string_view ToolName(Tool t);
std::optional<Tool> ParseTool(std::string_view name);

/// What a component sends.
enum class Kind : uint8_t {
    SCAN,          // probes to the configured services (also surges and new services: a scan with a window)
    DNS_QUERY,     // queries to 53/UDP
    DNS_RESPONSE,  // responses from source port 53 to a high port (reflection off spoofed queries)
    BACKSCATTER,   // a DoS victim's answers: SYN/ACK, RST, RST/ACK, ICMP errors quoting the spoofed packet
    WORM,          // slammer, conficker, nachi
    DHT,           // BitTorrent DHT queries to stale peer ports
    COUNT
};

enum class Shape : uint8_t { FLAT, RAMP_UP, RAMP_DOWN, TRIANGLE, SPIKE, DAILY };
std::string_view ShapeName(Shape s);

enum class Worm : uint8_t { SLAMMER, CONFICKER, NACHI };

enum class Response : uint8_t { SYNACK, RST, RSTACK, ICMP_UNREACHABLE, ICMP_TIME_EXCEEDED, COUNT };
std::string_view ResponseName(Response r);

/// One service with its weight in a component's mix ("445/TCP" = 0.3).
struct ServiceShare {
    ServiceKey key;
    double weight = 0;
};

/// A background population ([[population]]) or an event ([[event]]): a set of sources, a window, a rate and a
/// shape, and what each packet is.
struct Component {
    std::string name;
    std::string kind_name;  // as written: "scan", "surge", "spoofed-dns", "open-resolver", ...
    Kind kind = Kind::SCAN;
    bool is_event = false;
    int line = 0;  // where the table starts in the scenario file

    TimestampNs start = 0, end = 0;  // [start, end)
    Shape shape = Shape::FLAT;
    std::vector<double> daily;   // Shape::DAILY: factor per day from start (the last repeats)
    double half_life_hours = 6;  // Shape::SPIKE
    double diurnal = 0;          // amplitude of a daily sine (0..1), peak at 12:00 UTC

    double rate = 0;            // packets per hour (all sources together) at shape factor 1, before --scale
    uint32_t sources = 1;       // number of distinct sources
    double rate_tail = 1.2;     // Pareto shape of the per-source rates (0: all sources send equally)
    double lifetime_hours = 0;  // mean time a source stays active (exponential); 0: the whole window
    std::vector<std::pair<std::string, double>> countries;  // ISO 3166 code and weight
    std::string research;                                   // research organisation whose ranges sources use
    std::vector<std::pair<Tool, double>> tools;             // per-source tool, by weight
    std::vector<ServiceShare> services;                     // SCAN
    uint16_t source_port = 0;          // SCAN: every probe from this source port (0: the tool's own choice)
    uint32_t services_per_source = 0;  // SCAN: each source probes only this many of the services (0: all)
    double ipv6 = 0;                   // share of the sources that are IPv6 (towards the sensors' IPv6 networks)

    std::vector<std::string> sensors;    // destinations only in these sensors (empty: every sensor)
    std::vector<std::string> providers;  // ... or in the sensors of these providers
    bool every_sensor = false;  // one packet to every eligible sensor per round, within spread_ms (spoofed DNS)
    double spread_ms = 200;

    // DNS_QUERY / DNS_RESPONSE
    std::vector<std::string> qnames;  // names asked (random pick per packet)
    std::string qtype = "A";          // A, AAAA, ANY, TXT, MX, NS, DNSKEY
    std::string zone;                 // water torture: random labels under this zone
    bool open_resolver = false;       // label of the sources (ground truth)
    bool edns = false;                // add an OPT record (4096 bytes, DO bit for ANY/DNSKEY)

    // BACKSCATTER
    uint16_t port = 80;  // the attacked service port (the victims' source port)
    std::string port_proto = "TCP";
    std::vector<std::pair<Response, double>> responses;

    // WORM
    Worm worm = Worm::SLAMMER;

    std::string expect;  // free text: what a report or detector should show (copied to the ground truth)
};

struct Scenario {
    std::string name;
    std::string description;
    std::string origin;  // the file it came from, or "built-in NAME"
    TimestampNs start = 0, end = 0;
    uint64_t seed = 1;
    std::vector<Sensor> sensors;
    std::vector<Component> components;
};

/// Parses scenario TOML. `origin` names the text in errors ("file.toml:12: ..."). Throws std::runtime_error.
Scenario ParseScenario(std::string_view text, const std::string &origin);
/// Reads a file (throws std::runtime_error naming the file, line and reason).
Scenario LoadScenarioFile(const std::filesystem::path &path);

/// A scenario compiled into the binary (src/synth/scenarios/*.toml).
struct BuiltinScenario {
    std::string_view name;
    std::string_view text;
};
std::vector<BuiltinScenario> BuiltinScenarios();
/// A built-in by name, or a file path. Throws std::runtime_error when neither.
Scenario LoadScenario(const std::string &name_or_path);

}  // namespace darkscope::synth
