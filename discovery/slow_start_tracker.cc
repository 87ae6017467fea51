// Since when endpoints have been in rotation, across snapshots.
#include "discovery/slow_start_tracker.h"

#include <algorithm>

namespace remora::discovery {

namespace {

bool inRotation(const EndpointInfo& endpoint) {
  return endpoint.healthy && !endpoint.ejected && endpoint.address_length != 0;
}

}  // namespace

void SlowStartTracker::mark(const config::Cluster& cluster, std::vector<EndpointInfo>& endpoints,
                            int64_t now_us) {
  std::unordered_map<std::string, int64_t>& previous = clusters_[cluster.name];
  const int64_t window_us = cluster.slow_start.window.count() * 1000;
  const bool cold = previous.empty();
  std::unordered_map<std::string, int64_t> current;
  bool any_at_full_weight = false;
  for (const EndpointInfo& endpoint : endpoints) {
    if (!inRotation(endpoint)) continue;
    auto it = previous.find(endpoint.key);
    int64_t since = it != previous.end() ? it->second : (cold ? 0 : now_us);
    if (since != 0 && now_us - since >= window_us) since = 0;
    any_at_full_weight = any_at_full_weight || since == 0;
    current.emplace(endpoint.key, since);
  }
  for (EndpointInfo& endpoint : endpoints) {
    auto it = current.find(endpoint.key);
    endpoint.slow_start_since_us =
        it != current.end() && any_at_full_weight ? it->second : int64_t{0};
  }
  previous = std::move(current);
}

void SlowStartTracker::retain(const config::Config& config) {
  std::erase_if(clusters_, [&](const auto& entry) {
    return std::none_of(config.clusters.begin(), config.clusters.end(),
                        [&](const config::Cluster& cluster) {
                          return cluster.name == entry.first && cluster.slow_start.enabled;
                        });
  });
}

}  // namespace remora::discovery
