// Per-worker cluster state: alignment with snapshots, state made on first use, and dropping what
// left.
#include "proxy/cluster_state.h"

#include <algorithm>
#include <unordered_set>

namespace remora {

void ClusterState::reconcile(const ClusterInfo& cluster, std::vector<std::string>& left) {
  limits_ = breakerLimits(*cluster.config);
  outlier_ = cluster.config->outlier_detection;
  if (cluster.config->lb != policy_) {
    policy_ = cluster.config->lb;
    balancers_.clear();
  }
  generation_ = cluster.subsets.empty() ? 0 : cluster.subsets[0].generation;
  // Fresh vectors, not assign(): a cluster that shrank gives its capacity back.
  by_index_ = std::vector<EndpointState*>(cluster.endpoints.size(), nullptr);
  std::vector<size_t> keys;
  keys.reserve(cluster.endpoints.size());
  for (const EndpointInfo& endpoint : cluster.endpoints) {
    keys.push_back(std::hash<std::string_view>()(endpoint.key));
  }
  std::sort(keys.begin(), keys.end());
  newest_keys_ = std::move(keys);
  std::unordered_set<const EndpointState*> present;
  for (size_t i = 0; i < cluster.endpoints.size() && !endpoints_.empty(); ++i) {
    auto it = endpoints_.find(cluster.endpoints[i].key);
    if (it == endpoints_.end()) continue;
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
  balancer_by_subset_.assign(cluster.subsets.size(), nullptr);
  for (size_t s = 0; s < cluster.subsets.size(); ++s) {
    auto it = balancers_.find(cluster.subsets[s].label);
    if (it != balancers_.end()) balancer_by_subset_[s] = it->second.get();
  }
}

EndpointState& ClusterState::endpoint(const ClusterInfo& cluster, uint32_t index) {
  const std::string& key = cluster.endpoints[index].key;
  if (aligned(cluster)) {
    EndpointState*& state = by_index_[index];
    if (state == nullptr) state = &stateFor(key, false);
    return *state;
  }
  // A stream that started before the last swap: found by key, or made; kept apart until the
  // stream ends if the endpoint has left the cluster since.
  auto it = endpoints_.find(key);
  if (it != endpoints_.end()) return *it->second;
  return stateFor(key, !inNewest(key));
}

EndpointState& ClusterState::stateFor(const std::string& key, bool retired) {
  auto it = endpoints_.find(key);
  if (it == endpoints_.end()) {
    auto state = std::make_unique<EndpointState>();
    state->key = key;
    state->retired = retired;
    return *endpoints_.emplace(key, std::move(state)).first->second;
  }
  if (!retired) it->second->retired = false;
  return *it->second;
}

bool ClusterState::inNewest(std::string_view key) const {
  return std::binary_search(newest_keys_.begin(), newest_keys_.end(),
                            std::hash<std::string_view>()(key));
}

LoadBalancer& ClusterState::balancer(const ClusterInfo& cluster, const SubsetInfo& subset) {
  const bool cached = aligned(cluster);
  const size_t index = static_cast<size_t>(&subset - cluster.subsets.data());
  if (cached && balancer_by_subset_[index] != nullptr) return *balancer_by_subset_[index];
  auto it = balancers_.find(subset.label);
  if (it == balancers_.end()) {
    it = balancers_.emplace(subset.label, makeLoadBalancer(cluster.config->lb)).first;
  }
  if (cached) balancer_by_subset_[index] = it->second.get();
  return *it->second;
}

void ClusterState::requestFinished(EndpointState& endpoint) {
  if (endpoint.active > 0) --endpoint.active;
  if (!endpoint.retired || endpoint.active > 0) return;
  auto it = endpoints_.find(endpoint.key);
  if (it != endpoints_.end() && it->second.get() == &endpoint) endpoints_.erase(it);
}

namespace {

// Whether a run of `count` failures just reached `threshold` (0: off), or another multiple of it:
// an ejection the main thread refused (too many out already) is asked for again later.
bool reached(uint32_t count, uint32_t threshold) {
  return threshold > 0 && count >= threshold && (count - threshold) % threshold == 0;
}

}  // namespace

void ClusterState::recordOutcome(EndpointState& endpoint, outlier::Outcome outcome) {
  uint8_t crossed = 0;
  switch (outcome) {
    case outlier::Outcome::Success:
      ++endpoint.outcomes.successes;
      endpoint.consecutive_5xx = endpoint.consecutive_gateway = 0;
      endpoint.consecutive_local_origin = 0;
      break;
    case outlier::Outcome::ServerError:
      ++endpoint.outcomes.server_errors;
      endpoint.consecutive_gateway = endpoint.consecutive_local_origin = 0;
      if (reached(++endpoint.consecutive_5xx, outlier_.consecutive_5xx)) {
        crossed |= outlier::kCrossed5xx;
      }
      break;
    case outlier::Outcome::Gateway:
      ++endpoint.outcomes.gateway;
      endpoint.consecutive_local_origin = 0;
      if (reached(++endpoint.consecutive_5xx, outlier_.consecutive_5xx)) {
        crossed |= outlier::kCrossed5xx;
      }
      if (reached(++endpoint.consecutive_gateway, outlier_.consecutive_gateway_failure)) {
        crossed |= outlier::kCrossedGateway;
      }
      break;
    case outlier::Outcome::LocalOrigin:
      ++endpoint.outcomes.local_origin;
      if (reached(++endpoint.consecutive_local_origin, outlier_.consecutive_local_origin_failure)) {
        crossed |= outlier::kCrossedLocalOrigin;
      }
      break;
  }
  if (crossed == 0 || !outlier_.enabled || sink_ == nullptr) return;
  sink_->reportNow({name_, endpoint.key, endpoint.outcomes, crossed});
  endpoint.outcomes = {};
}

void ClusterState::collectOutcomes(outlier::OutcomeBatch& batch) {
  for (auto& [key, endpoint] : endpoints_) {
    if (endpoint->outcomes.empty()) continue;
    batch.push_back({name_, key, endpoint->outcomes, 0});
    endpoint->outcomes = {};
  }
}

void ClusterState::collectLoads(LoadSamples& samples, int64_t now_us) const {
  for (const auto& [key, endpoint] : endpoints_) {
    if (endpoint->active == 0 && !endpoint->latency.known()) continue;
    samples.push_back({name_, key, endpoint->active,
                       endpoint->latency.known() ? endpoint->latency.at(now_us) / 1000 : -1.0});
  }
}

const EndpointState* ClusterState::find(const ClusterInfo& cluster, uint32_t index) const {
  if (aligned(cluster)) return by_index_[index];
  auto it = endpoints_.find(cluster.endpoints[index].key);
  return it == endpoints_.end() ? nullptr : it->second.get();
}

uint32_t ClusterState::active(const ClusterInfo& cluster, uint32_t index) const {
  const EndpointState* state = find(cluster, index);
  return state == nullptr ? 0 : state->active;
}

const LatencyEstimate* ClusterState::latency(const ClusterInfo& cluster, uint32_t index) const {
  const EndpointState* state = find(cluster, index);
  return state == nullptr ? nullptr : &state->latency;
}

}  // namespace remora
