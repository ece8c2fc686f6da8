// pcapng (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/): a sequence of blocks grouped in sections.
// Each Section Header Block sets the byte order and restarts interface numbering; Interface Description Blocks give
// link type, snaplen and timestamp unit; packets come in Enhanced, Simple or (obsolete) Packet Blocks. Every other
// block is skipped by its length.

#include <algorithm>
#include <string>
#include <vector>

#include "capture/readers.hpp"
#include "common/bytes.hpp"

namespace darkscope::detail {
namespace {

constexpr uint32_t BLOCK_SHB = 0x0a0d0d0a;
constexpr uint32_t BLOCK_IDB = 1;
constexpr uint32_t BLOCK_PB = 2;
constexpr uint32_t BLOCK_SPB = 3;
constexpr uint32_t BLOCK_EPB = 6;
constexpr uint32_t BYTE_ORDER_MAGIC = 0x1a2b3c4d;
constexpr uint16_t OPT_END = 0;
constexpr uint16_t OPT_IF_TSRESOL = 9;
constexpr uint16_t OPT_IF_TSOFFSET = 14;

inline uint64_t Pow10(unsigned k) {
    uint64_t v = 1;
    while (k-- > 0) v *= 10;
    return v;
}

/// Timestamp unit of one interface, reduced to the cheapest conversion to nanoseconds.
struct Interface {
    uint32_t link_type = 0;
    uint32_t snaplen = 0;
    uint64_t multiplier = 1000;  // default if_tsresol is 6 (microseconds)
    uint64_t divisor = 1;
    int shift = -1;  // >= 0 for a power-of-2 resolution: ns = units * 10^9 >> shift
    __int128 offset_ns = 0;

    TimestampNs ToNs(uint64_t units) const {
        __int128 ns;
        if (shift >= 0) {
            ns = shift < 128 ? (__int128(units) * NS_PER_SEC) >> shift : 0;
        } else if (divisor > 1) {
            ns = __int128(units / divisor);
        } else {
            ns = __int128(units) * multiplier;
        }
        ns += offset_ns;
        // Beyond int64 (year 2262) only with absurd offsets or units: clamp rather than wrap.
        if (ns > INT64_MAX) return INT64_MAX;
        if (ns < INT64_MIN) return INT64_MIN;
        return TimestampNs(ns);
    }
};

class PcapngReader final : public CaptureReader {
public:
    explicit PcapngReader(BlockBuffer buffer) : buffer_(std::move(buffer)) { format_ = CaptureFormat::PCAPNG; }

    bool Next(RawPacket &packet) override {
        if (done_) [[unlikely]] return false;
        return ReadBlocks(&packet);
    }

    uint64_t DiskBytesRead() const override { return buffer_.DiskBytesRead(); }

    /// Reads header blocks up to the first packet block (left unread) or the end. False on error.
    bool Prime() {
        ReadBlocks(nullptr);
        return !error_.has_value();
    }

private:
    uint32_t Load32(const uint8_t *p) const { return swapped_ ? LoadBe32(p) : LoadLe32(p); }
    uint16_t Load16(const uint8_t *p) const { return swapped_ ? LoadBe16(p) : LoadLe16(p); }
    uint64_t Load64(const uint8_t *p) const {
        uint64_t v = LoadLe64(p);
        return swapped_ ? __builtin_bswap64(v) : v;
    }

    bool Fail(uint64_t offset, std::string message) {
        done_ = true;
        error_ = CaptureError{offset, std::move(message) + "; " + std::to_string(packets_read_) +
                                          " earlier packets kept"};
        return false;
    }
    std::string At(uint64_t offset) const { return " at offset " + std::to_string(offset); }

