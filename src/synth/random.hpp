#pragma once
/// The synthesiser's randomness: xoshiro256** seeded through splitmix64 (Blackman and Vigna), chosen because its
/// output is specified bit for bit (std::mt19937 is too, but std:: distributions are not), so a seed gives the same
/// bytes on every compiler and platform. Distributions are written out here for the same reason.

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

namespace darkscope::synth {

/// splitmix64: expands one 64-bit seed into well-mixed words (also used to derive sub-seeds).
inline uint64_t SplitMix64(uint64_t &state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/// A stateless mix of one value (for per-source constants derived from the address).
inline uint64_t Mix64(uint64_t x) {
    uint64_t s = x;
    return SplitMix64(s);
}

class Rng {
public:
    explicit Rng(uint64_t seed) {
        for (auto &w : s_)
            w = SplitMix64(seed);
    }
    /// A generator for a named purpose: independent streams whose output does not depend on how much another
    /// stream consumed (adding a component to a scenario does not shift the others' addresses).
    static Rng Derive(uint64_t seed, uint64_t purpose) {
        uint64_t s = seed ^ Mix64(purpose + 0x51ED270B27A4C3A5ull);
        return Rng(SplitMix64(s));
    }

    uint64_t Next() {
        uint64_t result = Rotl(s_[1] * 5, 7) * 9;
        uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = Rotl(s_[3], 45);
        return result;
    }
    uint32_t Next32() { return uint32_t(Next() >> 32); }
    uint16_t Next16() { return uint16_t(Next() >> 48); }
    /// Uniform in [0, n) (Lemire's multiply-shift; the bias for n << 2^32 is below 2^-32 and the same everywhere).
    uint32_t Below(uint32_t n) { return uint32_t((uint64_t(Next32()) * n) >> 32); }
    uint64_t Below64(uint64_t n) { return uint64_t((static_cast<unsigned __int128>(Next()) * n) >> 64); }
    /// Uniform in [lo, hi].
    uint32_t Between(uint32_t lo, uint32_t hi) { return lo + Below(hi - lo + 1); }
    /// Uniform in [0, 1) with 53 bits.
    double Uniform() { return double(Next() >> 11) * 0x1.0p-53; }
    /// Uniform in (0, 1].
    double UniformOpen() { return double((Next() >> 11) + 1) * 0x1.0p-53; }
    /// Exponential with the given rate (mean 1/rate).
    double Exponential(double rate) { return -std::log(UniformOpen()) / rate; }
    /// Pareto with minimum 1 and shape alpha (heavy tail: alpha <= 2 has infinite variance).
    double Pareto(double alpha) { return std::pow(UniformOpen(), -1.0 / alpha); }
    bool Chance(double p) { return Uniform() < p; }

private:
    static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
};

/// Walker/Vose alias table: picks index i with probability weight[i] / sum in O(1).
class AliasTable {
public:
    AliasTable() = default;
    explicit AliasTable(std::span<const double> weights) { Build(weights); }

    void Build(std::span<const double> weights) {
        size_t n = weights.size();
        prob_.assign(n, 0);
        alias_.assign(n, 0);
        if (n == 0) return;
        double sum = 0;
        for (double w : weights)
            sum += w;
        // Scratch kept between builds: churning components rebuild their table every slice.
        scaled_.resize(n);
        small_.clear();
        large_.clear();
        for (size_t i = 0; i < n; ++i) {
            scaled_[i] = sum > 0 ? weights[i] * double(n) / sum : 1.0;
            (scaled_[i] < 1.0 ? small_ : large_).push_back(uint32_t(i));
        }
        while (!small_.empty() && !large_.empty()) {
            uint32_t s = small_.back(), l = large_.back();
            small_.pop_back();
            prob_[s] = scaled_[s];
            alias_[s] = l;
            scaled_[l] = scaled_[l] + scaled_[s] - 1.0;
            if (scaled_[l] < 1.0) {
                large_.pop_back();
                small_.push_back(l);
            }
        }
        for (uint32_t i : large_)
            prob_[i] = 1.0;
        for (uint32_t i : small_)
            prob_[i] = 1.0;  // rounding leftovers
    }
    uint32_t Pick(Rng &rng) const {
        uint64_t r = rng.Next();
        uint32_t i = uint32_t((uint64_t(uint32_t(r)) * prob_.size()) >> 32);
        double u = double(r >> 43) * 0x1.0p-21;
        return u < prob_[i] ? i : alias_[i];
    }
    size_t Size() const { return prob_.size(); }
    bool Empty() const { return prob_.empty(); }

private:
    std::vector<double> prob_;
    std::vector<uint32_t> alias_;
    std::vector<double> scaled_;
    std::vector<uint32_t> small_, large_;
};

}  // namespace darkscope::synth
