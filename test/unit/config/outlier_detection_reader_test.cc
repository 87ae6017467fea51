// Tests for a cluster's `outlier_detection:` block: defaults, every key, `off`, and each error.
#include "config/outlier_detection_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "load_helpers.h"

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using testing::errorsOf;
using ::testing::IsEmpty;
using testing::loadOk;
using testing::withCluster;

// A copy: the config is a temporary.
OutlierDetection detectionOf(const std::shared_ptr<const Config>& config) {
  return config->clusters.at(0).outlier_detection;
}

TEST(OutlierDetectionReaderTest, OnForGatewayAndLocalFailuresWhenAbsent) {
  const OutlierDetection detection = detectionOf(loadOk(withCluster("")));
  EXPECT_TRUE(detection.enabled);
  // An application's 500 is usually about the request: not a reason to eject by default.
  EXPECT_EQ(detection.consecutive_5xx, 0u);
  EXPECT_EQ(detection.consecutive_gateway_failure, 5u);
  EXPECT_EQ(detection.consecutive_local_origin_failure, 5u);
  EXPECT_TRUE(detection.failure_percentage.enabled);
  EXPECT_EQ(detection.failure_percentage.threshold, 85u);
  EXPECT_EQ(detection.failure_percentage.min_requests, 50u);
  EXPECT_EQ(detection.interval, Duration{10000});
  EXPECT_EQ(detection.base_ejection_time, Duration{30000});
  EXPECT_EQ(detection.max_ejection_time, Duration{300000});
  EXPECT_EQ(detection.max_ejection_percent, 50u);
}

TEST(OutlierDetectionReaderTest, ReadsEveryKey) {
  const OutlierDetection detection = detectionOf(loadOk(withCluster(R"(    outlier_detection:
      consecutive_5xx: 7
      consecutive_gateway_failure: 0
      consecutive_local_origin_failure: 2
      failure_percentage: {threshold: 100, min_requests: 1}
      interval: 1s
      base_ejection_time: 5s
      max_ejection_time: 5s
      max_ejection_percent: 100
)")));
  EXPECT_TRUE(detection.enabled);
  EXPECT_EQ(detection.consecutive_5xx, 7u);
  EXPECT_EQ(detection.consecutive_gateway_failure, 0u);
  EXPECT_EQ(detection.consecutive_local_origin_failure, 2u);
  EXPECT_TRUE(detection.failure_percentage.enabled);
  EXPECT_EQ(detection.failure_percentage.threshold, 100u);
  EXPECT_EQ(detection.failure_percentage.min_requests, 1u);
  EXPECT_EQ(detection.interval, Duration{1000});
  EXPECT_EQ(detection.base_ejection_time, Duration{5000});
  EXPECT_EQ(detection.max_ejection_time, Duration{5000});
  EXPECT_EQ(detection.max_ejection_percent, 100u);
}

TEST(OutlierDetectionReaderTest, OffDisablesDetectionOrOneDetector) {
  EXPECT_FALSE(detectionOf(loadOk(withCluster("    outlier_detection: off\n"))).enabled);
  const OutlierDetection detection =
      detectionOf(loadOk(withCluster("    outlier_detection: {failure_percentage: off}\n")));
  EXPECT_TRUE(detection.enabled);
  EXPECT_FALSE(detection.failure_percentage.enabled);
  EXPECT_EQ(detection.consecutive_gateway_failure, 5u);
}

TEST(OutlierDetectionReaderTest, ZeroEjectionPercentAndLowerBoundsAreAccepted) {
  EXPECT_THAT(errorsOf(withCluster("    outlier_detection: {max_ejection_percent: 0, "
                                   "consecutive_local_origin_failure: 0, interval: 1ms}\n")),
              IsEmpty());
}

TEST(OutlierDetectionReaderTest, Errors) {
  EXPECT_THAT(errorsOf(withCluster(R"(    outlier_detection:
      consecutive_5xx: many
      consecutive_gateway_failure: 4294967296
      failure_percentage: {threshold: 0, min_requests: 0, window: 1m}
      interval: 0s
      max_ejection_percent: 101
      ejection: 1m
)")),
              ElementsAre("t.yaml:9:24: consecutive_5xx must be an integer in 0..4294967295, "
                          "not 'many'",
                          "t.yaml:10:36: consecutive_gateway_failure must be in 0..4294967295, "
                          "not 4294967296",
                          "t.yaml:11:39: threshold must be in 1..100, not 0",
                          "t.yaml:11:56: min_requests must be in 1..4294967295, not 0",
                          "t.yaml:11:59: unknown key 'window' in failure_percentage (known: "
                          "threshold, min_requests)",
                          "t.yaml:12:17: interval must be more than 0",
                          "t.yaml:13:29: max_ejection_percent must be in 0..100, not 101",
                          "t.yaml:14:7: unknown key 'ejection' in outlier_detection (known: "
                          "consecutive_5xx, consecutive_gateway_failure, "
                          "consecutive_local_origin_failure, failure_percentage, interval, "
                          "base_ejection_time, max_ejection_time, max_ejection_percent)"));
}

TEST(OutlierDetectionReaderTest, EjectionTimes) {
  EXPECT_THAT(errorsOf(withCluster("    outlier_detection: {base_ejection_time: 0s, "
                                   "max_ejection_time: 0ms}\n")),
              ElementsAre("t.yaml:8:45: base_ejection_time must be more than 0",
                          "t.yaml:8:68: max_ejection_time must be more than 0"));
  EXPECT_THAT(errorsOf(withCluster("    outlier_detection: {base_ejection_time: 1m, "
                                   "max_ejection_time: 30s}\n")),
              ElementsAre("t.yaml:8:68: max_ejection_time must not be less than "
                          "base_ejection_time (1m)"));
  // With no max written, the default max (5m) is what the base exceeds.
  EXPECT_THAT(errorsOf(withCluster("    outlier_detection: {base_ejection_time: 10m}\n")),
              ElementsAre("t.yaml:8:45: base_ejection_time must not exceed max_ejection_time "
                          "(5m by default); raise max_ejection_time too"));
  EXPECT_THAT(errorsOf(withCluster("    outlier_detection: {max_ejection_time: 10s}\n")),
              ElementsAre("t.yaml:8:44: max_ejection_time must not be less than "
                          "base_ejection_time (30s)"));
  // A bad value is reported once, not compared as well.
  EXPECT_THAT(errorsOf(withCluster("    outlier_detection: {base_ejection_time: 10m, "
                                   "max_ejection_time: x}\n")),
              ElementsAre("t.yaml:8:69: max_ejection_time: bad duration 'x': expected a number "
                          "followed by ms, s, m or h"));
}

TEST(OutlierDetectionReaderTest, OnlyOffOrAMapping) {
  EXPECT_THAT(errorsOf(withCluster("    outlier_detection: disabled\n")),
              ElementsAre("t.yaml:8:24: outlier_detection must be a mapping or 'off', not "
                          "'disabled'"));
  EXPECT_THAT(errorsOf(withCluster("    outlier_detection: {failure_percentage: 85}\n")),
              ElementsAre("t.yaml:8:45: failure_percentage must be a mapping or 'off', not "
                          "'85'"));
}

}  // namespace
}  // namespace remora::config
