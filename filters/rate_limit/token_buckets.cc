// The rate limit's buckets: the arrival-time arithmetic and the keyed table's probing.
#include "filters/rate_limit/token_buckets.h"

#include <algorithm>
#include <cmath>

#include "proxy/lb/stable_hash.h"

namespace remora::filters {
namespace {

// Slots looked at for a key: its own is among them, or a free or idle one to take.
constexpr uint64_t kProbe = 8;

uint64_t hashKey(std::string_view key) {
  return stableHash(key) | 1;  // never 0, which marks an unused slot
}

}  // namespace

TokenBuckets::TokenBuckets(double rate_per_second, uint32_t burst, uint32_t max_keys)
    : interval_ns_(std::max<int64_t>(1, std::llround(1e9 / rate_per_second))),
      window_ns_(interval_ns_ * std::max<uint32_t>(burst, 1)),
      burst_(std::max<uint32_t>(burst, 1)) {
  if (max_keys == 0) return;
  // At most half full: probing stays short.
  uint64_t size = 16;
  while (size < uint64_t{max_keys} * 2) size <<= 1;
  slots_ = std::make_unique<Slot[]>(size);
  mask_ = size - 1;
}

TokenBuckets::Decision TokenBuckets::takeFrom(std::atomic<int64_t>& arrival, int64_t now_ns) const {
  int64_t booked = arrival.load(std::memory_order_relaxed);
  for (;;) {
    const int64_t from = std::max(booked, now_ns);
    const int64_t next = from + interval_ns_;
    if (next - now_ns > window_ns_) {
      return {false, 0, next - now_ns - window_ns_, from - now_ns};
    }
    if (arrival.compare_exchange_weak(booked, next, std::memory_order_relaxed)) {
      const auto remaining = static_cast<uint32_t>((window_ns_ - (next - now_ns)) / interval_ns_);
      return {true, std::min(remaining, burst_), 0, next - now_ns};
    }
  }
}

std::atomic<int64_t>& TokenBuckets::bucketOf(std::string_view key, int64_t now_ns) {
  const uint64_t hash = hashKey(key);
  // Its own slot first, anywhere in the window: taking a free one while its own is still
  // booked ahead would hand the key a full bucket.
  for (uint64_t i = 0; i < kProbe; ++i) {
    Slot& slot = slots_[(hash + i) & mask_];
    if (slot.key.load(std::memory_order_acquire) == hash) return slot.arrival;
  }
  for (uint64_t i = 0; i < kProbe; ++i) {
    Slot& slot = slots_[(hash + i) & mask_];
    uint64_t holder = slot.key.load(std::memory_order_acquire);
    // A bucket booked no later than now is full: nothing of its key's is lost by reusing it.
    if (holder != 0 && slot.arrival.load(std::memory_order_relaxed) > now_ns) continue;
    if (slot.key.compare_exchange_strong(holder, hash, std::memory_order_acq_rel) ||
        holder == hash) {
      return slot.arrival;
    }
  }
  overflowed_.fetch_add(1, std::memory_order_relaxed);
  return shared_;
}

TokenBuckets::Decision TokenBuckets::take(std::string_view key, int64_t now_ns) {
  return takeFrom(slots_ == nullptr ? shared_ : bucketOf(key, now_ns), now_ns);
}

}  // namespace remora::filters
