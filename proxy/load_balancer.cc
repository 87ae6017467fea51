// Load balancing policies over a subset's healthy members.
#include "proxy/load_balancer.h"

namespace remora {

int LoadBalancer::pick(const ClusterInfo& cluster, const SubsetInfo& subset) {
  if (subset.members.empty()) return -1;
  if (subset.members.size() == 1) return static_cast<int>(subset.members[0]);
  switch (cluster.config->lb) {
    case config::LbPolicy::RoundRobin:
      return pickRoundRobin(cluster, subset);
    case config::LbPolicy::LeastRequest:
      return pickLeastRequest(cluster, subset);
    case config::LbPolicy::Random:
      return pickRandom(cluster, subset);
  }
  return -1;
}

int LoadBalancer::pickRoundRobin(const ClusterInfo& cluster, const SubsetInfo& subset) {
  auto it = rr_.find(subset.lb_key);
  if (it == rr_.end()) it = rr_.emplace(subset.lb_key, RoundRobinState{}).first;
  RoundRobinState& state = it->second;
  const size_t n = subset.members.size();
  if (state.generation != subset.generation) {
    // A new snapshot: keep each surviving endpoint's position in the rotation so a registry
    // update does not send a burst to the first endpoint.
    state.generation = subset.generation;
    std::unordered_map<std::string, int64_t> previous;
    for (size_t i = 0; i < state.keys.size(); ++i) previous[state.keys[i]] = state.current[i];
    state.keys.resize(n);
    state.current.assign(n, 0);
    for (size_t i = 0; i < n; ++i) {
      state.keys[i] = cluster.endpoints[subset.members[i]].key;
      if (auto p = previous.find(state.keys[i]); p != previous.end()) state.current[i] = p->second;
    }
  }
  if (subset.equal_weights) return static_cast<int>(subset.members[state.cursor++ % n]);
  const auto total = static_cast<int64_t>(subset.total_weight);
  // Smooth weighted round robin: every member gains its weight, the richest is chosen and pays
  // the total; picks interleave in proportion to weight instead of coming in runs.
  size_t best = 0;
  for (size_t i = 0; i < n; ++i) {
    state.current[i] += cluster.endpoints[subset.members[i]].weight;
    if (state.current[i] > state.current[best]) best = i;
  }
  state.current[best] -= total;
  return static_cast<int>(subset.members[best]);
}

int LoadBalancer::pickLeastRequest(const ClusterInfo& cluster, const SubsetInfo& subset) {
  const size_t n = subset.members.size();
  std::uniform_int_distribution<size_t> dist(0, n - 1);
  const size_t a = dist(rng_);
  size_t b = dist(rng_);
  if (b == a) b = (a + 1) % n;
  const EndpointInfo& ea = cluster.endpoints[subset.members[a]];
  const EndpointInfo& eb = cluster.endpoints[subset.members[b]];
  // Compare load per unit of weight: active_a / w_a < active_b / w_b, without division.
  const uint64_t load_a = static_cast<uint64_t>(active(ea.key) + 1) * eb.weight;
  const uint64_t load_b = static_cast<uint64_t>(active(eb.key) + 1) * ea.weight;
  return static_cast<int>(subset.members[load_a <= load_b ? a : b]);
}

int LoadBalancer::pickRandom(const ClusterInfo& cluster, const SubsetInfo& subset) {
  uint64_t point = std::uniform_int_distribution<uint64_t>(0, subset.total_weight - 1)(rng_);
  for (uint32_t m : subset.members) {
    const uint32_t weight = cluster.endpoints[m].weight;
    if (point < weight) return static_cast<int>(m);
    point -= weight;
  }
  return static_cast<int>(subset.members.back());
}

int LoadBalancer::pickTarget(const std::vector<RouteTarget>& targets) {
  if (targets.size() == 1) return targets[0].weight > 0 ? 0 : -1;
  uint64_t total = 0;
  for (const auto& target : targets) total += target.weight;
  if (total == 0) return targets.empty() ? -1 : 0;
  uint64_t point = std::uniform_int_distribution<uint64_t>(0, total - 1)(rng_);
  for (size_t i = 0; i < targets.size(); ++i) {
    if (point < targets[i].weight) return static_cast<int>(i);
    point -= targets[i].weight;
  }
  return -1;
}

void LoadBalancer::requestFinished(const std::string& endpoint_key) {
  auto it = active_.find(endpoint_key);
  if (it != active_.end() && it->second > 0) --it->second;
}

uint32_t LoadBalancer::active(const std::string& endpoint_key) const {
  auto it = active_.find(endpoint_key);
  return it == active_.end() ? 0 : it->second;
}

}  // namespace remora
