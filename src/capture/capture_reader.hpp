#pragma once
/// Reading capture files: pcap (micro/nanosecond, either byte order) and pcapng (several
/// sections and interfaces), optionally compressed with gzip, zstd or xz. Format and
/// compression are told by magic bytes, never by the file name.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "capture/raw_packet.hpp"

namespace darkscope {

namespace detail {
class FileStream;
}

enum class CaptureFormat { PCAP, PCAPNG };
enum class Compression { NONE, GZIP, ZSTD, XZ };
const char *CaptureFormatName(CaptureFormat f);
const char *CompressionName(Compression c);

/// What went wrong and where. `offset` is in the decompressed stream.
struct CaptureError {
    uint64_t offset = 0;
    std::string message;  // "record length 4294967295 exceeds snaplen 65535", ...
    /// The file (or a later pcapng section) uses a link type the decoder does not know: the whole
    /// file is skipped rather than counted in part.
    bool unsupported_link_type = false;
};

class CaptureReader {
public:
    virtual ~CaptureReader() = default;

    /// Opens a file and reads its header. Returns nullptr and fills `error` for unreadable files,
    /// unknown formats and unsupported link types (the message names the link type).
    /// With `hash_content`, the reader also hashes the file's bytes as it reads them (ContentHash).
    static std::unique_ptr<CaptureReader> Open(const std::filesystem::path &path, CaptureError &error,
                                               bool hash_content = false);
    /// As Open(), over bytes in memory (possibly compressed); `data` must outlive the reader. Uncompressed input
    /// is parsed in place without a copy. For tests and fuzzing.
    static std::unique_ptr<CaptureReader> OpenMemory(std::span<const uint8_t> data, CaptureError &error);

    /// The next record. Returns false at the end of the file or on an error; Error() then tells
    /// which. A file that ends inside a record is an error (truncated), with the records before it kept.
    virtual bool Next(RawPacket &packet) = 0;

    const std::optional<CaptureError> &Error() const { return error_; }
    CaptureFormat Format() const { return format_; }
    Compression GetCompression() const { return compression_; }
    /// Bytes consumed from the file on disk so far (compressed bytes for compressed files): for progress.
    virtual uint64_t DiskBytesRead() const = 0;
    uint64_t DiskSize() const { return disk_size_; }
    /// Records returned by Next() so far: the "earlier packets kept" of an error message.
    uint64_t PacketsRead() const { return packets_read_; }
    /// Opened with hash_content: the file's content hash (HashFile's), reading whatever Next() left unread.
    /// Throws std::runtime_error when the file cannot be read to its end, std::logic_error without hashing.
    std::string ContentHash();

protected:
    std::optional<CaptureError> error_;
    CaptureFormat format_ = CaptureFormat::PCAP;
    Compression compression_ = Compression::NONE;
    uint64_t disk_size_ = 0;
    uint64_t packets_read_ = 0;
    detail::FileStream *file_ = nullptr;  // the stream under the reader's buffer (and decompressor), when hashing
};

/// Expands command-line inputs (files, directories searched recursively, glob patterns) into
/// capture files. Inputs that match nothing are reported in `errors`. Files found in a directory or
/// by a pattern are kept only if LooksLikeCapture; the others go to `skipped`. A file named as it is
/// is always kept (reading it says what is wrong with it). The result is not yet ordered.
std::vector<std::filesystem::path> ExpandInputs(const std::vector<std::string> &inputs,
                                                std::vector<std::string> &errors,
                                                std::vector<std::filesystem::path> *skipped = nullptr);

/// True when the file starts with a pcap or pcapng magic number, or with gzip, zstd or xz's.
bool LooksLikeCapture(const std::filesystem::path &path);

/// Orders files by the timestamp of their first packet (ties and unreadable files by path), so
/// that hourly rotated files are processed in time order whatever their names.
void SortByFirstTimestamp(std::vector<std::filesystem::path> &files);

}  // namespace darkscope
