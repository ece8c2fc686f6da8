#include "probe/nmap_devices.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "probe_test_util.hpp"

namespace darkscope::probe {
namespace {

std::filesystem::path Fixture(const std::string &name) {
    return std::filesystem::path(DARKSCOPE_SOURCE_DIR) / "tests" / "unit" / "probe" / "data" / "nmap" / name;
}

std::map<std::string, DeviceVerdict> ClassifyFile(const std::string &name) {
    std::map<std::string, DeviceVerdict> out;
    for (const NmapHost &h : ParseNmapXmlFile(Fixture(name)).hosts)
        out[h.address.ToString()] = ClassifyDevice(h);
    return out;
}

NmapPort Open(uint16_t port, std::string service, std::string product = "", std::string devicetype = "") {
    NmapPort p;
    p.port = port;
    p.protocol = "tcp";
    p.state = "open";
    p.service = std::move(service);
    p.product = std::move(product);
    p.devicetype = std::move(devicetype);
    p.method = "probed";
    return p;
}

NmapHost Host(std::vector<NmapPort> ports) {
    NmapHost h;
    h.address = *IpAddress::Parse("127.0.1.100");
    h.state = "up";
    h.ports = std::move(ports);
    return h;
}

}  // namespace

TEST(NmapXml, ParsesEveryFieldTheRulesRead) {
    NmapRun run = ParseNmapXmlFile(Fixture("mikrotik_router.xml"));
    EXPECT_TRUE(run.finished);
    EXPECT_EQ(run.version, "7.93");
    EXPECT_NE(run.args.find("-sV -O --script banner"), std::string::npos);
    ASSERT_EQ(run.hosts.size(), 1u);
    const NmapHost &h = run.hosts[0];
    EXPECT_EQ(h.address.ToString(), "127.0.1.1");
    EXPECT_EQ(h.state, "up");
    EXPECT_EQ(h.state_reason, "echo-reply");
    EXPECT_EQ(h.extraports.at("filtered"), 1020);
    ASSERT_EQ(h.ports.size(), 3u);
    const NmapPort &api = h.ports[2];
    EXPECT_EQ(api.port, 8728);
    EXPECT_EQ(api.protocol, "tcp");
    EXPECT_EQ(api.state, "open");
    EXPECT_EQ(api.service, "routeros-api");
    EXPECT_EQ(api.product, "MikroTik RouterOS API");
    EXPECT_EQ(api.ostype, "RouterOS");
    EXPECT_EQ(api.cpe, std::vector<std::string>{"cpe:/o:mikrotik:routeros"});
    EXPECT_EQ(api.scripts.at("banner"), "\\x06!fatal\\x0Dnot logged in\\x00");
    ASSERT_EQ(h.os.size(), 1u);
    EXPECT_EQ(h.os[0].accuracy, 95);
    ASSERT_EQ(h.os[0].classes.size(), 1u);
    EXPECT_EQ(h.os[0].classes[0].type, "router");
    EXPECT_EQ(h.os[0].classes[0].vendor, "MikroTik");
    EXPECT_EQ(h.os[0].classes[0].osfamily, "RouterOS");

    NmapRun printer = ParseNmapXmlFile(Fixture("printer.xml"));
    EXPECT_TRUE(printer.hosts[0].ports[1].tunnel_ssl);
    EXPECT_EQ(printer.hosts[0].ports[0].scripts.at("http-title"),
              "HP LaserJet M404dn\nRequested resource was /hp/device/start");
    NmapRun blocked = ParseNmapXmlFile(Fixture("blocked.xml"));
    ASSERT_EQ(blocked.hosts.size(), 4u);
    EXPECT_EQ(blocked.hosts[2].state, "down");
    EXPECT_TRUE(blocked.hosts[3].timed_out);
}

TEST(NmapXml, EachRecordedDeviceGetsItsClass) {
    const std::tuple<const char *, const char *, DeviceClass, const char *> cases[] = {
        {"mikrotik_router.xml", "127.0.1.1", DeviceClass::ROUTER, "mikrotik"},
        {"printer.xml", "127.0.1.2", DeviceClass::PRINTER, "service-device-type"},
        {"camera.xml", "127.0.1.3", DeviceClass::NETWORK_CAMERA, "camera-product"},
        {"nas.xml", "127.0.1.4", DeviceClass::NAS, "service-device-type"},
        {"dvr.xml", "127.0.1.5", DeviceClass::DVR, "dvr-product"},
        {"load_balancer.xml", "127.0.1.6", DeviceClass::LOAD_BALANCER, "load-balancer"},
        {"server.xml", "127.0.1.7", DeviceClass::SERVER, "server"},
        {"unknown.xml", "127.0.1.8", DeviceClass::UNKNOWN, "no-rule"},
    };
    for (auto [file, address, expected, rule] : cases) {
        auto got = ClassifyFile(file);
        ASSERT_EQ(got.count(address), 1u) << file;
        EXPECT_EQ(DeviceClassName(got[address].device_class), DeviceClassName(expected))
            << file << ": " << got[address].reason;
        EXPECT_EQ(got[address].rule, rule) << file << ": " << got[address].reason;
    }
    auto mikrotik = ClassifyFile("mikrotik_router.xml")["127.0.1.1"];
    EXPECT_EQ(mikrotik.reason,
              "mikrotik: 8728/tcp routeros-api open: the MikroTik RouterOS API port (MikroTik RouterOS API)");
    auto server = ClassifyFile("server.xml")["127.0.1.7"];
    EXPECT_EQ(
        server.reason,
        "server: 22/tcp ssh 'OpenSSH', 53/tcp domain 'ISC BIND', 80/tcp http 'Apache httpd'; OS 'Linux 3.11 - 4.1' "
        "(96%, general purpose)");
    auto dvr = ClassifyFile("dvr.xml")["127.0.1.5"];
    EXPECT_EQ(dvr.reason, "dvr-product: 80/tcp http product 'Kguard Security DVR http config'");
    auto unknown = ClassifyFile("unknown.xml")["127.0.1.8"];
    EXPECT_EQ(unknown.reason,
              "no-rule: open 23/tcp telnet, 53/tcp domain; server services without a general-purpose "
              "OS, product or OS class to say it is a server");
}

TEST(NmapXml, BlockedHosts) {
    auto got = ClassifyFile("blocked.xml");
    ASSERT_EQ(got.size(), 4u);
    for (auto &[address, v] : got)
        EXPECT_EQ(v.device_class, DeviceClass::BLOCKED) << address;
    EXPECT_EQ(got["127.0.1.9"].reason, "no-open-port: host up, no open port (1024 filtered)");
    EXPECT_EQ(got["127.0.1.10"].reason, "no-open-port: host up, no open port (1024 closed)");
    EXPECT_EQ(got["127.0.1.11"].reason, "no-open-port: host down (no-response)");
    EXPECT_EQ(got["127.0.1.12"].reason,
              "no-open-port: host up, no open port (no port scanned), scan ended by --host-timeout");
}

TEST(NmapXml, DetailHoldsWhatTheRulesReadEscaped) {
    auto dvr = ClassifyFile("dvr.xml")["127.0.1.5"];
    const auto &ports = dvr.detail["open_ports"];
    ASSERT_EQ(ports.size(), 4u);
    EXPECT_EQ(ports[0]["port"], 23);
    EXPECT_EQ(ports[2]["product"], "Kguard Security DVR http config");
    EXPECT_EQ(ports[2]["devicetype"], "webcam");
    EXPECT_EQ(ports[2]["scripts"]["http-title"], "WEB SERVICE");
    EXPECT_EQ(dvr.detail["not_open"]["closed"], 1021);
    auto lb = ClassifyFile("load_balancer.xml")["127.0.1.6"];
    // "BIG-IP&reg;- Redirect" in the XML: the '&' reaches the store escaped.
    EXPECT_EQ(lb.detail["open_ports"][2]["scripts"]["http-title"], "BIG-IP\\x26reg;- Redirect");
    EXPECT_EQ(lb.detail["hostnames"][0], "lb1.example.net");
    auto server = ClassifyFile("server.xml")["127.0.1.7"];
    EXPECT_EQ(server.detail["os"][0]["name"], "Linux 3.11 - 4.1");
    EXPECT_EQ(server.detail["os"][0]["classes"][0]["type"], "general purpose");
}

TEST(NmapXml, MalformedTruncatedAndForeignXmlAreClearErrors) {
    try {
        ParseNmapXmlFile(Fixture("truncated.xml"));
        FAIL() << "no error";
    } catch (const NmapXmlError &e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("truncated.xml: not well-formed XML at byte"), std::string::npos) << m;
        EXPECT_NE(m.find("nmap was interrupted, or the file was cut short"), std::string::npos) << m;
    }
    EXPECT_THROW(ParseNmapXml("<html><body>not nmap</body></html>", "page.html"), NmapXmlError);
    try {
        ParseNmapXml("<html/>", "page.html");
    } catch (const NmapXmlError &e) {
        EXPECT_STREQ(e.what(), "page.html: no <nmaprun> element: not nmap's XML output (nmap -oX FILE)");
    }
    // Well-formed, but the run never finished (no runstats): hosts so far are not trusted as a run.
    EXPECT_THROW(ParseNmapXml("<nmaprun><host><address addr=\"127.0.0.1\" addrtype=\"ipv4\"/></host></nmaprun>", "x"),
                 NmapXmlError);
    EXPECT_THROW(ParseNmapXml("", "empty.xml"), NmapXmlError);
    EXPECT_THROW(ParseNmapXml(std::string(10000, '\0'), "zeros.xml"), NmapXmlError);
    EXPECT_THROW(ParseNmapXmlFile("/nonexistent.xml"), NmapXmlError);
    // Hostile values: a port number out of range and a host without an address are skipped and said.
    NmapRun run = ParseNmapXml(
        "<nmaprun><host><status state=\"up\"/><address addr=\"127.0.0.9\" addrtype=\"ipv4\"/><ports>"
        "<port protocol=\"tcp\" portid=\"99999\"><state state=\"open\"/></port></ports></host>"
        "<host><status state=\"up\"/></host>"
        "<runstats><finished exit=\"success\"/></runstats></nmaprun>",
        "odd.xml");
    ASSERT_EQ(run.hosts.size(), 1u);
    EXPECT_TRUE(run.hosts[0].ports.empty());
    EXPECT_EQ(run.error, "a port with portid '99999' skipped; a host without an IPv4 or IPv6 address skipped");
}

