#pragma once
/// The DNS study's tables and plots (seed 004) from the store: Table 3 (per month: packets and unique sources
/// of open and non-open resolvers), Table 4 (per day: queries and responses of each), Table 2 (device
/// classes), the per-day unique sources against packets (figures 5-7) and the per-source scatter (mean
/// inter-arrival time against packets). "Open" is the latest resolver probe of the source
/// (`darkscope probe resolvers`, or `probe import-resolvers`); every other source, probed or not, is
/// non-open, as in the paper, and the JSON says how many were not probed at all.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace darkscope {

class Store;

namespace dns {

struct StudyOptions {
    int64_t from_day = 0;
    int64_t to_day = 0;
    bool exclude_research = false;  // leave out sources labelled research scanners (the paper's Table 6)
    size_t top = 20;                // rows of the top-zone and top-source tables
};

/// Everything the `dns` command and the report's DNS section show; docs/dns.md documents the fields.
/// Strings taken from packets (names, zones) are in DNS presentation form (printable ASCII with \DDD
/// escapes) and must still be escaped by whatever shows them.
nlohmann::ordered_json BuildStudy(Store &store, const StudyOptions &options);

}  // namespace dns
}  // namespace darkscope
