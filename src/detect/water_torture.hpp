#pragma once
/// Water torture (random-subdomain floods): many distinct names under one zone within an hour, each asked
/// about once or a few times, so that no resolver cache absorbs them and the zone's authoritative servers take
/// every query. A darknet sees it two ways: the flood's queries sent to its addresses, and the answers
/// (NXDOMAIN, SERVFAIL) of resolvers to queries spoofed with its addresses as source. Either way what marks it
/// is the number of distinct names under the zone, which the DNS study keeps per zone and hour
/// (dns::ZoneHour, exact up to dns::CappedSet::CAP).
///
/// Over the stored records, like the surge detector: `darkscope detect` runs it, and it can be re-run with
/// other settings without reading the captures again.

#include <cstdint>
#include <vector>

#include "detect/event.hpp"

namespace darkscope {
class Store;
}

namespace darkscope::detect {

/// Defaults (docs/detectors.md):
///  - min_names 50: distinct names under the zone in one hour. The scanners a darknet sees ask for a handful
///    of fixed names (example.com, version.bind, their own probe name); 50 random labels an hour is a flood's
///    trickle at a small telescope (the demo's seeded flood leaves 100 an hour at 5% volume).
///  - min_share 0.5: distinct names over messages in the hour. A zone asked about often but always under the
///    same few names (a popular domain, a scanner's fixed probe) stays far below it; a random-label flood is
///    near 1. A set capped at dns::CappedSet::CAP counts as meeting it (a thousand distinct names an hour).
///  - gap 1: one hour below the bar inside a run does not split the event.
struct WaterTortureOptions {
    uint64_t min_names = 50;
    double min_share = 0.5;
    int gap = 1;
};

/// The events in the zone-hours of [from_hour, to_hour]: one per run of qualifying hours of a zone.
std::vector<DetectedEvent> DetectWaterTorture(Store &store, int64_t from_hour, int64_t to_hour,
                                              const WaterTortureOptions &options = {});

}  // namespace darkscope::detect
