// rules_load_bench RULES... [--runs N]: parses the built-in set plus the files given and compiles
// them into the matcher, N times (default 5); prints the median parse, compile and total seconds.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "signature/matcher/matcher.hpp"
#include "signature/rule_parser.hpp"

using namespace darkscope::sig;

int main(int argc, char **argv) {
    std::vector<std::filesystem::path> files;
    int runs = 5;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
        else files.emplace_back(argv[i]);
    }
    using Clock = std::chrono::steady_clock;
    std::vector<double> parse, compile, total;
    size_t rules = 0, errors = 0, patterns = 0;
    for (int r = 0; r < runs; ++r) {
        auto t0 = Clock::now();
        RuleSet set = LoadRules(true, files, ParseOptions{});
        auto t1 = Clock::now();
        rules = set.rules.size();
        errors = set.errors.size() + set.skipped.size();
        Matcher matcher(std::move(set.rules));
        auto state = matcher.MakeState();
        auto t2 = Clock::now();
        patterns = matcher.GetStats().patterns;
        parse.push_back(std::chrono::duration<double>(t1 - t0).count());
        compile.push_back(std::chrono::duration<double>(t2 - t1).count());
        total.push_back(std::chrono::duration<double>(t2 - t0).count());
    }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    fmt::print("rules {} (errors+skipped {}), patterns {}, runs {}: median parse {:.3f} s, compile {:.3f} s, "
               "total {:.3f} s\n",
               rules, errors, patterns, runs, median(parse), median(compile), median(total));
    return 0;
}
