#include "classify/traffic_class.hpp"

namespace darkscope {

std::optional<TrafficClass> ParseTrafficClass(std::string_view name) {
    for (int i = 0; i < int(TrafficClass::COUNT); ++i) {
        if (TRAFFIC_CLASS_NAMES[i] == name) return TrafficClass(i);
    }
    return std::nullopt;
}

}  // namespace darkscope
