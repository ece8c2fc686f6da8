// Opening a capture: compression by magic bytes on disk, then the format by magic bytes after decompression.

#include "capture/capture_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "capture/byte_source.hpp"
#include "capture/readers.hpp"
#include "common/bytes.hpp"

namespace darkscope {
namespace {

constexpr uint32_t MAGIC_PCAP_USEC = 0xa1b2c3d4;
constexpr uint32_t MAGIC_PCAP_NSEC = 0xa1b23c4d;
constexpr uint32_t MAGIC_PCAPNG = 0x0a0d0d0a;

std::string HexBytes(const uint8_t *data, size_t n) {
    std::string text;
    char byte[4];
    for (size_t i = 0; i < n; ++i) {
        std::snprintf(byte, sizeof byte, i ? " %02x" : "%02x", data[i]);
        text += byte;
    }
    return text;
}

std::unique_ptr<CaptureReader> OpenBuffer(detail::BlockBuffer buffer, Compression compression,
                                          CaptureError &error) {
    if (!buffer.Ensure(4)) {
        error.offset = 0;
        if (!buffer.StreamError().empty()) {
            error.message = buffer.StreamError();
        } else if (buffer.Available() == 0) {
            error.message = compression == Compression::NONE
                                ? "empty file"
                                : std::string("empty file (after ") + CompressionName(compression) +
                                      " decompression)";
        } else {
            error.message = "not a pcap or pcapng file (first bytes: " +
                            HexBytes(buffer.Data(), buffer.Available()) + ")";
        }
        return nullptr;
    }
    uint32_t magic = LoadLe32(buffer.Data());
    switch (magic) {
    case MAGIC_PCAP_USEC:
    case MAGIC_PCAP_NSEC:
    case __builtin_bswap32(MAGIC_PCAP_USEC):
    case __builtin_bswap32(MAGIC_PCAP_NSEC):
        return detail::MakePcapReader(std::move(buffer), error);
    case MAGIC_PCAPNG:
        return detail::MakePcapngReader(std::move(buffer), error);
    default:
        error.offset = 0;
        error.message = "not a pcap or pcapng file (first bytes: " + HexBytes(buffer.Data(), 4) + ")";
        return nullptr;
    }
}

}  // namespace

bool LooksLikeCapture(const std::filesystem::path &path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return true;  // unreadable: let the reader name the fault
    uint8_t head[6];
    const ssize_t n = ::pread(fd, head, sizeof head, 0);
    ::close(fd);
    if (n < 4) return false;
    if (detail::SniffCompression(head, size_t(n)) != Compression::NONE) return true;
    switch (LoadLe32(head)) {
    case MAGIC_PCAP_USEC:
    case MAGIC_PCAP_NSEC:
    case __builtin_bswap32(MAGIC_PCAP_USEC):
    case __builtin_bswap32(MAGIC_PCAP_NSEC):
    case MAGIC_PCAPNG:
        return true;
    default:
        return false;
    }
}

std::string CaptureReader::ContentHash() {
    if (!file_) throw std::logic_error("CaptureReader::ContentHash: not opened with hashing");
    return file_->FinishHash();
}

std::unique_ptr<CaptureReader> CaptureReader::Open(const std::filesystem::path &path, CaptureError &error,
                                                   bool hash_content) {
    error = {};
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error.message = std::string("cannot open: ") + std::strerror(errno);
        return nullptr;
    }
    struct stat st;
    if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        error.message = S_ISDIR(st.st_mode) ? "is a directory" : std::string("cannot stat: ") + std::strerror(errno);
        ::close(fd);
        return nullptr;
    }
    uint8_t magic[6];
    ssize_t n = ::pread(fd, magic, sizeof magic, 0);
    if (n < 0) {
        error.message = std::string("read error: ") + std::strerror(errno);
        ::close(fd);
        return nullptr;
    }
    Compression compression = detail::SniffCompression(magic, size_t(n));
    // Sequential reads of large blocks: tell the kernel to read ahead aggressively.
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    auto file = std::make_unique<detail::FileStream>(fd, hash_content);
    detail::FileStream *file_stream = file.get();  // owned by the buffer, through the decompressor
    auto stream = detail::MakeDecompressor(compression, std::move(file));
    auto buffer = detail::BlockBuffer::FromStream(std::move(stream), compression != Compression::NONE);
    auto reader = OpenBuffer(std::move(buffer), compression, error);
    if (reader) {
        reader->compression_ = compression;
        reader->disk_size_ = uint64_t(st.st_size);
        if (hash_content) reader->file_ = file_stream;
    }
    return reader;
}

std::unique_ptr<CaptureReader> CaptureReader::OpenMemory(std::span<const uint8_t> data, CaptureError &error) {
    error = {};
    Compression compression = detail::SniffCompression(data.data(), data.size());
    detail::BlockBuffer buffer;
    if (compression == Compression::NONE) {
        buffer = detail::BlockBuffer::Borrowed(data);
    } else {
        buffer = detail::BlockBuffer::FromStream(
            detail::MakeDecompressor(compression, detail::MakeMemoryStream(data)), true);
    }
    auto reader = OpenBuffer(std::move(buffer), compression, error);
    if (reader) {
        reader->compression_ = compression;
        reader->disk_size_ = data.size();
    }
    return reader;
}

}  // namespace darkscope
