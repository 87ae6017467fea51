// Byte sizes in config files: a plain integer or a string with a KiB, MiB or GiB suffix.
#include "config/size.h"

#include <array>
#include <string>

namespace remora::config {
namespace {

struct Unit {
  std::string_view suffix;
  uint64_t bytes;
};

constexpr std::array<Unit, 4> kUnits{
    {{"", 1}, {"KiB", uint64_t{1} << 10}, {"MiB", uint64_t{1} << 20}, {"GiB", uint64_t{1} << 30}}};

// Sizes bound buffers; anything past 2^40 bytes is a typo, and the bound keeps the math exact.
constexpr uint64_t kMaxBytes = uint64_t{1} << 40;

Error bad(std::string_view text, std::string_view why) {
  return Error{{}, "bad size '" + std::string(text) + "': " + std::string(why)};
}

}  // namespace

Result<uint64_t> parseSize(std::string_view text) {
  if (!text.empty() && text[0] == '-') return bad(text, "must not be negative");
  size_t i = 0;
  uint64_t value = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    value = value * 10 + static_cast<uint64_t>(text[i] - '0');
    if (value > kMaxBytes) return bad(text, "too large");
  }
  if (i == 0) return bad(text, "expected an integer with an optional KiB, MiB or GiB suffix");
  std::string_view suffix = text.substr(i);
  for (const Unit& unit : kUnits) {
    if (suffix != unit.suffix) continue;
    if (value > kMaxBytes / unit.bytes) return bad(text, "too large");
    return value * unit.bytes;
  }
  return bad(text, "unknown unit '" + std::string(suffix) + "' (KiB, MiB or GiB)");
}

}  // namespace remora::config
