// Log-linear bucketing of durations, and the quantiles and tail counts the canary judge reads.
#include "discovery/canary/latency_histogram.h"

#include <bit>
#include <cmath>
#include <limits>

namespace remora::canary {

int LatencyHistogram::bucketOf(uint64_t micros) {
  constexpr uint64_t kLinear = uint64_t{1} << kLinearBits;
  if (micros < kLinear) return static_cast<int>(micros);
  const int msb = 63 - std::countl_zero(micros);
  if (msb >= kMaxBits) return kBuckets - 1;
  const int sub = static_cast<int>((micros >> (msb - kSubBits)) & (kSubBuckets - 1));
  return static_cast<int>(kLinear) + (msb - kLinearBits) * kSubBuckets + sub;
}

uint64_t LatencyHistogram::lowerBound(int bucket) {
  constexpr int kLinear = 1 << kLinearBits;
  if (bucket < kLinear) return static_cast<uint64_t>(bucket);
  const int above = bucket - kLinear;
  const int msb = above / kSubBuckets + kLinearBits;
  const uint64_t sub = static_cast<uint64_t>(above % kSubBuckets);
  return (uint64_t{1} << msb) + (sub << (msb - kSubBits));
}

uint64_t LatencyHistogram::upperBound(int bucket) {
  if (bucket >= kBuckets - 1) return std::numeric_limits<uint64_t>::max();
  return lowerBound(bucket + 1);
}

void LatencyHistogram::add(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
}

bool LatencyHistogram::addToBucket(int bucket, uint64_t count) {
  if (bucket < 0 || bucket >= kBuckets) return false;
  counts_[static_cast<size_t>(bucket)] += count;
  return true;
}

uint64_t LatencyHistogram::count() const {
  uint64_t total = 0;
  for (uint64_t n : counts_) total += n;
  return total;
}

uint64_t LatencyHistogram::quantile(double q) const {
  const uint64_t total = count();
  if (total == 0) return 0;
  // The rank of the q-quantile, 1-based: the smallest sample with at least q of them at or below.
  const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  const uint64_t wanted = rank == 0 ? 1 : rank;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[static_cast<size_t>(i)];
    if (seen >= wanted) return upperBound(i);
  }
  return upperBound(kBuckets - 1);
}

uint64_t LatencyHistogram::countAbove(uint64_t micros) const {
  uint64_t above = 0;
  for (int i = kBuckets - 1; i >= 0 && lowerBound(i) > micros; --i) {
    above += counts_[static_cast<size_t>(i)];
  }
  return above;
}

}  // namespace remora::canary
