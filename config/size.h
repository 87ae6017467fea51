// Byte sizes in config files: a plain integer or a string with a KiB, MiB or GiB suffix.
#pragma once

#include <cstdint>
#include <string_view>

#include "config/result.h"

namespace remora::config {

// "65536", "60KiB", "1MiB", "2GiB". Errors carry no location.
Result<uint64_t> parseSize(std::string_view text);

}  // namespace remora::config
