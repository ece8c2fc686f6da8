// Runs the suricata-verify tests in ../shared/data/suricata-verify (OISF/suricata-verify, MIT; see
// shared/data/PROVENANCE.md): for each folder, reads test.yaml, loads its rules, matches every packet
// of its capture and compares the alert counts of its checks. A test is "supported" when every rule
// loads and at least one check counts alerts by what darkscope knows of a packet; checks on flows,
// stats or application-layer events are out of scope (listed, not run). docs/signatures.md has the
// table; EXPECTED_PASSING below must agree with it, so that a test falling out of the subset fails.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "capture/capture_reader.hpp"
#include "common/shared_data.hpp"
#include "decode/decoder.hpp"
#include "signature/matcher/matcher.hpp"
#include "signature/rule_parser.hpp"

namespace fs = std::filesystem;
using namespace darkscope;
using namespace darkscope::sig;

namespace {

const std::set<std::string> EXPECTED_PASSING = {
    "bug-1401-03",  "detect-icmp-id-01", "detect-icmp-seq", "detect-itype", "detection_filter-distinct-dstport",
    "ipv6-evasion__ipv6-malformed-fragments-35",
    "issue-8031-01-isdataat", "tcp-5379", "tcp-fastopen-05",
};
// Supported tests whose counts differ from Suricata's, with the difference (docs/signatures.md says why).
const std::map<std::string, std::string> KNOWN_DIFFERENCES = {
    {"test-dsize-values",
     "check alert.signature=dsize not equal value: expected 1 alerts, got 5; "},
};

struct Check {
    uint64_t count = 0;
    std::vector<std::pair<std::string, std::string>> match;
    std::string kind = "filter";
};

struct VerifyTest {
    std::string pcap;
    std::vector<Check> checks;
};

std::string Unquote(std::string v) {
    size_t hash = v.find(" #");
    if (hash != std::string::npos) v.resize(hash);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\r')) v.pop_back();
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) v = v.substr(1, v.size() - 2);
    return v;
}

// A reader for the part of test.yaml these tests use: `pcap:` and the `checks:` list of `filter`
// entries (count and match keys); other check kinds (stats, shell) are kept by name.
VerifyTest ReadTestYaml(const fs::path &path) {
    VerifyTest t;
    std::ifstream in(path);
    std::string line;
    bool in_checks = false, in_match = false;
    size_t match_indent = 0;
    while (std::getline(in, line)) {
        size_t indent = line.find_first_not_of(' ');
        if (indent == std::string::npos || line[indent] == '#') continue;
        std::string text = line.substr(indent);
        if (indent == 0 && !(in_checks && text.rfind("- ", 0) == 0)) {
            in_checks = text.rfind("checks:", 0) == 0;
            in_match = false;
            if (text.rfind("pcap:", 0) == 0) t.pcap = Unquote(text.substr(5).erase(0, text.substr(5).find_first_not_of(' ')));
            continue;
        }
        if (!in_checks) continue;
        if (text.rfind("- ", 0) == 0) {
            Check c;
            std::string kind = text.substr(2);
            c.kind = kind.substr(0, kind.find(':'));
            t.checks.push_back(c);
            in_match = false;
            continue;
        }
        if (t.checks.empty()) continue;
        if (in_match && indent <= match_indent) in_match = false;
        size_t colon = text.find(':');
        if (colon == std::string::npos) continue;
        std::string key = text.substr(0, colon), value = Unquote(text.substr(colon + 1).erase(0, text.substr(colon + 1).find_first_not_of(' ')));
        if (in_match) {
            t.checks.back().match.emplace_back(key, value);
        } else if (key == "match") {
            in_match = true;
            match_indent = indent;
        } else if (key == "count") {
            t.checks.back().count = std::stoull(value);
        }
    }
    return t;
}

// What an alert check may name; anything else puts the check outside what darkscope can count.
bool AlertKeyKnown(const std::string &key) {
    static const std::set<std::string> KNOWN = {"event_type", "alert.signature_id", "alert.signature", "pcap_cnt",
                                                "src_ip", "dest_ip", "src_port", "dest_port", "proto", "icmp_type",
                                                "icmp_code"};
    return KNOWN.count(key) > 0;
}

struct Alert {
    uint64_t pcap_cnt = 0;
    const Rule *rule = nullptr;
    DecodedPacket pkt;
};

bool AlertMatches(const Alert &a, const Check &c) {
    for (auto &[key, value] : c.match) {
        const DecodedPacket &p = a.pkt;
        if (key == "event_type") {
            if (value != "alert") return false;
        } else if (key == "alert.signature_id") {
            if (std::to_string(a.rule->sid) != value) return false;
        } else if (key == "alert.signature") {
            if (a.rule->msg != value) return false;
        } else if (key == "pcap_cnt") {
            if (std::to_string(a.pcap_cnt) != value) return false;
        } else if (key == "src_ip") {
            if (p.src.ToString() != value) return false;
        } else if (key == "dest_ip") {
            if (p.dst.ToString() != value) return false;
        } else if (key == "src_port") {
            if (std::to_string(p.sport) != value) return false;
        } else if (key == "dest_port") {
            if (std::to_string(p.dport) != value) return false;
        } else if (key == "proto") {
            std::string proto = p.proto == 6 ? "TCP" : p.proto == 17 ? "UDP" : p.proto == 1 ? "ICMP" : p.proto == 58 ? "IPv6-ICMP" : "";
            if (proto != value) return false;
        } else if (key == "icmp_type") {
            if (std::to_string(p.icmp_type) != value) return false;
        } else if (key == "icmp_code") {
            if (std::to_string(p.icmp_code) != value) return false;
        }
    }
    return true;
}

