// RadixSort (src/aggregate/segment.cpp) against std::sort on the two shapes the store sorts: a builder's
// (key << 32 | source) pairs, sorted on the key half (sources already ascending), and a day's union of 32-bit
// sources. Median of 5 runs per size, in ns per value; the sizes straddle RadixSort's cut-over (1024).
// Usage: sort_bench

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "aggregate/segment.hpp"

namespace {

template <typename Sort>
double MedianNsPerValue(const std::vector<uint64_t> &input, Sort sort, uint64_t &checksum) {
    std::vector<double> runs;
    std::vector<uint64_t> values, scratch;
    const size_t reps = std::max<size_t>(3, 2'000'000 / input.size());
    for (int run = 0; run < 5; ++run) {
        double ns = 0;
        for (size_t r = 0; r < reps; ++r) {
            values = input;
            const auto start = std::chrono::steady_clock::now();
            sort(values, scratch);
            ns += std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
            checksum += values[values.size() / 2];
        }
        runs.push_back(ns / double(reps * input.size()));
    }
    std::sort(runs.begin(), runs.end());
    return runs[2];
}

}  // namespace

int main() {
    std::mt19937_64 rng(1);
    uint64_t checksum = 0;  // keeps the sorted values observable
    std::printf("%-18s %9s %14s %14s\n", "shape", "values", "RadixSort ns", "std::sort ns");
    for (int shape = 0; shape < 2; ++shape) {
        for (size_t n : {500, 1000, 2000, 5000, 20000, 100000, 1000000}) {
            std::vector<uint64_t> input(n);
            if (shape == 0) {
                // A builder's pairs: a few thousand keys, sources in ascending order.
                std::vector<uint32_t> sources(n);
                for (uint32_t &s : sources) s = uint32_t(rng());
                std::sort(sources.begin(), sources.end());
                for (size_t i = 0; i < n; ++i) input[i] = (rng() % 2000) << 32 | sources[i];
            } else {
                for (uint64_t &v : input) v = uint32_t(rng());  // a day's sources of one key
            }
            const int from_bit = shape == 0 ? 32 : 0;
            const double radix = MedianNsPerValue(
                input, [&](auto &v, auto &s) { darkscope::RadixSort(v, s, from_bit); }, checksum);
            const double comparison =
                MedianNsPerValue(input, [](auto &v, auto &) { std::sort(v.begin(), v.end()); }, checksum);
            std::printf("%-18s %9zu %14.2f %14.2f\n", shape == 0 ? "builder pairs" : "day sources", n, radix,
                        comparison);
        }
    }
    std::printf("checksum %llu\n", static_cast<unsigned long long>(checksum));
}
