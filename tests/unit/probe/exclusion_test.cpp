#include "probe/exclusion.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "probe/text.hpp"

namespace darkscope::probe {
namespace {

IpAddress A(const char *text) { return *IpAddress::Parse(text); }

std::filesystem::path WriteFile(const std::string &name, const std::string &content) {
    auto path = std::filesystem::temp_directory_path() / (name + "." + std::to_string(::getpid()));
    std::ofstream(path, std::ios::binary) << content;
    return path;
}

}  // namespace

TEST(Exclusion, SpecialPurposeRangesAreRefusedWithTheirRfc) {
    ExclusionList list;
    const std::pair<const char *, const char *> cases[] = {
        {"0.1.2.3", "0.0.0.0/8 \"this network\" (RFC 791 section 3.2, RFC 1122)"},
        {"10.20.30.40", "10.0.0.0/8 private use (RFC 1918)"},
        {"100.64.0.1", "100.64.0.0/10 shared address space (carrier-grade NAT) (RFC 6598)"},
        {"127.0.0.1", "127.0.0.0/8 loopback (RFC 1122)"},
        {"169.254.1.1", "169.254.0.0/16 link local (RFC 3927)"},
        {"172.31.255.255", "172.16.0.0/12 private use (RFC 1918)"},
        {"192.0.0.9", "192.0.0.0/24 IETF protocol assignments (DS-Lite, PCP/TURN anycast, NAT64 discovery) (RFC 6890)"},
        {"192.0.2.53", "192.0.2.0/24 documentation (TEST-NET-1) (RFC 5737)"},
        {"192.31.196.1", "192.31.196.0/24 AS112-v4 (RFC 7535)"},
        {"192.52.193.1", "192.52.193.0/24 AMT (RFC 7450)"},
        {"192.88.99.1", "192.88.99.0/24 deprecated 6to4 relay anycast (RFC 7526)"},
        {"192.168.1.1", "192.168.0.0/16 private use (RFC 1918)"},
        {"192.175.48.6", "192.175.48.0/24 direct delegation AS112 service (RFC 7534)"},
        {"198.19.0.1", "198.18.0.0/15 benchmarking (RFC 2544)"},
        {"198.51.100.7", "198.51.100.0/24 documentation (TEST-NET-2) (RFC 5737)"},
        {"203.0.113.1", "203.0.113.0/24 documentation (TEST-NET-3) (RFC 5737)"},
        {"224.0.0.251", "224.0.0.0/4 multicast (RFC 5771)"},
        {"239.255.255.250", "224.0.0.0/4 multicast (RFC 5771)"},
        {"240.0.0.1", "240.0.0.0/4 reserved (RFC 1112 section 4)"},
        {"255.255.255.255", "255.255.255.255/32 limited broadcast (RFC 8190, RFC 919)"},
        {"::1", "::1/128 loopback (RFC 4291)"},
        {"::", "::/128 unspecified (RFC 4291)"},
        {"::ffff:8.8.8.8", "::ffff:0:0/96 IPv4-mapped (RFC 4291)"},
        {"64:ff9b::8.8.8.8", "64:ff9b::/96 IPv4-IPv6 translation (RFC 6052)"},
        {"100::1", "100::/64 discard-only (RFC 6666)"},
        {"2001:0:4136:e378::1", "2001::/32 TEREDO (RFC 4380, RFC 8190)"},
        {"2001:4:112::1",
         "2001::/23 IETF protocol assignments (PCP/TURN anycast, AMT, AS112-v6, ORCHID, DRIP) (RFC 2928)"},
        {"2001:db8::53", "2001:db8::/32 documentation (RFC 3849)"},
        {"2002:c000:201::1", "2002::/16 6to4 (RFC 3056)"},
        {"2620:4f:8000::1", "2620:4f:8000::/48 direct delegation AS112 service (RFC 7534)"},
        {"3fff::1", "3fff::/20 documentation (RFC 9637)"},
        {"5f00::1", "5f00::/16 segment routing (SRv6) SIDs (RFC 9602)"},
        {"fd00::1", "fc00::/7 unique local (RFC 4193, RFC 8190)"},
        {"fe80::1", "fe80::/10 link-local unicast (RFC 4291)"},
        {"ff02::1", "ff00::/8 multicast (RFC 4291)"},
        {"4000::1", "outside 2000::/3, not global unicast (RFC 4291 section 2.4)"},
    };
    for (auto [address, reason] : cases)
        EXPECT_EQ(list.Refusal(A(address)).value_or("allowed"), reason) << address;
    for (const char *ok : {"8.8.8.8", "1.1.1.1", "45.33.32.156", "100.63.255.255", "100.128.0.0", "172.32.0.1",
                           "192.0.3.1", "198.20.0.1", "223.255.255.255", "2001:4860:4860::8888", "2600::1"})
        EXPECT_FALSE(list.Refusal(A(ok))) << ok;
    EXPECT_TRUE(list.Refusal(IpAddress{}));  // an invalid address is never probed
}

TEST(Exclusion, EveryBuiltInEntryParsesAndNamesAnRfc) {
    for (const SpecialRange &r : SpecialPurposeRanges()) {
        EXPECT_TRUE(IpNetwork::Parse(r.cidr)) << r.cidr;
        EXPECT_TRUE(r.rfc.starts_with("RFC ")) << r.cidr;
    }
}

TEST(Exclusion, DocsListEveryBuiltInRange) {
    std::ifstream in(std::filesystem::path(DARKSCOPE_SOURCE_DIR) / "docs" / "probes.md");
    ASSERT_TRUE(in) << "docs/probes.md missing";
    const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const SpecialRange &r : SpecialPurposeRanges())
        EXPECT_NE(doc.find(std::string(r.cidr)), std::string::npos) << r.cidr << " is not in docs/probes.md";
}

