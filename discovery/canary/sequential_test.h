// The canary judge's statistics: one-sided tests that stay valid however often they are looked
// at (mixture sequential probability ratio tests, always-valid p-values), for error rates and for
// the latency tail, canary against baseline and against absolute limits.
#pragma once

#include <cstdint>

#include "discovery/canary/latency_histogram.h"

namespace remora::canary {

// An always-valid p-value for "the effect is at most 0" against "it is above 0", from estimates
// of the effect taken as often as one likes. A normal-mixture SPRT on the estimate: with the
// mixing scale `tau`, the likelihood ratio at an estimate `effect` with variance `variance` is
// sqrt(V / (V + tau^2)) * exp(tau^2 * effect^2 / (2 V (V + tau^2))); by Ville's inequality the
// chance that it ever reaches 1/alpha under the null is at most alpha, so the running minimum of
// its inverse is a p-value that peeking does not spoil. Only effects above 0 count (one-sided).
class AlwaysValidPValue {
 public:
  explicit AlwaysValidPValue(double tau) : tau_(tau) {}
  // Folds in the current cumulative estimate; returns the p-value so far.
  double update(double effect, double variance);
  double value() const { return p_; }
  void reset() { p_ = 1.0; }
  // Continues a test another remora ran: its p-value so far.
  void resumeFrom(double p) { p_ = p; }

 private:
  double tau_;
  double p_ = 1.0;
};

// A rate with the smoothing the tests use: (events + 1/2) / (trials + 1), never exactly 0 or 1,
// so that a run with no error yet still has a variance.
double smoothedRate(uint64_t events, uint64_t trials);

// An approximate 95% interval of a rate (Wilson score), for people to read.
struct Interval {
  double low = 0;
  double high = 0;
};
Interval wilsonInterval(uint64_t events, uint64_t trials);

// Effect and variance of "canary rate - baseline rate - margin" (> 0: the canary is worse by more
// than the margin allows).
struct Estimate {
  double effect = 0;
  double variance = 0;
};
Estimate rateIncrease(uint64_t canary_events, uint64_t canary_trials, uint64_t baseline_events,
                      uint64_t baseline_trials, double margin);
// "rate - limit" for one arm against a fixed limit.
Estimate rateAbove(uint64_t events, uint64_t trials, double limit);

// The share of requests allowed above a latency threshold taken at p99: 1%.
inline constexpr double kTailShare = 0.01;
// Fewer samples than this in an arm and its p99 says too little: no latency verdict yet.
inline constexpr uint64_t kMinLatencySamples = 200;

// The latency tail as a rate: how many canary requests took longer than `threshold_us` (a p99
// times an allowed ratio, or an absolute p99 limit), against the 1% that a p99 within the limit
// allows.
Estimate tailAbove(const LatencyHistogram& canary, uint64_t threshold_us);

}  // namespace remora::canary
