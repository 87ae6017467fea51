// Http1Pool: HTTP/1.1 keep-alive connections to one endpoint: idle ones are reused most recent
// first, a connection is lent to one stream at a time, and streams wait for one when the circuit
// breaker allows no new connection.
#pragma once

#include <memory>
#include <vector>

#include "proxy/http1_client_connection.h"
#include "proxy/pool/endpoint_pool.h"

namespace remora {

class Http1Pool final : public EndpointPool, public Http1ConnectionOwner {
 public:
  using EndpointPool::EndpointPool;
  ~Http1Pool() override;

  PendingStream* newStream(PoolCallbacks& callbacks) override;
  void onCapacity() override;
  void closeIdle() override;
  size_t idleCount() const override { return idle_.size(); }
  bool unused() const override { return connections_ == 0 && pending_.empty(); }

  // --- Http1ConnectionOwner ---
  void onConnected(Http1ClientConnection* connection) override;
  void onConnectFailure(Http1ClientConnection* connection, UpstreamFailure failure) override;
  void onIdleConnectionClosed(Http1ClientConnection* connection) override;
  // Kept (or given to a waiting stream) when `reusable` and the connection agrees.
  void release(std::unique_ptr<Http1ClientConnection> connection, bool reusable) override;

 private:
  bool connectingForAllWaiting() const override { return connecting_.size() >= pending_.size(); }
  // Opens connections while streams wait for more than are connecting, as the breaker allows.
  void connectForWaiting();
  // Hands `connection` to the oldest waiting stream; false when none waits.
  bool serveWaiting(std::unique_ptr<Http1ClientConnection>& connection);
  std::unique_ptr<Http1ClientConnection> take(
      std::vector<std::unique_ptr<Http1ClientConnection>>& from, Http1ClientConnection* which);
  void destroy(std::unique_ptr<Http1ClientConnection> connection);

  std::vector<std::unique_ptr<Http1ClientConnection>> idle_;
  std::vector<std::unique_ptr<Http1ClientConnection>> connecting_;
};

}  // namespace remora
