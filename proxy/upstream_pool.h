// UpstreamPool: a worker's idle keep-alive connections to upstream endpoints, by endpoint key.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/http1_client_connection.h"

namespace remora {

class UpstreamPool : public IdleOwner {
 public:
  explicit UpstreamPool(Worker& worker) : worker_(worker) {}
  ~UpstreamPool() override;

  // An idle connection to `endpoint`, or a new one (connecting, over TLS when the cluster says
  // so, with the TLS context of the worker's current snapshot).
  std::unique_ptr<Http1ClientConnection> acquire(const EndpointInfo& endpoint,
                                                 const config::Cluster& cluster);
  // Takes a connection back when its exchange is finished: kept idle if reusable and the
  // endpoint has fewer than `max_idle` idle connections, closed otherwise.
  void release(std::unique_ptr<Http1ClientConnection> connection, uint32_t max_idle);
  // Closes every idle connection (drain, shutdown).
  void closeIdle();
  size_t idleCount() const;

  void onIdleConnectionClosed(Http1ClientConnection* connection) override;

 private:
  // The context a connection for `cluster` uses: the current snapshot's when its settings are
  // the same as `cluster`'s (a stream may hold an older snapshot); null when there is none.
  const TlsClientContext* tlsContext(const config::Cluster& cluster) const;

  Worker& worker_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Http1ClientConnection>>> idle_;
};

}  // namespace remora
