// Unit tests of the canary judge's statistics: the always-valid p-value's behaviour, and that
// peeking at it after every observation keeps the false-alarm rate at alpha.
#include "discovery/canary/sequential_test.h"

#include <gtest/gtest.h>

#include <random>

namespace remora::canary {
namespace {

TEST(AlwaysValidPValue, NoEvidenceLeavesItAtOneAndItNeverRises) {
  AlwaysValidPValue p(0.02);
  EXPECT_EQ(p.update(0, 0.0001), 1.0);
  EXPECT_EQ(p.update(-0.5, 0.0001), 1.0);
  const double after_harm = p.update(0.05, 0.00001);
  EXPECT_LT(after_harm, 0.001);
  EXPECT_EQ(p.update(-1, 0.00001), after_harm);  // the running minimum
  p.reset();
  EXPECT_EQ(p.value(), 1.0);
  EXPECT_EQ(p.update(1, 0), 1.0);  // no variance: no information
}

TEST(AlwaysValidPValue, MoreDataOnTheSameEffectIsMoreEvidence) {
  double last = 1;
  for (uint64_t n : {100, 1000, 10000}) {
    AlwaysValidPValue p(0.02);
    const Estimate e = rateIncrease(n * 6 / 100, n, n / 100, n, 0.01);
    const double value = p.update(e.effect, e.variance);
    EXPECT_LE(value, last) << n;
    last = value;
  }
  EXPECT_LT(last, 1e-6);
}

// Two arms with the same error rate, compared after every 10 requests per arm up to 20,000: with
// margin 0 this is the null's boundary, the hardest case. The share of runs that ever cross alpha
// stays at or below alpha, the always-valid property (a fixed-level test re-checked this often
// would cross far more often).
TEST(AlwaysValidPValue, PeekingAfterEveryBatchKeepsFalseAlarmsAtAlpha) {
  std::mt19937_64 rng(20261206);
  constexpr double kAlpha = 0.02;
  constexpr int kRuns = 400;
  int alarms = 0;
  for (int run = 0; run < kRuns; ++run) {
    std::bernoulli_distribution error(0.02);
    AlwaysValidPValue p(0.02);
    uint64_t n = 0;
    uint64_t canary_errors = 0;
    uint64_t baseline_errors = 0;
    while (n < 20000) {
      for (int i = 0; i < 10; ++i, ++n) {
        canary_errors += error(rng);
        baseline_errors += error(rng);
      }
      if (n < 30) continue;
      const Estimate e = rateIncrease(canary_errors, n, baseline_errors, n, 0);
      if (p.update(e.effect, e.variance) <= kAlpha) {
        ++alarms;
        break;
      }
    }
  }
  RecordProperty("false_alarm_rate", std::to_string(static_cast<double>(alarms) / kRuns));
  EXPECT_LE(alarms, static_cast<int>(kAlpha * kRuns)) << alarms << " of " << kRuns;
}

TEST(SequentialTestEstimates, SmoothingKeepsAVarianceWithNoErrorYet) {
  EXPECT_GT(smoothedRate(0, 100), 0);
  EXPECT_LT(smoothedRate(100, 100), 1);
  const Estimate e = rateAbove(0, 100, 0.01);
  EXPECT_GT(e.variance, 0);
  EXPECT_LT(e.effect, 0);
  EXPECT_EQ(rateIncrease(1, 0, 1, 10, 0).variance, 0);  // an empty arm says nothing
}

TEST(SequentialTestEstimates, WilsonIntervalHoldsTheRate) {
  const Interval i = wilsonInterval(50, 1000);
  EXPECT_LT(i.low, 0.05);
  EXPECT_GT(i.high, 0.05);
  EXPECT_GT(i.low, 0.03);
  EXPECT_LT(i.high, 0.07);
  const Interval none = wilsonInterval(0, 0);
  EXPECT_EQ(none.low, 0);
  EXPECT_EQ(none.high, 1);
}

TEST(SequentialTestEstimates, TailAboveCountsRequestsSlowerThanTheThreshold) {
  LatencyHistogram h;
  for (int i = 0; i < 900; ++i) h.record(10000);
  for (int i = 0; i < 100; ++i) h.record(100000);
  const Estimate e = tailAbove(h, 50000);
  EXPECT_NEAR(e.effect, 0.1 - kTailShare, 0.002);
  EXPECT_GT(e.variance, 0);
}

}  // namespace
}  // namespace remora::canary
