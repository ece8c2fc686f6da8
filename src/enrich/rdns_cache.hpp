#pragma once
/// The reverse-DNS cache of a store (table rdns, filled by `darkscope enrich rdns`) as the research
/// label sees it. One reading for everyone: ingest labels these sources (LabelResearchForStore),
/// `enrich rdns` counts them and summary reports those that earlier ingests did not label, so that
/// the three never disagree on which sources reverse DNS names research scanners.

#include <cstdint>
#include <vector>

#include "common/ip_address.hpp"
#include "enrich/research.hpp"
#include "store/store.hpp"

namespace darkscope {

struct RdnsResearchSource {
    IpAddress address;
    uint16_t entry = 0;  // 1-based ResearchList entry whose reverse-DNS pattern matched the cached name
};

/// The sources whose cached PTR name matches a reverse-DNS pattern of the list (ResearchList::MatchName),
/// sorted by address, one each. Records without a name (nxdomain, timeouts) and unparsable addresses
/// are left out.
std::vector<RdnsResearchSource> ResearchByRdns(Store &store, const ResearchList &list);

struct RdnsCopyCounts {
    size_t copied = 0;       // records written into the target
    size_t kept_newer = 0;   // the target already held an answer at least as recent for the address
};

/// Copies the reverse-DNS cache of `from` into `into`, in one transaction of `into`'s: for each address,
/// the more recent answer of the two stores is kept (an answer is never replaced by an older one).
/// `from` is only read. Throws StoreError (and rolls `into` back) when either store fails.
RdnsCopyCounts CopyRdnsCache(Store &from, Store &into);

}  // namespace darkscope
