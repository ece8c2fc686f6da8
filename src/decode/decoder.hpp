#pragma once
/// Link, IPv4, IPv6, TCP, UDP, ICMP and ICMPv6 decoding into a DecodedPacket. Never throws,
/// never reads outside the captured bytes: problems become DecodeEvents on the packet.

#include "capture/raw_packet.hpp"
#include "decode/decoded_packet.hpp"

namespace darkscope {

/// Decodes one frame. `out` is fully overwritten; its payload pointer refers into raw.data.
void Decode(const RawPacket &raw, DecodedPacket &out);

}  // namespace darkscope
