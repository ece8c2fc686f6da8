#pragma once
/// A capture file's identity in the store (FileRecord::content_hash): XXH3-128 of its bytes on disk, as 32 hex
/// digits. Computed by HashFile in a pass of its own, or by the parse that reads the file (CaptureReader::Open
/// with hashing on), which then reads the file once instead of twice.

#include <cstddef>
#include <string>

#include <xxhash.h>

namespace darkscope {

class ContentHasher {
public:
    ContentHasher() : state_(XXH3_createState()) { XXH3_128bits_reset(state_); }
    ~ContentHasher() { XXH3_freeState(state_); }
    ContentHasher(const ContentHasher &) = delete;
    ContentHasher &operator=(const ContentHasher &) = delete;

    void Update(const void *data, size_t size) { XXH3_128bits_update(state_, data, size); }
    /// The hash of everything updated so far, as 32 hex digits.
    std::string Hex() const;

private:
    XXH3_state_t *state_;
};

}  // namespace darkscope
