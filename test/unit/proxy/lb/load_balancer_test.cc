// Unit tests of the load balancing policies and of the per-worker cluster state they use.
#include "proxy/lb/load_balancer.h"

#include <gtest/gtest.h>

#include <map>

#include "proxy/cluster_state.h"

namespace remora {
namespace {

struct Fixture {
  config::Cluster config;
  ClusterInfo cluster;
  std::unique_ptr<ClusterState> owned_state;
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
      all.members.push_back(static_cast<uint32_t>(i));
      all.total_weight += weights[i];
      all.equal_weights = all.equal_weights && weights[i] == weights[0];
    }
    all.generation = 1;
    cluster.subsets.push_back(all);
    owned_state =
        std::make_unique<ClusterState>(config, std::make_shared<BreakerCounts>(), nullptr);
    std::vector<std::string> left;
    owned_state->reconcile(cluster, left);
  }
  ClusterState& state() { return *owned_state; }
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

TEST(LoadBalancerTest, SmoothWeightedRoundRobinInterleaves) {
  Fixture f({5, 1, 1}, config::LbPolicy::RoundRobin);
  std::vector<int> order;
  for (int i = 0; i < 7; ++i) order.push_back(f.pick());
  // The heavy endpoint never takes more than its share in a row as a plain weighted list would.
  EXPECT_EQ(order, (std::vector<int>{0, 0, 1, 0, 2, 0, 0}));
  auto counts = f.run(700);
  EXPECT_EQ(counts[0], 500);
  EXPECT_EQ(counts[1], 100);
  EXPECT_EQ(counts[2], 100);
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

TEST(LoadBalancerTest, EmptySubsetHasNoEndpoint) {
  for (auto policy :
       {config::LbPolicy::RoundRobin, config::LbPolicy::LeastRequest, config::LbPolicy::Random}) {
    Fixture f({}, policy);
    EXPECT_EQ(f.pick(), -1);
  }
}

}  // namespace
}  // namespace remora
