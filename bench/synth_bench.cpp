// Speed of `darkscope synth`: packets generated and written per second on one core. Each run generates the same
// scenario (same seed: the same bytes) and writes it either to a pcap file or, with --sink null, nowhere (the
// generator alone: headers, checksums, payloads and the ground-truth counters). Prints every run and the median.
//
//   synth_bench [--scenario NAME|FILE] [--scale X] [--runs N] [--sink file|null] [--out DIR] [--format pcap|pcapng]
//
// Default: the built-in demo scenario at --scale 8 (about 10 million packets), 5 runs, pcap files under /tmp.
// Besides wall time it reports packets per CPU second of this process (CLOCK_PROCESS_CPUTIME_ID): on a machine
// shared with other work, that is what one core does when it is ours.

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "synth/capture_writer.hpp"
#include "synth/generator.hpp"
#include "synth/scenario.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace darkscope::synth;

double CpuSeconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

class NullSink final : public PacketSink {
public:
    void Write(darkscope::TimestampNs ts, const uint8_t *frame, size_t len) override {
        checksum_ += uint64_t(ts) ^ frame[len - 1] ^ len;  // touch the frame so nothing is optimised away
    }
    uint64_t checksum_ = 0;
};

}  // namespace

int main(int argc, char **argv) {
    std::string scenario = "demo", sink = "file", out = "/tmp/darkscope-synth-bench", format = "pcap";
    double scale = 8;
    int runs = 5;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "synth_bench: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--scenario")
            scenario = next();
        else if (a == "--scale")
            scale = std::atof(next().c_str());
        else if (a == "--runs")
            runs = std::atoi(next().c_str());
        else if (a == "--sink")
            sink = next();
        else if (a == "--out")
            out = next();
        else if (a == "--format")
            format = next();
        else {
            std::fprintf(stderr,
                         "usage: synth_bench [--scenario NAME|FILE] [--scale X] [--runs N] [--sink file|null] "
                         "[--out DIR] [--format pcap|pcapng]\n");
            return 2;
        }
    }
    Scenario sc = LoadScenario(scenario);
    WriterOptions wo;
    wo.format = format == "pcapng" ? CaptureFormat::PCAPNG : CaptureFormat::PCAP;
    std::filesystem::create_directories(out);
    std::vector<double> rates, cpu_rates;
    uint64_t packets = 0, bytes = 0;
    for (int run = 0; run < runs; ++run) {
        auto t0 = Clock::now();
        double c0 = CpuSeconds();
        Generator gen(sc, {sc.seed, scale});
        if (sink == "null") {
            NullSink s;
            gen.Run(s);
        } else {
            CaptureWriter w(out, sc.name, wo);
            gen.Run(w);
            w.Close();
            bytes = w.BytesWritten();
        }
        double secs = std::chrono::duration<double>(Clock::now() - t0).count();
        double cpu = CpuSeconds() - c0;
        packets = gen.GetTruth().packets;
        rates.push_back(double(packets) / secs);
        cpu_rates.push_back(double(packets) / cpu);
        std::printf("run %d: %llu packets in %.3f s (%.3f s CPU): %.2f M packets/s, %.2f M per CPU second\n", run + 1,
                    (unsigned long long)packets, secs, cpu, rates.back() / 1e6, cpu_rates.back() / 1e6);
    }
    std::sort(rates.begin(), rates.end());
    std::sort(cpu_rates.begin(), cpu_rates.end());
    std::printf(
        "synth_bench: scenario %s, scale %g, sink %s (%s), %llu packets, %.0f MB per run: median %.2f M "
        "packets/s over %d runs (min %.2f, max %.2f)\n",
        sc.name.c_str(), scale, sink.c_str(), format.c_str(), (unsigned long long)packets, double(bytes) / 1e6,
        rates[rates.size() / 2] / 1e6, runs, rates.front() / 1e6, rates.back() / 1e6);
    std::printf("synth_bench: median %.2f M packets per CPU second\n", cpu_rates[cpu_rates.size() / 2] / 1e6);
    if (sink != "null") std::filesystem::remove_all(out);
    return 0;
}
