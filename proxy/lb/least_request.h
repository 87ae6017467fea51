// Least request: the less loaded, per unit of weight, of two members drawn by weight (every
// member compared in subsets of up to three).
#pragma once

#include "proxy/lb/load_balancer.h"

namespace remora {

class LeastRequestBalancer : public LoadBalancer {
 public:
  int pick(const ClusterInfo& cluster, const SubsetInfo& subset, const EndpointLoad& load) override;
};

}  // namespace remora
