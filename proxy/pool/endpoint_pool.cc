// What both endpoint pools share: settings, the connection limits, the pending queue.
#include "proxy/pool/endpoint_pool.h"

#include "proxy/worker.h"

namespace remora {

EndpointPool::EndpointPool(Worker& worker, PoolTable& table, std::string key,
                           const EndpointInfo& endpoint, const TlsClientContext* tls,
                           std::shared_ptr<const LoadedConfig> tls_owner,
                           std::shared_ptr<BreakerCounts> breaker,
                           std::shared_ptr<EndpointConnections> endpoint_connections)
    : worker_(worker),
      table_(table),
      key_(std::move(key)),
      tls_(tls),
      tls_owner_(std::move(tls_owner)),
      breaker_(std::move(breaker)),
      endpoint_connections_(std::move(endpoint_connections)),
      pending_(worker.base(), breaker_, [this] { return connectingForAllWaiting(); }) {
  endpoint_.key = endpoint.key;
  endpoint_.address = endpoint.address;
  endpoint_.address_length = endpoint.address_length;
}

void EndpointPool::update(const std::shared_ptr<const LoadedConfig>& loaded,
                          const config::Cluster& cluster) {
  if (loaded_ == loaded && cluster_ == &cluster) return;
  loaded_ = loaded;
  cluster_ = &cluster;
  limits_ = breakerLimits(cluster);
}

bool EndpointPool::acquireConnection() {
  if (!breaker_->tryAcquire(BreakerResource::Connections,
                            limits_.of(BreakerResource::Connections))) {
    table_.waitForCapacity(cluster_->name, this);
    return false;
  }
  if (endpoint_connections_ != nullptr) {
    const uint32_t before = endpoint_connections_->count.fetch_add(1, std::memory_order_relaxed);
    const uint32_t limit = limits_.max_connections_per_endpoint;
    if (limit > 0 && before >= limit) {
      endpoint_connections_->count.fetch_sub(1, std::memory_order_relaxed);
      breaker_->release(BreakerResource::Connections);
      table_.waitForCapacity(cluster_->name, this);
      return false;
    }
  }
  ++connections_;
  return true;
}

void EndpointPool::releaseConnection() {
  --connections_;
  breaker_->release(BreakerResource::Connections);
  if (endpoint_connections_ != nullptr) {
    endpoint_connections_->count.fetch_sub(1, std::memory_order_relaxed);
  }
  table_.capacityFreed(cluster_->name);
}

PendingStream* EndpointPool::queue(PoolCallbacks& callbacks) {
  PendingStream* pending = pending_.push(callbacks, limits_.of(BreakerResource::PendingRequests),
                                         limits_.pending_timeout);
  if (pending == nullptr) callbacks.onPoolFailure(PoolFailure::Overflow);
  return pending;
}

}  // namespace remora
