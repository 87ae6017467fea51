// Circuit breakers: a cluster's limits on connections, pending requests, requests and retries,
// which hold across workers (shared relaxed atomics: no lock on the request path).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "config/config.h"

namespace remora {

enum class BreakerResource : uint8_t { Connections, PendingRequests, Requests, Retries };
inline constexpr size_t kBreakerResources = 4;
// The `resource` label of remora_upstream_overflow_total and remora_circuit_breaker_open.
const char* breakerResourceName(BreakerResource resource);

// What a cluster's `circuit_breaker` allows; everything unlimited when it is `off`.
struct BreakerLimits {
  std::array<uint32_t, kBreakerResources> max{};
  uint32_t max_connections_per_endpoint = 0;  // 0: no limit
  config::Duration pending_timeout{0};
  uint32_t of(BreakerResource resource) const { return max[static_cast<size_t>(resource)]; }
};
BreakerLimits breakerLimits(const config::Cluster& cluster);

// One cluster's counts, shared by every worker.
class BreakerCounts {
 public:
  // Takes one unit of `resource` if fewer than `limit` are taken; false (and an overflow counted)
  // when the breaker is open for it.
  bool tryAcquire(BreakerResource resource, uint32_t limit) {
    std::atomic<uint32_t>& count = current_[static_cast<size_t>(resource)];
    if (count.fetch_add(1, std::memory_order_relaxed) < limit) return true;
    count.fetch_sub(1, std::memory_order_relaxed);
    overflows_[static_cast<size_t>(resource)].fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  void release(BreakerResource resource) {
    current_[static_cast<size_t>(resource)].fetch_sub(1, std::memory_order_relaxed);
  }
  uint32_t current(BreakerResource resource) const {
    return current_[static_cast<size_t>(resource)].load(std::memory_order_relaxed);
  }
  uint64_t overflows(BreakerResource resource) const {
    return overflows_[static_cast<size_t>(resource)].load(std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<uint32_t>, kBreakerResources> current_{};
  std::array<std::atomic<uint64_t>, kBreakerResources> overflows_{};
};

// Connections to one endpoint from every worker, for `max_connections_per_endpoint`.
struct EndpointConnections {
  std::atomic<uint32_t> count{0};
};

// Every cluster's counts by name, shared by the workers, which look them up when they first meet
// a cluster or an endpoint (a lock, never per request). Counts live as long as something holds
// them: a cluster removed by a reload keeps counting the connections still open to it.
class CircuitBreakers {
 public:
  std::shared_ptr<BreakerCounts> forCluster(std::string_view cluster);
  std::shared_ptr<EndpointConnections> forEndpoint(std::string_view cluster,
                                                   std::string_view endpoint);
  // Calls `visit(cluster, counts)` for every cluster still counted.
  void forEachCluster(const std::function<void(const std::string&, const BreakerCounts&)>& visit);

 private:
  std::mutex mutex_;
  std::map<std::string, std::weak_ptr<BreakerCounts>, std::less<>> clusters_;
  std::map<std::string, std::weak_ptr<EndpointConnections>, std::less<>> endpoints_;
  size_t endpoints_swept_at_ = 64;  // size at which expired entries are swept next
};

}  // namespace remora
