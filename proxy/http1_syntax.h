// HTTP/1 character classes and the field-line scanner shared by heads and chunked trailers.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "config/http_syntax.h"

namespace remora::http1::detail {

enum CharClass : uint8_t {
  kTokenClass = 1,       // tchar (RFC 9110 5.6.2)
  kFieldValueClass = 2,  // field-vchar, SP, HTAB (obs-text included: RFC 9110 5.5)
  kTargetClass = 4,      // a request-target byte: visible ASCII or obs-text, never SP or CTL
};

constexpr std::array<uint8_t, 256> makeCharClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0x21; c <= 0xFF; ++c) {
    if (c == 0x7F) continue;  // DEL is a control character
    t[c] = kFieldValueClass | kTargetClass;
  }
  t[' '] = kFieldValueClass;
  t['\t'] = kFieldValueClass;
  for (int c = 0; c <= 0xFF; ++c) {
    if (isTokenChar(static_cast<unsigned char>(c))) t[c] |= kTokenClass;
  }
  return t;
}

inline constexpr std::array<uint8_t, 256> kCharClasses = makeCharClasses();

inline bool hasClass(char c, CharClass cls) {
  return (kCharClasses[static_cast<unsigned char>(c)] & cls) != 0;
}

// Returns the first byte in [p, end) without class `cls`, where every byte of the class is at
// least kMin and not DEL (HTAB aside). Values and targets are long runs of such bytes and a table
// lookup per byte was the parser's hot spot, so this tests eight bytes at a time.
template <uint8_t kMin>
const char* skipClass(const char* p, const char* end, CharClass cls) {
  if constexpr (std::endian::native == std::endian::little) {
    constexpr uint64_t kOnes = 0x0101010101010101ull;
    constexpr uint64_t kHighBits = 0x8080808080808080ull;
    while (end - p >= 8) {
      uint64_t x;
      std::memcpy(&x, p, 8);
      uint64_t below_min = (x - kOnes * kMin) & ~x & kHighBits;
      uint64_t del = x ^ (kOnes * 0x7F);
      del = (del - kOnes) & ~del & kHighBits;
      uint64_t special = below_min | del;
      if (special == 0) {
        p += 8;
        continue;
      }
      // Borrows only run upwards, so the lowest flagged byte is the first special one.
      p += std::countr_zero(special) / 8;
      if (!hasClass(*p, cls)) return p;
      ++p;  // an HTAB inside a value
    }
  }
  while (p != end && hasClass(*p, cls)) ++p;
  return p;
}

enum class ScanStatus { Ok, NeedMore, Error };

struct FieldLine {
  std::string_view name;   // as sent, not yet lowercased
  std::string_view value;  // leading and trailing OWS removed
};

// Scans one "name: value CRLF" line at [p, end). Ok: `line` is set and `next` points past the
// LF. NeedMore: every byte so far is valid but the line has not ended. Error: `reason` is set.
// The caller handles the empty line that ends a section before calling this.
ScanStatus scanFieldLine(const char* p, const char* end, FieldLine& line, const char*& next,
                         const char*& reason);

}  // namespace remora::http1::detail
