#pragma once
/// Writes the synthetic frames as pcap (microseconds) or pcapng (nanoseconds), optionally one file per UTC hour,
/// optionally compressed with gzip or zstd. Output is deterministic: no creation times, host names or tool
/// versions are written into the files.

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "synth/generator.hpp"

namespace darkscope::synth {

enum class CaptureFormat { PCAP, PCAPNG };
enum class Compression { NONE, GZIP, ZSTD };

std::optional<CaptureFormat> ParseCaptureFormat(std::string_view name);
std::optional<Compression> ParseCompression(std::string_view name);

struct WriterOptions {
    CaptureFormat format = CaptureFormat::PCAP;
    Compression compression = Compression::NONE;
    bool rotate_hourly = false;
    int compression_level = 0;  // 0: the library's default
};

/// The file name (without directory) of one output: NAME.pcap, NAME-2024100106.pcapng.zst, ...
std::string CaptureFileName(std::string_view stem, const WriterOptions &options, std::optional<int64_t> hour);

class CaptureWriter final : public PacketSink {
public:
    /// Files go to `dir` and are named after `stem`. Throws std::runtime_error on I/O errors.
    CaptureWriter(std::filesystem::path dir, std::string stem, WriterOptions options);
    ~CaptureWriter() override;
    void Write(TimestampNs ts, const uint8_t *frame, size_t len) override;
    /// Flushes and closes the current file (throws on I/O errors); called by the destructor too (which cannot).
    void Close();
    const std::vector<std::filesystem::path> &Files() const { return files_; }
    uint64_t BytesWritten() const { return bytes_; }

private:
    class Output;
    void Open(std::optional<int64_t> hour);
    void Put(const void *p, size_t n) {
        if (fill_ + n > buffer_.size()) Drain();
        std::memcpy(buffer_.data() + fill_, p, n);
        fill_ += n;
    }
    void Drain();

    std::filesystem::path dir_;
    std::string stem_;
    WriterOptions options_;
    std::unique_ptr<Output> out_;
    std::vector<uint8_t> buffer_;
    size_t fill_ = 0;
    int64_t hour_ = INT64_MIN;
    uint64_t bytes_ = 0;
    std::vector<std::filesystem::path> files_;
};

}  // namespace darkscope::synth
