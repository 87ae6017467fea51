// Unit tests of the canary's latency histogram: bucket bounds, quantiles within a bucket's width,
// counts above a threshold, merging.
#include "discovery/canary/latency_histogram.h"

#include <gtest/gtest.h>

#include <random>

namespace remora::canary {
namespace {

TEST(LatencyHistogram, BucketsTileTheRangeWithoutGapsOrOverlaps) {
  for (int b = 0; b + 1 < LatencyHistogram::kBuckets; ++b) {
    EXPECT_EQ(LatencyHistogram::upperBound(b), LatencyHistogram::lowerBound(b + 1)) << b;
    EXPECT_LT(LatencyHistogram::lowerBound(b), LatencyHistogram::upperBound(b)) << b;
    EXPECT_EQ(LatencyHistogram::bucketOf(LatencyHistogram::lowerBound(b)), b);
    EXPECT_EQ(LatencyHistogram::bucketOf(LatencyHistogram::upperBound(b) - 1), b);
  }
  EXPECT_EQ(LatencyHistogram::bucketOf(0), 0);
  EXPECT_EQ(LatencyHistogram::bucketOf(~uint64_t{0}), LatencyHistogram::kBuckets - 1);
}

TEST(LatencyHistogram, ABucketIsAtMostASixteenthWiderThanWhereItStarts) {
  for (int b = 32; b + 1 < LatencyHistogram::kBuckets; ++b) {
    const double low = static_cast<double>(LatencyHistogram::lowerBound(b));
    const double high = static_cast<double>(LatencyHistogram::upperBound(b));
    EXPECT_LE((high - low) / low, 1.0 / 16 + 1e-12) << b;
  }
}

TEST(LatencyHistogram, QuantilesErrTowardsSlowByLessThanABucket) {
  LatencyHistogram histogram;
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> latency(std::log(20000.0), 0.6);  // ~20ms median
  std::vector<uint64_t> samples;
  for (int i = 0; i < 100000; ++i) {
    const auto us = static_cast<uint64_t>(latency(rng));
    samples.push_back(us);
    histogram.record(us);
  }
  std::sort(samples.begin(), samples.end());
  for (double q : {0.5, 0.9, 0.99}) {
    const auto exact = static_cast<double>(samples[static_cast<size_t>(q * 100000) - 1]);
    const auto estimate = static_cast<double>(histogram.quantile(q));
    EXPECT_GE(estimate, exact) << q;
    EXPECT_LE(estimate, exact * (1 + 1.0 / 16) + 1) << q;
  }
  EXPECT_EQ(histogram.count(), 100000u);
  EXPECT_EQ(LatencyHistogram().quantile(0.99), 0u);
}

TEST(LatencyHistogram, CountAboveTakesOnlyBucketsWhollyAboveTheThreshold) {
  LatencyHistogram histogram;
  histogram.record(1000);
  histogram.record(5000);
  histogram.record(5001);
  histogram.record(90000);
  EXPECT_EQ(histogram.countAbove(100000), 0u);
  EXPECT_EQ(histogram.countAbove(10000), 1u);
  // 5000 and 5001 share a bucket that starts at or below 5000: not surely above it.
  EXPECT_EQ(histogram.countAbove(5000), 1u);
  EXPECT_EQ(histogram.countAbove(2000), 3u);
  EXPECT_EQ(histogram.countAbove(0), 4u);  // every bucket but the first starts above 0
}

TEST(LatencyHistogram, AddMergesCounts) {
  LatencyHistogram a;
  LatencyHistogram b;
  a.record(10);
  b.record(10);
  b.record(1000000);
  a.add(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.countAbove(500000), 1u);
  a.clear();
  EXPECT_EQ(a.count(), 0u);
}

}  // namespace
}  // namespace remora::canary
