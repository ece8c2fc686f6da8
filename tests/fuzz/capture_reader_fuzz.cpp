// libFuzzer target for the capture readers (after PcapPlusPlus Tests/Fuzzers/FuzzTarget.cpp): the input is a whole
// file, possibly compressed, opened from memory; every byte of every packet is read so ASan sees any overrun.

#include <cstddef>
#include <cstdint>

#include "capture/capture_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    darkscope::CaptureError error;
    auto reader = darkscope::CaptureReader::OpenMemory({data, size}, error);
    if (!reader) return 0;
    darkscope::RawPacket packet;
    volatile uint8_t sink = 0;
    uint8_t sum = 0;
    while (reader->Next(packet)) {
        for (uint32_t i = 0; i < packet.caplen; ++i) sum ^= packet.data[i];
        if (packet.wire_len < packet.caplen) __builtin_trap();  // the reader promises wire_len >= caplen
    }
    sink = sum;
    (void)sink;
    (void)reader->DiskBytesRead();
    return 0;
}
