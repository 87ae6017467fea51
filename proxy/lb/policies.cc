// The policy table: a cluster's `lb:` to the balancer that implements it.
#include <random>

#include "proxy/lb/consistent_hash.h"
#include "proxy/lb/least_connections.h"
#include "proxy/lb/least_request.h"
#include "proxy/lb/load_balancer.h"
#include "proxy/lb/peak_ewma.h"
#include "proxy/lb/random.h"
#include "proxy/lb/round_robin.h"
#include "proxy/lb/slow_start.h"

namespace remora {

namespace {

struct Policy {
  config::LbPolicy policy;
  std::unique_ptr<LoadBalancer> (*make)();
};

template <class T>
std::unique_ptr<LoadBalancer> make() {
  return std::make_unique<T>();
}

constexpr Policy kPolicies[] = {
    {config::LbPolicy::RoundRobin, &make<RoundRobinBalancer>},
    {config::LbPolicy::LeastRequest, &make<LeastRequestBalancer>},
    {config::LbPolicy::LeastConnections, &make<LeastConnectionsBalancer>},
    {config::LbPolicy::Random, &make<RandomBalancer>},
    {config::LbPolicy::RingHash, &make<ConsistentHashBalancer>},
    {config::LbPolicy::Maglev, &make<ConsistentHashBalancer>},
    {config::LbPolicy::PeakEwma, &make<PeakEwmaBalancer>},
};

}  // namespace

std::unique_ptr<LoadBalancer> makeLoadBalancer(config::LbPolicy policy) {
  for (const Policy& entry : kPolicies) {
    if (entry.policy == policy) return entry.make();
  }
  return std::make_unique<RoundRobinBalancer>();
}

int64_t EndpointLoad::nowMicros() const { return steadyMicros(); }

uint64_t lbRandom() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng();
}

uint64_t lbRandomBelow(uint64_t bound) {
  // Multiply-shift: unbiased enough for balancing, and no division.
  return static_cast<uint64_t>((static_cast<unsigned __int128>(lbRandom()) * bound) >> 64);
}

bool inShare(double percent, uint64_t random) {
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  // The top 53 bits as a fraction in [0, 1), exactly representable.
  const double point = static_cast<double>(random >> 11) * 0x1p-53;
  return point * 100 < percent;
}

}  // namespace remora
