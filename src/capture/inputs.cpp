// Turning command-line arguments into an ordered list of capture files.

#include <glob.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <set>
#include <thread>

#include "capture/capture_reader.hpp"

namespace darkscope {
namespace {

namespace fs = std::filesystem;

bool IsHidden(const fs::path &p) {
    std::string name = p.filename().string();
    return !name.empty() && name[0] == '.';
}

// What tells two names of one file apart from two files: the path with links and ".." resolved.
fs::path IdentityOf(const fs::path &p) {
    std::error_code ec;
    fs::path key = fs::weakly_canonical(p, ec);
    return ec ? p : key;
}

bool HasGlobChars(const std::string &s) { return s.find_first_of("*?[") != std::string::npos; }

/// Regular files below `dir` whose first bytes are a capture's or a compressed file's, hidden files and
/// folders left out, in path order so runs are reproducible. Other files (a README, the ground truth
/// `synth` writes beside its captures) go to `skipped`: a folder holds more than captures, while a file
/// named on the command line is read whatever it holds.
void AddDirectory(const fs::path &dir, std::vector<fs::path> &out, std::vector<std::string> &errors,
                  std::vector<fs::path> *skipped) {
    std::vector<fs::path> found;
    std::error_code ec;
    fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
    if (ec) {
        errors.push_back(dir.string() + ": " + ec.message());
        return;
    }
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) {
            errors.push_back(dir.string() + ": " + ec.message());
            break;
        }
        const fs::directory_entry &entry = *it;
        if (IsHidden(entry.path())) {
            if (entry.is_directory(ec)) it.disable_recursion_pending();
            continue;
        }
        if (!entry.is_regular_file(ec)) continue;
        if (LooksLikeCapture(entry.path())) found.push_back(entry.path());
        else if (skipped) skipped->push_back(entry.path());
    }
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
}

// `listed`: p came from a directory or a glob pattern rather than by name, and is kept only if it
// looks like a capture.
void AddPath(const fs::path &p, std::vector<fs::path> &out, std::vector<std::string> &errors,
             std::vector<fs::path> *skipped, bool listed) {
    std::error_code ec;
    fs::file_status st = fs::status(p, ec);
    if (ec || !fs::exists(st)) {
        errors.push_back(p.string() + ": no such file or directory");
    } else if (fs::is_directory(st)) {
        AddDirectory(p, out, errors, skipped);
    } else if (fs::is_regular_file(st)) {
        if (!listed || LooksLikeCapture(p)) out.push_back(p);
        else if (skipped) skipped->push_back(p);
    } else {
        errors.push_back(p.string() + ": not a regular file or directory");
    }
}

}  // namespace

std::vector<std::filesystem::path> ExpandInputs(const std::vector<std::string> &inputs,
                                                std::vector<std::string> &errors,
                                                std::vector<std::filesystem::path> *skipped) {
    std::vector<fs::path> candidates;
    for (const std::string &input : inputs) {
        std::error_code ec;
        // A file literally named "a[1].pcap" is taken as it is; only a name that does not exist is a pattern.
        if (HasGlobChars(input) && !fs::exists(input, ec)) {
            glob_t matches{};
            int rc = ::glob(input.c_str(), 0, nullptr, &matches);
            if (rc == 0) {
                for (size_t i = 0; i < matches.gl_pathc; ++i) AddPath(matches.gl_pathv[i], candidates, errors, skipped, true);
            } else if (rc == GLOB_NOMATCH) {
                errors.push_back(input + ": no files match this pattern");
            } else {
                errors.push_back(input + ": cannot expand pattern");
            }
            ::globfree(&matches);
        } else {
            AddPath(input, candidates, errors, skipped, false);
        }
    }
    // The same file named twice (directly, through a pattern, a folder or a link) is read once.
    std::vector<fs::path> files;
    std::set<fs::path> seen;
    for (const fs::path &p : candidates)
        if (seen.insert(IdentityOf(p)).second) files.push_back(p);
    if (skipped) {
        // Left out where listed, but also named as it is: it is read, so it was not left out.
        std::set<fs::path> kept_or_reported = seen;
        std::vector<fs::path> left_out;
        for (const fs::path &p : *skipped)
            if (kept_or_reported.insert(IdentityOf(p)).second) left_out.push_back(p);
        skipped->swap(left_out);
    }
    return files;
}

void SortByFirstTimestamp(std::vector<std::filesystem::path> &files) {
    // Files with no readable first packet (empty, unsupported, corrupt) sort first: they add nothing to the time
    // line, and their messages then come before any long run.
    constexpr TimestampNs NO_PACKET = std::numeric_limits<TimestampNs>::min();
    std::vector<TimestampNs> first(files.size(), NO_PACKET);
    // Opening reads (and for compressed files, decompresses) one buffer per file: spread that over a few threads.
    std::atomic<size_t> next{0};
    auto worker = [&] {
        for (size_t i = next++; i < files.size(); i = next++) {
            CaptureError error;
            auto reader = CaptureReader::Open(files[i], error);
            RawPacket packet;
            if (reader && reader->Next(packet)) first[i] = packet.ts;
        }
    };
    size_t thread_count = std::min<size_t>(files.size(), std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
    std::vector<std::thread> threads;
    for (size_t t = 1; t < thread_count; ++t) threads.emplace_back(worker);
    worker();
    for (auto &t : threads) t.join();

    std::vector<size_t> order(files.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        if (first[a] != first[b]) return first[a] < first[b];
        return files[a] < files[b];
    });
    std::vector<fs::path> sorted;
    sorted.reserve(files.size());
    for (size_t i : order) sorted.push_back(std::move(files[i]));
    files = std::move(sorted);
}

}  // namespace darkscope