TEST(DeviceRules, OrderDecidesBetweenCompetingEvidence) {
    // A DVR product outranks the webcam device type nmap gives it.
    auto v = ClassifyDevice(Host({Open(80, "http", "Hikvision DVR httpd", "webcam")}));
    EXPECT_EQ(v.device_class, DeviceClass::DVR);
    // Device types vote: two router ports against one printer port.
    v = ClassifyDevice(Host({Open(21, "ftp", "MikroTik router ftpd", "router"), Open(80, "http", "x", "router"),
                             Open(9100, "jetdirect", "y", "printer")}));
    EXPECT_EQ(v.device_class, DeviceClass::ROUTER);
    EXPECT_EQ(v.rule, "service-device-type");
    // A tie goes to the more specific kind.
    v = ClassifyDevice(Host({Open(80, "http", "x", "router"), Open(9100, "jetdirect", "y", "printer")}));
    EXPECT_EQ(v.device_class, DeviceClass::PRINTER);
    // 9100 with no version match: nmap's port-table name is enough, and the reason says so.
    NmapPort jetdirect = Open(9100, "jetdirect");
    jetdirect.method = "table";
    v = ClassifyDevice(Host({jetdirect}));
    EXPECT_EQ(v.device_class, DeviceClass::PRINTER);
    EXPECT_EQ(v.reason, "printer-service: 9100/tcp jetdirect open (nmap's name for the port; no version match)");
    // RTSP alone is not a camera.
    v = ClassifyDevice(Host({Open(554, "rtsp", "GStreamer rtspd")}));
    EXPECT_EQ(v.device_class, DeviceClass::UNKNOWN);
    // A camera product names it, and RTSP is noted.
    v = ClassifyDevice(Host({Open(80, "http", "Dahua IP camera httpd"), Open(554, "rtsp")}));
    EXPECT_EQ(v.device_class, DeviceClass::NETWORK_CAMERA);
    EXPECT_EQ(v.reason, "camera-product: 80/tcp http product 'Dahua IP camera httpd', with 554/tcp rtsp");
    // Apache Axis2 is a SOAP stack, not an AXIS camera.
    v = ClassifyDevice(Host({Open(8080, "http", "Apache Axis2")}));
    EXPECT_NE(v.device_class, DeviceClass::NETWORK_CAMERA);
    // QNAP in a title.
    NmapPort qnap = Open(8080, "http", "thttpd");
    qnap.scripts["http-title"] = "QNAP Turbo NAS";
    EXPECT_EQ(ClassifyDevice(Host({qnap})).device_class, DeviceClass::NAS);
    // A router by its banner.
    NmapPort telnet = Open(23, "telnet");
    telnet.scripts["banner"] = "ZyXEL P-660HN-T1A login:";
    EXPECT_EQ(ClassifyDevice(Host({telnet})).rule, "router-product");
    // RouterOS's ssh banner alone names nothing the rules know; nmap's product for it does.
    NmapPort ssh = Open(22, "ssh");
    ssh.scripts["banner"] = "SSH-2.0-ROSSSH";
    EXPECT_EQ(ClassifyDevice(Host({ssh})).rule, "no-rule");
    ssh.product = "MikroTik RouterOS sshd";
    EXPECT_EQ(ClassifyDevice(Host({ssh})).rule, "mikrotik");
}

