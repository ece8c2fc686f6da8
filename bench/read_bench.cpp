// Read speed of CaptureReader against libpcap on the same file: every packet's caplen is summed (and its first
// and last byte touched) so neither loop can skip work. Prints the median of N runs of each.
//
//   read_bench FILE [RUNS]      timings
//   read_bench --dump FILE      one line per packet: seconds.nanoseconds interface caplen wire_len (for diffs)

#include <pcap/pcap.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "capture/capture_reader.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct RunResult {
    double seconds = 0;
    uint64_t packets = 0;
    uint64_t bytes = 0;
};

RunResult RunDarkscope(const char *path) {
    RunResult r;
    auto start = Clock::now();
    darkscope::CaptureError error;
    auto reader = darkscope::CaptureReader::Open(path, error);
    if (!reader) {
        std::fprintf(stderr, "darkscope: %s: %s\n", path, error.message.c_str());
        std::exit(1);
    }
    darkscope::RawPacket packet;
    uint64_t touch = 0;
    while (reader->Next(packet)) {
        ++r.packets;
        r.bytes += packet.caplen;
        if (packet.caplen) touch += packet.data[0] + packet.data[packet.caplen - 1];
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (reader->Error()) std::fprintf(stderr, "darkscope: %s: %s\n", path, reader->Error()->message.c_str());
    r.bytes += touch & 1;  // keep `touch` alive
    return r;
}

RunResult RunLibpcap(const char *path) {
    RunResult r;
    auto start = Clock::now();
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, errbuf);
    if (!p) {
        r.seconds = -1;  // libpcap cannot read it (compressed, for one): reported as such
        return r;
    }
    pcap_pkthdr *header;
    const u_char *data;
    uint64_t touch = 0;
    while (pcap_next_ex(p, &header, &data) == 1) {
        ++r.packets;
        r.bytes += header->caplen;
        if (header->caplen) touch += data[0] + data[header->caplen - 1];
    }
    pcap_close(p);
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    r.bytes += touch & 1;
    return r;
}

int Dump(const char *path) {
    darkscope::CaptureError error;
    auto reader = darkscope::CaptureReader::Open(path, error);
    if (!reader) {
        std::printf("error: offset %" PRIu64 ": %s\n", error.offset, error.message.c_str());
        return 1;
    }
    darkscope::RawPacket packet;
    while (reader->Next(packet)) {
        std::printf("%" PRId64 ".%09" PRId64 "\t%u\t%u\t%u\t%u\n", packet.ts / darkscope::NS_PER_SEC,
                    packet.ts % darkscope::NS_PER_SEC, packet.interface_id, packet.caplen, packet.wire_len,
                    packet.link_type);
    }
    if (reader->Error()) {
        std::printf("error: offset %" PRIu64 ": %s\n", reader->Error()->offset, reader->Error()->message.c_str());
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc >= 3 && std::strcmp(argv[1], "--dump") == 0) return Dump(argv[2]);
    if (argc < 2) {
        std::fprintf(stderr, "usage: read_bench FILE [RUNS] | read_bench --dump FILE\n");
        return 2;
    }
    int runs = argc > 2 ? std::atoi(argv[2]) : 5;
    std::vector<RunResult> ours, theirs;
    for (int i = 0; i < runs; ++i) {
        ours.push_back(RunDarkscope(argv[1]));
        theirs.push_back(RunLibpcap(argv[1]));
    }
    auto report = [](const char *name, std::vector<RunResult> &results) {
        std::sort(results.begin(), results.end(), [](auto &a, auto &b) { return a.seconds < b.seconds; });
        const RunResult &m = results[results.size() / 2];
        if (m.seconds < 0) {
            std::printf("%-10s cannot read this file\n", name);
            return;
        }
        std::printf("%-10s %10" PRIu64 " packets %12" PRIu64 " bytes  median %8.2f ms  %7.2f Mpkt/s  %7.2f GB/s\n",
                    name, m.packets, m.bytes, m.seconds * 1e3, m.packets / m.seconds / 1e6,
                    m.bytes / m.seconds / 1e9);
    };
    report("darkscope", ours);
    report("libpcap", theirs);
    return 0;
}
