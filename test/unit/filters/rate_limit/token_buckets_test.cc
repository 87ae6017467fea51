// Unit tests of the rate limit's buckets on a simulated clock: a burst then the rate, the exact
// count when threads take from one bucket at once, keys apart, idle slots reused, and the shared
// overflow bucket when every slot is busy.
#include "filters/rate_limit/token_buckets.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace remora::filters {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(TokenBuckets, ABurstAtOnceThenTheRate) {
  TokenBuckets buckets(/*rate_per_second=*/10, /*burst=*/3, /*max_keys=*/0);
  const int64_t start = 100 * kSecond;
  for (uint32_t i = 0; i < 3; ++i) {
    const TokenBuckets::Decision d = buckets.take("", start);
    ASSERT_TRUE(d.admitted) << i;
    EXPECT_EQ(d.remaining, 2 - i);
  }
  const TokenBuckets::Decision refused = buckets.take("", start);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.retry_after_ns, kSecond / 10);  // one token's time
  EXPECT_EQ(refused.full_in_ns, 3 * kSecond / 10);
  EXPECT_FALSE(buckets.take("", start + kSecond / 10 - 1).admitted);
  EXPECT_TRUE(buckets.take("", start + kSecond / 10).admitted);
}

TEST(TokenBuckets, FourHundredOfferedASecondForTenSecondsAdmitsTheRatePlusTheBurst) {
  TokenBuckets buckets(100, 10, 0);
  int admitted = 0;
  for (int64_t i = 0; i < 4000; ++i) {
    admitted += buckets.take("", 50 * kSecond + i * kSecond / 400).admitted;
  }
  // 10 s at 100/s, and the 10 of the burst at the start (the last offer comes 2.5 ms early).
  EXPECT_GE(admitted, 1009);
  EXPECT_LE(admitted, 1010);
}

TEST(TokenBuckets, ThreadsTakingAtOnceGetExactlyTheBurst) {
  TokenBuckets buckets(1, 1000, 0);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) admitted += buckets.take("", kSecond).admitted;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(admitted.load(), 1000);
}

TEST(TokenBuckets, EachKeyHasItsOwnBucket) {
  TokenBuckets buckets(1, 2, 100);
  EXPECT_TRUE(buckets.take("alice", kSecond).admitted);
  EXPECT_TRUE(buckets.take("alice", kSecond).admitted);
  EXPECT_FALSE(buckets.take("alice", kSecond).admitted);
  EXPECT_TRUE(buckets.take("bob", kSecond).admitted);
  EXPECT_TRUE(buckets.take("", kSecond).admitted);  // no key is a key of its own
  EXPECT_EQ(buckets.overflowed(), 0u);
}

TEST(TokenBuckets, IdleBucketsGiveTheirSlotsToNewKeysAndBusyOnesShareTheOverflow) {
  // 16 slots; a rate so low that a used bucket stays busy for the whole test.
  TokenBuckets buckets(0.001, 1, 1);
  int admitted = 0;
  for (int key = 0; key < 100; ++key) {
    admitted += buckets.take("key" + std::to_string(key), kSecond).admitted;
  }
  // Every slot went to one key; the keys that found none shared one bucket of one token.
  EXPECT_LE(admitted, 17);
  EXPECT_GE(admitted, 2);
  EXPECT_GT(buckets.overflowed(), 0u);
  // Once the buckets are full again, new keys find slots: nobody is refused for lack of room.
  const int64_t later = kSecond + 2000 * kSecond;
  const uint64_t overflowed = buckets.overflowed();
  for (int key = 100; key < 108; ++key) {
    EXPECT_TRUE(buckets.take("key" + std::to_string(key), later).admitted) << key;
  }
  EXPECT_EQ(buckets.overflowed(), overflowed);
}

}  // namespace
}  // namespace remora::filters