TEST(DeviceRules, OsGuessAndServerEvidence) {
    // Only the OS guess says what it is.
    NmapHost h = Host({Open(23, "telnet")});
    h.os.push_back({"Cisco 2600 router (IOS 12.0)", 94, {{"router", "Cisco", "IOS", "12.X", 94}}});
    auto v = ClassifyDevice(h);
    EXPECT_EQ(v.device_class, DeviceClass::ROUTER);
    EXPECT_EQ(v.reason, "os-device-type: OS class 'router' of 'Cisco 2600 router (IOS 12.0)' (94%)");
    // A guess below 90% is not used.
    h.os[0].accuracy = 85;
    EXPECT_EQ(ClassifyDevice(h).device_class, DeviceClass::UNKNOWN);
    // A server service alone is not a server; with a port's OS type it is.
    NmapPort http = Open(80, "http", "micro_httpd");
    EXPECT_EQ(ClassifyDevice(Host({http})).device_class, DeviceClass::UNKNOWN);
    http.ostype = "Windows";
    v = ClassifyDevice(Host({http}));
    EXPECT_EQ(v.device_class, DeviceClass::SERVER);
    EXPECT_EQ(v.reason, "server: 80/tcp http 'micro_httpd'; 80/tcp http OS type 'Windows'");
    // Or with a general-purpose server product.
    v = ClassifyDevice(Host({Open(25, "smtp", "Postfix smtpd")}));
    EXPECT_EQ(v.device_class, DeviceClass::SERVER);
    EXPECT_EQ(v.reason, "server: 25/tcp smtp 'Postfix smtpd'; 25/tcp smtp product 'Postfix smtpd'");
    // Control bytes in a product never reach the reason raw.
    v = ClassifyDevice(Host({Open(80, "http", "evil\x1b[2J<b>DVR</b>")}));
    EXPECT_EQ(v.device_class, DeviceClass::DVR);
    EXPECT_EQ(v.reason.find('\x1b'), std::string::npos);
    EXPECT_EQ(v.reason.find('<'), std::string::npos);
}

