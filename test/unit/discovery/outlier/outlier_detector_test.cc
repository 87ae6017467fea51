// Unit tests of the outlier detector: what ejects, how many may be out, how long, the return,
// failure percentage, and forgetting endpoints that left.
#include "discovery/outlier/outlier_detector.h"

#include <gtest/gtest.h>

#include <thread>

namespace remora::outlier {
namespace {

using namespace std::chrono_literals;

class OutlierTest : public ::testing::Test {
 protected:
  OutlierTest() { cluster_config.name = "c"; }
  ~OutlierTest() override {
    detector.reset();
    event_base_free(base);
  }

  // The detector, and a snapshot of cluster "c" with `endpoints` endpoints e0, e1, ...
  void start(size_t endpoints) {
    snapshot = Snapshot{};
    ClusterInfo cluster;
    cluster.config = &cluster_config;
    for (size_t i = 0; i < endpoints; ++i) {
      EndpointInfo endpoint;
      endpoint.key = "e" + std::to_string(i);
      cluster.endpoints.push_back(endpoint);
    }
    snapshot.clusters.push_back(std::move(cluster));
    if (!detector) {
      detector = std::make_unique<OutlierDetector>(base, stats, nullptr, [this] { ++changes; });
    }
    detector->setEndpoints(snapshot);
  }
  void crossed(const std::string& endpoint, uint8_t bits = kCrossedLocalOrigin) {
    detector->onBatch({{"c", endpoint, {0, 0, 0, 5}, bits}});
  }
  // Ticks until `done` or a second passes.
  bool tickUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 1s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(1ms);
      detector->tickForTest();
    }
    return true;
  }

  event_base* base = event_base_new();
  stats::Registry stats{1};
  config::Cluster cluster_config;
  Snapshot snapshot;
  std::unique_ptr<OutlierDetector> detector;
  int changes = 0;
};

TEST_F(OutlierTest, ARunOfFailuresEjectsWithItsReason) {
  start(4);
  crossed("e1");
  const Ejection* ejection = detector->ejection("c", "e1");
  ASSERT_NE(ejection, nullptr);
  EXPECT_NE(ejection->reason.find("5 consecutive local-origin failures"), std::string::npos);
  EXPECT_NE(ejection->reason.find("until "), std::string::npos);
  EXPECT_EQ(changes, 1);
  EXPECT_EQ(detector->ejection("c", "e0"), nullptr);
  crossed("e2", kCrossedGateway);
  EXPECT_NE(detector->ejection("c", "e2")->reason.find("gateway"), std::string::npos);
  const std::string metrics = stats.render();
  EXPECT_NE(metrics.find("reason=\"consecutive_gateway_failure\""), std::string::npos);
  EXPECT_NE(metrics.find("remora_outlier_ejected{cluster=\"c\"} 2"), std::string::npos);
}

TEST_F(OutlierTest, AtMostTheAllowedShareIsOutButAlwaysOne) {
  start(4);  // 50%: two
  crossed("e0");
  crossed("e1");
  crossed("e2");
  EXPECT_EQ(detector->ejectedCount("c"), 2u);
  EXPECT_EQ(detector->ejection("c", "e2"), nullptr);
  cluster_config.outlier_detection.max_ejection_percent = 10;
  start(1);  // 10% of one is less than one: still one may go
  EXPECT_EQ(detector->ejectedCount("c"), 1u);
}

TEST_F(OutlierTest, AnEjectionEndsWhenItsTimePassesAndTheNextOneIsLonger) {
  cluster_config.outlier_detection.base_ejection_time = 20ms;
  cluster_config.outlier_detection.max_ejection_time = 30ms;
  start(2);
  crossed("e0");
  const auto first = detector->ejection("c", "e0")->until - std::chrono::steady_clock::now();
  EXPECT_LE(first, 20ms);
  EXPECT_GE(first, 15ms);
  ASSERT_TRUE(tickUntil([&] { return detector->ejection("c", "e0") == nullptr; }));
  EXPECT_EQ(changes, 2);
  crossed("e0");
  // Twice the base, capped at the maximum, less up to a tenth at random.
  const auto second = detector->ejection("c", "e0")->until - std::chrono::steady_clock::now();
  EXPECT_GT(second, 25ms);
  EXPECT_LE(second, 30ms);
}

TEST_F(OutlierTest, AHighShareOfFailuresInAnIntervalEjects) {
  cluster_config.outlier_detection.interval = 5ms;
  start(3);
  detector->onBatch({{"c", "e0", {10, 0, 45, 45}, 0}, {"c", "e1", {100, 0, 0, 0}, 0}});
  ASSERT_TRUE(tickUntil([&] { return detector->ejection("c", "e0") != nullptr; }));
  EXPECT_NE(detector->ejection("c", "e0")->reason.find("90 of 100"), std::string::npos);
  EXPECT_EQ(detector->ejection("c", "e1"), nullptr);
}

TEST_F(OutlierTest, TooFewRequestsAreNotJudged) {
  cluster_config.outlier_detection.interval = 5ms;
  start(3);
  detector->onBatch({{"c", "e0", {0, 0, 20, 20}, 0}});
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(1ms);
    detector->tickForTest();
  }
  EXPECT_EQ(detector->ejection("c", "e0"), nullptr);
}

TEST_F(OutlierTest, AnEndpointThatLeftIsForgotten) {
  start(3);
  crossed("e2");
  EXPECT_EQ(detector->ejectedCount("c"), 1u);
  start(2);
  EXPECT_EQ(detector->ejectedCount("c"), 0u);
  EXPECT_EQ(detector->ejection("c", "e2"), nullptr);
}

TEST_F(OutlierTest, OffEjectsNothing) {
  cluster_config.outlier_detection.enabled = false;
  start(3);
  crossed("e0");
  EXPECT_EQ(detector->ejection("c", "e0"), nullptr);
}

}  // namespace
}  // namespace remora::outlier
