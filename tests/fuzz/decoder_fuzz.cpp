// libFuzzer target for Decode + Classify: the first byte picks the link type, the rest is one frame
// (one packet per input, as Zeek's packet-fuzzer). Corpus: tests/fuzz/corpus/decoder/.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "classify/classifier.hpp"
#include "decode/decoder.hpp"

using namespace darkscope;

namespace {

constexpr uint32_t LINK_TYPES[] = {
    LINKTYPE_ETHERNET, LINKTYPE_RAW,  LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2,  LINKTYPE_NULL,
    LINKTYPE_LOOP,     LINKTYPE_IPV4, LINKTYPE_IPV6,      LINKTYPE_DLT_RAW_12, LINKTYPE_DLT_RAW_14,
    160,  // an unsupported one: must be counted, not crash
};
constexpr size_t LINK_TYPE_COUNT = sizeof LINK_TYPES / sizeof LINK_TYPES[0];

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    // Selector byte: low bits pick the link type; bit 7 says "frame was longer on the wire" (snaplen cut).
    uint8_t selector = data[0];
    // A heap copy of exactly the frame's bytes, so that ASan catches any read past caplen.
    std::vector<uint8_t> frame(data + 1, data + size);
    RawPacket raw;
    raw.data = frame.data();
    raw.caplen = uint32_t(frame.size());
    raw.wire_len = raw.caplen + ((selector & 0x80) ? 1000 : 0);
    raw.link_type = LINK_TYPES[(selector & 0x7F) % LINK_TYPE_COUNT];

    DecodedPacket pkt;
    Decode(raw, pkt);
    ClassifiedPacket cls;
    Classify(pkt, cls);

    // Touch every payload byte: a payload pointer outside the frame shows up under ASan here.
    if (pkt.payload_len != 0) {
        if (pkt.payload < frame.data() || pkt.payload + pkt.payload_len > frame.data() + frame.size()) std::abort();
        volatile uint8_t sink = 0;
        for (uint32_t i = 0; i < pkt.payload_len; ++i) sink = sink ^ pkt.payload[i];
    }
    if (pkt.ip_version != 0 && pkt.dst.family != pkt.ip_version) std::abort();
    if (int(cls.cls) >= int(TrafficClass::COUNT)) std::abort();
    if (pkt.events >> int(DecodeEvent::COUNT)) std::abort();
    (void)cls.service.ToString();
    return 0;
}
