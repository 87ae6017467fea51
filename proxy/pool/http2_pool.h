// Http2Pool: multiplexed HTTP/2 connections to one endpoint: a stream goes on a connected
// connection with room under the peer's stream limit; a new connection opens when none has room
// (as the breaker allows); streams wait while connections connect.
#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>

#include <memory>
#include <vector>

#include "proxy/http2_client_connection.h"
#include "proxy/pool/endpoint_pool.h"

namespace remora {

class Http2Pool final : public EndpointPool, public Http2ConnectionOwner {
 public:
  Http2Pool(Worker& worker, PoolTable& table, std::string key, const EndpointInfo& endpoint,
            const TlsClientContext* tls, std::shared_ptr<const LoadedConfig> tls_owner,
            std::shared_ptr<BreakerCounts> breaker,
            std::shared_ptr<EndpointConnections> endpoint_connections);
  ~Http2Pool() override;

  PendingStream* newStream(PoolCallbacks& callbacks) override;
  void onCapacity() override { connectForWaiting(); }
  void closeIdle() override;
  size_t idleCount() const override;
  bool unused() const override { return connections_ == 0 && pending_.empty(); }

  // --- Http2ConnectionOwner ---
  void onHttp2Connected(Http2ClientConnection* connection) override;
  void onHttp2ConnectFailure(Http2ClientConnection* connection, UpstreamFailure failure) override;
  void onHttp2StreamEnded(Http2ClientConnection* connection) override;
  void onHttp2ConnectionClosed(Http2ClientConnection* connection) override;

 private:
  bool connectingForAllWaiting() const override;
  // Streams a connecting connection will take before the peer's SETTINGS say more.
  uint32_t connectingRoom() const;
  Http2ClientConnection* withRoom();
  void connectForWaiting();
  // Gives waiting streams to connections with room; from the loop, never inside nghttp2.
  void scheduleServe();
  static void onServe(evutil_socket_t, short, void* self);
  void serveWaiting();
  void remove(Http2ClientConnection* connection);

  std::vector<std::unique_ptr<Http2ClientConnection>> connections_list_;
  event serve_event_;
  bool serve_scheduled_ = false;
};

}  // namespace remora
