// Unit tests of the load balancing policies and of the per-worker cluster state they use.
#include "proxy/lb/load_balancer.h"

#include <gtest/gtest.h>

#include <map>

#include "config/dump.h"
#include "proxy/cluster_state.h"
#include "proxy/lb/slow_start.h"

namespace remora {
namespace {

// A worker's cluster state on a clock the test moves.
struct ClockedState : ClusterState {
  using ClusterState::ClusterState;
  int64_t now_us = 1'000'000'000;
  int64_t nowMicros() const override { return now_us; }
};

struct Fixture {
  config::Cluster config;
  ClusterInfo cluster;
  std::unique_ptr<ClockedState> owned_state;
  Fixture(std::vector<uint32_t> weights, config::LbPolicy lb) {
    config.name = "c";
    config.lb = lb;
    cluster.config = &config;
    SubsetInfo all;
    all.lb_key = "c|";
    for (size_t i = 0; i < weights.size(); ++i) {
      EndpointInfo e;
      e.key = "10.0.0." + std::to_string(i) + ":80";
      e.weight = weights[i];
      cluster.endpoints.push_back(e);
      all.addMember(cluster.endpoints, static_cast<uint32_t>(i));
    }
    all.generation = 1;
    cluster.subsets.push_back(all);
    owned_state =
        std::make_unique<ClockedState>(config, std::make_shared<BreakerCounts>(), nullptr);
    std::vector<std::string> left;
    owned_state->reconcile(cluster, left);
  }
  ClockedState& state() { return *owned_state; }
  int pick() {
    return state().balancer(cluster, cluster.subsets[0]).pick(cluster, cluster.subsets[0], state());
  }
  std::map<int, int> run(int n) {
    std::map<int, int> counts;
    for (int i = 0; i < n; ++i) ++counts[pick()];
    return counts;
  }
};

TEST(LoadBalancerTest, RoundRobinCyclesEvenly) {
  Fixture f({1, 1, 1}, config::LbPolicy::RoundRobin);
  std::vector<int> order;
  for (int i = 0; i < 6; ++i) order.push_back(f.pick());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 0, 1, 2}));
}

TEST(LoadBalancerTest, WeightedRoundRobinInterleaves) {
  Fixture f({5, 1, 1}, config::LbPolicy::RoundRobin);
  std::vector<int> order;
  for (int i = 0; i < 7; ++i) order.push_back(f.pick());
  // The light endpoints come between the heavy one's turns, not after a run of five as a plain
  // weighted list would have it.
  EXPECT_EQ(order, (std::vector<int>{0, 0, 0, 1, 2, 0, 0}));
  auto counts = f.run(700);
  EXPECT_EQ(counts[0], 500);
  EXPECT_EQ(counts[1], 100);
  EXPECT_EQ(counts[2], 100);
}

TEST(LoadBalancerTest, WeightedRoundRobinKeepsEachEndpointsTurnAcrossSnapshots) {
  Fixture f({3, 1, 1, 1}, config::LbPolicy::RoundRobin);
  std::vector<int> first;
  for (int i = 0; i < 4; ++i) first.push_back(f.pick());
  EXPECT_EQ(first, (std::vector<int>{0, 0, 1, 2}));
  // A new snapshot with a fifth endpoint: endpoint 3, whose turn was due, comes next (not a
  // restart from endpoint 0), and the new one is due halfway through its interval.
  EndpointInfo added;
  added.key = "10.0.0.4:80";
  f.cluster.endpoints.push_back(added);
  SubsetInfo all;
  all.lb_key = "c|";
  all.generation = 2;
  for (uint32_t i = 0; i < 5; ++i) all.addMember(f.cluster.endpoints, i);
  f.cluster.subsets[0] = all;
  std::vector<std::string> left;
  f.state().reconcile(f.cluster, left);
  std::vector<int> next;
  for (int i = 0; i < 4; ++i) next.push_back(f.pick());
  EXPECT_EQ(next, (std::vector<int>{3, 0, 4, 0}));
}

TEST(LoadBalancerTest, LeastRequestPrefersTheLessLoaded) {
  Fixture f({1, 1}, config::LbPolicy::LeastRequest);
  EndpointState& busy = f.state().endpoint(f.cluster, 0);
  for (int i = 0; i < 10; ++i) f.state().requestStarted(busy);
  auto counts = f.run(200);
  EXPECT_EQ(counts[1], 200);
  for (int i = 0; i < 10; ++i) f.state().requestFinished(busy);
  EXPECT_EQ(f.state().active(f.cluster, 0), 0u);
}

