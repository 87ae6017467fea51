// How /clusters and /explain show an endpoint: one JSON shape for both.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>

#include "discovery/snapshot.h"
#include "proxy/balancer_loads.h"

namespace remora::admin {

// One endpoint: address, weight, meta, health, ejection, whether it is `in_rotation` (a member of
// the subset being shown) and why, in a sentence that says so when the subset is in `panic`.
nlohmann::json endpointJson(const EndpointInfo& endpoint, bool in_rotation, bool panic);

// What a subset's balancer sees of its endpoints beyond their health: the weight slow start
// gives one now, its share of a ring_hash or maglev table, and, as the workers last reported
// (`loads`, may be null), its requests in flight and peak_ewma's latency estimates and costs.
class PolicyView {
 public:
  PolicyView(const ClusterInfo& cluster, const SubsetInfo& subset, const BalancerLoads* loads,
             int64_t now_us);
  // Adds the view of `cluster.endpoints[index]` to its endpointJson().
  void add(uint32_t index, nlohmann::json& entry) const;

 private:
  const ClusterInfo& cluster_;
  const BalancerLoads* loads_;
  int64_t now_us_;
  std::map<uint32_t, double> hash_share_percent_;  // by endpoint index
};

}  // namespace remora::admin
