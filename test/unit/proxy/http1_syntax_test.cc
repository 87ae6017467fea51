// Tests for the HTTP/1 byte scanners: skipToken and skipClass, which look at sixteen or eight
// bytes at a time, stop exactly where a byte-by-byte walk over the character table stops.
#include "proxy/http1_syntax.h"

#include <gtest/gtest.h>

#include <string>

namespace remora::http1::detail {
namespace {

const char* walk(const char* p, const char* end, CharClass cls) {
  while (p != end && hasClass(*p, cls)) ++p;
  return p;
}

// Every byte value at every position of runs up to 40 bytes long (past two 16-byte blocks and
// their tails), in runs of each filler.
template <typename Scan>
void expectSameStopAsTheTable(const std::string& fillers, CharClass cls, Scan scan) {
  for (const char filler : fillers) {
    for (size_t size = 0; size <= 40; ++size) {
      for (size_t at = 0; at < size; ++at) {
        for (int byte = 0; byte < 256; ++byte) {
          std::string run(size, filler);
          run[at] = static_cast<char>(byte);
          const char* begin = run.data();
          const char* end = begin + run.size();
          ASSERT_EQ(scan(begin, end) - begin, walk(begin, end, cls) - begin)
              << "filler " << int(filler) << ", size " << size << ", byte " << byte << " at " << at;
        }
      }
    }
  }
}

TEST(Http1SyntaxTest, SkipTokenStopsWhereTheTableDoes) {
  expectSameStopAsTheTable("aZ5-_", kTokenClass, skipToken);
}

TEST(Http1SyntaxTest, SkipClassStopsWhereTheTableDoesForValuesAndTargets) {
  expectSameStopAsTheTable("x \t\x80~", kFieldValueClass, [](const char* p, const char* end) {
    return skipClass<0x20>(p, end, kFieldValueClass);
  });
  expectSameStopAsTheTable("x/\x80~", kTargetClass, [](const char* p, const char* end) {
    return skipClass<0x21>(p, end, kTargetClass);
  });
}

}  // namespace
}  // namespace remora::http1::detail
