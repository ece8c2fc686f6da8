// libFuzzer target for ParseDns: the input is one UDP payload. Corpus: tests/fuzz/corpus/dns/
// (tests/fuzz/make_dns_corpus.py).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "decode/dns.hpp"

using namespace darkscope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // A heap copy of exactly the payload, so that ASan catches any read past it.
    std::vector<uint8_t> payload(data, data + size);
    DnsMessage m;
    const bool dns = ParseDns(payload.data(), uint32_t(payload.size()), m);
    if (!dns && m.error != DnsError::NOT_DNS) std::abort();
    if (m.size != size) std::abort();
    // The name is plain printable ASCII (escaped), and bounded by the 255 bytes a name may take on the wire:
    // at most 4 output bytes per name byte.
    if (m.qname.size() > 4 * 255) std::abort();
    for (char c : m.qname)
        if (c <= 0x20 || c >= 0x7F) std::abort();
    if (m.has_question && m.qname.empty()) std::abort();
    return 0;
}
