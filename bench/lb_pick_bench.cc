// Micro benchmarks of one load-balancer pick per policy, over 10, 100 and 1,000 endpoints.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "discovery/snapshot.h"
#include "proxy/lb/hash_table.h"
#include "proxy/lb/load_balancer.h"
#include "proxy/lb/peak_ewma.h"

namespace remora {
namespace {

// Well-mixed 64 bits from a counter: the requests' keys, and the endpoints' loads.
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// When every latency estimate was last observed, and the instant of every pick: 1 ms apart, so
// that peak_ewma decays its estimates (an exp() per candidate) as it does between answers.
constexpr int64_t kObservedMicros = 1'000'000'000;
constexpr int64_t kNowMicros = kObservedMicros + 1'000;

// A worker's load on the cluster, frozen: no clock read or bookkeeping inflates a pick.
class FixedLoad final : public EndpointLoad {
 public:
  explicit FixedLoad(size_t endpoints) : active_(endpoints), latency_(endpoints) {
    for (size_t i = 0; i < endpoints; ++i) {
      // 0..3 in flight: some ties and some differences, as comparisons meet on a busy worker.
      active_[i] = static_cast<uint32_t>(splitmix64(i) % 4);
      latency_[i].observe(1000 + 37 * static_cast<int64_t>(i), /*failed=*/false, kObservedMicros);
    }
  }

  uint32_t active(const ClusterInfo&, uint32_t index) const override { return active_[index]; }
  const LatencyEstimate* latency(const ClusterInfo&, uint32_t index) const override {
    return &latency_[index];
  }
  int64_t nowMicros() const override { return kNowMicros; }

 private:
  std::vector<uint32_t> active_;
  std::vector<LatencyEstimate> latency_;
};

// A cluster of endpoints all in rotation, with subset 0 over every one of them (and its
// consistent-hash table for ring_hash and maglev), as a snapshot holds it; and the load.
class Fixture {
 public:
  Fixture(config::LbPolicy policy, size_t endpoints, bool weighted)
      : config_{.name = "c", .lb = policy}, load_(endpoints) {
    cluster_.config = &config_;
    cluster_.endpoints.resize(endpoints);
    for (size_t i = 0; i < endpoints; ++i) {
      EndpointInfo& endpoint = cluster_.endpoints[i];
      endpoint.key = "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":8080";
      endpoint.weight = weighted ? static_cast<uint32_t>(1 + i % 4) : 1;
    }
    SubsetInfo& subset = cluster_.subsets.emplace_back();
    subset.lb_key = "c|";
    subset.generation = 1;
    std::vector<HashMember> members;
    for (uint32_t i = 0; i < endpoints; ++i) {
      subset.addMember(cluster_.endpoints, i);
      members.push_back({cluster_.endpoints[i].key, cluster_.endpoints[i].weight, i});
    }
    subset.hash_table = buildHashTable(config_, members);
  }
  // cluster_.config points at config_.
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  const ClusterInfo& cluster() const { return cluster_; }
  const SubsetInfo& subset() const { return cluster_.subsets[0]; }
  const EndpointLoad& load() const { return load_; }

 private:
  config::Cluster config_;
  ClusterInfo cluster_;
  FixedLoad load_;
};

void BM_Pick(benchmark::State& state, config::LbPolicy policy, bool weighted) {
  const Fixture fixture(policy, static_cast<size_t>(state.range(0)), weighted);
  const std::unique_ptr<LoadBalancer> balancer = makeLoadBalancer(policy);
  // round_robin aligns its state with a new subset generation once, on its first pick: a cost
  // per snapshot, not per pick.
  balancer->pick(fixture.cluster(), fixture.subset(), fixture.load());
  for (auto _ : state) {
    int index = balancer->pick(fixture.cluster(), fixture.subset(), fixture.load());
    benchmark::DoNotOptimize(index);
  }
}

void BM_PickHashed(benchmark::State& state, config::LbPolicy policy) {
  const Fixture fixture(policy, static_cast<size_t>(state.range(0)), /*weighted=*/false);
  const std::unique_ptr<LoadBalancer> balancer = makeLoadBalancer(policy);
  uint64_t request = 0;
  for (auto _ : state) {
    // A new key every pick: one key over and over would keep its slot of the table in cache.
    int index = balancer->pickHashed(fixture.cluster(), fixture.subset(), fixture.load(),
                                     splitmix64(request++));
    benchmark::DoNotOptimize(index);
  }
}

struct NamedPolicy {
  config::LbPolicy policy;
  const char* name;  // as `lb:` spells it
};

constexpr NamedPolicy kPolicies[] = {
    {config::LbPolicy::RoundRobin, "round_robin"},
    {config::LbPolicy::LeastRequest, "least_request"},
    {config::LbPolicy::LeastConnections, "least_connections"},
    {config::LbPolicy::Random, "random"},
    {config::LbPolicy::PeakEwma, "peak_ewma"},
    {config::LbPolicy::RingHash, "ring_hash"},
    {config::LbPolicy::Maglev, "maglev"},
};

// The subset sizes: from a few replicas to a large fleet.
void endpointCounts(benchmark::internal::Benchmark* bench) { bench->Arg(10)->Arg(100)->Arg(1000); }

// Named BM_Pick/<policy>[_weighted]/<endpoints> and BM_PickHashed/<policy>/<endpoints>. The
// policies that spread by weight run with unequal weights too, which take another path (a draw
// by binary search, smooth round robin's scan); the hashing ones spread by key, so get one.
[[maybe_unused]] const bool registered = [] {
  for (const NamedPolicy& entry : kPolicies) {
    const std::string name = entry.name;
    if (config::weightedPolicy(entry.policy)) {
      benchmark::RegisterBenchmark(("BM_Pick/" + name).c_str(), BM_Pick, entry.policy, false)
          ->Apply(endpointCounts);
      benchmark::RegisterBenchmark(("BM_Pick/" + name + "_weighted").c_str(), BM_Pick, entry.policy,
                                   true)
          ->Apply(endpointCounts);
    } else {
      benchmark::RegisterBenchmark(("BM_PickHashed/" + name).c_str(), BM_PickHashed, entry.policy)
          ->Apply(endpointCounts);
    }
  }
  return true;
}();

}  // namespace
}  // namespace remora
