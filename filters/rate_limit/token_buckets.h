// TokenBuckets: a rate limit's buckets, shared by every worker without a lock. Each bucket is one
// atomic "theoretical arrival time" (the generic cell rate algorithm, equivalent to a token
// bucket of `burst` tokens refilled at `rate` per second): a request moves it on by one interval
// with a compare-and-swap, so the limit is exact across workers. Keyed buckets live in a fixed
// table; a bucket that is full again (idle) is as good as a new one, so its slot is reused by any
// key, and the table never grows.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

namespace remora::filters {

class TokenBuckets {
 public:
  // `max_keys` > 0: keyed buckets, at most that many busy at once; 0: one bucket for everyone.
  TokenBuckets(double rate_per_second, uint32_t burst, uint32_t max_keys);

  struct Decision {
    bool admitted = false;
    uint32_t remaining = 0;      // requests the bucket would still admit right now
    int64_t retry_after_ns = 0;  // refused: until the next one would be admitted
    int64_t full_in_ns = 0;      // until the bucket is full again
  };
  // Takes one token from `key`'s bucket (ignored without keys) at `now_ns` (a steady clock).
  Decision take(std::string_view key, int64_t now_ns);

  // For tests: how many keyed buckets could not get a slot and shared the overflow bucket.
  uint64_t overflowed() const { return overflowed_.load(std::memory_order_relaxed); }

 private:
  struct Slot {
    std::atomic<uint64_t> key{0};  // a hash of the key, never 0; 0: never used
    std::atomic<int64_t> arrival{0};
  };
  Decision takeFrom(std::atomic<int64_t>& arrival, int64_t now_ns) const;
  std::atomic<int64_t>& bucketOf(std::string_view key, int64_t now_ns);

  int64_t interval_ns_;  // between two tokens
  int64_t window_ns_;    // burst x interval: how far ahead of now a bucket may be booked
  uint32_t burst_;
  std::atomic<int64_t> shared_{0};  // without keys; with keys, for those that found no slot
  std::unique_ptr<Slot[]> slots_;
  uint64_t mask_ = 0;
  std::atomic<uint64_t> overflowed_{0};
};

}  // namespace remora::filters
