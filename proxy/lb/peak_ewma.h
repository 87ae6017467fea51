// Peak-EWMA: the cheaper, by latency estimate x (requests in flight + 1) per unit of weight, of
// two members drawn by weight. The estimate takes a slower answer at once and decays toward
// faster ones; a failed try counts as a slow answer, so an endpoint that fails fast (503, 429, a
// refused connection) does not look cheap and draw traffic.
#pragma once

#include <cstdint>

#include "proxy/lb/load_balancer.h"

namespace remora {

// One endpoint's latency estimate, on one worker.
class LatencyEstimate {
 public:
  // Before a first answer (its probe is in flight), an endpoint costs this much per request.
  static constexpr int64_t kDefaultRttMicros = 30'000;
  // How fast the estimate forgets: a peak is down to 1/e after this long.
  static constexpr int64_t kDecayMicros = 10'000'000;
  // A failure counts as twice the estimate (at least the default RTT), at most this.
  static constexpr int64_t kMaxPenaltyMicros = 10'000'000;

  // A try answered (its headers) `rtt_us` after it began; `failed`: a 5xx, a 429 or no answer.
  void observe(int64_t rtt_us, bool failed, int64_t now_us);
  // The estimate at `now_us`, decayed toward 0 since the last answer: an endpoint left alone
  // after a bad spell is tried again in time.
  double at(int64_t now_us) const;
  bool known() const { return stamp_us_ != 0; }

 private:
  double estimate_us_ = 0;
  int64_t stamp_us_ = 0;  // when it was last updated; 0: never
};

class PeakEwmaBalancer : public LoadBalancer {
 public:
  int pick(const ClusterInfo& cluster, const SubsetInfo& subset, const EndpointLoad& load) override;
};

}  // namespace remora
