// ConnectionPools: a worker's endpoint pools by endpoint (and TLS context and protocol), the
// router's way to upstream connections. Pools with nothing left are dropped, so endpoints that
// come and go leave nothing behind.
#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/pool/circuit_breaker.h"
#include "proxy/pool/connection_pool.h"
#include "proxy/pool/endpoint_pool.h"
#include "proxy/stats.h"

namespace remora {

class Worker;

class ConnectionPools final : public ConnectionPool, public PoolTable {
 public:
  ConnectionPools(Worker& worker, CircuitBreakers& breakers);
  ~ConnectionPools() override;

  // --- ConnectionPool ---
  PendingStream* newStream(const Snapshot& snapshot, const ClusterInfo& cluster, uint32_t index,
                           PoolCallbacks& callbacks) override;
  void release(std::unique_ptr<UpstreamRequest> request, bool reusable) override;

  // Drain and shutdown: idle connections close; busy ones take nothing new.
  void closeIdle();
  // Endpoints that left their cluster: their idle connections close now, not at the idle timeout.
  void closeIdleTo(const std::vector<std::string>& endpoint_keys);
  size_t idleCount() const;
  size_t poolCount() const { return pools_.size(); }

  // --- PoolTable ---
  void waitForCapacity(const std::string& cluster, EndpointPool* pool) override;
  void capacityFreed(const std::string& cluster) override;
  void mayBeUnused(EndpointPool* pool) override;

 private:
  // The context a connection for `cluster` uses: the current snapshot's when its settings are
  // the same as `cluster`'s (a stream may hold an older snapshot); null when there is none.
  const TlsClientContext* tlsContext(const config::Cluster& cluster) const;
  static void onSweep(evutil_socket_t, short, void* self);
  static void onRetryStarved(evutil_socket_t, short, void* self);

  Worker& worker_;
  CircuitBreakers& breakers_;
  std::unordered_map<std::string, std::unique_ptr<EndpointPool>, stats::TransparentHash,
                     std::equal_to<>>
      pools_;
  // The pool the last stream went to, and its key (a view of pools_'s own key): requests in a
  // row mostly go to the same endpoint, and comparing a key is cheaper than hashing it. Reset
  // when a pool is erased.
  std::string_view last_key_;
  EndpointPool* last_pool_ = nullptr;
  // By cluster: pools with streams waiting for the cluster's connection limit to have room.
  std::unordered_map<std::string, std::vector<EndpointPool*>, stats::TransparentHash,
                     std::equal_to<>>
      starved_;
  // Keys of pools that may have nothing left, checked from the loop.
  std::vector<std::string> sweep_candidates_;
  event sweep_event_;
  bool sweep_scheduled_ = false;
  // Starved pools try again every few milliseconds: the connection that frees room for them may
  // close on another worker, which cannot tell them.
  event retry_starved_;
};

}  // namespace remora
