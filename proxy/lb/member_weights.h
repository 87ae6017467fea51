// MemberWeights: a subset's members' weights as a pick sees them (the snapshot's, or ramped for
// members in their slow start), a draw in proportion to them, and the least loaded per weight.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "discovery/snapshot.h"
#include "proxy/lb/load_balancer.h"

namespace remora {

class MemberWeights {
 public:
  MemberWeights(const ClusterInfo& cluster, const SubsetInfo& subset, const EndpointLoad& load);

  // Whether a member's slow start ramps its weight at this instant.
  bool ramping() const { return ramping_; }
  // The weight of `subset.members[position]`.
  double of(size_t position) const;
  // A member's position, drawn in proportion to weight: O(log n), or O(1) for equal weights.
  size_t draw() const;
  // Two different members' positions, the first drawn by weight, the second too unless it is the
  // first again, when another is taken at random (for two members or more).
  std::pair<size_t, size_t> drawTwo() const;
  // The position of the member with the fewest requests in flight per unit of weight; ties are
  // drawn in proportion to weight, so that an idle cluster still spreads by weight. O(n).
  size_t fewestActive(const EndpointLoad& load) const;

 private:
  const ClusterInfo& cluster_;
  const SubsetInfo& subset_;
  int64_t now_us_ = 0;
  bool ramping_ = false;
};

}  // namespace remora
