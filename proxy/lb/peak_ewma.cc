// The Peak-EWMA estimate and the two-choice pick over it.
#include "proxy/lb/peak_ewma.h"

#include <algorithm>
#include <cmath>

#include "proxy/lb/member_weights.h"

namespace remora {

namespace {

double decayWeight(int64_t elapsed_us) {
  if (elapsed_us <= 0) return 1.0;
  return std::exp(-static_cast<double>(elapsed_us) /
                  static_cast<double>(LatencyEstimate::kDecayMicros));
}

// What a request more costs on `index`, per unit of weight.
double costOf(const ClusterInfo& cluster, uint32_t index, double weight, const EndpointLoad& load,
              int64_t now_us) {
  const double pending = load.active(cluster, index);
  const LatencyEstimate* latency = load.latency(cluster, index);
  double estimate;
  if (latency != nullptr && latency->known()) {
    estimate = latency->at(now_us);
  } else {
    // Unknown: free while nothing is in flight, so that one probe finds out.
    estimate = pending == 0 ? 0.0 : static_cast<double>(LatencyEstimate::kDefaultRttMicros);
  }
  return estimate * (pending + 1) / std::max(weight, 1e-9);
}

}  // namespace

void LatencyEstimate::observe(int64_t rtt_us, bool failed, int64_t now_us) {
  double sample = static_cast<double>(std::max<int64_t>(rtt_us, 0));
  if (failed) {
    const double current = known() ? at(now_us) : 0.0;
    const double penalty = std::min(2 * std::max(current, static_cast<double>(kDefaultRttMicros)),
                                    static_cast<double>(kMaxPenaltyMicros));
    sample = std::max(sample, penalty);
  }
  if (!known() || sample > estimate_us_) {
    estimate_us_ = sample;  // a peak is taken at once
  } else {
    const double w = decayWeight(now_us - stamp_us_);
    estimate_us_ = estimate_us_ * w + sample * (1 - w);
  }
  stamp_us_ = std::max<int64_t>(now_us, 1);
}

double LatencyEstimate::at(int64_t now_us) const {
  return estimate_us_ * decayWeight(now_us - stamp_us_);
}

int PeakEwmaBalancer::pick(const ClusterInfo& cluster, const SubsetInfo& subset,
                           const EndpointLoad& load) {
  const size_t n = subset.members.size();
  if (n == 0) return -1;
  if (n == 1) return static_cast<int>(subset.members[0]);
  const MemberWeights weights(cluster, subset, load);
  const auto [a, b] = weights.drawTwo();
  const int64_t now_us = load.nowMicros();
  const double cost_a = costOf(cluster, subset.members[a], weights.of(a), load, now_us);
  const double cost_b = costOf(cluster, subset.members[b], weights.of(b), load, now_us);
  return static_cast<int>(subset.members[cost_a <= cost_b ? a : b]);
}

}  // namespace remora
