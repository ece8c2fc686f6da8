#pragma once
/// Sensors: named sets of monitored networks. A packet belongs to the sensor whose network holds
/// its destination; the number of monitored addresses is the denominator of every
/// "per day per sensor IP" figure.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.hpp"

namespace darkscope {

struct Sensor {
    std::string name;
    std::vector<IpNetwork> networks;
    std::string location;
    std::string provider;
    uint64_t addresses = 0;  // sum of network sizes (saturating)
    bool implicit = false;   // no sensors file: every destination belongs to it
};

/// Index of a sensor in a SensorMap; UNATTRIBUTED for destinations outside every sensor.
using SensorIndex = uint16_t;
constexpr SensorIndex UNATTRIBUTED = 0xFFFF;
constexpr size_t MAX_SENSORS = 4096;

class SensorMap {
public:
    /// One implicit sensor that holds every destination.
    static SensorMap Implicit();
    /// Reads a TOML sensors file. Errors name the file, the line and the reason.
    static SensorMap LoadToml(const std::filesystem::path &path);  // throws std::runtime_error
    /// Builds a map from sensors already validated (for example as stored).
    static SensorMap FromSensors(std::vector<Sensor> sensors);  // throws std::runtime_error on overlap

    const std::vector<Sensor> &Sensors() const { return sensors_; }
    bool IsImplicit() const { return sensors_.size() == 1 && sensors_[0].implicit; }

    /// The sensor that monitors `dst`, or UNATTRIBUTED.
    SensorIndex Lookup(const IpAddress &dst) const {
        if (IsImplicit()) return dst.Valid() ? 0 : UNATTRIBUTED;
        if (dst.IsV4()) return LookupV4(dst.V4HostOrder());
        if (dst.IsV6()) return LookupV6(dst);
        return UNATTRIBUTED;
    }

private:
    struct V4Range {
        uint32_t first, last;
        SensorIndex sensor;
    };
    SensorIndex LookupV4(uint32_t addr) const;
    SensorIndex LookupV6(const IpAddress &dst) const;
    void BuildIndex();

    std::vector<Sensor> sensors_;
    std::vector<V4Range> v4_ranges_;  // sorted, non-overlapping
    std::vector<std::pair<IpNetwork, SensorIndex>> v6_networks_;
};

}  // namespace darkscope
