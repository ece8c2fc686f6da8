#pragma once
/// One function per subcommand registers it on the CLI; the callback stores its exit status.

#include <CLI/CLI.hpp>

namespace darkscope::app {

/// Exit statuses shared by all subcommands (documented in `darkscope --help`).
enum ExitCode : int {
    EXIT_OK = 0,
    EXIT_SOME_FAILED = 1,    // some input could not be read, or only partly
    EXIT_USAGE = 2,          // bad arguments or configuration
    EXIT_DUPLICATES = 3,     // nothing failed, but some inputs were already ingested and skipped
};

void RegisterIngest(CLI::App &app, int &exit_code);
void RegisterSummary(CLI::App &app, int &exit_code);
void RegisterSynth(CLI::App &app, int &exit_code);
void RegisterGeo(CLI::App &app, int &exit_code);
void RegisterEnrich(CLI::App &app, int &exit_code);
void RegisterReport(CLI::App &app, int &exit_code);
void RegisterEvents(CLI::App &app, int &exit_code);
void RegisterDetect(CLI::App &app, int &exit_code);
void RegisterProbe(CLI::App &app, int &exit_code);
void RegisterDns(CLI::App &app, int &exit_code);

}  // namespace darkscope::app
