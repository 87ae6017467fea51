// Tests for cluster keys read by the cluster reader itself (the blocks have their own tests).
#include "config/cluster_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "load_helpers.h"

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using testing::errorsOf;
using testing::loadOk;
using testing::withCluster;

TEST(ClusterReaderTest, PanicThreshold) {
  EXPECT_EQ(loadOk(withCluster(""))->clusters.at(0).panic_threshold, 50u);
  EXPECT_EQ(loadOk(withCluster("    panic_threshold: 0\n"))->clusters.at(0).panic_threshold, 0u);
  EXPECT_EQ(loadOk(withCluster("    panic_threshold: 100\n"))->clusters.at(0).panic_threshold,
            100u);
  EXPECT_THAT(errorsOf(withCluster("    panic_threshold: 101\n")),
              ElementsAre("t.yaml:8:22: panic_threshold must be in 0..100, not 101"));
  EXPECT_THAT(errorsOf(withCluster("    panic_threshold: 50%\n")),
              ElementsAre("t.yaml:8:22: panic_threshold must be an integer in 0..100, not "
                          "'50%'"));
}

TEST(ClusterReaderTest, EveryLbPolicyByName) {
  for (auto [name, policy] : {std::pair{"round_robin", LbPolicy::RoundRobin},
                              {"least_request", LbPolicy::LeastRequest},
                              {"least_connections", LbPolicy::LeastConnections},
                              {"random", LbPolicy::Random},
                              {"ring_hash", LbPolicy::RingHash},
                              {"maglev", LbPolicy::Maglev},
                              {"peak_ewma", LbPolicy::PeakEwma}}) {
    EXPECT_EQ(loadOk(withCluster(std::string("    lb: ") + name + "\n"))->clusters.at(0).lb, policy)
        << name;
  }
}

TEST(ClusterReaderTest, SlowStart) {
  EXPECT_FALSE(loadOk(withCluster(""))->clusters.at(0).slow_start.enabled);
  const SlowStart defaults = loadOk(withCluster("    slow_start: {}\n"))->clusters.at(0).slow_start;
  EXPECT_TRUE(defaults.enabled);
  EXPECT_EQ(defaults.window, Duration(30000));
  EXPECT_DOUBLE_EQ(defaults.aggression, 1.0);
  EXPECT_EQ(defaults.min_weight_percent, 10u);
  const SlowStart written =
      loadOk(withCluster("    lb: least_request\n    slow_start: {window: 1m, aggression: 2, "
                         "min_weight_percent: 25}\n"))
          ->clusters.at(0)
          .slow_start;
  EXPECT_EQ(written.window, Duration(60000));
  EXPECT_DOUBLE_EQ(written.aggression, 2.0);
  EXPECT_EQ(written.min_weight_percent, 25u);
  EXPECT_THAT(
      errorsOf(withCluster("    slow_start: {window: 0s, aggression: 20, min_weight_percent: 0, "
                           "step: 1}\n")),
      ElementsAre("t.yaml:8:26: window must be more than 0",
                  "t.yaml:8:42: aggression must be in 0.1..10, not 20",
                  "t.yaml:8:66: min_weight_percent must be in 1..100, not 0",
                  "t.yaml:8:69: unknown key 'step' in slow_start (known: window, aggression, "
                  "min_weight_percent)"));
  EXPECT_THAT(errorsOf(withCluster("    lb: maglev\n    slow_start: {window: 10s}\n")),
              ElementsAre("t.yaml:9:5: slow_start needs a weighted lb (round_robin, "
                          "least_request, least_connections, random, peak_ewma): a hash keeps "
                          "each key's endpoint"));
}

}  // namespace
}  // namespace remora::config
