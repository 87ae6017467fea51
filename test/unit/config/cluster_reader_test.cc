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

}  // namespace
}  // namespace remora::config
