// HTTP/1 character classes and the field-line scanner shared by heads and chunked trailers.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "config/http_syntax.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
// lookup per byte was the parser's hot spot, so this tests sixteen bytes at a time (SSE2), then
// eight.
template <uint8_t kMin>
const char* skipClass(const char* p, const char* end, CharClass cls) {
#if defined(__SSE2__)
  // Sixteen bytes at a time where x86-64 is (SSE2 is part of it). The comparison is signed, so
  // bytes of 0x80 and more (obs-text) are flagged too, and the table settles them.
  const __m128i min = _mm_set1_epi8(static_cast<char>(kMin));
  const __m128i del = _mm_set1_epi8(0x7F);
  while (end - p >= 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i special = _mm_or_si128(_mm_cmpgt_epi8(min, bytes), _mm_cmpeq_epi8(bytes, del));
    const auto flagged = static_cast<unsigned>(_mm_movemask_epi8(special));
    if (flagged == 0) {
      p += 16;
      continue;
    }
    p += std::countr_zero(flagged);
    if (!hasClass(*p, cls)) return p;
    ++p;  // an HTAB inside a value, or obs-text
  }
#endif
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

// Returns the first byte in [p, end) that is not a tchar. Field names are nearly always letters,
// digits and '-', which SSE2 recognises sixteen bytes at a time; the table takes over from the
// first other byte (the colon, usually).
inline const char* skipToken(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i case_bit = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Signed comparisons: a byte of 0x80 or more is below every bound, so it is none of these.
    const __m128i folded = _mm_or_si128(bytes, case_bit);
    const __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(folded, _mm_set1_epi8('a' - 1)),
                                         _mm_cmpgt_epi8(_mm_set1_epi8('z' + 1), folded));
    const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(bytes, _mm_set1_epi8('0' - 1)),
                                        _mm_cmpgt_epi8(_mm_set1_epi8('9' + 1), bytes));
    const __m128i dash = _mm_cmpeq_epi8(bytes, _mm_set1_epi8('-'));
    const auto usual =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), dash)));
    if (usual != 0xFFFF) {
      p += std::countr_one(usual);
      break;
    }
    p += 16;
  }
#endif
  while (p != end && hasClass(*p, kTokenClass)) ++p;
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
