// Upstreams: what the router needs of its worker (a test gives a fake one): each cluster's
// per-worker state, the connection pools, statistics, canary arm counts, detached work.
#pragma once

#include <memory>

#include "discovery/snapshot.h"
#include "proxy/canary_tallies.h"
#include "proxy/cluster_state.h"
#include "proxy/deferrable.h"
#include "proxy/detached_set.h"
#include "proxy/pool/connection_pool.h"
#include "proxy/stats.h"

namespace remora {

class Upstreams {
 public:
  virtual ~Upstreams() = default;
  virtual ClusterState& clusterState(const ClusterInfo& cluster) = 0;
  virtual ConnectionPool& pool() = 0;
  virtual stats::WorkerStats& stats() = 0;
  virtual CanaryTallies& canaryTallies() = 0;
  // Destroys `object` once the current callback has returned.
  virtual void deferDelete(std::unique_ptr<Deferrable> object) = 0;
  // Work that goes on after its stream ended (shadow copies); destroyed before the pools.
  virtual DetachedSet& detached() = 0;
};

}  // namespace remora
