#pragma once
/// Factories for the format readers, used by CaptureReader::Open once the magic number is known.

#include <memory>

#include "capture/byte_source.hpp"
#include "capture/capture_reader.hpp"

namespace darkscope::detail {

/// Records larger than this are corruption, whatever a header claims (libpcap allows 256 KiB; pcapng blocks
/// carry options too, and 16 MiB keeps an absurd length from allocating gigabytes).
constexpr uint32_t MAX_PCAP_RECORD = 262144;
constexpr uint32_t MAX_PCAP_SNAPLEN_TRUSTED = 16u << 20;
constexpr uint32_t MAX_PCAPNG_BLOCK = 16u << 20;

/// `buffer` holds at least the 4 magic bytes. Reads the 24-byte file header; nullptr and `error` on failure.
std::unique_ptr<CaptureReader> MakePcapReader(BlockBuffer buffer, CaptureError &error);
/// Reads the first section's header blocks up to the first packet, so that an unsupported link type or a broken
/// header fails here rather than in Next().
std::unique_ptr<CaptureReader> MakePcapngReader(BlockBuffer buffer, CaptureError &error);

}  // namespace darkscope::detail
