#pragma once
/// The ground truth of a synthetic capture (JSON; schema in docs/synth.md) and the sensors file that lets
/// `darkscope ingest --sensors` read the capture directly.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "synth/generator.hpp"

namespace darkscope::synth {

constexpr int TRUTH_SCHEMA_VERSION = 1;

/// `files`: the capture files written (names only, in time order).
nlohmann::ordered_json TruthToJson(const Scenario &scenario, const Truth &truth, const std::vector<std::string> &files);
/// The scenario's sensors in the format of examples/sensors.toml.
std::string SensorsToml(const Scenario &scenario);

}  // namespace darkscope::synth
