// Least connections: the member with the fewest requests in flight per unit of weight, found by
// a scan of every member (O(n)); ties are drawn by weight.
#pragma once

#include "proxy/lb/load_balancer.h"

namespace remora {

class LeastConnectionsBalancer : public LoadBalancer {
 public:
  int pick(const ClusterInfo& cluster, const SubsetInfo& subset, const EndpointLoad& load) override;
};

}  // namespace remora
