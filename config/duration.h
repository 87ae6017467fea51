// Duration strings in config files ("250ms", "5s", "1.5s", "1m", "1h"), and instants as text.
#pragma once

#include <chrono>
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

// An instant in UTC to the second, ISO 8601: "2026-12-06T21:15:02Z".
std::string formatUtc(std::chrono::system_clock::time_point when);

}  // namespace remora::config
