#pragma once
/// Where the real test captures are (../shared/data beside the project), for tests.

#include <cstdlib>
#include <filesystem>

namespace darkscope::testing {

/// $DARKSCOPE_SHARED_DATA if set, else the compile-time default; empty if the folder is absent.
inline std::filesystem::path SharedDataDir(const char *compiled_default) {
    const char *env = std::getenv("DARKSCOPE_SHARED_DATA");
    std::filesystem::path p = env && *env ? env : compiled_default;
    std::error_code ec;
    return std::filesystem::is_directory(p, ec) ? p : std::filesystem::path();
}

}  // namespace darkscope::testing