TEST(Exclusion, AllowLoopbackLiftsLoopbackOnly) {
    ExclusionList list(true);
    EXPECT_TRUE(list.AllowsLoopback());
    EXPECT_FALSE(list.Refusal(A("127.0.0.1")));
    EXPECT_FALSE(list.Refusal(A("127.255.0.9")));
    EXPECT_FALSE(list.Refusal(A("::1")));
    EXPECT_TRUE(list.Refusal(A("::2")));  // ::/96, not loopback
    EXPECT_TRUE(list.Refusal(A("::ffff:127.0.0.1")));
    EXPECT_TRUE(list.Refusal(A("10.0.0.1")));
    EXPECT_TRUE(list.Refusal(A("169.254.0.1")));
    EXPECT_TRUE(list.Refusal(A("fe80::1")));
}

TEST(Exclusion, UserFileAddsNetworksWithFileAndLine) {
    auto path = WriteFile("exclude.txt",
                          "# networks whose owners asked not to be probed\n"
                          "\n"
                          "45.33.32.0/24   # scanme's neighbours\n"
                          "2600:3c01::/32\r\n"
                          "8.8.4.4\n");
    ExclusionList list;
    list.LoadFile(path);
    EXPECT_EQ(list.UserEntries(), 3u);
    const std::string file = path.filename().string();
    EXPECT_EQ(list.Refusal(A("45.33.32.156")), "excluded by 45.33.32.0/24 (" + file + ":3)");
    EXPECT_EQ(list.Refusal(A("2600:3c01::1")), "excluded by 2600:3c01::/32 (" + file + ":4)");
    EXPECT_EQ(list.Refusal(A("8.8.4.4")), "excluded by 8.8.4.4/32 (" + file + ":5)");
    EXPECT_FALSE(list.Refusal(A("8.8.8.8")));
    // The built-in reason wins over the user's for a special-purpose address.
    list.Add(*IpNetwork::Parse("10.0.0.0/8"), "mine");
    EXPECT_EQ(list.Refusal(A("10.1.1.1")), "10.0.0.0/8 private use (RFC 1918)");

    auto partition = list.Partition({A("8.8.8.8"), A("45.33.32.1"), A("10.0.0.1"), A("1.1.1.1")});
    ASSERT_EQ(partition.allowed.size(), 2u);
    EXPECT_EQ(partition.allowed[0], A("8.8.8.8"));
    EXPECT_EQ(partition.allowed[1], A("1.1.1.1"));
    ASSERT_EQ(partition.refused.size(), 2u);
    EXPECT_EQ(partition.refused[0].address, A("45.33.32.1"));
    std::filesystem::remove(path);
}

