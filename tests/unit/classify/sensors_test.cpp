#include "classify/sensors.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace darkscope {
namespace {

std::filesystem::path WriteTemp(const std::string &name, const std::string &text) {
    auto path = std::filesystem::temp_directory_path() / ("darkscope_sensors_" + name + ".toml");
    std::ofstream(path) << text;
    return path;
}

}  // namespace

TEST(SensorMap, LoadsTomlAndAttributesByDestination) {
    auto path = WriteTemp("ok", R"(
[[sensor]]
name = "tokyo-1"
networks = ["198.51.100.0/24", "2001:db8:1::/48"]
location = "Tokyo, JP"
provider = "university"

[[sensor]]
name = "cloud-1"
networks = ["203.0.113.0/25"]
)");
    auto map = SensorMap::LoadToml(path);
    ASSERT_EQ(map.Sensors().size(), 2u);
    EXPECT_EQ(map.Sensors()[0].addresses, 256u + (uint64_t(1) << 63));  // saturating IPv6 size
    EXPECT_EQ(map.Sensors()[1].addresses, 128u);
    EXPECT_EQ(map.Sensors()[0].location, "Tokyo, JP");
    EXPECT_EQ(map.Lookup(*IpAddress::Parse("198.51.100.9")), 0);
    EXPECT_EQ(map.Lookup(*IpAddress::Parse("203.0.113.127")), 1);
    EXPECT_EQ(map.Lookup(*IpAddress::Parse("203.0.113.128")), UNATTRIBUTED);
    EXPECT_EQ(map.Lookup(*IpAddress::Parse("2001:db8:1:ff::1")), 0);
    EXPECT_EQ(map.Lookup(*IpAddress::Parse("2001:db8:2::1")), UNATTRIBUTED);
    EXPECT_EQ(map.Lookup(IpAddress{}), UNATTRIBUTED);
}

TEST(SensorMap, ErrorsNameTheFileTheLineAndTheReason) {
    auto bad_net = WriteTemp("badnet", "[[sensor]]\nname = \"a\"\nnetworks = [\"10.0.0.0/40\"]\n");
    try {
        SensorMap::LoadToml(bad_net);
        FAIL() << "expected an error";
    } catch (const std::runtime_error &e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find(bad_net.string() + ":3"), std::string::npos) << msg;
        EXPECT_NE(msg.find("10.0.0.0/40"), std::string::npos) << msg;
    }
    auto overlap = WriteTemp("overlap", "[[sensor]]\nname = \"a\"\nnetworks = [\"10.0.0.0/8\"]\n"
                                        "[[sensor]]\nname = \"b\"\nnetworks = [\"10.1.0.0/16\"]\n");
    EXPECT_THROW(SensorMap::LoadToml(overlap), std::runtime_error);
    auto unknown = WriteTemp("unknown", "[[sensor]]\nname = \"a\"\nnetwork = [\"10.0.0.0/8\"]\n");
    EXPECT_THROW(SensorMap::LoadToml(unknown), std::runtime_error);
    auto syntax = WriteTemp("syntax", "[[sensor]\nname = \n");
    EXPECT_THROW(SensorMap::LoadToml(syntax), std::runtime_error);
    auto empty = WriteTemp("empty", "# nothing\n");
    EXPECT_THROW(SensorMap::LoadToml(empty), std::runtime_error);
}

TEST(SensorMap, ImplicitHoldsEveryDestination) {
    auto map = SensorMap::Implicit();
    EXPECT_TRUE(map.IsImplicit());
    EXPECT_EQ(map.Lookup(*IpAddress::Parse("8.8.8.8")), 0);
    EXPECT_EQ(map.Lookup(*IpAddress::Parse("::1")), 0);
}

}  // namespace darkscope

namespace darkscope {

TEST(SensorMap, OptionalFieldsMustBeStrings) {
    auto path = std::filesystem::temp_directory_path() / "darkscope_sensors_badtype.toml";
    std::ofstream(path) << "[[sensor]]\nname = \"a\"\nnetworks = [\"10.0.0.0/8\"]\nlocation = 3\n";
    try {
        SensorMap::LoadToml(path);
        FAIL() << "expected an error";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find(":4: sensor 'a': location must be a string"), std::string::npos)
            << e.what();
    }
}

}  // namespace darkscope