TEST(DeviceRules, TableListsEveryRuleOnce) {
    std::set<std::string_view> ids;
    for (const DeviceRule &r : DeviceRules()) {
        EXPECT_TRUE(ids.insert(r.id).second) << r.id;
        EXPECT_FALSE(r.reads.empty());
        EXPECT_FALSE(r.why.empty());
    }
    EXPECT_EQ(ids.size(), 12u);
    EXPECT_EQ(DeviceClassJapanese(DeviceClass::NETWORK_CAMERA), "ネットワークカメラ");
    EXPECT_EQ(DeviceClassName(DeviceClass::LOAD_BALANCER), "load-balancer");
}

TEST(Nmap, ArgumentsFollowThePaperAndTheOptions) {
    NmapOptions o;
    o.ports = "22,8728";
    o.max_rate = 50;
    o.host_timeout_s = 120;
    EXPECT_EQ(NmapArguments(o, "t.txt", "o.xml"),
              (std::vector<std::string>{"nmap", "-sV", "-O", "--script", "banner", "-p", "22,8728", "--max-rate", "50",
                                        "--host-timeout", "120s", "-oX", "o.xml", "-iL", "t.txt"}));
    o.os_detection = false;
    o.skip_discovery = true;
    o.ports.clear();
    o.max_rate = 0;
    o.host_timeout_s = 0;
    EXPECT_EQ(NmapArguments(o, "t.txt", "o.xml"),
              (std::vector<std::string>{"nmap", "-sV", "--script", "banner", "-Pn", "-oX", "o.xml", "-iL", "t.txt"}));
}

