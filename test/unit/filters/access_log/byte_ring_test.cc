// ByteRing: whole appends or none, wrap-around, and one producer with one consumer on two threads.
#include "filters/access_log/byte_ring.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace remora::filters {
namespace {

std::string drain(ByteRing& ring) {
  const ByteRing::Readable waiting = ring.readable();
  std::string out = std::string(waiting.first) + std::string(waiting.second);
  ring.consume(waiting.size());
  return out;
}

TEST(ByteRing, CapacityIsAPowerOfTwo) {
  EXPECT_EQ(ByteRing(16).capacity(), 16u);
  EXPECT_EQ(ByteRing(17).capacity(), 32u);
  EXPECT_EQ(ByteRing(0).capacity(), 1u);
}

TEST(ByteRing, AppendsWholeOrNothing) {
  ByteRing ring(16);
  EXPECT_TRUE(ring.tryAppend("0123456789"));
  EXPECT_FALSE(ring.tryAppend("abcdefg"));  // 7 > 6 left
  EXPECT_TRUE(ring.tryAppend("abcdef"));    // exactly full
  EXPECT_FALSE(ring.tryAppend("x"));
  EXPECT_EQ(ring.readable().size(), 16u);
  EXPECT_EQ(drain(ring), "0123456789abcdef");
  EXPECT_EQ(ring.readable().size(), 0u);
  EXPECT_FALSE(ring.tryAppend(std::string(17, 'x')));  // never fits
}

TEST(ByteRing, WrapsAroundTheEnd) {
  ByteRing ring(16);
  ASSERT_TRUE(ring.tryAppend("0123456789ab"));
  ring.consume(10);
  ASSERT_TRUE(ring.tryAppend("cdefghij"));  // 4 bytes to the end, 4 after the wrap
  const ByteRing::Readable waiting = ring.readable();
  EXPECT_EQ(waiting.first, "abcdef");
  EXPECT_EQ(waiting.second, "ghij");
  ring.consume(3);
  EXPECT_EQ(drain(ring), "defghij");
}

TEST(ByteRing, OneProducerOneConsumerSeeEveryLineInOrder) {
  ByteRing ring(256);  // small: both threads keep meeting at the ends
  constexpr int kLines = 100000;
  std::thread producer([&] {
    for (int i = 0; i < kLines; ++i) {
      const std::string line = "line " + std::to_string(i) + "\n";
      while (!ring.tryAppend(line)) std::this_thread::yield();
    }
  });
  std::string received;
  int next = 0;
  bool in_order = true;
  while (next < kLines) {
    received += drain(ring);
    for (size_t end = received.find('\n'); end != std::string::npos; end = received.find('\n')) {
      in_order = in_order && received.substr(0, end) == "line " + std::to_string(next);
      ++next;
      received.erase(0, end + 1);
    }
    if (received.empty()) std::this_thread::yield();
  }
  producer.join();
  EXPECT_TRUE(in_order);
  EXPECT_EQ(ring.readable().size(), 0u);
}

}  // namespace
}  // namespace remora::filters