TEST(Exclusion, BadUserFileNamesTheLineAndAddsNothing) {
    auto path = WriteFile("bad-exclude.txt", "45.33.32.0/24\n300.1.1.1/8\n");
    ExclusionList list;
    try {
        list.LoadFile(path);
        FAIL() << "no error";
    } catch (const ExclusionFileError &e) {
        EXPECT_NE(std::string(e.what()).find(":2: '300.1.1.1/8' is not an address or CIDR network"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(list.UserEntries(), 0u);
    EXPECT_THROW(list.LoadFile("/nonexistent/exclude.txt"), ExclusionFileError);
    std::filesystem::remove(path);
}

TEST(Targets, FileOfAddressesKeepsOrderAndRefusesNetworks) {
    auto path = WriteFile("targets.txt", "address,status\n8.8.8.8,open\n# comment\n 1.1.1.1  resolver\n2001:4860::1\n");
    auto targets = ReadTargetsFile(path);
    ASSERT_EQ(targets.size(), 3u);
    EXPECT_EQ(targets[0], A("8.8.8.8"));
    EXPECT_EQ(targets[2], A("2001:4860::1"));
    auto bad = WriteFile("targets-bad.txt", "8.8.8.8\n45.33.32.0/24\n");
    try {
        ReadTargetsFile(bad);
        FAIL() << "no error";
    } catch (const ExclusionFileError &e) {
        EXPECT_NE(std::string(e.what()).find(":2: '45.33.32.0/24' is a network"), std::string::npos) << e.what();
    }
    auto garbage = WriteFile("targets-garbage.txt", "\x1b[31mhello\n");
    try {
        ReadTargetsFile(garbage);
        FAIL() << "no error";
    } catch (const ExclusionFileError &e) {
        EXPECT_NE(std::string(e.what()).find(":1: '\\x1b[31mhello' is not an IPv4 or IPv6 address"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(Deduplicate({A("1.1.1.1"), A("8.8.8.8"), A("1.1.1.1")}).size(), 2u);
    for (auto &p : {path, bad, garbage})
        std::filesystem::remove(p);
}

TEST(WireText, ControlBytesMarkupAndBidiAreEscapedUtf8Kept) {
    EXPECT_EQ(EscapeWireText("plain text 1.2"), "plain text 1.2");
    EXPECT_EQ(EscapeWireText("a\r\nb\x1b[0m\x7f"), "a\\x0d\\x0ab\\x1b[0m\\x7f");
    EXPECT_EQ(EscapeWireText("<script>&"), "\\x3cscript\\x3e\\x26");
    EXPECT_EQ(EscapeWireText("ルータ設定"), "ルータ設定");
    EXPECT_EQ(EscapeWireText("\xe2\x80\xae"
                             "evil"),
              "\\xe2\\x80\\xaeevil");                     // RIGHT-TO-LEFT OVERRIDE
    EXPECT_EQ(EscapeWireText("\xc2\x85"), "\\xc2\\x85");  // C1 NEXT LINE
    EXPECT_EQ(EscapeWireText("\xff\xc3"), "\\xff\\xc3");  // malformed UTF-8
    EXPECT_EQ(EscapeWireText("\xc0\xaf"), "\\xc0\\xaf");  // overlong '/'
    EXPECT_EQ(EscapeWireText("abcdef", 3), "abc...");
    EXPECT_EQ(EscapeWireText(std::string_view("a\0b", 3)), "a\\x00b");
}

}  // namespace darkscope::probe
