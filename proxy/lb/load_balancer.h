// The load-balancing policy interface: one object per worker per (cluster, subset) holds a
// policy's state and picks among the subset's members.
#pragma once

#include <cstdint>
#include <memory>

#include "config/config.h"
#include "discovery/snapshot.h"

namespace remora {

class LatencyEstimate;

// What a policy may ask of the worker about an endpoint while it picks.
class EndpointLoad {
 public:
  virtual ~EndpointLoad() = default;
  // Requests in flight from this worker to `cluster.endpoints[index]`.
  virtual uint32_t active(const ClusterInfo& cluster, uint32_t index) const = 0;
  // This worker's latency estimate of it (peak_ewma); null before its first answer.
  virtual const LatencyEstimate* latency(const ClusterInfo& /*cluster*/, uint32_t /*index*/) const {
    return nullptr;
  }
  // The instant of the pick (steadyMicros()): what slow start and estimates decay by.
  virtual int64_t nowMicros() const;
};

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  // An index into `cluster.endpoints`, one of `subset.members`; -1 when the subset has none.
  virtual int pick(const ClusterInfo& cluster, const SubsetInfo& subset,
                   const EndpointLoad& load) = 0;
  // The same for a request with a key (the route's `hash:`); policies that hash nothing ignore it.
  virtual int pickHashed(const ClusterInfo& cluster, const SubsetInfo& subset,
                         const EndpointLoad& load, uint64_t /*hash*/) {
    return pick(cluster, subset, load);
  }
};

// The policy a cluster names (`lb:`), from the table in policies.cc.
std::unique_ptr<LoadBalancer> makeLoadBalancer(config::LbPolicy policy);

// The worker thread's random numbers for balancing and splitting.
uint64_t lbRandom();
// Uniform in [0, bound), for bound > 0.
uint64_t lbRandomBelow(uint64_t bound);
// Whether a request falls in a share of `percent` (a mirror's copies, injected faults);
// `random` is uniform over 64 bits.
bool inShare(double percent, uint64_t random);

}  // namespace remora
