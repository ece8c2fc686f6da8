// Link type and enum names for messages and reports.

#include <cstdio>

#include "capture/capture_reader.hpp"
#include "capture/raw_packet.hpp"

namespace darkscope {

bool IsSupportedLinkType(uint32_t link_type) {
    switch (link_type) {
    case LINKTYPE_NULL:
    case LINKTYPE_ETHERNET:
    case LINKTYPE_RAW:
    case LINKTYPE_LOOP:
    case LINKTYPE_LINUX_SLL:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
    case LINKTYPE_LINUX_SLL2:
    case LINKTYPE_DLT_RAW_12:
    case LINKTYPE_DLT_RAW_14:
        return true;
    default:
        return false;
    }
}

const char *LinkTypeName(uint32_t link_type) {
    switch (link_type) {
    case LINKTYPE_NULL: return "NULL";
    case LINKTYPE_ETHERNET: return "ETHERNET";
    case LINKTYPE_RAW: return "RAW";
    case LINKTYPE_LOOP: return "LOOP";
    case LINKTYPE_LINUX_SLL: return "LINUX_SLL";
    case LINKTYPE_IPV4: return "IPV4";
    case LINKTYPE_IPV6: return "IPV6";
    case LINKTYPE_LINUX_SLL2: return "LINUX_SLL2";
    case LINKTYPE_DLT_RAW_12: return "DLT_RAW (12)";
    case LINKTYPE_DLT_RAW_14: return "DLT_RAW (14)";
    // Unsupported but common enough that naming them makes the skip message useful.
    case 9: return "PPP";
    case 105: return "IEEE802_11";
    case 127: return "IEEE802_11_RADIOTAP";
    case 147: return "USER0";
    case 160: return "USER13";
    case 239: return "NFLOG";
    default: break;
    }
    // Unknown values are rare (one message per skipped file), so a per-thread buffer is enough.
    thread_local char text[40];
    std::snprintf(text, sizeof text, "unknown link type %u", link_type);
    return text;
}

const char *CaptureFormatName(CaptureFormat f) {
    switch (f) {
    case CaptureFormat::PCAP: return "pcap";
    case CaptureFormat::PCAPNG: return "pcapng";
    }
    return "unknown";
}

const char *CompressionName(Compression c) {
    switch (c) {
    case Compression::NONE: return "none";
    case Compression::GZIP: return "gzip";
    case Compression::ZSTD: return "zstd";
    case Compression::XZ: return "xz";
    }
    return "unknown";
}

}  // namespace darkscope
