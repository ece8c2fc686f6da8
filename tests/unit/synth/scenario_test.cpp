#include "synth/scenario.hpp"

#include <gtest/gtest.h>

#include "synth/generator.hpp"
#include "synth_test_util.hpp"

namespace darkscope::synth {
namespace {

using test::SmallScenario;

// The error message of a scenario that must not parse.
std::string ErrorOf(const std::string &text) {
    try {
        ParseScenario(text, "t.toml");
    } catch (const std::runtime_error &e) {
        return e.what();
    }
    return "(parsed)";
}

const std::string SCAN = R"([[population]]
name = "bots"
tool = "linux"
sources = 10
countries = { CN = 1 }
services = { "23/TCP" = 1 }
rate = 100
)";

}  // namespace

TEST(Scenario, ParsesComponentsWithDefaults) {
    auto sc = ParseScenario(SmallScenario(SCAN), "t.toml");
    EXPECT_EQ(sc.name, "t");
    ASSERT_EQ(sc.sensors.size(), 2u);
    EXPECT_EQ(sc.sensors[1].provider, "cloud X");
    EXPECT_EQ(sc.sensors[1].addresses, 128u);
    ASSERT_EQ(sc.components.size(), 1u);
    auto &c = sc.components[0];
    EXPECT_EQ(c.kind, Kind::SCAN);
    EXPECT_EQ(c.start, sc.start);
    EXPECT_EQ(c.end, sc.end);
    EXPECT_EQ(c.end - c.start, SECONDS_PER_DAY * NS_PER_SEC);
    EXPECT_EQ(c.services.at(0).key.ToString(), "23/TCP");
    EXPECT_EQ(c.tools.at(0).first, Tool::LINUX);
    EXPECT_EQ(c.line, 16);
}

TEST(Scenario, EventKindsSetTheirMeaning) {
    auto sc = ParseScenario(SmallScenario(R"([[event]]
name = "amp"
kind = "spoofed-dns"
start = "2024-10-01T06:00:00Z"
end = 2024-10-01T08:00:00Z
countries = { CA = 1 }
rate = 10

[[event]]
name = "refl"
kind = "open-resolver"
countries = { JP = 1 }
providers = ["cloud X"]
rate = 10
)"),
                            "t.toml");
    EXPECT_TRUE(sc.components[0].every_sensor);
    EXPECT_EQ(sc.components[0].kind, Kind::DNS_QUERY);
    EXPECT_EQ(sc.components[0].start, sc.start + 6 * 3600 * NS_PER_SEC);
    EXPECT_EQ(sc.components[0].end, sc.start + 8 * 3600 * NS_PER_SEC);
    EXPECT_TRUE(sc.components[1].open_resolver);
    EXPECT_EQ(sc.components[1].kind, Kind::DNS_RESPONSE);
}

TEST(Scenario, ErrorsNameTheFileLineAndReason) {
    std::string bad = SCAN;
    bad.replace(bad.find("rate = 100"), 10, "rat = 100");
    EXPECT_EQ(ErrorOf(SmallScenario(bad)).rfind("t.toml:22: unknown key 'rat' in [[population]]", 0), 0u)
        << ErrorOf(SmallScenario(bad));

    bad = SCAN;
    bad.replace(bad.find("\"linux\""), 7, "\"zmapp\"");
    EXPECT_NE(ErrorOf(SmallScenario(bad)).find("t.toml:18: unknown tool 'zmapp'"), std::string::npos);

    bad = SCAN;
    bad.replace(bad.find("CN"), 2, "XX");
    EXPECT_NE(ErrorOf(SmallScenario(bad)).find("t.toml:20: no prefixes for country 'XX'"), std::string::npos);

    bad = SCAN;
    bad.replace(bad.find("23/TCP"), 6, "23/XYZ");
    EXPECT_NE(ErrorOf(SmallScenario(bad)).find("'23/XYZ' is not a service"), std::string::npos);

    EXPECT_NE(ErrorOf(SmallScenario(SCAN + "start = 2024-09-30\n")).find("outside the scenario"), std::string::npos);
    EXPECT_NE(ErrorOf(SmallScenario(SCAN + "shape = \"wobbly\"\n")).find("unknown shape 'wobbly'"), std::string::npos);
    EXPECT_NE(
        ErrorOf(SmallScenario("[[event]]\nname = \"w\"\nkind = \"water-torture\"\ncountries = { CN = 1 }\nrate = 1\n"))
            .find("t.toml:16: water-torture 'w' needs zone"),
        std::string::npos);
    EXPECT_NE(ErrorOf(SmallScenario(SCAN + SCAN)).find("name 'bots' is used twice"), std::string::npos);
    // A TOML syntax error keeps toml++'s own line.
    EXPECT_NE(ErrorOf("[scenario]\nname = \n").find("t.toml:2:"), std::string::npos);
    EXPECT_NE(ErrorOf(SmallScenario("")).find("nothing to send"), std::string::npos);
    // Overlapping sensors are refused as ingest refuses them.
    EXPECT_NE(ErrorOf("[scenario]\nname=\"o\"\nstart=2024-01-01\nend=2024-01-02\n[[sensor]]\nname=\"a\"\nnetworks=["
                      "\"192.0.2.0/24\"]\n"
                      "[[sensor]]\nname=\"b\"\nnetworks=[\"192.0.2.128/25\"]\n" +
                      SCAN)
                  .find("overlap"),
              std::string::npos);
}

TEST(Scenario, UnknownSensorOrProviderIsAnError) {
    EXPECT_NE(ErrorOf(SmallScenario(SCAN + "sensors = [\"nowhere\"]\n")).find("no sensor named 'nowhere'"),
              std::string::npos);
    EXPECT_NE(ErrorOf(SmallScenario(SCAN + "providers = [\"isp\"]\n")).find("no sensor has provider 'isp'"),
              std::string::npos);
}

TEST(Scenario, EveryBuiltinParsesAndGeneratesSetup) {
    auto builtins = BuiltinScenarios();
    ASSERT_GE(builtins.size(), 6u);
    for (auto &b : builtins) {
        SCOPED_TRACE(std::string(b.name));
        Scenario sc = ParseScenario(b.text, std::string(b.name));
        EXPECT_EQ(sc.name, b.name);
        Generator gen(sc, {});  // draws the sources: countries, research ranges, IPv6 all resolvable
        EXPECT_FALSE(gen.GetTruth().sources.empty());
    }
}

TEST(Scenario, LoadScenarioTakesANameOrAFile) {
    EXPECT_EQ(LoadScenario("demo").name, "demo");
    try {
        LoadScenario("no-such-scenario");
        FAIL();
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find("neither a built-in scenario (2010Q2"), std::string::npos) << e.what();
    }
}

}  // namespace darkscope::synth

namespace darkscope::synth {

// The commented example documents every key: it must stay a valid scenario that generates.
TEST(Scenario, TheCommentedExampleParsesAndGenerates) {
    auto sc = LoadScenarioFile(std::string(DARKSCOPE_SOURCE_DIR) + "/examples/scenario.toml");
    EXPECT_EQ(sc.name, "example");
    EXPECT_GE(sc.components.size(), 9u);
    Generator gen(sc, {1, 0.01});
    test::MemorySink sink;
    gen.Run(sink);
    EXPECT_GT(sink.frames.size(), 100u);
}

}  // namespace darkscope::synth
