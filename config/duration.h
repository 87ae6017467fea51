// Duration strings in config files: "250ms", "5s", "1.5s", "1m", "1h".
#pragma once

#include <string>
#include <string_view>

#include "config/config.h"
#include "config/result.h"

namespace remora::config {

// A non-negative decimal number followed by ms, s, m or h; "0" may omit the unit. The value must
// be a whole number of milliseconds. Errors carry no location.
Result<Duration> parseDuration(std::string_view text);

// The inverse of parseDuration, in the largest unit that keeps it exact ("1500ms", "2s", "1h").
std::string formatDuration(Duration d);

}  // namespace remora::config
