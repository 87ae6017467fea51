// Weights as picks see them: draws by weight (slow start by rejection), and the least loaded.
#include "proxy/lb/member_weights.h"

#include <algorithm>

#include "proxy/lb/slow_start.h"

namespace remora {

namespace {

// A ramped member is drawn by its full weight, then kept with probability its ramp factor; a
// floor of 1% makes 100 tries the mean of the worst case, so past this many the draw stands.
constexpr int kMaxRampRedraws = 256;

// Uniform in [0, 1).
double unitRandom() { return static_cast<double>(lbRandom() >> 11) * 0x1p-53; }

}  // namespace

MemberWeights::MemberWeights(const ClusterInfo& cluster, const SubsetInfo& subset,
                             const EndpointLoad& load)
    : cluster_(cluster), subset_(subset) {
  if (subset.slow_start_until_us != 0) {
    now_us_ = load.nowMicros();
    ramping_ = now_us_ < subset.slow_start_until_us;
  }
}

double MemberWeights::of(size_t position) const {
  const EndpointInfo& endpoint = cluster_.endpoints[subset_.members[position]];
  const double weight = endpoint.weight;
  if (!ramping_ || endpoint.slow_start_since_us == 0) return weight;
  return weight *
         slowStartFactor(cluster_.config->slow_start, endpoint.slow_start_since_us, now_us_);
}

size_t MemberWeights::draw() const {
  const size_t n = subset_.members.size();
  for (int attempt = 0;; ++attempt) {
    size_t position;
    if (subset_.equal_weights) {
      position = lbRandomBelow(n);
    } else {
      const uint64_t point = lbRandomBelow(subset_.total_weight);
      position = static_cast<size_t>(std::upper_bound(subset_.cumulative_weights.begin(),
                                                      subset_.cumulative_weights.end(), point) -
                                     subset_.cumulative_weights.begin());
    }
    if (!ramping_ || attempt == kMaxRampRedraws) return position;
    const EndpointInfo& endpoint = cluster_.endpoints[subset_.members[position]];
    if (endpoint.slow_start_since_us == 0 ||
        unitRandom() <
            slowStartFactor(cluster_.config->slow_start, endpoint.slow_start_since_us, now_us_)) {
      return position;
    }
  }
}

std::pair<size_t, size_t> MemberWeights::drawTwo() const {
  const size_t n = subset_.members.size();
  const size_t a = draw();
  size_t b = draw();
  if (b == a) b = (a + 1 + lbRandomBelow(n - 1)) % n;
  return {a, b};
}

size_t MemberWeights::fewestActive(const EndpointLoad& load) const {
  const size_t n = subset_.members.size();
  // First pass: the least active / weight, and the weight of the members that share it.
  // Compared as a_i * w_j < a_j * w_i, without division.
  double best_active = 0;
  double best_weight = 0;
  double tied_weight = 0;
  for (size_t i = 0; i < n; ++i) {
    const double weight = of(i);
    const double active = load.active(cluster_, subset_.members[i]);
    if (i == 0 || active * best_weight < best_active * weight) {
      best_active = active;
      best_weight = weight;
      tied_weight = weight;
    } else if (active * best_weight == best_active * weight) {
      tied_weight += weight;
    }
  }
  // Second pass: a point in the tied members' weight.
  double point = unitRandom() * tied_weight;
  size_t last_tied = 0;
  for (size_t i = 0; i < n; ++i) {
    const double weight = of(i);
    const double active = load.active(cluster_, subset_.members[i]);
    if (active * best_weight != best_active * weight) continue;
    last_tied = i;
    if (point < weight) return i;
    point -= weight;
  }
  return last_tied;
}

}  // namespace remora
