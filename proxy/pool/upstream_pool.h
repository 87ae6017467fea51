// UpstreamPool: a worker's connections to upstream endpoints, by endpoint key: idle HTTP/1.1
// keep-alive connections, and the HTTP/2 connections its streams share.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/http1_client_connection.h"
#include "proxy/http2_client_connection.h"
#include "proxy/pool/connection_pool.h"

namespace remora {

class UpstreamPool : public ConnectionPool, public IdleOwner, public Http2ConnectionOwner {
 public:
  explicit UpstreamPool(Worker& worker) : worker_(worker) {}
  ~UpstreamPool() override;

  // --- ConnectionPool: the stream is always ready at once (connecting, if the connection is new;
  // a connect failure then reaches the stream's callbacks). ---
  PendingStream* newStream(const ClusterInfo& cluster, uint32_t index,
                           PoolCallbacks& callbacks) override;
  void release(std::unique_ptr<UpstreamRequest> request, const config::Cluster& cluster,
               bool reusable) override;

  // HTTP/1.1: an idle connection to `endpoint`, or a new one; HTTP/2: a stream on a connection
  // with room for it, or on a new one. New connections use TLS when the cluster says so, with
  // the TLS context of the worker's current snapshot.
  std::unique_ptr<UpstreamRequest> acquire(const EndpointInfo& endpoint,
                                           const config::Cluster& cluster);
  // Takes a request back when its exchange is finished: an HTTP/1.1 connection is kept idle if
  // reusable and the endpoint has fewer than `max_idle` idle connections, closed otherwise.
  void release(std::unique_ptr<UpstreamRequest> request, uint32_t max_idle);
  // Closes every idle connection (drain, shutdown); HTTP/2 connections still carrying streams
  // take no new ones and close after their last.
  void closeIdle();
  size_t idleCount() const;

  void onIdleConnectionClosed(Http1ClientConnection* connection) override;
  void onHttp2ConnectionClosed(Http2ClientConnection* connection) override;

 private:
  // The context a connection for `cluster` uses: the current snapshot's when its settings are
  // the same as `cluster`'s (a stream may hold an older snapshot); null when there is none.
  const TlsClientContext* tlsContext(const config::Cluster& cluster) const;

  Worker& worker_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Http1ClientConnection>>> idle_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Http2ClientConnection>>> http2_;
};

}  // namespace remora