TEST(Nmap, MissingBinaryNamesThePackage) {
    NmapOptions o;
    o.binary = "/nonexistent/nmap";
    try {
        RunNmap({*IpAddress::Parse("127.0.0.1")}, o);
        FAIL() << "no error";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find("install the nmap package"), std::string::npos) << e.what();
    }
    // Excluded targets never reach nmap: with nothing allowed, nothing runs (and a missing nmap is no error).
    DeviceScan scan = ScanDevices({*IpAddress::Parse("10.0.0.1")}, ExclusionList(false), o);
    EXPECT_TRUE(scan.commands.empty());
    EXPECT_EQ(scan.partition.refused.size(), 1u);
}

TEST(Nmap, RealScanOfLocalListeners) {
    if (!FindExecutable("nmap")) GTEST_SKIP() << "nmap absent (Debian nmap; scripts/setup.sh installs it)";
    // Two hosts of our own on 127.0.0.x: an OpenSSH-like banner and a MikroTik FTP banner; a third address where
    // nothing listens. -sV only (no -O: the test must not need root), two ports.
    const std::string ssh_host = test::Loopback(40), ftp_host = test::Loopback(41), empty_host = test::Loopback(42);
    const uint16_t ssh_port = test::TestPort(10), ftp_port = test::TestPort(11);
    test::BannerServer ssh(ssh_host, ssh_port, "SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u1\r\n");
    test::BannerServer ftp(ftp_host, ftp_port, "220 MikroTik FTP server (MikroTik 6.40.1) ready\r\n");
    NmapOptions o;
    o.os_detection = false;
    o.ports = std::to_string(ssh_port) + "," + std::to_string(ftp_port);
    o.max_rate = 0;
    o.host_timeout_s = 60;
    const auto start = std::chrono::steady_clock::now();
    DeviceScan scan = ScanDevices({*IpAddress::Parse(ssh_host), *IpAddress::Parse(ftp_host),
                                   *IpAddress::Parse(empty_host), *IpAddress::Parse("10.1.2.3")},
                                  ExclusionList(true), o);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_EQ(scan.commands.size(), 1u);
    EXPECT_EQ(scan.commands[0].find(" -O"), std::string::npos);
    ASSERT_EQ(scan.partition.refused.size(), 1u);  // 10.1.2.3 was never given to nmap
    std::map<std::string, DeviceVerdict> got;
    for (const NmapHost &h : scan.run.hosts)
        got[h.address.ToString()] = ClassifyDevice(h);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[ssh_host].device_class, DeviceClass::SERVER) << got[ssh_host].reason;
    EXPECT_NE(got[ssh_host].reason.find("OpenSSH"), std::string::npos) << got[ssh_host].reason;
    EXPECT_EQ(got[ftp_host].device_class, DeviceClass::ROUTER) << got[ftp_host].reason;
    EXPECT_EQ(got[ftp_host].rule, "service-device-type") << got[ftp_host].reason;
    EXPECT_EQ(got[empty_host].device_class, DeviceClass::BLOCKED) << got[empty_host].reason;
    EXPECT_LT(seconds, 60.0);
}

}  // namespace darkscope::probe

