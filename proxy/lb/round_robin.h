// Smooth weighted round robin over a subset's members, kept across snapshots.
#pragma once

#include <string>
#include <vector>

#include "proxy/lb/load_balancer.h"

namespace remora {

class RoundRobinBalancer : public LoadBalancer {
 public:
  int pick(const ClusterInfo& cluster, const SubsetInfo& subset, const EndpointLoad&) override;

 private:
  // Re-aligns the per-member state with a new snapshot's members, by endpoint key.
  void align(const ClusterInfo& cluster, const SubsetInfo& subset);

  uint64_t generation_ = 0;  // SubsetInfo::generation the state was last aligned with
  std::vector<std::string> keys_;
  std::vector<int64_t> current_;
  uint64_t cursor_ = 0;
};

}  // namespace remora
