// Per-worker upstream connection reuse.
#include "proxy/pool/upstream_pool.h"

#include "proxy/http2_client_stream.h"

namespace remora {

UpstreamPool::~UpstreamPool() = default;

namespace {
bool sameTls(const config::TlsClient& a, const config::TlsClient& b) {
  return a.ca == b.ca && a.cert == b.cert && a.key == b.key && a.sni == b.sni;
}
}  // namespace

const TlsClientContext* UpstreamPool::tlsContext(const config::Cluster& cluster) const {
  const Snapshot* snapshot = worker_.snapshot().get();
  const ClusterInfo* info = snapshot != nullptr ? snapshot->findCluster(cluster.name) : nullptr;
  if (info == nullptr || info->tls == nullptr) return nullptr;
  if (info->config == &cluster || sameTls(*info->config->tls, *cluster.tls)) return info->tls;
  return nullptr;
}

std::unique_ptr<UpstreamRequest> UpstreamPool::acquire(const EndpointInfo& endpoint,
                                                       const config::Cluster& cluster) {
  const TlsClientContext* tls = cluster.tls ? tlsContext(cluster) : nullptr;
  // A TLS connection is only reused with the context it was made with: new certificates or CAs
  // after a reload take effect on new connections, and a plaintext one never passes for TLS.
  std::string key =
      tls == nullptr ? endpoint.key : endpoint.key + "|tls" + std::to_string(tls->id());
  if (cluster.protocol == config::HttpProtocol::Http2) {
    auto& connections = http2_[key];
    for (auto& connection : connections) {
      if (connection->canTakeStream()) return connection->newStream();
    }
    connections.push_back(
        std::make_unique<Http2ClientConnection>(worker_, endpoint, cluster, tls, key, *this));
    return connections.back()->newStream();
  }
  auto it = idle_.find(key);
  if (it != idle_.end() && !it->second.empty()) {
    // Most recently used first: it is the least likely to have been closed by the upstream.
    std::unique_ptr<Http1ClientConnection> connection = std::move(it->second.back());
    it->second.pop_back();
    return connection;
  }
  return std::make_unique<Http1ClientConnection>(worker_, endpoint, cluster, tls, std::move(key));
}

PendingStream* UpstreamPool::newStream(const ClusterInfo& cluster, uint32_t index,
                                       PoolCallbacks& callbacks) {
  callbacks.onPoolReady(acquire(cluster.endpoints[index], *cluster.config));
  return nullptr;
}

void UpstreamPool::release(std::unique_ptr<UpstreamRequest> request, const config::Cluster& cluster,
                           bool reusable) {
  if (reusable) {
    release(std::move(request), cluster.max_idle_connections);
    return;
  }
  request->detach();
  worker_.deferDelete(std::move(request));
}

void UpstreamPool::release(std::unique_ptr<UpstreamRequest> request, uint32_t max_idle) {
  request->detach();
  // An HTTP/2 stream is done with once its exchange is; only HTTP/1.1 connections are parked.
  auto* connection = dynamic_cast<Http1ClientConnection*>(request.get());
  if (connection == nullptr || worker_.draining() || !connection->reusable()) {
    worker_.deferDelete(std::move(request));
    return;
  }
  auto& idle = idle_[connection->key()];
  if (idle.size() >= max_idle) {
    worker_.deferDelete(std::move(request));
    return;
  }
  connection->setIdle(this);
  request.release();
  idle.push_back(std::unique_ptr<Http1ClientConnection>(connection));
}

void UpstreamPool::closeIdle() {
  for (auto& [key, connections] : idle_) {
    for (auto& connection : connections) worker_.deferDelete(std::move(connection));
  }
  idle_.clear();
  std::vector<Http2ClientConnection*> shared;
  for (auto& [key, connections] : http2_) {
    for (auto& connection : connections) shared.push_back(connection.get());
  }
  // Each reports back through onHttp2ConnectionClosed, now or after its last stream.
  for (Http2ClientConnection* connection : shared) connection->closeWhenIdle();
}

void UpstreamPool::onHttp2ConnectionClosed(Http2ClientConnection* connection) {
  auto it = http2_.find(connection->key());
  if (it == http2_.end()) return;
  auto& connections = it->second;
  for (size_t i = 0; i < connections.size(); ++i) {
    if (connections[i].get() != connection) continue;
    worker_.deferDelete(std::move(connections[i]));
    connections.erase(connections.begin() + static_cast<ptrdiff_t>(i));
    if (connections.empty()) http2_.erase(it);
    return;
  }
}

size_t UpstreamPool::idleCount() const {
  size_t n = 0;
  for (const auto& [key, connections] : idle_) n += connections.size();
  return n;
}

void UpstreamPool::onIdleConnectionClosed(Http1ClientConnection* connection) {
  auto it = idle_.find(connection->key());
  if (it == idle_.end()) return;
  auto& connections = it->second;
  for (size_t i = 0; i < connections.size(); ++i) {
    if (connections[i].get() != connection) continue;
    worker_.deferDelete(std::move(connections[i]));
    connections.erase(connections.begin() + static_cast<ptrdiff_t>(i));
    // Keys of TLS contexts replaced by a reload are never used again.
    if (connections.empty()) idle_.erase(it);
    return;
  }
}

}  // namespace remora
