#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "app/commands.hpp"
#include "synth/capture_writer.hpp"
#include "synth/generator.hpp"
#include "synth/scenario.hpp"
#include "synth/truth.hpp"

namespace darkscope::app {
namespace {

namespace fs = std::filesystem;

struct SynthArgs {
    std::string scenario;
    bool list = false;
    std::optional<uint64_t> seed;
    std::string out = "synth-out";
    std::string format = "pcap";
    std::string rotate;
    std::string compress = "none";
    double scale = 1.0;
    bool quiet = false;
    bool no_progress = false;
};

int List() {
    for (auto &b : synth::BuiltinScenarios()) {
        try {
            auto sc = synth::ParseScenario(b.text, fmt::format("built-in scenario {}", b.name));
            fmt::print("{:<14} {} .. {}  {}\n", b.name, FormatDay(DayOf(sc.start)), FormatDay(DayOf(sc.end - 1)),
                       sc.description);
        } catch (const std::exception &e) {
            fmt::print("{:<14} (does not parse: {})\n", b.name, e.what());
        }
    }
    return EXIT_OK;
}

// Where the outputs go: --out DIR (stem = scenario name), or --out FILE.pcap[.gz|.zst] (stem from the file).
bool SplitOut(const std::string &out, const synth::WriterOptions &o, fs::path &dir, std::string &stem) {
    std::string name = fs::path(out).filename().string();
    for (const char *ext : {".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz", ".pcap.zst", ".pcapng.zst"}) {
        std::string e = ext;
        if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) {
            if (o.rotate_hourly) return false;
            dir = fs::path(out).parent_path();
            if (dir.empty()) dir = ".";
            stem = name.substr(0, name.size() - e.size());
            if (synth::CaptureFileName(stem, o, std::nullopt) != name) return false;
            return true;
        }
    }
    dir = out;
    return true;
}

int RunSynth(const SynthArgs &args) {
    if (args.list) return List();
    if (args.scenario.empty()) {
        fmt::print(stderr, "darkscope synth: give --scenario NAME|FILE (see --list)\n");
        return EXIT_USAGE;
    }
    synth::WriterOptions wo;
    auto format = synth::ParseCaptureFormat(args.format);
    auto compression = synth::ParseCompression(args.compress);
    if (!format) {
        fmt::print(stderr, "darkscope synth: --format {}: expected pcap or pcapng\n", args.format);
        return EXIT_USAGE;
    }
    if (!compression) {
        fmt::print(stderr, "darkscope synth: --compress {}: expected none, gz or zst\n", args.compress);
        return EXIT_USAGE;
    }
    if (!args.rotate.empty() && args.rotate != "hourly" && args.rotate != "none") {
        fmt::print(stderr, "darkscope synth: --rotate {}: expected hourly\n", args.rotate);
        return EXIT_USAGE;
    }
    if (!(args.scale > 0)) {
        fmt::print(stderr, "darkscope synth: --scale must be above 0\n");
        return EXIT_USAGE;
    }
    wo.format = *format;
    wo.compression = *compression;
    // --out FILE names its format and compression: take them from the name when the options were left at default.
    std::string out_name = fs::path(args.out).filename().string();
    auto ends = [&](std::string_view e) { return out_name.size() > e.size() && out_name.ends_with(e); };
    if (args.compress == "none" && ends(".gz")) wo.compression = synth::Compression::GZIP;
    if (args.compress == "none" && ends(".zst")) wo.compression = synth::Compression::ZSTD;
    if (args.format == "pcap" && (ends(".pcapng") || ends(".pcapng.gz") || ends(".pcapng.zst")))
        wo.format = synth::CaptureFormat::PCAPNG;
    wo.rotate_hourly = args.rotate == "hourly";

    synth::Scenario sc;
    try {
        sc = synth::LoadScenario(args.scenario);
    } catch (const std::exception &e) {
        fmt::print(stderr, "darkscope synth: {}\n", e.what());
        return EXIT_USAGE;
    }
    fs::path dir;
    std::string stem = sc.name;
    if (!SplitOut(args.out, wo, dir, stem)) {
        fmt::print(stderr,
                   "darkscope synth: --out {}: a capture file name ends in .pcap or .pcapng, then .gz or .zst, "
                   "matching --format and --compress (here {}); --rotate hourly needs a directory\n",
                   args.out, synth::CaptureFileName("NAME", wo, std::nullopt));
        return EXIT_USAGE;
    }
    synth::GeneratorOptions go;
    go.seed = args.seed.value_or(sc.seed);
    go.scale = args.scale;

    auto t0 = std::chrono::steady_clock::now();
    try {
        fs::create_directories(dir);
        synth::Generator gen(sc, go);
        synth::CaptureWriter writer(dir, stem, wo);
        const bool show_progress = !args.quiet && !args.no_progress && isatty(STDERR_FILENO);
        auto last = std::chrono::steady_clock::now();
        auto progress = [&](double f) {
            auto now = std::chrono::steady_clock::now();
            if (now - last < std::chrono::milliseconds(100) && f < 1.0) return;
            last = now;
            std::fprintf(stderr, "\rdarkscope synth: %s %5.1f%%  %s packets   ", sc.name.c_str(), f * 100,
                         fmt::format("{}", gen.GetTruth().packets).c_str());
            std::fflush(stderr);
        };
        gen.Run(writer, show_progress ? std::function<void(double)>(progress) : std::function<void(double)>());
        writer.Close();
        if (show_progress) std::fprintf(stderr, "\r%*s\r", 70, "");

        std::vector<std::string> names;
        for (auto &f : writer.Files())
            names.push_back(f.filename().string());
        auto truth_path = dir / (stem + ".truth.json");
        auto sensors_path = dir / (stem + ".sensors.toml");
        {
            std::ofstream t(truth_path);
            t << synth::TruthToJson(sc, gen.GetTruth(), names).dump(1) << "\n";
            std::ofstream s(sensors_path);
            s << synth::SensorsToml(sc);
            if (!t || !s) throw std::runtime_error(fmt::format("{}: cannot write the ground truth", dir.string()));
        }
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!args.quiet) {
            const auto &truth = gen.GetTruth();
            fmt::print(stderr,
                       "darkscope synth: scenario {} (seed {}, scale {}): {} packets from {} sources in {} file{} "
                       "under {} ({:.1f} MB) in {:.2f} s\n  ground truth: {}\n  sensors:      {}\n",
                       sc.name, go.seed, go.scale, truth.packets, truth.sources.size(), names.size(),
                       names.size() == 1 ? "" : "s", dir.string(), double(writer.BytesWritten()) / 1e6, secs,
                       truth_path.string(), sensors_path.string());
        }
    } catch (const std::exception &e) {
        fmt::print(stderr, "darkscope synth: {}\n", e.what());
        return EXIT_SOME_FAILED;
    }
    return EXIT_OK;
}

}  // namespace

