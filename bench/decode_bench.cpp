// Decode + Classify throughput over a capture held in memory: median of 5 runs, in ns/packet.
// Usage: decode_bench [file.pcap] (default /tmp/ibr-1m.pcap, classic pcap).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "classify/classifier.hpp"
#include "decode/decoder.hpp"
#include "pcap_test_util.hpp"

using namespace darkscope;

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/tmp/ibr-1m.pcap";
    auto file = testing::ReadPcap(path);
    if (!file || file->packets.empty()) {
        std::fprintf(stderr, "%s: cannot read as classic pcap (or no packets)\n", path);
        return 1;
    }
    const std::vector<RawPacket> &packets = file->packets;
    std::printf("%s: %zu packets, link type %u, sizeof(DecodedPacket) = %zu\n", path, packets.size(),
                file->link_type, sizeof(DecodedPacket));

    std::vector<double> runs;
    uint64_t checksum = 0;  // keeps the work observable so the loop is not optimised away
    for (int run = 0; run < 5; ++run) {
        DecodedPacket pkt;
        ClassifiedPacket cls;
        uint64_t sum = 0;
        auto start = std::chrono::steady_clock::now();
        for (const RawPacket &raw : packets) {
            Decode(raw, pkt);
            Classify(pkt, cls);
            sum += cls.service.packed + uint32_t(cls.cls) + pkt.payload_len + pkt.events;
        }
        auto end = std::chrono::steady_clock::now();
        runs.push_back(std::chrono::duration<double, std::nano>(end - start).count() / double(packets.size()));
        checksum += sum;
    }
    std::sort(runs.begin(), runs.end());
    std::printf("decode+classify: median %.2f ns/packet (min %.2f, max %.2f) = %.1f Mpps; checksum %llu\n",
                runs[2], runs[0], runs[4], 1000.0 / runs[2], static_cast<unsigned long long>(checksum));

    // The same over the first 8192 packets, 100 times: packet bytes in cache, as they are right after a
    // reader has copied or decompressed them. The difference to the number above is memory latency.
    {
        size_t n = std::min<size_t>(packets.size(), 8192);
        std::vector<double> hot;
        for (int run = 0; run < 5; ++run) {
            DecodedPacket pkt;
            ClassifiedPacket cls;
            uint64_t sum = 0;
            auto start = std::chrono::steady_clock::now();
            for (int rep = 0; rep < 100; ++rep) {
                for (size_t i = 0; i < n; ++i) {
                    Decode(packets[i], pkt);
                    Classify(pkt, cls);
                    sum += cls.service.packed + uint32_t(cls.cls) + pkt.payload_len + pkt.events;
                }
            }
            auto end = std::chrono::steady_clock::now();
            hot.push_back(std::chrono::duration<double, std::nano>(end - start).count() / double(n * 100));
            checksum += sum;
        }
        std::sort(hot.begin(), hot.end());
        std::printf("decode+classify, packets in cache: median %.2f ns/packet (min %.2f, max %.2f) = %.1f Mpps\n",
                    hot[2], hot[0], hot[4], 1000.0 / hot[2]);
    }

    // The class mix, to tell what kind of traffic the number was measured on.
    std::vector<uint64_t> per_class(size_t(TrafficClass::COUNT));
    DecodedPacket pkt;
    ClassifiedPacket cls;
    for (const RawPacket &raw : packets) {
        Decode(raw, pkt);
        Classify(pkt, cls);
        ++per_class[size_t(cls.cls)];
    }
    for (size_t i = 0; i < per_class.size(); ++i)
        if (per_class[i])
            std::printf("  %-20s %llu\n", TRAFFIC_CLASS_NAMES[i].data(), (unsigned long long)per_class[i]);
    return 0;
}