    bool EndOfInput(const char *where) {
        done_ = true;
        if (!buffer_.StreamError().empty()) {
            return Fail(buffer_.Offset(), buffer_.StreamError() + " at decompressed offset " +
                                              std::to_string(buffer_.Offset()));
        }
        if (buffer_.Available() == 0) return false;
        return Fail(buffer_.Offset(),
                    std::string("truncated: file ends inside ") + where + At(buffer_.Offset()));
    }

    /// Processes blocks until a packet is produced (true), the end of the file or an error (false). With
    /// `packet` null, stops before the first packet block instead and returns true.
    bool ReadBlocks(RawPacket *packet) {
        for (;;) {
            if (!buffer_.Ensure(12)) [[unlikely]] return EndOfInput("block header");
            const uint8_t *block = buffer_.Data();
            uint64_t offset = buffer_.Offset();
            uint32_t type = LoadLe32(block);  // the SHB type is a palindrome, readable before the byte order
            if (type == BLOCK_SHB) {
                uint32_t bom = LoadLe32(block + 8);
                if (bom == BYTE_ORDER_MAGIC) {
                    swapped_ = false;
                } else if (bom == __builtin_bswap32(BYTE_ORDER_MAGIC)) {
                    swapped_ = true;
                } else {
                    return Fail(offset, "corrupt: bad byte-order magic in section header" + At(offset));
                }
            } else {
                type = Load32(block);
            }
            uint32_t length = Load32(block + 4);
            if (length % 4 != 0 || length < 12 || length > MAX_PCAPNG_BLOCK || (type == BLOCK_SHB && length < 28))
                [[unlikely]] {
                return Fail(offset, "corrupt: bad block length " + std::to_string(length) + " (block type " +
                                        std::to_string(type) + ")" + At(offset));
            }
            if (!buffer_.Ensure(length)) [[unlikely]] return EndOfInput("block");
            block = buffer_.Data();
            uint32_t trailer = Load32(block + length - 4);
            if (trailer != length) [[unlikely]] {
                return Fail(offset, "corrupt: block trailing length " + std::to_string(trailer) +
                                        " differs from leading length " + std::to_string(length) + At(offset));
            }
            const uint8_t *body = block + 8;
            uint32_t body_len = length - 12;

            switch (type) {
            case BLOCK_EPB:
            case BLOCK_PB:
            case BLOCK_SPB:
                if (!packet) return true;
                if (!ReadPacket(type, body, body_len, offset, *packet)) return false;
                buffer_.Consume(length);
                ++packets_read_;
                return true;
            case BLOCK_SHB:
                if (!ReadSectionHeader(body, offset)) return false;
                break;
            case BLOCK_IDB:
                if (!ReadInterface(body, body_len, offset)) return false;
                break;
            default:
                break;  // NRB, ISB, DSB, custom and unknown blocks carry nothing the analysis uses
            }
            buffer_.Consume(length);
        }
    }

    bool ReadSectionHeader(const uint8_t *body, uint64_t offset) {
        uint16_t major = Load16(body + 4);
        uint16_t minor = Load16(body + 6);
        if (major != 1) {
            return Fail(offset, "unsupported pcapng version " + std::to_string(major) + "." +
                                    std::to_string(minor) + At(offset));
        }
        interfaces_.clear();
        ++section_;
        return true;
    }

