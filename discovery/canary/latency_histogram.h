// LatencyHistogram: request durations in log-linear buckets, fine enough to tell a 1.5x p99 apart,
// small enough to send per canary arm from every worker once a second.
#pragma once

#include <array>
#include <cstdint>

namespace remora::canary {

// Durations in microseconds. Below 2^kLinearBits us each microsecond has its bucket; above, every
// power of two is cut into kSubBuckets equal buckets, so a bucket is at most 1/kSubBuckets
// (6.25%) wider than its lower bound. The last bucket takes everything from about 9.5 hours up.
class LatencyHistogram {
 public:
  static constexpr int kSubBits = 4;
  static constexpr int kSubBuckets = 1 << kSubBits;
  static constexpr int kLinearBits = kSubBits + 1;
  static constexpr int kMaxBits = 35;  // 2^35 us: 9.5 hours
  static constexpr int kBuckets = (1 << kLinearBits) + (kMaxBits - kLinearBits) * kSubBuckets;

  void record(uint64_t micros) { ++counts_[bucketOf(micros)]; }
  void add(const LatencyHistogram& other);
  void clear() { counts_.fill(0); }
  // For histograms read back from elsewhere (another remora's counts); false when out of range.
  bool addToBucket(int bucket, uint64_t count);

  uint64_t count() const;
  // The duration (us) below which a fraction q of the samples fall: the upper bound of the bucket
  // that holds the q-quantile, so an estimate errs towards slow. 0 when empty.
  uint64_t quantile(double q) const;
  // Samples surely slower than `micros`: those in buckets that start above it.
  uint64_t countAbove(uint64_t micros) const;

  static int bucketOf(uint64_t micros);
  static uint64_t lowerBound(int bucket);
  static uint64_t upperBound(int bucket);  // exclusive
  const std::array<uint64_t, kBuckets>& counts() const { return counts_; }

 private:
  std::array<uint64_t, kBuckets> counts_{};
};

}  // namespace remora::canary
