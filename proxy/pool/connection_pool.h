// The connection pool as the router sees it: ask for a stream to an endpoint, get it now or
// later, or a failure; a waiting ask can be cancelled.
#pragma once

#include <memory>

#include "config/config.h"
#include "discovery/snapshot.h"
#include "proxy/codec.h"

namespace remora {

enum class PoolFailure {
  Overflow,        // the cluster's circuit breaker is open: answered at once
  PendingTimeout,  // no connection became free within the cluster's pending_timeout
  ConnectFailure,  // refused, unreachable, or the TLS handshake failed
  ConnectTimeout,
};

const char* poolFailureName(PoolFailure failure);

class PoolCallbacks {
 public:
  virtual ~PoolCallbacks() = default;
  // A stream on a connection ready for the request.
  virtual void onPoolReady(std::unique_ptr<UpstreamRequest> request) = 0;
  virtual void onPoolFailure(PoolFailure failure) = 0;
};

// A stream waiting for a connection. cancel() forgets it: no callback follows.
class PendingStream {
 public:
  virtual void cancel() = 0;

 protected:
  ~PendingStream() = default;
};

class ConnectionPool {
 public:
  virtual ~ConnectionPool() = default;
  // A stream to `cluster.endpoints[index]` (`cluster` of `snapshot`): `callbacks` hear of it at
  // once (and null is returned) or later (and the returned handle stays valid until a callback
  // or cancel()).
  virtual PendingStream* newStream(const Snapshot& snapshot, const ClusterInfo& cluster,
                                   uint32_t index, PoolCallbacks& callbacks) = 0;
  // The exchange on `request` is over (every request a pool gave comes back here). `reusable`:
  // its response ended cleanly, so an HTTP/1.1 connection may carry another request.
  virtual void release(std::unique_ptr<UpstreamRequest> request, bool reusable) = 0;
};

}  // namespace remora
