// Weighted round robin over a subset's members, kept across snapshots: a rotation for equal
// weights, earliest deadline first otherwise (O(log n) a pick).
#pragma once

#include <string>
#include <vector>

#include "proxy/lb/load_balancer.h"

namespace remora {

class RoundRobinBalancer : public LoadBalancer {
 public:
  int pick(const ClusterInfo& cluster, const SubsetInfo& subset, const EndpointLoad& load) override;

  // A member's next turn: it is due at `deadline`, and each turn moves it on by 1 / weight.
  struct Turn {
    double deadline = 0;
    uint32_t position = 0;  // in subset.members
  };

 private:
  // Re-aligns the turns with a new snapshot's members, by endpoint key.
  void align(const ClusterInfo& cluster, const SubsetInfo& subset);

  uint64_t generation_ = 0;        // SubsetInfo::generation the turns were last aligned with
  std::vector<std::string> keys_;  // by position
  std::vector<Turn> heap_;         // a min-heap by (deadline, position)
  double now_ = 0;                 // the deadline of the last turn taken
  uint64_t cursor_ = 0;
};

}  // namespace remora