TEST(LoadBalancerTest, RandomFollowsWeights) {
  Fixture f({3, 1}, config::LbPolicy::Random);
  auto counts = f.run(8000);
  EXPECT_NEAR(counts[0], 6000, 400);
  EXPECT_NEAR(counts[1], 2000, 400);
}

constexpr config::LbPolicy kWeightedPolicies[] = {
    config::LbPolicy::RoundRobin, config::LbPolicy::LeastRequest,
    config::LbPolicy::LeastConnections, config::LbPolicy::Random, config::LbPolicy::PeakEwma};

// Each endpoint's share of `counts` is within 2 points of its share of the weights.
void expectShares(const std::map<int, int>& counts, const std::vector<double>& weights, int n,
                  const std::string& what) {
  double total = 0;
  for (double w : weights) total += w;
  for (size_t i = 0; i < weights.size(); ++i) {
    auto it = counts.find(static_cast<int>(i));
    const double share = it == counts.end() ? 0.0 : it->second / static_cast<double>(n);
    EXPECT_NEAR(share, weights[i] / total, 0.02) << what << ", endpoint " << i;
  }
}

TEST(LoadBalancerTest, EveryWeightedPolicySpreadsAnIdleClusterByWeightWithin2Percent) {
  for (const auto& weights : {std::vector<uint32_t>{1, 2, 3, 4}, std::vector<uint32_t>{1, 2, 5},
                              std::vector<uint32_t>{7, 7, 7, 7, 7}}) {
    for (config::LbPolicy policy : kWeightedPolicies) {
      Fixture f(weights, policy);
      expectShares(f.run(10000), std::vector<double>(weights.begin(), weights.end()), 10000,
                   std::string(config::lbPolicyName(policy)) + " over " +
                       std::to_string(weights.size()) + " endpoints");
    }
  }
}

TEST(LoadBalancerTest, LeastRequestComparesEveryMemberOfASmallSubset) {
  // Two random choices among three would pick a busy one a third of the time.
  Fixture f({1, 1, 1}, config::LbPolicy::LeastRequest);
  for (uint32_t busy : {0u, 2u}) {
    for (int i = 0; i < 5; ++i) f.state().requestStarted(f.state().endpoint(f.cluster, busy));
  }
  auto counts = f.run(300);
  EXPECT_EQ(counts[1], 300);
}

TEST(LoadBalancerTest, LeastConnectionsPicksTheFewestInFlightPerWeight) {
  Fixture f({1, 3, 1, 1}, config::LbPolicy::LeastConnections);
  // In flight per weight: 1, 2/3, 2, 1.
  const uint32_t active[] = {1, 2, 2, 1};
  for (uint32_t e = 0; e < 4; ++e) {
    for (uint32_t i = 0; i < active[e]; ++i) {
      f.state().requestStarted(f.state().endpoint(f.cluster, e));
    }
  }
  auto counts = f.run(200);
  EXPECT_EQ(counts[1], 200);
}

