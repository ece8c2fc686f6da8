#pragma once
// Helpers of the synth tests: a sink that keeps every frame, and decoding through the project's own decoder.

#include <cstdint>
#include <string>
#include <vector>

#include "capture/raw_packet.hpp"
#include "decode/decoder.hpp"
#include "synth/generator.hpp"

namespace darkscope::synth::test {

struct Frame {
    TimestampNs ts;
    std::vector<uint8_t> bytes;
};

class MemorySink final : public PacketSink {
public:
    void Write(TimestampNs ts, const uint8_t *frame, size_t len) override {
        frames.push_back({ts, {frame, frame + len}});
    }
    std::vector<Frame> frames;
};

inline DecodedPacket DecodeFrame(const Frame &f) {
    RawPacket raw;
    raw.ts = f.ts;
    raw.data = f.bytes.data();
    raw.caplen = raw.wire_len = uint32_t(f.bytes.size());
    raw.link_type = LINKTYPE_ETHERNET;
    DecodedPacket d;
    Decode(raw, d);
    return d;
}

/// A small scenario: two IPv4 sensors (one per provider) and one IPv6 network; `body` adds components.
inline std::string SmallScenario(const std::string &body, const std::string &start = "2024-10-01",
                                 const std::string &end = "2024-10-02") {
    return "[scenario]\nname = \"t\"\nstart = " + start + "\nend = " + end +
           "\n\n[[sensor]]\nname = \"uni\"\nnetworks = [\"198.51.100.0/24\", \"2001:db8:1::/120\"]\nprovider = "
           "\"university\"\n\n[[sensor]]\nname = \"cloud\"\nnetworks = [\"203.0.113.0/25\"]\nprovider = \"cloud "
           "X\"\n\n" +
           body;
}

}  // namespace darkscope::synth::test
