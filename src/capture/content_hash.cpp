#include "capture/content_hash.hpp"

#include <fmt/format.h>

namespace darkscope {

std::string ContentHasher::Hex() const {
    const XXH128_hash_t h = XXH3_128bits_digest(state_);
    return fmt::format("{:016x}{:016x}", h.high64, h.low64);
}

}  // namespace darkscope