TEST(LoadBalancerTest, LatencyEstimateTakesPeaksAtOnceAndDecays) {
  LatencyEstimate estimate;
  EXPECT_FALSE(estimate.known());
  const int64_t t = 5'000'000;
  estimate.observe(1'000, false, t);
  EXPECT_DOUBLE_EQ(estimate.at(t), 1'000);
  estimate.observe(50'000, false, t + 1'000);
  EXPECT_DOUBLE_EQ(estimate.at(t + 1'000), 50'000);
  // A faster answer moves it only as much as the time since the last one weighs.
  estimate.observe(1'000, false, t + 101'000);
  EXPECT_NEAR(estimate.at(t + 101'000), 50'000 - 49'000 * 0.01, 10);
  // Left alone, it decays toward 0: by 1/e per decay time.
  EXPECT_NEAR(estimate.at(t + 101'000 + LatencyEstimate::kDecayMicros),
              estimate.at(t + 101'000) / 2.718281828, 10);
  // A failure counts as twice the estimate, however fast it came.
  LatencyEstimate failing;
  failing.observe(100, true, t);
  EXPECT_DOUBLE_EQ(failing.at(t), 2.0 * LatencyEstimate::kDefaultRttMicros);
  failing.observe(100, true, t);
  EXPECT_DOUBLE_EQ(failing.at(t), 4.0 * LatencyEstimate::kDefaultRttMicros);
}

TEST(LoadBalancerTest, PeakEwmaSendsToTheFasterUntilItsQueueCostsMore) {
  Fixture f({1, 1}, config::LbPolicy::PeakEwma);
  const int64_t now = f.state().now_us;
  f.state().endpoint(f.cluster, 0).latency.observe(1'000, false, now);
  f.state().endpoint(f.cluster, 1).latency.observe(50'000, false, now);
  EXPECT_EQ(f.run(200)[0], 200);
  // 60 in flight at 1 ms cost more than one at 50 ms.
  for (int i = 0; i < 60; ++i) f.state().requestStarted(f.state().endpoint(f.cluster, 0));
  EXPECT_EQ(f.run(200)[1], 200);
}

TEST(LoadBalancerTest, PeakEwmaDoesNotPreferAnEndpointThatFailsFast) {
  Fixture f({1, 1, 1, 1}, config::LbPolicy::PeakEwma);
  const int64_t now = f.state().now_us;
  for (uint32_t e = 1; e < 4; ++e)
    f.state().endpoint(f.cluster, e).latency.observe(5'000, false, now);
  // Endpoint 0 answers 503 in 0.1 ms, ten times in a row.
  for (int i = 0; i < 10; ++i) {
    f.state().recordLatency(f.state().endpoint(f.cluster, 0), steadyMicros() - 100, true);
  }
  f.state().now_us = steadyMicros();
  auto counts = f.run(1000);
  EXPECT_EQ(counts[0], 0);
}

TEST(LoadBalancerTest, PeakEwmaProbesAnEndpointWithoutAnEstimateOneRequestAtATime) {
  Fixture f({1, 1}, config::LbPolicy::PeakEwma);
  f.state().endpoint(f.cluster, 0).latency.observe(1'000, false, f.state().now_us);
  // Endpoint 1 has no estimate: free while idle, the default RTT per request once one is out.
  EXPECT_EQ(f.pick(), 1);
  f.state().requestStarted(f.state().endpoint(f.cluster, 1));
  EXPECT_EQ(f.run(100)[0], 100);
}

TEST(LoadBalancerTest, SlowStartRampsANewEndpointsShareOverTheWindow) {
  for (config::LbPolicy policy : kWeightedPolicies) {
    Fixture f({1, 1, 1, 1}, policy);
    f.config.slow_start = {true, config::Duration{30000}, 1.0, 10};
    const int64_t since = f.state().now_us;
    f.cluster.endpoints[3].slow_start_since_us = since;
    f.cluster.subsets[0].slow_start_until_us = since + 30'000'000;
    // A tenth of the window in: the floor (10%); half: 50%; nine tenths: 90%.
    for (double fraction : {0.05, 0.5, 0.9}) {
      f.state().now_us = since + static_cast<int64_t>(fraction * 30'000'000);
      const double ramp = std::max(fraction, 0.1);
      expectShares(f.run(10000), {1, 1, 1, ramp}, 10000,
                   std::string(config::lbPolicyName(policy)) + " at " + std::to_string(fraction) +
                       " of the window");
    }
    f.state().now_us = since + 30'000'000;
    expectShares(f.run(10000), {1, 1, 1, 1}, 10000,
                 std::string(config::lbPolicyName(policy)) + " after the window");
  }
}

TEST(LoadBalancerTest, SlowStartFactorFollowsAggression) {
  config::SlowStart linear{true, config::Duration{10000}, 1.0, 10};
  EXPECT_DOUBLE_EQ(slowStartFactor(linear, 0, 123), 1.0);
  EXPECT_DOUBLE_EQ(slowStartFactor(linear, 1'000'000, 1'000'000), 0.1);
  EXPECT_DOUBLE_EQ(slowStartFactor(linear, 1'000'000, 6'000'000), 0.5);
  EXPECT_DOUBLE_EQ(slowStartFactor(linear, 1'000'000, 11'000'000), 1.0);
  config::SlowStart eager{true, config::Duration{10000}, 2.0, 10};
  EXPECT_DOUBLE_EQ(slowStartFactor(eager, 1'000'000, 3'500'000), 0.5);
}

TEST(LoadBalancerTest, EmptySubsetHasNoEndpoint) {
  for (auto policy : kWeightedPolicies) {
    Fixture f({}, policy);
    EXPECT_EQ(f.pick(), -1);
  }
}

}  // namespace
}  // namespace remora