    bool ReadInterface(const uint8_t *body, uint32_t body_len, uint64_t offset) {
        if (body_len < 8) return Fail(offset, "corrupt: interface description block too short" + At(offset));
        Interface iface;
        iface.link_type = Load16(body);
        iface.snaplen = Load32(body + 4);
        uint32_t id = uint32_t(interfaces_.size());
        if (!IsSupportedLinkType(iface.link_type)) {
            done_ = true;
            error_ = CaptureError{offset, "unsupported link type " + std::to_string(iface.link_type) + " (" +
                                              LinkTypeName(iface.link_type) + ") on interface " +
                                              std::to_string(id) + ": file skipped"};
            error_->unsupported_link_type = true;
            return false;
        }
        // Options are read leniently: a malformed option list ends the list, and the defaults stay.
        ByteCursor options(body + 8, body_len - 8);
        while (options.Remaining() >= 4) {
            const uint8_t *head = options.Take(4);
            uint16_t code = Load16(head);
            uint16_t len = Load16(head + 2);
            if (code == OPT_END) break;
            const uint8_t *value = options.Take((size_t(len) + 3) & ~size_t(3));
            if (!value) break;
            if (code == OPT_IF_TSRESOL && len >= 1) {
                uint8_t resol = value[0];
                iface.multiplier = 1;
                iface.divisor = 1;
                iface.shift = -1;
                if (resol & 0x80) {
                    iface.shift = resol & 0x7f;
                } else if (resol <= 9) {
                    iface.multiplier = Pow10(9 - resol);
                } else {
                    // Finer than 1 ns: divide. Beyond 10^-28 s every count rounds to 0 ns anyway.
                    iface.divisor = Pow10(std::min(resol - 9, 19));
                }
            } else if (code == OPT_IF_TSOFFSET && len >= 8) {
                iface.offset_ns = __int128(int64_t(Load64(value))) * NS_PER_SEC;
            }
        }
        interfaces_.push_back(iface);
        return true;
    }

    bool ReadPacket(uint32_t type, const uint8_t *body, uint32_t body_len, uint64_t offset, RawPacket &packet) {
        uint32_t interface_id;
        uint64_t units = 0;
        uint32_t caplen;
        uint32_t wire_len;
        size_t header_len;
        if (type == BLOCK_SPB) {
            header_len = 4;
            if (body_len < header_len) return Fail(offset, "corrupt: simple packet block too short" + At(offset));
            interface_id = 0;
            wire_len = Load32(body);
            // The captured length is implied: the original length, cut by the block size and interface 0's snaplen.
            caplen = std::min(wire_len, body_len - 4);
        } else {
            header_len = 20;
            if (body_len < header_len) return Fail(offset, "corrupt: packet block too short" + At(offset));
            interface_id = type == BLOCK_EPB ? Load32(body) : Load16(body);
            units = uint64_t(Load32(body + 4)) << 32 | Load32(body + 8);
            caplen = Load32(body + 12);
            wire_len = Load32(body + 16);
            if (caplen > body_len - header_len) [[unlikely]] {
                return Fail(offset, "corrupt: captured length " + std::to_string(caplen) +
                                        " exceeds the packet block" + At(offset));
            }
        }
        if (interface_id >= interfaces_.size()) [[unlikely]] {
            return Fail(offset, "corrupt: packet refers to undefined interface " + std::to_string(interface_id) +
                                    " (section " + std::to_string(section_) + " has " +
                                    std::to_string(interfaces_.size()) + ")" + At(offset));
        }
        const Interface &iface = interfaces_[interface_id];
        if (type == BLOCK_SPB) {
            if (iface.snaplen != 0 && caplen > iface.snaplen) caplen = iface.snaplen;
            packet.ts = 0;  // simple packet blocks carry no timestamp
        } else {
            packet.ts = iface.ToNs(units);
        }
        packet.data = body + header_len;
        packet.caplen = caplen;
        packet.wire_len = wire_len < caplen ? caplen : wire_len;
        packet.link_type = iface.link_type;
        packet.interface_id = interface_id;
        packet.offset = offset;
        return true;
    }

    BlockBuffer buffer_;
    std::vector<Interface> interfaces_;
    uint64_t section_ = 0;
    bool swapped_ = false;
    bool done_ = false;
};

}  // namespace

std::unique_ptr<CaptureReader> MakePcapngReader(BlockBuffer buffer, CaptureError &error) {
    auto reader = std::make_unique<PcapngReader>(std::move(buffer));
    if (!reader->Prime()) {
        error = *reader->Error();
        return nullptr;
    }
    return reader;
}

}  // namespace darkscope::detail
