// The HTTP/2 endpoint pool: streams on connected connections with room, waiting streams, limits.
#include "proxy/pool/http2_pool.h"

#include <algorithm>

#include "proxy/http2_client_stream.h"
#include "proxy/worker.h"

namespace remora {

namespace {
// What a connection takes before the peer's SETTINGS (Http2ClientConnection's own cap).
constexpr uint32_t kStreamsPerConnectingConnection = 16;
}  // namespace

Http2Pool::Http2Pool(Worker& worker, PoolTable& table, std::string key,
                     const EndpointInfo& endpoint, const TlsClientContext* tls,
                     std::shared_ptr<const LoadedConfig> tls_owner,
                     std::shared_ptr<BreakerCounts> breaker,
                     std::shared_ptr<EndpointConnections> endpoint_connections)
    : EndpointPool(worker, table, std::move(key), endpoint, tls, std::move(tls_owner),
                   std::move(breaker), std::move(endpoint_connections)) {
  event_assign(&serve_event_, worker.base(), -1, 0, &Http2Pool::onServe, this);
}

Http2Pool::~Http2Pool() { event_del(&serve_event_); }

Http2ClientConnection* Http2Pool::withRoom() {
  for (auto& connection : connections_list_) {
    if (connection->connected() && connection->canTakeStream()) return connection.get();
  }
  return nullptr;
}

uint32_t Http2Pool::connectingRoom() const {
  uint32_t room = 0;
  for (const auto& connection : connections_list_) {
    if (!connection->connected() && !connection->closed()) room += kStreamsPerConnectingConnection;
  }
  return room;
}

bool Http2Pool::connectingForAllWaiting() const { return connectingRoom() >= pending_.size(); }

PendingStream* Http2Pool::newStream(PoolCallbacks& callbacks) {
  if (pending_.empty()) {
    if (Http2ClientConnection* connection = withRoom()) {
      callbacks.onPoolReady(connection->newStream());
      return nullptr;
    }
  }
  PendingStream* pending = queue(callbacks);
  if (pending != nullptr) connectForWaiting();
  return pending;
}

void Http2Pool::connectForWaiting() {
  while (connectingRoom() < pending_.size() && acquireConnection()) {
    connections_list_.push_back(
        std::make_unique<Http2ClientConnection>(worker_, endpoint_, *cluster_, tls_, key_, *this));
  }
}

void Http2Pool::scheduleServe() {
  if (serve_scheduled_ || pending_.empty()) return;
  serve_scheduled_ = true;
  event_active(&serve_event_, 0, 0);
}

void Http2Pool::onServe(evutil_socket_t, short, void* self) {
  auto* pool = static_cast<Http2Pool*>(self);
  pool->serve_scheduled_ = false;
  pool->serveWaiting();
}

void Http2Pool::serveWaiting() {
  while (!pending_.empty()) {
    Http2ClientConnection* connection = withRoom();
    if (connection == nullptr) break;
    PoolCallbacks* waiting = pending_.pop();
    waiting->onPoolReady(connection->newStream());
  }
  connectForWaiting();
}

void Http2Pool::onHttp2Connected(Http2ClientConnection*) { scheduleServe(); }

void Http2Pool::onHttp2StreamEnded(Http2ClientConnection*) { scheduleServe(); }

void Http2Pool::onHttp2ConnectFailure(Http2ClientConnection* connection, UpstreamFailure failure) {
  remove(connection);
  // The streams waiting beyond what other connections being opened can carry fail with it.
  while (pending_.size() > connectingRoom() && withRoom() == nullptr) {
    PoolCallbacks* waiting = pending_.pop();
    if (waiting == nullptr) break;
    waiting->onPoolFailure(failure == UpstreamFailure::ConnectTimeout
                               ? PoolFailure::ConnectTimeout
                               : PoolFailure::ConnectFailure);
  }
  scheduleServe();
}

void Http2Pool::onHttp2ConnectionClosed(Http2ClientConnection* connection) {
  remove(connection);
  scheduleServe();
}

void Http2Pool::remove(Http2ClientConnection* connection) {
  auto it = std::find_if(connections_list_.begin(), connections_list_.end(),
                         [&](const auto& candidate) { return candidate.get() == connection; });
  if (it == connections_list_.end()) return;
  worker_.deferDelete(std::move(*it));
  connections_list_.erase(it);
  releaseConnection();
  table_.mayBeUnused(this);
}

void Http2Pool::closeIdle() {
  std::vector<Http2ClientConnection*> open;
  for (auto& connection : connections_list_) open.push_back(connection.get());
  // Each reports back through onHttp2ConnectionClosed, now or after its last stream.
  for (Http2ClientConnection* connection : open) connection->closeWhenIdle();
}

size_t Http2Pool::idleCount() const {
  return static_cast<size_t>(
      std::count_if(connections_list_.begin(), connections_list_.end(),
                    [](const auto& connection) { return connection->activeStreams() == 0; }));
}

}  // namespace remora
