#pragma once
/// What a capture reader hands to the decoder: one record, its link type and where it was.

#include <cstdint>

#include "common/time.hpp"

namespace darkscope {

/// Link-layer header types, numbered as in https://www.tcpdump.org/linktypes.html.
enum LinkType : uint32_t {
    LINKTYPE_NULL = 0,         // BSD loopback: 4-byte address family in host byte order
    LINKTYPE_ETHERNET = 1,
    LINKTYPE_RAW = 101,        // raw IPv4 or IPv6, version from the first nibble
    LINKTYPE_LOOP = 108,       // OpenBSD loopback: address family in network byte order
    LINKTYPE_LINUX_SLL = 113,
    LINKTYPE_IPV4 = 228,
    LINKTYPE_IPV6 = 229,
    LINKTYPE_LINUX_SLL2 = 276,
    // Some writers use the DLT value 12 or 14 for raw IP.
    LINKTYPE_DLT_RAW_12 = 12,
    LINKTYPE_DLT_RAW_14 = 14,
};

/// True for the link types the decoder understands; other files are skipped with a message.
bool IsSupportedLinkType(uint32_t link_type);
/// "ETHERNET", "LINUX_SLL2", ... or "unknown link type 160".
const char *LinkTypeName(uint32_t link_type);

/// One captured frame. `data` stays valid until the reader's next call to Next().
struct RawPacket {
    TimestampNs ts = 0;
    const uint8_t *data = nullptr;
    uint32_t caplen = 0;        // bytes present in data
    uint32_t wire_len = 0;      // original length on the wire
    uint32_t link_type = LINKTYPE_ETHERNET;
    uint32_t interface_id = 0;  // pcapng interface index; 0 for pcap
    uint64_t offset = 0;        // byte offset of the record in the (decompressed) file
};

}  // namespace darkscope
