// Unit tests of a worker's per-cluster state across snapshots: state is made for the endpoints
// used, what left is dropped, what is in flight is kept until it ends.
#include "proxy/cluster_state.h"

#include <gtest/gtest.h>

namespace remora {
namespace {

// A cluster as a snapshot of version `version` has it, with endpoints 10.0.0.<i>:80 for `ids`.
struct View {
  config::Cluster config;
  ClusterInfo cluster;
  View(uint64_t version, const std::vector<int>& ids, std::vector<config::Metadata> subsets = {}) {
    config.name = "c";
    cluster.config = &config;
    for (int id : ids) {
      EndpointInfo endpoint;
      endpoint.key = "10.0.0." + std::to_string(id) + ":80";
      cluster.endpoints.push_back(endpoint);
    }
    subsets.insert(subsets.begin(), config::Metadata{});
    for (const auto& selector : subsets) {
      SubsetInfo subset;
      subset.selector = selector;
      for (const auto& [key, value] : selector) subset.label += key + "=" + value;
      subset.generation = version;
      for (uint32_t i = 0; i < cluster.endpoints.size(); ++i) subset.members.push_back(i);
      cluster.subsets.push_back(subset);
    }
  }
  // Asks for the state of every endpoint, as requests to each would.
  void useAll(ClusterState& state) const {
    for (uint32_t i = 0; i < cluster.endpoints.size(); ++i) state.endpoint(cluster, i);
  }
};

TEST(ClusterStateTest, EndpointsThatLeaveAreDroppedAndReported) {
  View first(1, {1, 2, 3});
  ClusterState state(first.config, std::make_shared<BreakerCounts>(), nullptr);
  std::vector<std::string> left;
  state.reconcile(first.cluster, left);
  first.useAll(state);
  EXPECT_EQ(state.endpointStates(), 3u);
  EXPECT_TRUE(left.empty());
  View second(2, {2, 3, 4});
  state.reconcile(second.cluster, left);
  EXPECT_EQ(state.endpointStates(), 2u);
  EXPECT_EQ(left, std::vector<std::string>{"10.0.0.1:80"});
  second.useAll(state);
  EXPECT_EQ(state.endpointStates(), 3u);
}

TEST(ClusterStateTest, AnEndpointInUseStaysUntilItsLastRequestEnds) {
  View first(1, {1, 2});
  ClusterState state(first.config, std::make_shared<BreakerCounts>(), nullptr);
  std::vector<std::string> left;
  state.reconcile(first.cluster, left);
  first.useAll(state);
  EndpointState& busy = state.endpoint(first.cluster, 0);
  state.requestStarted(busy);
  View second(2, {2});
  state.reconcile(second.cluster, left);
  EXPECT_EQ(state.endpointStates(), 2u);
  // A stream on the old snapshot still finds it by key.
  EXPECT_EQ(&state.endpoint(first.cluster, 0), &busy);
  EXPECT_EQ(state.active(first.cluster, 0), 1u);
  state.requestFinished(busy);
  EXPECT_EQ(state.endpointStates(), 1u);
}

TEST(ClusterStateTest, ChurnLeavesNothingBehind) {
  ClusterState state(View(1, {}).config, std::make_shared<BreakerCounts>(), nullptr);
  std::vector<std::string> left;
  for (int round = 1; round <= 50; ++round) {
    std::vector<int> ids;
    for (int i = 0; i < 200; ++i) ids.push_back(round * 1000 + i);
    View view(static_cast<uint64_t>(round), ids, {{{"version", "v" + std::to_string(round)}}});
    state.reconcile(view.cluster, left);
    view.useAll(state);
    state.balancer(view.cluster, view.cluster.subsets[1]);
    EXPECT_EQ(state.endpointStates(), 200u);
    EXPECT_LE(state.balancerStates(), 2u);
  }
}

TEST(ClusterStateTest, IndicesOfTheAlignedSnapshotAndKeysOfOthersReachTheSameState) {
  View first(1, {1, 2, 3});
  ClusterState state(first.config, std::make_shared<BreakerCounts>(), nullptr);
  std::vector<std::string> left;
  state.reconcile(first.cluster, left);
  View second(2, {3, 1});
  state.reconcile(second.cluster, left);
  EXPECT_EQ(&state.endpoint(second.cluster, 1), &state.endpoint(first.cluster, 0));
  EXPECT_EQ(&state.endpoint(second.cluster, 0), &state.endpoint(first.cluster, 2));
}

TEST(ClusterStateTest, StateIsMadeOnlyForTheEndpointsRequestsUse) {
  std::vector<int> ids;
  for (int i = 0; i < 1000; ++i) ids.push_back(i);
  View first(1, ids);
  ClusterState state(first.config, std::make_shared<BreakerCounts>(), nullptr);
  std::vector<std::string> left;
  state.reconcile(first.cluster, left);
  EXPECT_EQ(state.endpointStates(), 0u);
  EXPECT_EQ(state.active(first.cluster, 7), 0u);
  EndpointState& used = state.endpoint(first.cluster, 7);
  state.requestStarted(used);
  EXPECT_EQ(state.active(first.cluster, 7), 1u);
  EXPECT_EQ(state.active(first.cluster, 8), 0u);
  EXPECT_EQ(state.endpointStates(), 1u);
  // Endpoints never used leave without a trace; the one used keeps its state across the swap.
  View second(2, {7, 1000});
  state.reconcile(second.cluster, left);
  EXPECT_TRUE(left.empty());
  EXPECT_EQ(&state.endpoint(second.cluster, 0), &used);
  EXPECT_EQ(state.active(second.cluster, 0), 1u);
  EXPECT_EQ(state.active(second.cluster, 1), 0u);
  state.requestFinished(used);
  EXPECT_EQ(state.endpointStates(), 1u);
}

TEST(ClusterStateTest, AStreamOnAnOldSnapshotSharesTheStateOfAnEndpointStillInTheCluster) {
  View first(1, {1, 2});
  ClusterState state(first.config, std::make_shared<BreakerCounts>(), nullptr);
  std::vector<std::string> left;
  state.reconcile(first.cluster, left);
  View second(2, {2, 3});
  state.reconcile(second.cluster, left);
  // 10.0.0.2 was never used: the old stream's request makes its state, which stays.
  EndpointState& old_stream = state.endpoint(first.cluster, 1);
  state.requestStarted(old_stream);
  EXPECT_EQ(&state.endpoint(second.cluster, 0), &old_stream);
  EXPECT_EQ(state.active(second.cluster, 0), 1u);
  state.requestFinished(old_stream);
  EXPECT_EQ(state.endpointStates(), 1u);
  View third(3, {3});
  state.reconcile(third.cluster, left);
  EXPECT_EQ(left, std::vector<std::string>{"10.0.0.2:80"});
  EXPECT_EQ(state.endpointStates(), 0u);
}

TEST(ClusterStateTest, AStreamOnAnOldSnapshotKeepsTheStateOfAnEndpointThatLeftOnlyUntilItEnds) {
  View first(1, {1, 2});
  ClusterState state(first.config, std::make_shared<BreakerCounts>(), nullptr);
  std::vector<std::string> left;
  state.reconcile(first.cluster, left);
  View second(2, {2});
  state.reconcile(second.cluster, left);
  EndpointState& gone = state.endpoint(first.cluster, 0);
  state.requestStarted(gone);
  EXPECT_EQ(state.endpointStates(), 1u);
  EXPECT_EQ(state.active(first.cluster, 0), 1u);
  state.requestFinished(gone);
  EXPECT_EQ(state.endpointStates(), 0u);
  state.reconcile(View(3, {2}).cluster, left);
  EXPECT_TRUE(left.empty());
}

// Collects what a worker would post to the main thread at once.
struct Reports : OutcomeSink {
  void reportNow(outlier::EndpointReport report) override { reports.push_back(report); }
  std::vector<outlier::EndpointReport> reports;
};

TEST(ClusterStateTest, ARunOfFailuresIsReportedAtOnceEveryThresholdAndASuccessEndsIt) {
  View view(1, {1});
  Reports sink;
  ClusterState state(view.config, std::make_shared<BreakerCounts>(), &sink);
  std::vector<std::string> left;
  state.reconcile(view.cluster, left);
  EndpointState& endpoint = state.endpoint(view.cluster, 0);
  for (int i = 0; i < 4; ++i) state.recordOutcome(endpoint, outlier::Outcome::LocalOrigin);
  EXPECT_TRUE(sink.reports.empty());
  state.recordOutcome(endpoint, outlier::Outcome::LocalOrigin);
  ASSERT_EQ(sink.reports.size(), 1u);
  EXPECT_EQ(sink.reports[0].crossed, outlier::kCrossedLocalOrigin);
  EXPECT_EQ(sink.reports[0].counts.local_origin, 5u);
  // Asked again after another run of the threshold's length (the main thread may have refused).
  for (int i = 0; i < 5; ++i) state.recordOutcome(endpoint, outlier::Outcome::LocalOrigin);
  EXPECT_EQ(sink.reports.size(), 2u);
  state.recordOutcome(endpoint, outlier::Outcome::Success);
  for (int i = 0; i < 4; ++i) state.recordOutcome(endpoint, outlier::Outcome::Gateway);
  EXPECT_EQ(sink.reports.size(), 2u);
  // A 500 is not a gateway error: the gateway run starts over (5xx is off by default).
  state.recordOutcome(endpoint, outlier::Outcome::ServerError);
  for (int i = 0; i < 4; ++i) state.recordOutcome(endpoint, outlier::Outcome::Gateway);
  EXPECT_EQ(sink.reports.size(), 2u);
  state.recordOutcome(endpoint, outlier::Outcome::Gateway);
  ASSERT_EQ(sink.reports.size(), 3u);
  EXPECT_EQ(sink.reports[2].crossed, outlier::kCrossedGateway);
  // What was reported at once is not reported again with the batch.
  state.recordOutcome(endpoint, outlier::Outcome::Success);
  outlier::OutcomeBatch batch;
  state.collectOutcomes(batch);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].endpoint, "10.0.0.1:80");
  EXPECT_EQ(batch[0].counts.total(), 1u);
  batch.clear();
  state.collectOutcomes(batch);
  EXPECT_TRUE(batch.empty());
}

}  // namespace
}  // namespace remora