namespace darkscope::probe {

TEST(DeviceRules, DocsListEveryRule) {
    std::ifstream in(std::filesystem::path(DARKSCOPE_SOURCE_DIR) / "docs" / "probes.md");
    ASSERT_TRUE(in) << "docs/probes.md missing";
    const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t last = 0;
    for (const DeviceRule &r : DeviceRules()) {
        const size_t at = doc.find("| `" + std::string(r.id) + "` |");
        EXPECT_NE(at, std::string::npos) << r.id << " is not in docs/probes.md's rule table";
        EXPECT_GT(at, last) << r.id << " is out of order in docs/probes.md";
        last = at;
    }
}

}  // namespace darkscope::probe

namespace darkscope::probe {
namespace {

// A stand-in for nmap: a shell script that writes `xml` where -oX says (and echoes its arguments), then exits
// with `status`. Nothing is sent anywhere.
std::filesystem::path FakeNmap(const std::string &name, const std::string &xml, int status) {
    auto path = std::filesystem::temp_directory_path() / (name + "." + std::to_string(::getpid()));
    std::ofstream(path) << "#!/bin/sh\n"
                           "echo \"fake nmap $*\"\n"
                           "while [ $# -gt 0 ]; do if [ \"$1\" = -oX ]; then out=$2; fi; shift; done\n"
                           "cat > \"$out\" <<'XML'\n"
                        << xml << "\nXML\nexit " << status << "\n";
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    return path;
}

constexpr const char *EMPTY_RUN =
    "<nmaprun scanner=\"nmap\" args=\"nmap\" version=\"7.93\"><runstats><finished exit=\"success\"/>"
    "<hosts up=\"0\" down=\"1\" total=\"1\"/></runstats></nmaprun>";

}  // namespace

TEST(Nmap, TargetMissingFromTheXmlIsRecordedDown) {
    auto fake = FakeNmap("fake-nmap-empty", EMPTY_RUN, 0);
    NmapOptions o;
    o.binary = fake.string();
    std::vector<std::string> lines;
    o.on_output = [&](std::string_view line) { lines.emplace_back(line); };
    DeviceScan scan = ScanDevices({*IpAddress::Parse("127.0.0.200")}, ExclusionList(true), o);
    ASSERT_EQ(scan.run.hosts.size(), 1u);
    const DeviceVerdict v = ClassifyDevice(scan.run.hosts[0]);
    EXPECT_EQ(v.device_class, DeviceClass::BLOCKED);
    EXPECT_EQ(v.reason, "no-open-port: host down (not in nmap's output: no answer to its host discovery)");
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("fake nmap -sV -O --script banner --max-rate 100 --host-timeout 300s -oX "),
              std::string::npos)
        << lines[0];
    std::filesystem::remove(fake);
}

TEST(Nmap, FailedOrInterruptedRunsAreErrors) {
    auto failing = FakeNmap("fake-nmap-fails", EMPTY_RUN, 1);
    NmapOptions o;
    o.binary = failing.string();
    try {
        ScanDevices({*IpAddress::Parse("127.0.0.200")}, ExclusionList(true), o);
        FAIL() << "no error";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find("exited 1"), std::string::npos) << e.what();
    }
    auto cut = FakeNmap("fake-nmap-cut", "<nmaprun scanner=\"nmap\"><host><status state=\"up\"/>", 0);
    o.binary = cut.string();
    EXPECT_THROW(ScanDevices({*IpAddress::Parse("127.0.0.200")}, ExclusionList(true), o), NmapXmlError);
    auto error = FakeNmap("fake-nmap-error",
                          "<nmaprun><runstats><finished exit=\"error\" errormsg=\"Failed to open device lo\"/>"
                          "</runstats></nmaprun>",
                          0);
    o.binary = error.string();
    try {
        ScanDevices({*IpAddress::Parse("127.0.0.200")}, ExclusionList(true), o);
        FAIL() << "no error";
    } catch (const std::runtime_error &e) {
        EXPECT_STREQ(e.what(), "nmap did not finish its run: Failed to open device lo");
    }
    for (auto &p : {failing, cut, error})
        std::filesystem::remove(p);
}

}  // namespace darkscope::probe
