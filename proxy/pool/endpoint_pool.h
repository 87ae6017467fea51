// EndpointPool: one worker's connections to one endpoint (with one TLS context), whatever the
// protocol: streams are handed out only on connected connections; when none is free and the
// circuit breaker allows no new one, they wait in a bounded queue.
#pragma once

#include <memory>
#include <string>

#include "discovery/snapshot.h"
#include "proxy/pool/circuit_breaker.h"
#include "proxy/pool/connection_pool.h"
#include "proxy/pool/pending_queue.h"

namespace remora {

class Worker;
class EndpointPool;

// What the endpoint pools ask of the worker's pool table.
class PoolTable {
 public:
  virtual ~PoolTable() = default;
  // `pool` could not open a connection because its cluster is at `max_connections`: it hears
  // onCapacity() once one of the cluster's connections on this worker closes.
  virtual void waitForCapacity(const std::string& cluster, EndpointPool* pool) = 0;
  // One of `cluster`'s connections closed: pools waiting for room may open one.
  virtual void capacityFreed(const std::string& cluster) = 0;
  // `pool` may have nothing left: the table drops it (later, from the loop) if so.
  virtual void mayBeUnused(EndpointPool* pool) = 0;
};

class EndpointPool {
 public:
  EndpointPool(Worker& worker, PoolTable& table, std::string key, const EndpointInfo& endpoint,
               const TlsClientContext* tls, std::shared_ptr<const LoadedConfig> tls_owner,
               std::shared_ptr<BreakerCounts> breaker,
               std::shared_ptr<EndpointConnections> endpoint_connections);
  virtual ~EndpointPool() = default;
  EndpointPool(const EndpointPool&) = delete;
  EndpointPool& operator=(const EndpointPool&) = delete;

  const std::string& key() const { return key_; }
  const std::string& endpointKey() const { return endpoint_.key; }
  // Takes the cluster's settings as `loaded` has them (newer ones after a reload).
  void update(const std::shared_ptr<const LoadedConfig>& loaded, const config::Cluster& cluster);
  // A stream for `callbacks`, now (null returned) or later (the pending handle returned).
  virtual PendingStream* newStream(PoolCallbacks& callbacks) = 0;
  // The cluster's connection limit has room again: one more connection if streams wait.
  virtual void onCapacity() = 0;
  // Drain and shutdown: idle connections close; busy ones take nothing new.
  virtual void closeIdle() = 0;
  virtual size_t idleCount() const = 0;
  // Nothing is open, connecting, lent out or waiting: the pool can go.
  virtual bool unused() const = 0;

 protected:
  // Whether a connection is being opened for every waiting stream.
  virtual bool connectingForAllWaiting() const = 0;
  // Takes a place under the cluster's (and the endpoint's) connection limits for a new
  // connection; false when the breaker is open, and the table is asked to call back.
  bool acquireConnection();
  // A connection counted by acquireConnection() is gone.
  void releaseConnection();
  // Queues `callbacks`, or answers the overflow (null either way when answered).
  PendingStream* queue(PoolCallbacks& callbacks);

  Worker& worker_;
  PoolTable& table_;
  std::string key_;
  EndpointInfo endpoint_;  // the address and key; what connections dial
  const TlsClientContext* tls_;
  std::shared_ptr<const LoadedConfig> tls_owner_;  // keeps `tls_` alive
  std::shared_ptr<const LoadedConfig> loaded_;     // keeps `cluster_` alive
  const config::Cluster* cluster_ = nullptr;
  BreakerLimits limits_;
  std::shared_ptr<BreakerCounts> breaker_;
  std::shared_ptr<EndpointConnections> endpoint_connections_;  // null: no per-endpoint limit
  PendingQueue pending_;
  uint32_t connections_ = 0;  // counted against the limits: connecting, idle, lent out
};

}  // namespace remora
