// Per-worker upstream connection reuse.
#include "proxy/upstream_pool.h"

namespace remora {

UpstreamPool::~UpstreamPool() = default;

std::unique_ptr<Http1ClientConnection> UpstreamPool::acquire(const EndpointInfo& endpoint,
                                                             const config::Cluster& cluster) {
  auto it = idle_.find(endpoint.key);
  if (it != idle_.end() && !it->second.empty()) {
    // Most recently used first: it is the least likely to have been closed by the upstream.
    std::unique_ptr<Http1ClientConnection> connection = std::move(it->second.back());
    it->second.pop_back();
    return connection;
  }
  return std::make_unique<Http1ClientConnection>(worker_, endpoint, cluster);
}

void UpstreamPool::release(std::unique_ptr<Http1ClientConnection> connection, uint32_t max_idle) {
  connection->detach();
  if (worker_.draining() || !connection->reusable()) {
    worker_.deferDelete(std::move(connection));
    return;
  }
  auto& idle = idle_[connection->key()];
  if (idle.size() >= max_idle) {
    worker_.deferDelete(std::move(connection));
    return;
  }
  connection->setIdle(this);
  idle.push_back(std::move(connection));
}

void UpstreamPool::closeIdle() {
  for (auto& [key, connections] : idle_) {
    for (auto& connection : connections) worker_.deferDelete(std::move(connection));
  }
  idle_.clear();
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
    return;
  }
}

}  // namespace remora
