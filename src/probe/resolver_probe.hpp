#pragma once
/// Open-resolver probing (`darkscope probe resolvers`): one recursive query (RD=1) for a name the operator does
/// not own, `dig +short test.openresolver.com TXT @target` in the DNS paper's words, sent with c-ares to each
/// target that the exclusion list allows, rate-limited by a token bucket; the answer decides open, not-open or
/// no-answer.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.hpp"
#include "probe/exclusion.hpp"

namespace darkscope::probe {

enum class ResolverStatus : uint8_t { OPEN, NOT_OPEN, NO_ANSWER };
/// "open", "not-open", "no-answer": the store's words.
std::string_view ResolverStatusName(ResolverStatus s);
std::optional<ResolverStatus> ParseResolverStatus(std::string_view text);

struct ResolverProbeOptions {
    std::string name = "test.openresolver.com";
    uint16_t qtype = 16;  // TXT
    /// An answer record whose data contains this (byte for byte) marks the target open; empty: any answer
    /// record of the queried type does.
    std::string expect = "open-resolver-detected";
    uint16_t port = 53;
    unsigned concurrency = 64;  // queries outstanding at once, at most
    double rate = 100;          // queries (first tries and retries alike) started per second, at most
    int timeout_ms = 2000;      // per try
    int retries = 1;            // tries after a timeout; an ICMP port unreachable is final
};

/// What one answer (or its absence) says.
struct ResolverVerdict {
    ResolverStatus status = ResolverStatus::NO_ANSWER;
    std::string detail;  // in words, wire text escaped (EscapeWireText)
};

struct ResolverProbeResult {
    IpAddress address;
    ResolverStatus status = ResolverStatus::NO_ANSWER;
    std::string detail;
    int tries = 0;
    std::chrono::system_clock::time_point finished_at;
};

/// Classifies one DNS response to the probe's query: open when an answer record of `qtype` holds `expect`;
/// not-open for any other DNS answer (its rcode, RA=0, no answer, another answer), with the reason in detail.
ResolverVerdict ClassifyResolverResponse(std::span<const uint8_t> message, uint16_t qtype, std::string_view expect);

/// Type by mnemonic (TXT, A, AAAA, ANY, ...) or RFC 3597 form (TYPE16); nullopt when unknown.
std::optional<uint16_t> ParseQueryType(std::string_view text);
std::string QueryTypeName(uint16_t qtype);

/// A token bucket holding at most one token: queries start evenly spaced, 1/rate apart, never in bursts.
class TokenBucket {
public:
    using Clock = std::chrono::steady_clock;
    explicit TokenBucket(double rate, Clock::time_point start = Clock::now());
    /// Takes the token if it is there at `now`.
    bool TryTake(Clock::time_point now);
    /// When the next token is there.
    Clock::time_point NextToken() const { return next_; }

private:
    Clock::duration interval_;
    Clock::time_point next_;
};

/// Probes every target the exclusion list allows; the others are never sent anything and come back in
/// `refused`. `on_result` is called once per allowed target, in completion order, on the calling thread.
/// Throws std::runtime_error when c-ares cannot start or the query cannot be built (a name too long).
TargetPartition ProbeResolvers(const std::vector<IpAddress> &targets, const ExclusionList &exclusion,
                               const ResolverProbeOptions &options,
                               const std::function<void(ResolverProbeResult &&)> &on_result);

}  // namespace darkscope::probe
