// ClusterState: what one worker keeps about one cluster across snapshots: per-endpoint load,
// balancer state per subset, the retry budget's counts, and the circuit breaker's shared counts.
// Per-endpoint state exists only for endpoints this worker's requests used (a cluster may have
// 10,000 endpoints, a worker may use a few). Reconciled on every snapshot swap, so that state of
// endpoints and subsets that left is dropped (pods churn; nothing grows forever).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "discovery/outlier/outcomes.h"
#include "discovery/snapshot.h"
#include "filters/router/retry_budget.h"
#include "proxy/balancer_loads.h"
#include "proxy/lb/load_balancer.h"
#include "proxy/lb/peak_ewma.h"
#include "proxy/lb/slow_start.h"
#include "proxy/pool/circuit_breaker.h"
#include "proxy/stats.h"

namespace remora {

// One endpoint, on one worker.
struct EndpointState {
  std::string key;
  uint32_t active = 0;   // requests in flight from this worker (what least_request weighs)
  bool retired = false;  // it left the cluster; dropped once nothing is in flight
  outlier::OutcomeCounts outcomes;  // since the last report to the main thread
  // Failures in a row, as outlier detection counts them.
  uint32_t consecutive_5xx = 0;
  uint32_t consecutive_gateway = 0;
  uint32_t consecutive_local_origin = 0;
  LatencyEstimate latency;  // peak_ewma's; kept only by clusters with that policy
};

// Where a worker's outcome reports go (the main thread's outlier detector).
class OutcomeSink {
 public:
  virtual ~OutcomeSink() = default;
  // A run of failures just reached a threshold: reported at once, not with the next batch.
  virtual void reportNow(outlier::EndpointReport report) = 0;
};

class ClusterState : public EndpointLoad {
 public:
  ClusterState(const config::Cluster& cluster, std::shared_ptr<BreakerCounts> breaker,
               OutcomeSink* sink)
      : name_(cluster.name),
        policy_(cluster.lb),
        breaker_(std::move(breaker)),
        limits_(breakerLimits(cluster)),
        outlier_(cluster.outlier_detection),
        sink_(sink) {}
  ClusterState(const ClusterState&) = delete;
  ClusterState& operator=(const ClusterState&) = delete;

  const std::string& name() const { return name_; }
  // Aligns with `cluster` as a new snapshot has it; adds to `left` the keys of endpoints that
  // left it and that this worker has state for (the only ones it can have connections to).
  void reconcile(const ClusterInfo& cluster, std::vector<std::string>& left);
  // The state of `cluster.endpoints[index]`, whichever snapshot `cluster` comes from; made on
  // first use.
  EndpointState& endpoint(const ClusterInfo& cluster, uint32_t index);
  LoadBalancer& balancer(const ClusterInfo& cluster, const SubsetInfo& subset);
  router::BudgetCounts& budget() { return budget_; }
  BreakerCounts& breaker() { return *breaker_; }
  // The circuit breaker's limits, as the newest snapshot's cluster has them.
  const BreakerLimits& limits() const { return limits_; }

  void requestStarted(EndpointState& endpoint) { ++endpoint.active; }
  // A retired endpoint's last request ended: its state goes.
  void requestFinished(EndpointState& endpoint);

  // A try on `endpoint` ended so; a run of failures that reaches a threshold is reported now.
  void recordOutcome(EndpointState& endpoint, outlier::Outcome outcome);
  // A try on `endpoint` that began at `start_us` answered now (its headers), or failed; feeds
  // the latency estimate of a peak_ewma cluster.
  void recordLatency(EndpointState& endpoint, int64_t start_us, bool failed) {
    if (policy_ != config::LbPolicy::PeakEwma) return;
    const int64_t now_us = steadyMicros();
    endpoint.latency.observe(now_us - start_us, failed, now_us);
  }
  // Appends what every endpoint saw since the last report, and starts counting anew.
  void collectOutcomes(outlier::OutcomeBatch& batch);
  // Appends the requests in flight and latency estimate of every endpoint that has either.
  void collectLoads(LoadSamples& samples, int64_t now_us) const;

  uint32_t active(const ClusterInfo& cluster, uint32_t index) const override;
  const LatencyEstimate* latency(const ClusterInfo& cluster, uint32_t index) const override;
  size_t endpointStates() const { return endpoints_.size(); }
  size_t balancerStates() const { return balancers_.size(); }

 private:
  // Whether `by_index_` matches `cluster`'s endpoint indices (same snapshot).
  bool aligned(const ClusterInfo& cluster) const {
    return !cluster.subsets.empty() && cluster.subsets[0].generation == generation_;
  }
  // The state keyed `key`, made if there is none; a retired one is taken back unless `retired`.
  EndpointState& stateFor(const std::string& key, bool retired);
  // This worker's state of `cluster.endpoints[index]`; null if it has none.
  const EndpointState* find(const ClusterInfo& cluster, uint32_t index) const;
  // Whether the newest snapshot's cluster has an endpoint keyed `key`.
  bool inNewest(std::string_view key) const;

  std::string name_;
  uint64_t generation_ = 0;  // the snapshot version `by_index_` is aligned with
  config::LbPolicy policy_ = config::LbPolicy::RoundRobin;
  std::unordered_map<std::string, std::unique_ptr<EndpointState>, stats::TransparentHash,
                     std::equal_to<>>
      endpoints_;
  std::vector<EndpointState*> by_index_;           // null for endpoints not used since the swap
  std::vector<LoadBalancer*> balancer_by_subset_;  // aligned like `by_index_`; null: not made yet
  // The hashes of the newest snapshot's endpoint keys, sorted: whether an endpoint that a stream
  // on an older snapshot turns to is still in the cluster, without keeping every key.
  std::vector<size_t> newest_keys_;
  // By subset label ("" for the whole cluster).
  std::unordered_map<std::string, std::unique_ptr<LoadBalancer>, stats::TransparentHash,
                     std::equal_to<>>
      balancers_;
  router::BudgetCounts budget_;
  std::shared_ptr<BreakerCounts> breaker_;
  BreakerLimits limits_;
  config::OutlierDetection outlier_;
  OutcomeSink* sink_;  // null: outcomes are only counted (tests)
};

}  // namespace remora
