#pragma once
/// Reverse DNS (PTR) of source addresses with c-ares: concurrent, rate-limited, opt-in
/// (`darkscope enrich rdns`). Only the resolver named (or the system's) is ever sent a packet.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/ip_address.hpp"

namespace darkscope {

struct RdnsOptions {
    /// "ADDR" or "ADDR:PORT" ("[v6]:PORT"); empty: the system's resolvers (/etc/resolv.conf).
    std::string resolver;
    double rate = 50;          // queries started per second, at most
    unsigned concurrency = 64;  // queries outstanding at once, at most
    int timeout_ms = 2000;      // per try
    int tries = 2;
};

struct RdnsAnswer {
    IpAddress address;
    std::string name;    // PTR name, empty when none
    std::string status;  // ok, nxdomain, nodata, timeout, error: <c-ares message>
};

/// Resolves every address; `on_answer` is called once per address, in completion order, on the
/// calling thread. Throws std::runtime_error when c-ares cannot start or the resolver is malformed.
void ResolvePtr(const std::vector<IpAddress> &addresses, const RdnsOptions &options,
                const std::function<void(RdnsAnswer &&)> &on_answer);

}  // namespace darkscope
