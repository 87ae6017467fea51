// Tests for the shadow copy's pieces that need no sockets: the `-shadow` authority, the share of
// requests copied, and the body hash that `compare: {body: true}` uses.
#include "filters/router/mirror.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace remora::router {
namespace {

TEST(ShadowAuthorityTest, SuffixGoesOnTheHostBeforeAnyPort) {
  EXPECT_EQ(shadowAuthority("orders"), "orders-shadow");
  EXPECT_EQ(shadowAuthority("orders.internal:8080"), "orders.internal-shadow:8080");
  EXPECT_EQ(shadowAuthority("[::1]:8080"), "[::1]-shadow:8080");
  EXPECT_EQ(shadowAuthority(""), "-shadow");
}

TEST(MirrorShareTest, BoundsAreExact) {
  EXPECT_FALSE(inShare(0, 0));
  EXPECT_TRUE(inShare(100, UINT64_MAX));
  EXPECT_TRUE(inShare(50, 0));
  EXPECT_FALSE(inShare(50, UINT64_MAX));
  EXPECT_TRUE(inShare(50, (uint64_t{1} << 63) - 4096));
  EXPECT_FALSE(inShare(50, uint64_t{1} << 63));
}

TEST(MirrorShareTest, EvenlySpreadPointsGiveThePercent) {
  constexpr int kPoints = 10000;
  int in = 0;
  for (int i = 0; i < kPoints; ++i) {
    const uint64_t point = (UINT64_MAX / kPoints) * static_cast<uint64_t>(i);
    in += inShare(12.5, point);
  }
  EXPECT_NEAR(in, 1250, 1);  // the point at exactly 12.5% rounds down, just inside
}

TEST(BodyHashTest, SameBytesInAnyChunkingHashTheSame) {
  BodyHash whole;
  Buffer all;
  all.add("hello, shadow");
  whole.add(all);

  BodyHash pieces;
  for (std::string_view piece : {"hel", "lo, ", "", "shadow"}) {
    Buffer chunk;
    chunk.add(piece);
    pieces.add(chunk);
  }
  EXPECT_EQ(whole.value(), pieces.value());
  // Hashing reads without draining: the bytes still go on to the client.
  EXPECT_EQ(all.toString(), "hello, shadow");

  BodyHash other;
  Buffer different;
  different.add("hello, Shadow");
  other.add(different);
  EXPECT_NE(whole.value(), other.value());
}

TEST(BodyHashTest, ManySegmentsAreAllRead) {
  Buffer big;
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    Buffer segment;
    segment.add(std::string(1000, static_cast<char>('a' + i % 26)));
    expected += segment.toString();
    big.move(segment);
  }
  BodyHash chunked;
  chunked.add(big);
  Buffer flat;
  flat.add(expected);
  BodyHash contiguous;
  contiguous.add(flat);
  EXPECT_EQ(chunked.value(), contiguous.value());
}

}  // namespace
}  // namespace remora::router
