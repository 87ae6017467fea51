// The workers' balancer state as the main thread last heard it.
#include "proxy/balancer_loads.h"

namespace remora {

namespace {

std::string keyOf(std::string_view cluster, std::string_view endpoint) {
  std::string key;
  key.reserve(cluster.size() + 1 + endpoint.size());
  key.append(cluster).append(1, '|').append(endpoint);
  return key;
}

}  // namespace

void BalancerLoads::onReport(size_t worker, const LoadSamples& samples) {
  if (worker >= by_worker_.size()) return;
  std::unordered_map<std::string, Sample> fresh;
  fresh.reserve(samples.size());
  for (const EndpointLoadSample& sample : samples) {
    fresh[keyOf(sample.cluster, sample.endpoint)] = {sample.active, sample.latency_ms};
  }
  by_worker_[worker] = std::move(fresh);
}

BalancerLoads::View BalancerLoads::of(std::string_view cluster, std::string_view endpoint) const {
  View view;
  const std::string key = keyOf(cluster, endpoint);
  for (const auto& worker : by_worker_) {
    auto it = worker.find(key);
    if (it == worker.end()) continue;
    view.active += it->second.active;
    if (it->second.latency_ms < 0) continue;
    view.latency_ms.push_back(it->second.latency_ms);
    view.cost_ms.push_back(it->second.latency_ms * (it->second.active + 1));
  }
  return view;
}

}  // namespace remora
