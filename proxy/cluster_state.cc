// Per-worker cluster state: alignment with snapshots, and dropping what left.
#include "proxy/cluster_state.h"

#include <unordered_set>

namespace remora {

void ClusterState::reconcile(const ClusterInfo& cluster, std::vector<std::string>& left) {
  limits_ = breakerLimits(*cluster.config);
  if (cluster.config->lb != policy_) {
    policy_ = cluster.config->lb;
    balancers_.clear();
  }
  generation_ = cluster.subsets.empty() ? 0 : cluster.subsets[0].generation;
  by_index_.assign(cluster.endpoints.size(), nullptr);
  std::unordered_set<const EndpointState*> present;
  for (size_t i = 0; i < cluster.endpoints.size(); ++i) {
    const std::string& key = cluster.endpoints[i].key;
    auto it = endpoints_.find(key);
    if (it == endpoints_.end()) {
      auto state = std::make_unique<EndpointState>();
      state->key = key;
      it = endpoints_.emplace(key, std::move(state)).first;
    }
    it->second->retired = false;
    by_index_[i] = it->second.get();
    present.insert(it->second.get());
  }
  for (auto it = endpoints_.begin(); it != endpoints_.end();) {
    EndpointState& state = *it->second;
    if (present.contains(&state)) {
      ++it;
      continue;
    }
    if (!state.retired) left.push_back(state.key);
    if (state.active == 0) {
      it = endpoints_.erase(it);
    } else {
      state.retired = true;  // a request still uses it; requestFinished drops it
      ++it;
    }
  }
  std::unordered_set<std::string_view> labels;
  for (const SubsetInfo& subset : cluster.subsets) labels.insert(subset.label);
  std::erase_if(balancers_, [&](const auto& entry) { return !labels.contains(entry.first); });
}

EndpointState& ClusterState::endpoint(const ClusterInfo& cluster, uint32_t index) {
  if (aligned(cluster)) return *by_index_[index];
  // A stream that started before the last swap: found by key, or kept apart until it ends.
  const std::string& key = cluster.endpoints[index].key;
  auto it = endpoints_.find(key);
  if (it == endpoints_.end()) {
    auto state = std::make_unique<EndpointState>();
    state->key = key;
    state->retired = true;
    it = endpoints_.emplace(key, std::move(state)).first;
  }
  return *it->second;
}

LoadBalancer& ClusterState::balancer(const ClusterInfo& cluster, const SubsetInfo& subset) {
  auto it = balancers_.find(subset.label);
  if (it == balancers_.end()) {
    it = balancers_.emplace(subset.label, makeLoadBalancer(cluster.config->lb)).first;
  }
  return *it->second;
}

void ClusterState::requestFinished(EndpointState& endpoint) {
  if (endpoint.active > 0) --endpoint.active;
  if (!endpoint.retired || endpoint.active > 0) return;
  auto it = endpoints_.find(endpoint.key);
  if (it != endpoints_.end() && it->second.get() == &endpoint) endpoints_.erase(it);
}

uint32_t ClusterState::active(const ClusterInfo& cluster, uint32_t index) const {
  if (aligned(cluster)) return by_index_[index]->active;
  auto it = endpoints_.find(cluster.endpoints[index].key);
  return it == endpoints_.end() ? 0 : it->second->active;
}

}  // namespace remora
