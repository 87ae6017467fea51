// The worker's pool table: finding or making an endpoint's pool, lending and taking back,
// connection-limit wake-ups, and dropping pools with nothing left.
#include "proxy/pool/connection_pools.h"

#include <algorithm>
#include <unordered_set>

#include "proxy/http2_client_stream.h"
#include "proxy/pool/http1_pool.h"
#include "proxy/pool/http2_pool.h"
#include "proxy/worker.h"

namespace remora {

namespace {
bool sameTls(const config::TlsClient& a, const config::TlsClient& b) {
  return a.ca == b.ca && a.cert == b.cert && a.key == b.key && a.sni == b.sni;
}
}  // namespace

ConnectionPools::ConnectionPools(Worker& worker, CircuitBreakers& breakers)
    : worker_(worker), breakers_(breakers) {
  event_assign(&sweep_event_, worker.base(), -1, 0, &ConnectionPools::onSweep, this);
  evtimer_assign(&retry_starved_, worker.base(), &ConnectionPools::onRetryStarved, this);
}

ConnectionPools::~ConnectionPools() {
  event_del(&sweep_event_);
  evtimer_del(&retry_starved_);
  starved_.clear();
  last_pool_ = nullptr;
  pools_.clear();
}

const TlsClientContext* ConnectionPools::tlsContext(const config::Cluster& cluster) const {
  const Snapshot* snapshot = worker_.snapshot().get();
  const ClusterInfo* info = snapshot != nullptr ? snapshot->findCluster(cluster.name) : nullptr;
  if (info == nullptr || info->tls == nullptr) return nullptr;
  if (info->config == &cluster || sameTls(*info->config->tls, *cluster.tls)) return info->tls;
  return nullptr;
}

PendingStream* ConnectionPools::newStream(const Snapshot& snapshot, const ClusterInfo& cluster,
                                          uint32_t index, PoolCallbacks& callbacks) {
  const config::Cluster& settings = *cluster.config;
  const EndpointInfo& endpoint = cluster.endpoints[index];
  const TlsClientContext* tls = settings.tls ? tlsContext(settings) : nullptr;
  const bool http2 = settings.protocol == config::HttpProtocol::Http2;
  // A TLS connection is only reused with the context it was made with: new certificates or CAs
  // after a reload take effect on new connections, and a plaintext one never passes for TLS.
  thread_local std::string decorated;
  std::string_view key = endpoint.key;
  if (tls != nullptr || http2) {
    decorated = endpoint.key;
    if (tls != nullptr) decorated.append("|tls").append(std::to_string(tls->id()));
    if (http2) decorated.append("|h2");
    key = decorated;
  }
  if (last_pool_ != nullptr && last_key_ == key) {
    last_pool_->update(snapshot.loaded, settings);
    return last_pool_->newStream(callbacks);
  }
  auto it = pools_.find(key);
  if (it == pools_.end()) {
    std::shared_ptr<const LoadedConfig> tls_owner =
        tls != nullptr ? worker_.snapshot()->loaded : nullptr;
    std::shared_ptr<BreakerCounts> breaker = breakers_.forCluster(settings.name);
    std::shared_ptr<EndpointConnections> per_endpoint =
        settings.circuit_breaker.max_connections_per_endpoint > 0
            ? breakers_.forEndpoint(settings.name, endpoint.key)
            : nullptr;
    std::unique_ptr<EndpointPool> pool;
    if (http2) {
      pool = std::make_unique<Http2Pool>(worker_, *this, std::string(key), endpoint, tls,
                                         std::move(tls_owner), std::move(breaker),
                                         std::move(per_endpoint));
    } else {
      pool = std::make_unique<Http1Pool>(worker_, *this, std::string(key), endpoint, tls,
                                         std::move(tls_owner), std::move(breaker),
                                         std::move(per_endpoint));
    }
    it = pools_.emplace(std::string(key), std::move(pool)).first;
  }
  last_key_ = it->first;
  last_pool_ = it->second.get();
  last_pool_->update(snapshot.loaded, settings);
  return last_pool_->newStream(callbacks);
}

void ConnectionPools::release(std::unique_ptr<UpstreamRequest> request, bool reusable) {
  // An HTTP/2 stream is done with once its exchange is; only HTTP/1.1 connections go back.
  Http1ClientConnection* connection = request->http1Connection();
  if (connection == nullptr) {
    request->detach();
    worker_.deferDelete(std::move(request));
    return;
  }
  request.release();
  std::unique_ptr<Http1ClientConnection> owned(connection);
  // Its pool, found without a lookup: a pool lives while it counts a lent connection.
  Http1ConnectionOwner* pool = owned->owner();
  if (pool == nullptr) {
    owned->abandon();
    worker_.deferDelete(std::move(owned));
    return;
  }
  pool->release(std::move(owned), reusable);
}

void ConnectionPools::closeIdle() {
  for (auto& [key, pool] : pools_) pool->closeIdle();
}

size_t ConnectionPools::idleCount() const {
  size_t n = 0;
  for (const auto& [key, pool] : pools_) n += pool->idleCount();
  return n;
}

void ConnectionPools::waitForCapacity(const std::string& cluster, EndpointPool* pool) {
  std::vector<EndpointPool*>& waiting = starved_[cluster];
  if (std::find(waiting.begin(), waiting.end(), pool) == waiting.end()) waiting.push_back(pool);
  if (!evtimer_pending(&retry_starved_, nullptr)) {
    static constexpr timeval kRetry = {0, 10 * 1000};
    evtimer_add(&retry_starved_, &kRetry);
  }
}

void ConnectionPools::onRetryStarved(evutil_socket_t, short, void* self) {
  auto* pools = static_cast<ConnectionPools*>(self);
  std::vector<std::string> clusters;
  for (const auto& [cluster, waiting] : pools->starved_) clusters.push_back(cluster);
  for (const std::string& cluster : clusters) pools->capacityFreed(cluster);
}

void ConnectionPools::capacityFreed(const std::string& cluster) {
  auto it = starved_.find(cluster);
  if (it == starved_.end()) return;
  // Each pool registers again if it still finds no room.
  std::vector<EndpointPool*> waiting = std::move(it->second);
  starved_.erase(it);
  for (EndpointPool* pool : waiting) pool->onCapacity();
}

void ConnectionPools::closeIdleTo(const std::vector<std::string>& endpoint_keys) {
  if (endpoint_keys.empty()) return;
  std::unordered_set<std::string_view> left(endpoint_keys.begin(), endpoint_keys.end());
  for (auto& [key, pool] : pools_) {
    if (left.contains(pool->endpointKey())) pool->closeIdle();
  }
}

void ConnectionPools::mayBeUnused(EndpointPool* pool) {
  sweep_candidates_.push_back(pool->key());
  if (sweep_scheduled_) return;
  sweep_scheduled_ = true;
  event_active(&sweep_event_, 0, 0);
}

void ConnectionPools::onSweep(evutil_socket_t, short, void* self) {
  auto* pools = static_cast<ConnectionPools*>(self);
  pools->sweep_scheduled_ = false;
  std::vector<std::string> candidates = std::move(pools->sweep_candidates_);
  pools->sweep_candidates_.clear();
  for (const std::string& key : candidates) {
    auto it = pools->pools_.find(key);
    if (it == pools->pools_.end() || !it->second->unused()) continue;
    EndpointPool* gone = it->second.get();
    for (auto& [cluster, waiting] : pools->starved_) std::erase(waiting, gone);
    if (pools->last_pool_ == gone) pools->last_pool_ = nullptr;
    pools->pools_.erase(it);
  }
}

}  // namespace remora
