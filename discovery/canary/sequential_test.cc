// Always-valid p-values and the estimates the canary judge feeds them.
#include "discovery/canary/sequential_test.h"

#include <algorithm>
#include <cmath>

namespace remora::canary {

double AlwaysValidPValue::update(double effect, double variance) {
  if (!(variance > 0) || !std::isfinite(effect)) return p_;
  const double tau2 = tau_ * tau_;
  const double positive = std::max(effect, 0.0);
  // In logs: the exponent grows with the sample and would overflow long before p reaches 0.
  const double log_ratio = 0.5 * std::log(variance / (variance + tau2)) +
                           tau2 * positive * positive / (2 * variance * (variance + tau2));
  p_ = std::min(p_, std::exp(-log_ratio));
  return p_;
}

double smoothedRate(uint64_t events, uint64_t trials) {
  return (static_cast<double>(events) + 0.5) / (static_cast<double>(trials) + 1.0);
}

Interval wilsonInterval(uint64_t events, uint64_t trials) {
  if (trials == 0) return {0, 1};
  constexpr double z = 1.96;
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(events) / n;
  const double centre = (p + z * z / (2 * n)) / (1 + z * z / n);
  const double half = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n);
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

Estimate rateIncrease(uint64_t canary_events, uint64_t canary_trials, uint64_t baseline_events,
                      uint64_t baseline_trials, double margin) {
  if (canary_trials == 0 || baseline_trials == 0) return {};
  const double canary = smoothedRate(canary_events, canary_trials);
  const double baseline = smoothedRate(baseline_events, baseline_trials);
  return {canary - baseline - margin,
          canary * (1 - canary) / static_cast<double>(canary_trials) +
              baseline * (1 - baseline) / static_cast<double>(baseline_trials)};
}

Estimate rateAbove(uint64_t events, uint64_t trials, double limit) {
  if (trials == 0) return {};
  const double rate = smoothedRate(events, trials);
  return {rate - limit, rate * (1 - rate) / static_cast<double>(trials)};
}

Estimate tailAbove(const LatencyHistogram& canary, uint64_t threshold_us) {
  return rateAbove(canary.countAbove(threshold_us), canary.count(), kTailShare);
}

}  // namespace remora::canary
