// Per-worker load balancing: smooth weighted round robin, least request (two choices), random.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "discovery/snapshot.h"
#include "proxy/stats.h"

namespace remora {

class LoadBalancer {
 public:
  LoadBalancer() : rng_(std::random_device{}()) {}

  // An endpoint index of `cluster` from `subset.members`, or -1 when it has none.
  int pick(const ClusterInfo& cluster, const SubsetInfo& subset);
  // A target of a route by weight (targets with weight 0 are never chosen), or -1.
  int pickTarget(const std::vector<RouteTarget>& targets);

  // Requests in flight per endpoint, which least_request balances on.
  void requestStarted(const std::string& endpoint_key) { ++active_[endpoint_key]; }
  void requestFinished(const std::string& endpoint_key);
  uint32_t active(const std::string& endpoint_key) const;

 private:
  // Smooth weighted round robin state of one subset, kept across snapshots by endpoint key.
  struct RoundRobinState {
    uint64_t generation = 0;  // SubsetInfo::generation the state was last aligned with
    std::vector<std::string> keys;
    std::vector<int64_t> current;
    uint64_t cursor = 0;
  };
  int pickRoundRobin(const ClusterInfo& cluster, const SubsetInfo& subset);
  int pickLeastRequest(const ClusterInfo& cluster, const SubsetInfo& subset);
  int pickRandom(const ClusterInfo& cluster, const SubsetInfo& subset);

  std::mt19937_64 rng_;
  std::unordered_map<std::string, RoundRobinState, stats::TransparentHash, std::equal_to<>> rr_;
  std::unordered_map<std::string, uint32_t> active_;
};

}  // namespace remora
