// Classic pcap (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/): a 24-byte file header, then records of
// a 16-byte header and the captured bytes. One template instance per byte order and time unit keeps the per-packet
// path free of branches on either.

#include <string>
#include <utility>

#include "capture/readers.hpp"
#include "common/bytes.hpp"

namespace darkscope::detail {
namespace {

constexpr uint32_t MAGIC_USEC = 0xa1b2c3d4;
constexpr uint32_t MAGIC_NSEC = 0xa1b23c4d;
constexpr size_t FILE_HEADER = 24;
constexpr size_t RECORD_HEADER = 16;

/// Files older than format 2.3 store orig_len before incl_len; 2.3 files may have either (libpcap sf-pcap.c does
/// the same, and nDPI's fuzz-2021-10-13.pcap needs it).
enum class LengthOrder { NORMAL, SWAPPED, MAYBE_SWAPPED };

template <bool SWAPPED>
inline uint32_t Load32(const uint8_t *p) {
    return SWAPPED ? LoadBe32(p) : LoadLe32(p);
}

template <bool SWAPPED, bool NANO>
class PcapReader final : public CaptureReader {
public:
    PcapReader(BlockBuffer buffer, uint32_t link_type, uint32_t max_caplen, LengthOrder length_order)
        : buffer_(std::move(buffer)), link_type_(link_type), max_caplen_(max_caplen), length_order_(length_order) {
        format_ = CaptureFormat::PCAP;
    }

    bool Next(RawPacket &packet) override {
        if (done_) [[unlikely]] return false;
        if (!buffer_.Ensure(RECORD_HEADER)) [[unlikely]] return EndOfInput();
        const uint8_t *header = buffer_.Data();
        uint32_t caplen = Load32<SWAPPED>(header + 8);
        uint32_t wire_len = Load32<SWAPPED>(header + 12);
        if (length_order_ != LengthOrder::NORMAL) [[unlikely]] {
            if (length_order_ == LengthOrder::SWAPPED || caplen > wire_len) std::swap(caplen, wire_len);
        }
        if (caplen > max_caplen_) [[unlikely]] return RecordTooLong(caplen);
        size_t record_len = RECORD_HEADER + caplen;
        if (!buffer_.Ensure(record_len)) [[unlikely]] return EndOfInput();
        header = buffer_.Data();  // Ensure() may have moved the window

        uint32_t ts_sec = Load32<SWAPPED>(header);
        uint32_t ts_frac = Load32<SWAPPED>(header + 4);
        // Out-of-range fractions (tv_usec >= 10^6) are kept as libpcap keeps them: carried into the seconds.
        packet.ts = int64_t(ts_sec) * NS_PER_SEC + int64_t(ts_frac) * (NANO ? 1 : 1000);
        packet.data = header + RECORD_HEADER;
        packet.caplen = caplen;
        // Some writers put orig_len < incl_len; the wire cannot have carried fewer bytes than were captured.
        packet.wire_len = wire_len < caplen ? caplen : wire_len;
        packet.link_type = link_type_;
        packet.interface_id = 0;
        packet.offset = buffer_.Offset();
        buffer_.Consume(record_len);
        ++packets_read_;
        return true;
    }

    uint64_t DiskBytesRead() const override { return buffer_.DiskBytesRead(); }

private:
    bool Fail(uint64_t offset, std::string message) {
        done_ = true;
        error_ = CaptureError{offset, std::move(message)};
        return false;
    }

    std::string Kept() const { return "; " + std::to_string(packets_read_) + " earlier packets kept"; }

    bool EndOfInput() {
        done_ = true;
        if (!buffer_.StreamError().empty()) {
            return Fail(buffer_.Offset(), buffer_.StreamError() + " at decompressed offset " +
                                              std::to_string(buffer_.Offset()) + Kept());
        }
        if (buffer_.Available() == 0) return false;  // clean end between records
        return Fail(buffer_.Offset(),
                    "truncated: file ends inside record at offset " + std::to_string(buffer_.Offset()) + Kept());
    }

    bool RecordTooLong(uint32_t caplen) {
        return Fail(buffer_.Offset(), "corrupt: record length " + std::to_string(caplen) + " exceeds the limit " +
                                          std::to_string(max_caplen_) + " at offset " +
                                          std::to_string(buffer_.Offset()) + Kept());
    }

    BlockBuffer buffer_;
    uint32_t link_type_;
    uint32_t max_caplen_;
    LengthOrder length_order_;
    bool done_ = false;
};

template <bool SWAPPED, bool NANO>
std::unique_ptr<CaptureReader> Make(BlockBuffer buffer, uint32_t link_type, uint32_t max_caplen, LengthOrder order) {
    return std::make_unique<PcapReader<SWAPPED, NANO>>(std::move(buffer), link_type, max_caplen, order);
}

}  // namespace

std::unique_ptr<CaptureReader> MakePcapReader(BlockBuffer buffer, CaptureError &error) {
    if (!buffer.Ensure(FILE_HEADER)) {
        error.offset = 0;
        error.message = !buffer.StreamError().empty()
                            ? buffer.StreamError()
                            : "truncated: file ends inside the pcap file header (" +
                                  std::to_string(buffer.Available()) + " of 24 bytes)";
        return nullptr;
    }
    const uint8_t *header = buffer.Data();
    uint32_t magic = LoadLe32(header);
    bool swapped = magic == __builtin_bswap32(MAGIC_USEC) || magic == __builtin_bswap32(MAGIC_NSEC);
    bool nano = magic == MAGIC_NSEC || magic == __builtin_bswap32(MAGIC_NSEC);
    uint16_t major = swapped ? LoadBe16(header + 4) : LoadLe16(header + 4);
    uint16_t minor = swapped ? LoadBe16(header + 6) : LoadLe16(header + 6);
    LengthOrder order = major < 2 || (major == 2 && minor < 3) ? LengthOrder::SWAPPED
                        : major == 2 && minor == 3            ? LengthOrder::MAYBE_SWAPPED
                                                              : LengthOrder::NORMAL;
    uint32_t snaplen = swapped ? LoadBe32(header + 16) : LoadLe32(header + 16);
    uint32_t link_field = swapped ? LoadBe32(header + 20) : LoadLe32(header + 20);
    // The upper 16 bits may carry FCS information (draft-ietf-opsawg-pcap, LinkType and additional information).
    uint32_t link_type = link_field & 0xffff;
    if (!IsSupportedLinkType(link_type)) {
        error.offset = 20;
        error.message = "unsupported link type " + std::to_string(link_type) + " (" + LinkTypeName(link_type) +
                        ") on interface 0: file skipped";
        error.unsupported_link_type = true;
        return nullptr;
    }
    // snaplen 0 (seen in the wild) means "unknown"; records up to libpcap's limit are accepted whatever the
    // header says, and an absurd snaplen does not raise the limit beyond what could be a real capture.
    uint32_t max_caplen = snaplen > MAX_PCAP_RECORD ? std::min(snaplen, MAX_PCAP_SNAPLEN_TRUSTED) : MAX_PCAP_RECORD;
    buffer.Consume(FILE_HEADER);
    if (swapped) {
        return nano ? Make<true, true>(std::move(buffer), link_type, max_caplen, order)
                    : Make<true, false>(std::move(buffer), link_type, max_caplen, order);
    }
    return nano ? Make<false, true>(std::move(buffer), link_type, max_caplen, order)
                : Make<false, false>(std::move(buffer), link_type, max_caplen, order);
}

}  // namespace darkscope::detail
