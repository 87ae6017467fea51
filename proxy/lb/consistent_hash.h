// ConsistentHashBalancer: ring_hash and maglev. A request with a key (the route's `hash:`) goes
// where the subset's table sends it, walking on past endpoints out of rotation (and, for a ring
// with balance_factor, past those over their load bound); one without a key goes to a random
// member.
#pragma once

#include "proxy/lb/load_balancer.h"

namespace remora {

class ConsistentHashBalancer : public LoadBalancer {
 public:
  int pick(const ClusterInfo& cluster, const SubsetInfo& subset, const EndpointLoad&) override;
  int pickHashed(const ClusterInfo& cluster, const SubsetInfo& subset, const EndpointLoad& load,
                 uint64_t hash) override;
};

}  // namespace remora