struct Outcome {
    bool supported = false;
    bool passed = false;
    std::string reason;  // why unsupported, or what failed
    size_t alert_checks = 0, other_checks = 0;
};

Outcome RunOne(const fs::path &dir) {
    Outcome o;
    VerifyTest t = ReadTestYaml(dir / "test.yaml");
    // Rules: test.rules, else the folder's one *.rules file.
    fs::path rules_path = dir / "test.rules";
    if (!fs::exists(rules_path)) {
        for (auto &e : fs::directory_iterator(dir))
            if (e.path().extension() == ".rules") rules_path = e.path();
    }
    fs::path pcap;
    if (!t.pcap.empty()) pcap = dir / fs::path(t.pcap).filename();
    else
        for (auto &e : fs::directory_iterator(dir))
            if (e.path().extension() == ".pcap" || e.path().extension() == ".pcapng") pcap = e.path();
    if (!fs::exists(rules_path)) {
        o.reason = "no rules (the test checks decoder statistics only)";
        return o;
    }
    RuleSet set;
    ParseRuleFile(rules_path, ParseOptions{}, set);
    if (!set.errors.empty()) {
        o.reason = "rule error: " + set.errors[0].ToString();
        return o;
    }
    if (!set.skipped.empty()) {
        o.reason = set.skipped[0].text;
        return o;
    }
    std::vector<const Check *> alert_checks;
    for (const Check &c : t.checks) {
        bool alert = c.kind == "filter";
        bool has_alert_key = false;
        for (auto &[k, v] : c.match) {
            if (k == "event_type" && v != "alert") alert = false;
            if (k.rfind("alert.", 0) == 0 || (k == "event_type" && v == "alert")) has_alert_key = true;
        }
        if (!alert || !has_alert_key) {
            ++o.other_checks;
            continue;
        }
        for (auto &[k, v] : c.match)
            if (!AlertKeyKnown(k)) {
                o.reason = "a check names " + k;
                return o;
            }
        alert_checks.push_back(&c);
    }
    o.alert_checks = alert_checks.size();
    if (alert_checks.empty()) {
        o.reason = "no alert checks (flow, stats or application-layer events only)";
        return o;
    }
    o.supported = true;
    Matcher matcher(set.rules);
    auto state = matcher.MakeState();
    CaptureError error;
    auto reader = CaptureReader::Open(pcap, error);
    if (!reader) {
        o.reason = "cannot read " + pcap.string() + ": " + error.message;
        return o;
    }
    std::vector<Alert> alerts;
    RawPacket raw;
    DecodedPacket pkt;
    RuleHits hits;
    uint64_t n = 0;
    while (reader->Next(raw)) {
        ++n;
        Decode(raw, pkt);
        matcher.Match(pkt, *state, hits);
        for (uint32_t r : hits) alerts.push_back(Alert{n, &matcher.Rules()[r], pkt});
    }
    o.passed = true;
    for (const Check *c : alert_checks) {
        uint64_t got = std::count_if(alerts.begin(), alerts.end(), [&](const Alert &a) { return AlertMatches(a, *c); });
        if (got != c->count) {
            o.passed = false;
            std::ostringstream m;
            m << "check";
            for (auto &[k, v] : c->match) m << " " << k << "=" << v;
            m << ": expected " << c->count << " alerts, got " << got << "; ";
            o.reason += m.str();
        }
    }
    return o;
}

}  // namespace

TEST(SuricataVerify, SupportedTestsGiveTheExpectedAlertCounts) {
    fs::path data = darkscope::testing::SharedDataDir(DARKSCOPE_SHARED_DATA);
    if (data.empty() || !fs::is_directory(data / "suricata-verify"))
        GTEST_SKIP() << "shared data (suricata-verify) not found; set DARKSCOPE_SHARED_DATA";
    std::vector<fs::path> dirs;
    for (auto &e : fs::directory_iterator(data / "suricata-verify"))
        if (e.is_directory()) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    std::set<std::string> passing;
    for (const fs::path &dir : dirs) {
        Outcome o = RunOne(dir);
        const std::string name = dir.filename().string();
        std::string status = !o.supported ? "unsupported" : o.passed ? "pass" : "FAIL";
        std::printf("suricata-verify %-45s %-11s alert checks %zu, other checks %zu%s%s\n", name.c_str(),
                    status.c_str(), o.alert_checks, o.other_checks, o.reason.empty() ? "" : "  ",
                    o.reason.c_str());
        if (auto known = KNOWN_DIFFERENCES.find(name); known != KNOWN_DIFFERENCES.end()) {
            EXPECT_TRUE(o.supported && !o.passed) << name << " no longer differs: update KNOWN_DIFFERENCES and the docs";
            EXPECT_EQ(o.reason, known->second) << name;
            continue;
        }
        if (o.supported) {
            EXPECT_TRUE(o.passed) << name << ": " << o.reason;
        }
        if (o.supported && o.passed) passing.insert(name);
    }
    for (const std::string &name : EXPECTED_PASSING)
        EXPECT_TRUE(passing.count(name)) << name << " is listed as passing in docs/signatures.md but did not pass";
    for (const std::string &name : passing)
        EXPECT_TRUE(EXPECTED_PASSING.count(name)) << name << " passes now: add it to EXPECTED_PASSING and the docs";
}
