// Random: a member chosen at random in proportion to its weight.
#pragma once

#include "proxy/lb/load_balancer.h"

namespace remora {

class RandomBalancer : public LoadBalancer {
 public:
  int pick(const ClusterInfo& cluster, const SubsetInfo& subset, const EndpointLoad&) override;
};

}  // namespace remora
