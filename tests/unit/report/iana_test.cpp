// IANA names of service keys: the compiled-in tables (data/iana/*.tsv), the TSV reader, and the tables'
// agreement with their sources.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/shared_data.hpp"
#include "report/iana.hpp"

namespace darkscope {
namespace {

namespace fs = std::filesystem;

ServiceKey Key(std::string_view text) {
    auto key = ServiceKey::Parse(text);
    EXPECT_TRUE(key.has_value()) << text;
    return key.value_or(ServiceKey{});
}

std::string_view Name(std::string_view key) { return IanaNames::Builtin().ServiceName(Key(key)); }
std::string_view Description(std::string_view key) { return IanaNames::Builtin().Description(Key(key)); }

TEST(IanaNames, KnownPorts) {
    EXPECT_EQ(Name("23/TCP"), "telnet");
    EXPECT_EQ(Name("22/TCP"), "ssh");
    EXPECT_EQ(Name("445/TCP"), "microsoft-ds");
    EXPECT_EQ(Name("3389/TCP"), "ms-wbt-server");
    EXPECT_EQ(Name("53/UDP"), "domain");
    EXPECT_EQ(Name("123/UDP"), "ntp");
    EXPECT_EQ(Description("53/UDP"), "Domain Name Server");
    EXPECT_EQ(Description("445/TCP"), "Microsoft-DS");
}

TEST(IanaNames, RangedPortIsNamedOnEveryPort) {
    // x11 is registered as one record for 6000-6063.
    EXPECT_EQ(Name("6000/TCP"), "x11");
    EXPECT_EQ(Name("6031/UDP"), "x11");
    EXPECT_EQ(Name("6063/TCP"), "x11");
    EXPECT_EQ(Name("6064/TCP"), "ndl-ahp-svc");  // the next record
}

TEST(IanaNames, IcmpTypesAndProtocols) {
    EXPECT_EQ(Name("0/ICMP"), "Echo Reply");
    EXPECT_EQ(Name("8/ICMP"), "Echo Request");
    EXPECT_EQ(Name("11/ICMP"), "Time Exceeded");
    EXPECT_EQ(Name("3/ICMP"), "Destination Unreachable");
    EXPECT_EQ(Description("11/ICMP"), "");  // ICMP types have a name only
    // The CSV splits this name over two lines; the table has it on one.
    EXPECT_EQ(Name("41/ICMP"), "ICMP messages utilized by experimental mobility protocols such as Seamoby");
    EXPECT_EQ(Name("proto 47"), "GRE");
    EXPECT_EQ(Description("proto 47"), "Generic Routing Encapsulation");
    EXPECT_EQ(Name("proto 50"), "ESP");
    EXPECT_EQ(Name("proto 61"), "");  // assigned, but IANA gives no keyword
    EXPECT_EQ(Description("proto 61"), "any host internal protocol");
}

TEST(IanaNames, Icmpv6FromTheRfcs) {
    EXPECT_EQ(Name("128/ICMPv6"), "Echo Request");
    EXPECT_EQ(Name("129/ICMPv6"), "Echo Reply");
    EXPECT_EQ(Name("1/ICMPv6"), "Destination Unreachable");
    EXPECT_EQ(Name("2/ICMPv6"), "Packet Too Big");
    EXPECT_EQ(Name("135/ICMPv6"), "Neighbor Solicitation");
    EXPECT_EQ(Name("137/ICMPv6"), "Redirect Message");
    EXPECT_EQ(Name("200/ICMPv6"), "");
}

TEST(IanaNames, UnknownIsEmpty) {
    EXPECT_EQ(Name("8728/TCP"), "");   // not in IANA's registry
    EXPECT_EQ(Name("0/TCP"), "");      // Reserved: no service name
    EXPECT_EQ(Name("230/UDP"), "");    // inside the unnamed range 225-241
    EXPECT_EQ(Name("44/ICMP"), "");    // Unassigned 44-252
    EXPECT_EQ(Name("25/ICMP"), "");    // Reserved (for Robustness Experiment) 20-29
    EXPECT_EQ(Name("proto 200"), "");  // Unassigned 146-252
    EXPECT_EQ(Description("8728/TCP"), "");
    // Keys without a number, and the empty key.
    EXPECT_EQ(Name("?/TCP"), "");
    EXPECT_EQ(Name("?/ICMP"), "");
    EXPECT_EQ(Name("?/IP"), "");
    EXPECT_EQ(IanaNames::Builtin().ServiceName(ServiceKey{}), "");
}

TEST(IanaNames, BuiltinTablesParseWithoutLoss) {
    const IanaNames &names = IanaNames::Builtin();
    EXPECT_EQ(names.SkippedLines(), 0u);
    EXPECT_GT(names.Size(), 11000u);
    EXPECT_EQ(&names, &IanaNames::Builtin());  // parsed once
}

TEST(IanaNames, FromTsvSkipsBadLinesAndKeepsTheFirstName) {
    IanaNames names = IanaNames::FromTsv(
        "# comment\n"
        "7\ttcp\techo\tEcho\r\n"           // CRLF line ending
        "7\ttcp\tsecond\tnot kept\n"       // a later name for the same port
        "8\tsctp\tx\tno SCTP kind\n"       // skipped: protocol
        "70000\ttcp\tbig\tport > 65535\n"  // skipped: port
        "9\ttcp\tdiscard\n"                // a trailing empty description stripped
        "11\ttcp\n"                        // skipped: two fields
        "\n"
        "10\tudp\tno-description\t\n",  // an empty description is fine
        "8\tEcho Request\n"
        "x\tnot a number\n"  // skipped
        "9\n",               // skipped: no name
        "47\tGRE\tGeneric Routing Encapsulation\n"
        "253\t\tUse for experimentation and testing\n");
    EXPECT_EQ(names.SkippedLines(), 5u);
    EXPECT_EQ(names.ServiceName(Key("7/TCP")), "echo");
    EXPECT_EQ(names.Description(Key("7/TCP")), "Echo");
    EXPECT_EQ(names.ServiceName(Key("7/UDP")), "");
    EXPECT_EQ(names.ServiceName(Key("9/TCP")), "discard");
    EXPECT_EQ(names.Description(Key("9/TCP")), "");
    EXPECT_EQ(names.ServiceName(Key("11/TCP")), "");
    EXPECT_EQ(names.ServiceName(Key("10/UDP")), "no-description");
    EXPECT_EQ(names.Description(Key("10/UDP")), "");
    EXPECT_EQ(names.ServiceName(Key("8/ICMP")), "Echo Request");
    EXPECT_EQ(names.ServiceName(Key("proto 47")), "GRE");
    EXPECT_EQ(names.Description(Key("proto 253")), "Use for experimentation and testing");
    EXPECT_EQ(names.ServiceName(Key("128/ICMPv6")), "Echo Request");  // the RFC list is always there

    IanaNames moved = std::move(names);  // the names view text the object owns, wherever it moves
    EXPECT_EQ(moved.ServiceName(Key("7/TCP")), "echo");
}

std::string ReadFile(const fs::path &path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST(IanaNames, CompiledInTablesAreTheCommittedFiles) {
    // A stale build (data/iana/*.tsv changed, CMake not re-run) would show here.
    fs::path dir = fs::path(DARKSCOPE_SOURCE_DIR) / "data" / "iana";
    if (!fs::is_directory(dir)) GTEST_SKIP() << dir << " not found (DARKSCOPE_SOURCE_DIR)";
    EXPECT_EQ(ReadFile(dir / "services.tsv"), detail::IanaServicesTsv());
    EXPECT_EQ(ReadFile(dir / "icmp-types.tsv"), detail::IanaIcmpTypesTsv());
    EXPECT_EQ(ReadFile(dir / "protocols.tsv"), detail::IanaProtocolsTsv());
}

#define REQUIRE_IANA_CSVS(iana)                                      \
    fs::path shared = testing::SharedDataDir(DARKSCOPE_SHARED_DATA); \
    fs::path iana = shared.empty() ? fs::path() : shared / "iana";   \
    if (shared.empty() || !fs::is_directory(iana))                   \
    GTEST_SKIP() << "IANA CSVs not found (set DARKSCOPE_SHARED_DATA to the folder holding iana/ and PROVENANCE.md)"

TEST(IanaNames, TablesNameTheCsvsTheyCameFrom) {
    REQUIRE_IANA_CSVS(iana);
    struct Table {
        std::string_view text;
        const char *csv;
    };
    for (const Table &t : {Table{detail::IanaServicesTsv(), "service-names-port-numbers.csv"},
                           Table{detail::IanaIcmpTypesTsv(), "icmp-parameters-types.csv"},
                           Table{detail::IanaProtocolsTsv(), "protocol-numbers-1.csv"}}) {
        std::string source_line = "# Source: " + std::string(t.csv) + " ";
        EXPECT_NE(t.text.find(source_line), std::string_view::npos) << t.csv;
        EXPECT_TRUE(fs::is_regular_file(iana / t.csv)) << iana / t.csv;
    }
    EXPECT_NE(detail::IanaServicesTsv().find("# Newest registration or modification date in the source: 2025-03-28"),
              std::string_view::npos);
}

TEST(IanaNames, RegeneratingGivesTheCommittedTables) {
    REQUIRE_IANA_CSVS(iana);
    if (std::system("python3 --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "python3 not found";
    fs::path script = fs::path(DARKSCOPE_SOURCE_DIR) / "scripts" / "gen_iana_tables.py";
    std::string command = "python3 '" + script.string() + "' --check '" + iana.string() + "'";
    EXPECT_EQ(std::system(command.c_str()), 0) << command
                                               << ": data/iana/*.tsv are stale; run "
                                                  "python3 scripts/gen_iana_tables.py and commit the result";
}

}  // namespace
}  // namespace darkscope
