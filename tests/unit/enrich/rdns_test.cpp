#include "enrich/rdns.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "../probe/probe_test_util.hpp"
#include "enrich/research.hpp"

namespace darkscope {
namespace {

// A dnsmasq of the test's own on 127.0.0.x, answering only the PTR records the test gives it: no
// upstream, no /etc/hosts, no configuration file. Queries go to it and nowhere else.
class LocalResolver {
public:
    LocalResolver(const std::vector<std::pair<std::string, std::string>> &ptr_records)
        : address_("127.0.0." + std::to_string(20 + int(::getpid() % 200))),
          port_(uint16_t(20000 + int(::getpid() % 20000))),
          dnsmasq_(address_, port_, Records(ptr_records)) {}
    bool Running() const { return dnsmasq_.Running(); }
    std::string Spec() const { return address_ + ":" + std::to_string(port_); }

private:
    static std::vector<std::string> Records(const std::vector<std::pair<std::string, std::string>> &ptr_records) {
        std::vector<std::string> out;
        for (auto &[reverse_name, name] : ptr_records) out.push_back("--ptr-record=" + reverse_name + "," + name);
        return out;
    }
    std::string address_;
    uint16_t port_;
    probe::test::LocalDnsmasq dnsmasq_;
};

std::map<std::string, RdnsAnswer> Resolve(const std::vector<const char *> &addresses, const RdnsOptions &o) {
    std::vector<IpAddress> list;
    for (auto *a : addresses) list.push_back(*IpAddress::Parse(a));
    std::map<std::string, RdnsAnswer> out;
    ResolvePtr(list, o, [&](RdnsAnswer &&a) { out[a.address.ToString()] = std::move(a); });
    return out;
}

}  // namespace

TEST(Rdns, ResolvesPtrRecordsFromALocalResolverWithRateLimit) {
    LocalResolver resolver({
        {"5.0.184.93.in-addr.arpa", "scanner-5.ch1.censys-scanner.com"},
        {"9.0.184.93.in-addr.arpa", "researchscan1.eecs.umich.edu"},
        {"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.a.2.ip6.arpa", "v6.example.org"},
    });
    if (!resolver.Running()) GTEST_SKIP() << "dnsmasq absent (Debian dnsmasq-base; scripts/setup.sh --test)";
    RdnsOptions o;
    o.resolver = resolver.Spec();
    o.timeout_ms = 300;
    o.tries = 1;
    // dnsmasq takes a moment to listen.
    bool up = false;
    for (int i = 0; i < 50 && !up; ++i) {
        up = Resolve({"93.184.0.5"}, o)["93.184.0.5"].status == "ok";
        if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(up) << "the local resolver at " << resolver.Spec() << " never answered";

    o.rate = 20;
    const auto start = std::chrono::steady_clock::now();
    auto got = Resolve({"93.184.0.5", "93.184.0.9", "2a00::1", "93.184.0.7", "93.184.0.8", "93.184.0.10",
                        "93.184.0.11", "93.184.0.12", "93.184.0.13", "93.184.0.14", "93.184.0.15"},
                       o);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_EQ(got.size(), 11u);
    EXPECT_EQ(got["93.184.0.5"].name, "scanner-5.ch1.censys-scanner.com");
    EXPECT_EQ(got["93.184.0.9"].name, "researchscan1.eecs.umich.edu");
    EXPECT_EQ(got["2a00::1"].name, "v6.example.org");
    EXPECT_NE(got["93.184.0.7"].status, "ok");  // no record, no upstream
    EXPECT_TRUE(got["93.184.0.7"].name.empty());
    // 11 queries at 20 per second: the last may start 0.5 s after the first.
    EXPECT_GE(seconds, 0.45);

    // The research patterns apply to the names.
    ResearchList list = ResearchList::LoadToml(std::filesystem::path(DARKSCOPE_SOURCE_DIR) / "data" /
                                               "research_scanners.toml");
    EXPECT_EQ(list.Name(list.MatchName(got["93.184.0.5"].name)), "Censys");
    EXPECT_NE(list.MatchName(got["93.184.0.9"].name), 0);
    EXPECT_EQ(list.MatchName(got["2a00::1"].name), 0);
}

TEST(Rdns, MalformedResolverIsAnError) {
    RdnsOptions o;
    o.resolver = "not an address";
    EXPECT_THROW(ResolvePtr({*IpAddress::Parse("93.184.0.5")}, o, [](RdnsAnswer &&) {}), std::runtime_error);
}

}  // namespace darkscope
