#include "enrich/rdns_cache.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>

namespace darkscope {

std::vector<RdnsResearchSource> ResearchByRdns(Store &store, const ResearchList &list) {
    std::vector<RdnsResearchSource> out;
    store.ScanRdns([&](const Store::RdnsRecord &r) {
        if (r.name.empty()) return;
        if (uint16_t entry = list.MatchName(r.name))
            if (auto address = IpAddress::Parse(r.address)) out.push_back({*address, entry});
    });
    // The table's key is the address text, so each address is there once; sorted for binary search.
    std::sort(out.begin(), out.end(),
              [](const RdnsResearchSource &a, const RdnsResearchSource &b) { return a.address < b.address; });
    return out;
}

RdnsCopyCounts CopyRdnsCache(Store &from, Store &into) {
    std::unordered_map<std::string, std::string> resolved_at;  // address -> time of the target's answer
    into.ScanRdns([&](const Store::RdnsRecord &r) { resolved_at[r.address] = r.resolved_at; });
    RdnsCopyCounts counts;
    into.Begin();
    try {
        from.ScanRdns([&](const Store::RdnsRecord &r) {
            // The times are all written as FormatTimestamp does ("2024-12-18T05:00:00Z"): text order is time order.
            if (auto it = resolved_at.find(r.address); it != resolved_at.end() && it->second >= r.resolved_at) {
                ++counts.kept_newer;
                return;
            }
            into.PutRdns(r);
            ++counts.copied;
        });
        into.Commit();
    } catch (...) {
        into.Rollback();
        throw;
    }
    return counts;
}

}  // namespace darkscope
