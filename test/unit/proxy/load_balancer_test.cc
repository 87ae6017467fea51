// Unit tests of the load balancing policies.
#include "proxy/load_balancer.h"

#include <gtest/gtest.h>

#include <map>

namespace remora {
namespace {

struct Fixture {
  config::Cluster config;
  ClusterInfo cluster;
  explicit Fixture(std::vector<uint32_t> weights, config::LbPolicy lb) {
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
  }
  std::map<int, int> run(LoadBalancer& lb, int n) {
    std::map<int, int> counts;
    for (int i = 0; i < n; ++i) ++counts[lb.pick(cluster, cluster.subsets[0])];
    return counts;
  }
};

TEST(LoadBalancerTest, RoundRobinCyclesEvenly) {
  Fixture f({1, 1, 1}, config::LbPolicy::RoundRobin);
  LoadBalancer lb;
  std::vector<int> order;
  for (int i = 0; i < 6; ++i) order.push_back(lb.pick(f.cluster, f.cluster.subsets[0]));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 0, 1, 2}));
}

TEST(LoadBalancerTest, SmoothWeightedRoundRobinInterleaves) {
  Fixture f({5, 1, 1}, config::LbPolicy::RoundRobin);
  LoadBalancer lb;
  std::vector<int> order;
  for (int i = 0; i < 7; ++i) order.push_back(lb.pick(f.cluster, f.cluster.subsets[0]));
  // The heavy endpoint never takes more than its share in a row as a plain weighted list would.
  EXPECT_EQ(order, (std::vector<int>{0, 0, 1, 0, 2, 0, 0}));
  auto counts = f.run(lb, 700);
  EXPECT_EQ(counts[0], 500);
  EXPECT_EQ(counts[1], 100);
  EXPECT_EQ(counts[2], 100);
}

TEST(LoadBalancerTest, LeastRequestPrefersTheLessLoaded) {
  Fixture f({1, 1}, config::LbPolicy::LeastRequest);
  LoadBalancer lb;
  for (int i = 0; i < 10; ++i) lb.requestStarted(f.cluster.endpoints[0].key);
  auto counts = f.run(lb, 200);
  EXPECT_EQ(counts[1], 200);
  for (int i = 0; i < 10; ++i) lb.requestFinished(f.cluster.endpoints[0].key);
  EXPECT_EQ(lb.active(f.cluster.endpoints[0].key), 0u);
}

TEST(LoadBalancerTest, RandomFollowsWeights) {
  Fixture f({3, 1}, config::LbPolicy::Random);
  LoadBalancer lb;
  auto counts = f.run(lb, 8000);
  EXPECT_NEAR(counts[0], 6000, 400);
  EXPECT_NEAR(counts[1], 2000, 400);
}

TEST(LoadBalancerTest, EmptySubsetHasNoEndpoint) {
  Fixture f({}, config::LbPolicy::RoundRobin);
  LoadBalancer lb;
  EXPECT_EQ(lb.pick(f.cluster, f.cluster.subsets[0]), -1);
}

TEST(LoadBalancerTest, TargetsByWeightSkipZero) {
  LoadBalancer lb;
  std::vector<RouteTarget> targets = {{0, 0, 0}, {0, 1, 9}, {0, 2, 1}};
  std::map<int, int> counts;
  for (int i = 0; i < 5000; ++i) ++counts[lb.pickTarget(targets)];
  EXPECT_EQ(counts[0], 0);
  EXPECT_NEAR(counts[1], 4500, 200);
  EXPECT_NEAR(counts[2], 500, 200);
}

}  // namespace
}  // namespace remora