void RegisterSynth(CLI::App &app, int &exit_code) {
    auto args = std::make_shared<SynthArgs>();
    auto *cmd = app.add_subcommand("synth", "Write a synthetic darknet capture with its ground truth");
    cmd->footer(
        "A scenario (TOML: docs/synth.md, examples/scenario.toml) names sensors, a time range,\n"
        "background populations (scanners by tool: zmap, masscan, mirai, nmap, OS stacks; research\n"
        "scanners; worms; BitTorrent DHT) and events (surges, new services, spoofed DNS to every\n"
        "sensor, open-resolver reflection, DoS backscatter, DNS water torture). synth writes, under\n"
        "--out:\n"
        "  NAME.pcap (or hourly NAME-YYYYMMDDHH.pcap, .pcapng, .gz, .zst)  the frames, in time order\n"
        "  NAME.truth.json    every event and source with its true labels and packet counts\n"
        "  NAME.sensors.toml  the sensors, for `darkscope ingest --sensors`\n"
        "The same scenario, seed and scale give the same bytes. Packet rates are Poisson per\n"
        "source with heavy-tailed (Pareto) per-source rates; checksums are valid.\n\n"
        "Examples:\n"
        "  darkscope synth --list\n"
        "  darkscope synth --scenario demo --out demo/\n"
        "  darkscope ingest --sensors demo/demo.sensors.toml demo/demo.pcap\n"
        "  darkscope synth --scenario 2013Q1 --scale 0.1 --rotate hourly --compress zst --out q1/\n"
        "  darkscope ingest --sensors q1/2013Q1.sensors.toml 'q1/*.pcap.zst'\n"
        "  darkscope synth --scenario my.toml --seed 42 --out my.pcapng.gz\n\n"
        "Exit status: 0 written; 1 an output could not be written; 2 bad usage or scenario (the\n"
        "message names the file, line and reason).");
    cmd->add_option("--scenario,-s", args->scenario, "A built-in scenario name (see --list) or a scenario file");
    cmd->add_flag("--list", args->list, "List the built-in scenarios and exit");
    cmd->add_option("--seed", args->seed, "Random seed (default: the scenario's); same seed, same bytes");
    cmd->add_option("--out,-o", args->out, "Output directory, or a capture file name (NAME.pcap[.gz|.zst])")
        ->capture_default_str();
    cmd->add_option("--format", args->format, "pcap (microseconds) or pcapng (nanoseconds)")->capture_default_str();
    cmd->add_option("--rotate", args->rotate, "hourly: one file per UTC hour");
    cmd->add_option("--compress", args->compress, "none, gz or zst")->capture_default_str();
    cmd->add_option("--scale", args->scale, "Multiply every packet rate (volume) by this factor")
        ->capture_default_str();
    cmd->add_flag("--quiet,-q", args->quiet, "Print nothing but errors");
    cmd->add_flag("--no-progress", args->no_progress, "No progress line even on a terminal");
    cmd->callback([args, &exit_code] { exit_code = RunSynth(*args); });
}

}  // namespace darkscope::app
