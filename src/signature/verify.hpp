#pragma once
/// Per-thread state of rule verification: PCRE2 match data, reused across packets.

#include <cstdint>

#include "signature/rule.hpp"

struct pcre2_real_match_data_8;

namespace darkscope::sig {

struct VerifyScratch {
    VerifyScratch();
    ~VerifyScratch();
    VerifyScratch(const VerifyScratch &) = delete;
    VerifyScratch &operator=(const VerifyScratch &) = delete;
    pcre2_real_match_data_8 *match_data = nullptr;
    uint32_t steps = 0;  // payload-inspection steps left for the current rule (bounds backtracking)
};

/// A compiled pcre (JIT where available).
struct CompiledPcre {
    struct pcre2_real_code_8 *code = nullptr;
    ~CompiledPcre();
};

/// The header part: protocol, addresses, ports (either way for `<>`).
bool MatchHeader(const Rule &rule, const DecodedPacket &pkt);

}  // namespace darkscope::sig
