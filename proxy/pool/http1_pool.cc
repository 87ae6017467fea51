// The HTTP/1.1 endpoint pool: reuse, connect-then-lend, waiting streams, limits.
#include "proxy/pool/http1_pool.h"

#include <algorithm>

#include "proxy/worker.h"

namespace remora {

Http1Pool::~Http1Pool() {
  for (auto& connection : idle_) connection->abandon();
  for (auto& connection : connecting_) connection->abandon();
}

PendingStream* Http1Pool::newStream(PoolCallbacks& callbacks) {
  if (!idle_.empty()) {
    // Most recently used first: it is the least likely to have been closed by the upstream.
    std::unique_ptr<Http1ClientConnection> connection = std::move(idle_.back());
    idle_.pop_back();
    callbacks.onPoolReady(std::move(connection));
    return nullptr;
  }
  PendingStream* pending = queue(callbacks);
  if (pending != nullptr) connectForWaiting();
  return pending;
}

void Http1Pool::connectForWaiting() {
  while (connecting_.size() < pending_.size() && acquireConnection()) {
    connecting_.push_back(
        std::make_unique<Http1ClientConnection>(worker_, endpoint_, *cluster_, tls_, key_, *this));
  }
}

bool Http1Pool::serveWaiting(std::unique_ptr<Http1ClientConnection>& connection) {
  PoolCallbacks* waiting = pending_.pop();
  if (waiting == nullptr) return false;
  waiting->onPoolReady(std::move(connection));
  return true;
}

std::unique_ptr<Http1ClientConnection> Http1Pool::take(
    std::vector<std::unique_ptr<Http1ClientConnection>>& from, Http1ClientConnection* which) {
  auto it = std::find_if(from.begin(), from.end(),
                         [&](const auto& candidate) { return candidate.get() == which; });
  if (it == from.end()) return nullptr;
  std::unique_ptr<Http1ClientConnection> taken = std::move(*it);
  from.erase(it);
  return taken;
}

void Http1Pool::destroy(std::unique_ptr<Http1ClientConnection> connection) {
  connection->abandon();
  worker_.deferDelete(std::move(connection));
  releaseConnection();
  connectForWaiting();
  table_.mayBeUnused(this);
}

void Http1Pool::onConnected(Http1ClientConnection* raw) {
  std::unique_ptr<Http1ClientConnection> connection = take(connecting_, raw);
  if (connection == nullptr) return;
  if (serveWaiting(connection)) return;
  // The stream it was opened for went away meanwhile: kept for the next one.
  connection->setIdle();
  idle_.push_back(std::move(connection));
}

void Http1Pool::onConnectFailure(Http1ClientConnection* raw, UpstreamFailure failure) {
  std::unique_ptr<Http1ClientConnection> connection = take(connecting_, raw);
  if (connection == nullptr) return;
  connection->abandon();
  worker_.deferDelete(std::move(connection));
  releaseConnection();
  // One waiting stream fails with it, unless the connections still connecting cover them all.
  if (pending_.size() > connecting_.size()) {
    if (PoolCallbacks* waiting = pending_.pop()) {
      waiting->onPoolFailure(failure == UpstreamFailure::ConnectTimeout
                                 ? PoolFailure::ConnectTimeout
                                 : PoolFailure::ConnectFailure);
    }
  }
  table_.mayBeUnused(this);
}

void Http1Pool::onIdleConnectionClosed(Http1ClientConnection* raw) {
  std::unique_ptr<Http1ClientConnection> connection = take(idle_, raw);
  if (connection != nullptr) destroy(std::move(connection));
}

void Http1Pool::release(std::unique_ptr<Http1ClientConnection> connection, bool reusable) {
  connection->detach();
  if (!reusable || !connection->reusable() || worker_.draining()) {
    destroy(std::move(connection));
    return;
  }
  if (serveWaiting(connection)) return;
  // The cluster (or this endpoint) is at its connection limit and streams wait elsewhere (another
  // endpoint, another worker): an idle connection here would keep them waiting, so it closes and
  // makes room.
  const bool at_limit =
      breaker_->current(BreakerResource::Connections) >= limits_.of(BreakerResource::Connections) ||
      (endpoint_connections_ != nullptr && limits_.max_connections_per_endpoint > 0 &&
       endpoint_connections_->count.load(std::memory_order_relaxed) >=
           limits_.max_connections_per_endpoint);
  const bool others_starve = at_limit && breaker_->current(BreakerResource::PendingRequests) > 0;
  if (idle_.size() >= cluster_->max_idle_connections || others_starve) {
    destroy(std::move(connection));
    return;
  }
  connection->setIdle();
  idle_.push_back(std::move(connection));
}

void Http1Pool::onCapacity() { connectForWaiting(); }

void Http1Pool::closeIdle() {
  std::vector<std::unique_ptr<Http1ClientConnection>> idle = std::move(idle_);
  idle_.clear();
  for (auto& connection : idle) destroy(std::move(connection));
}

}  // namespace remora
