// Circuit breaker limits from the config, and the process-wide table of counts.
#include "proxy/pool/circuit_breaker.h"

#include <limits>

namespace remora {

const char* breakerResourceName(BreakerResource resource) {
  switch (resource) {
    case BreakerResource::Connections:
      return "connections";
    case BreakerResource::PendingRequests:
      return "pending_requests";
    case BreakerResource::Requests:
      return "requests";
    case BreakerResource::Retries:
      return "retries";
  }
  return "?";
}

BreakerLimits breakerLimits(const config::Cluster& cluster) {
  BreakerLimits limits;
  const config::CircuitBreaker& breaker = cluster.circuit_breaker;
  limits.pending_timeout = breaker.pending_timeout;
  if (!breaker.enabled) {
    limits.max.fill(std::numeric_limits<uint32_t>::max());
    return limits;
  }
  limits.max[static_cast<size_t>(BreakerResource::Connections)] = breaker.max_connections;
  limits.max[static_cast<size_t>(BreakerResource::PendingRequests)] = breaker.max_pending_requests;
  limits.max[static_cast<size_t>(BreakerResource::Requests)] = breaker.max_requests;
  limits.max[static_cast<size_t>(BreakerResource::Retries)] = breaker.max_retries;
  limits.max_connections_per_endpoint = breaker.max_connections_per_endpoint;
  return limits;
}

std::shared_ptr<BreakerCounts> CircuitBreakers::forCluster(std::string_view cluster) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = clusters_.find(cluster);
  if (it != clusters_.end()) {
    if (auto counts = it->second.lock()) return counts;
  }
  auto counts = std::make_shared<BreakerCounts>();
  clusters_.insert_or_assign(std::string(cluster), counts);
  return counts;
}

std::shared_ptr<EndpointConnections> CircuitBreakers::forEndpoint(std::string_view cluster,
                                                                  std::string_view endpoint) {
  std::string key;
  key.reserve(cluster.size() + 1 + endpoint.size());
  key.append(cluster).append("|").append(endpoint);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = endpoints_.find(key);
  if (it != endpoints_.end()) {
    if (auto counts = it->second.lock()) return counts;
  }
  // Endpoints churn: entries nobody holds any more are swept as the table doubles.
  if (endpoints_.size() >= endpoints_swept_at_) {
    std::erase_if(endpoints_, [](const auto& entry) { return entry.second.expired(); });
    endpoints_swept_at_ = std::max<size_t>(64, endpoints_.size() * 2);
  }
  auto counts = std::make_shared<EndpointConnections>();
  endpoints_.insert_or_assign(std::move(key), counts);
  return counts;
}

void CircuitBreakers::forEachCluster(
    const std::function<void(const std::string&, const BreakerCounts&)>& visit) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = clusters_.begin(); it != clusters_.end();) {
    if (auto counts = it->second.lock()) {
      visit(it->first, *counts);
      ++it;
    } else {
      it = clusters_.erase(it);
    }
  }
}

}  // namespace remora
