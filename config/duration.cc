// Duration strings in config files ("250ms", "5s", "1.5s", "1m", "1h"), and instants as text.
#include "config/duration.h"

#include <array>
#include <cstdint>
#include <ctime>
#include <limits>

namespace remora::config {
namespace {

struct Unit {
  std::string_view suffix;
  int64_t ms;
};

// Longest suffix first so "ms" is not read as "m" followed by garbage.
constexpr std::array<Unit, 4> kUnits{{{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}}};

// Far beyond any sensible timeout, and small enough that the arithmetic below cannot overflow.
constexpr int64_t kMaxMs = int64_t{1} << 52;

Error bad(std::string_view text, std::string_view why) {
  return Error{{}, "bad duration '" + std::string(text) + "': " + std::string(why)};
}

}  // namespace

Result<Duration> parseDuration(std::string_view text) {
  if (text == "0") return Duration{0};
  if (!text.empty() && text[0] == '-') return bad(text, "must not be negative");
  size_t i = 0;
  int64_t whole = 0;
  size_t digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
    if (whole > kMaxMs) return bad(text, "too large");
    whole = whole * 10 + (text[i] - '0');
  }
  // The fraction is kept as numerator / denominator so "1.5s" is exact.
  int64_t frac = 0;
  int64_t denom = 1;
  if (i < text.size() && text[i] == '.') {
    ++i;
    size_t frac_digits = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++frac_digits) {
      if (frac_digits >= 9) return bad(text, "too many decimals");
      frac = frac * 10 + (text[i] - '0');
      denom *= 10;
    }
    if (frac_digits == 0) return bad(text, "expected digits after '.'");
  }
  if (digits == 0) return bad(text, "expected a number followed by ms, s, m or h");
  std::string_view suffix = text.substr(i);
  for (const Unit& unit : kUnits) {
    if (suffix != unit.suffix) continue;
    if (whole > kMaxMs / unit.ms) return bad(text, "too large");
    if ((frac * unit.ms) % denom != 0) return bad(text, "finer than a millisecond");
    return Duration{whole * unit.ms + frac * unit.ms / denom};
  }
  if (suffix.empty()) return bad(text, "missing unit (ms, s, m or h)");
  return bad(text, "unknown unit '" + std::string(suffix) + "' (ms, s, m or h)");
}

std::string formatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  // kUnits[0] is "ms", which always divides, so it is the fallback after the loop.
  for (size_t i = kUnits.size() - 1; i > 0; --i) {
    if (ms % kUnits[i].ms == 0) {
      return std::to_string(ms / kUnits[i].ms) + std::string(kUnits[i].suffix);
    }
  }
  return std::to_string(ms) + "ms";
}

std::string formatUtc(std::chrono::system_clock::time_point when) {
  const time_t secs = std::chrono::system_clock::to_time_t(when);
  tm utc;
  gmtime_r(&secs, &utc);
  char text[32];
  strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace remora::config
