// darkscope: darknet (network telescope) observation and analysis.

#include <malloc.h>
#include <fmt/format.h>

#include <cstdio>

#include "app/commands.hpp"

int main(int argc, char **argv) {
    // Ingest hands memory between threads: workers build segments and per-source records that the
    // reader's thread stores and frees. With glibc's arena per thread, what one thread frees stays
    // in another's arena while its own grows, and the 10M-packet benchmark peaked 90 MB (15%) higher
    // than with two arenas, at the same speed (bench/README.md).
    mallopt(M_ARENA_MAX, 2);
    CLI::App app{
        "darkscope: counts, reports and early warnings from darknet (network telescope) captures.\n\n"
        "A darknet is routed but unused address space: every packet it receives is a scan, a worm,\n"
        "a misconfiguration or the backscatter of an attack elsewhere. darkscope reads captures\n"
        "of such space, classifies every packet and stores exact hourly and daily aggregates.\n\n"
        "Start with:\n"
        "  darkscope ingest --sensors sensors.toml /captures/\n"
        "  darkscope summary --by service --top 20\n"
        "  darkscope detect\n"
        "  darkscope events\n"
        "  darkscope report --period 2024Q4 --format html -o q4.html\n\n"
        "Exit status: 0 success; 1 some input failed or was only partly read; 2 bad usage or\n"
        "configuration; 3 nothing failed but some inputs were already ingested and skipped.",
        "darkscope"};
    app.set_version_flag("--version", std::string("darkscope ") + DARKSCOPE_VERSION);
    app.require_subcommand(1);
    app.fallthrough();
    int exit_code = darkscope::app::EXIT_OK;
    darkscope::app::RegisterIngest(app, exit_code);
    darkscope::app::RegisterSummary(app, exit_code);
    darkscope::app::RegisterSynth(app, exit_code);
    darkscope::app::RegisterGeo(app, exit_code);
    darkscope::app::RegisterEnrich(app, exit_code);
    darkscope::app::RegisterReport(app, exit_code);
    darkscope::app::RegisterDetect(app, exit_code);
    darkscope::app::RegisterEvents(app, exit_code);
    darkscope::app::RegisterProbe(app, exit_code);
    darkscope::app::RegisterDns(app, exit_code);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        int rc = app.exit(e);
        return rc == 0 ? 0 : darkscope::app::EXIT_USAGE;
    }
    return exit_code;
}
