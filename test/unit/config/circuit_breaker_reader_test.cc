// Tests for a cluster's `circuit_breaker:` block: defaults, every key, `off`, and each error.
#include "config/circuit_breaker_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "load_helpers.h"

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using testing::errorsOf;
using testing::loadOk;
using testing::withCluster;

// A copy: the config is a temporary.
CircuitBreaker breakerOf(const std::shared_ptr<const Config>& config) {
  return config->clusters.at(0).circuit_breaker;
}

TEST(CircuitBreakerReaderTest, OnWithDefaultsWhenAbsent) {
  const CircuitBreaker breaker = breakerOf(loadOk(withCluster("")));
  EXPECT_TRUE(breaker.enabled);
  EXPECT_EQ(breaker.max_connections, 1024u);
  EXPECT_EQ(breaker.max_pending_requests, 1024u);
  EXPECT_EQ(breaker.max_requests, 1024u);
  EXPECT_EQ(breaker.max_retries, 3u);
  EXPECT_EQ(breaker.max_connections_per_endpoint, 0u);
  EXPECT_EQ(breaker.pending_timeout, Duration{5000});
}

TEST(CircuitBreakerReaderTest, PendingTimeoutFollowsConnectTimeout) {
  EXPECT_EQ(breakerOf(loadOk(withCluster("    connect_timeout: 750ms\n"))).pending_timeout,
            Duration{750});
  // Whichever order the keys come in.
  EXPECT_EQ(breakerOf(loadOk(withCluster("    circuit_breaker: {max_requests: 5}\n"
                                         "    connect_timeout: 2s\n")))
                .pending_timeout,
            Duration{2000});
  EXPECT_EQ(breakerOf(loadOk(withCluster("    connect_timeout: 2s\n"
                                         "    circuit_breaker: {pending_timeout: 100ms}\n")))
                .pending_timeout,
            Duration{100});
}

TEST(CircuitBreakerReaderTest, ReadsEveryKey) {
  const CircuitBreaker breaker = breakerOf(loadOk(withCluster(R"(    circuit_breaker:
      max_connections: 10
      max_pending_requests: 20
      max_requests: 30
      max_retries: 1
      max_connections_per_endpoint: 4
      pending_timeout: 250ms
)")));
  EXPECT_TRUE(breaker.enabled);
  EXPECT_EQ(breaker.max_connections, 10u);
  EXPECT_EQ(breaker.max_pending_requests, 20u);
  EXPECT_EQ(breaker.max_requests, 30u);
  EXPECT_EQ(breaker.max_retries, 1u);
  EXPECT_EQ(breaker.max_connections_per_endpoint, 4u);
  EXPECT_EQ(breaker.pending_timeout, Duration{250});
}

TEST(CircuitBreakerReaderTest, AnEmptyMappingKeepsTheDefaults) {
  const CircuitBreaker breaker = breakerOf(loadOk(withCluster("    circuit_breaker: {}\n")));
  EXPECT_TRUE(breaker.enabled);
  EXPECT_EQ(breaker.max_requests, 1024u);
}

TEST(CircuitBreakerReaderTest, OffMeansNoLimits) {
  EXPECT_FALSE(breakerOf(loadOk(withCluster("    circuit_breaker: off\n"))).enabled);
  EXPECT_FALSE(breakerOf(loadOk(withCluster("    circuit_breaker: \"off\"\n"))).enabled);
}

TEST(CircuitBreakerReaderTest, Errors) {
  EXPECT_THAT(errorsOf(withCluster(R"(    circuit_breaker:
      max_connections: 0
      max_pending_requests: 0
      max_requests: 4294967296
      max_retries: 0
      max_connections_per_endpoint: -1
      pending_timeout: 0s
      max_streams: 1
)")),
              ElementsAre("t.yaml:9:24: max_connections must be in 1..4294967295, not 0",
                          "t.yaml:10:29: max_pending_requests must be in 1..4294967295, not 0",
                          "t.yaml:11:21: max_requests must be in 1..4294967295, not 4294967296",
                          "t.yaml:12:20: max_retries must be in 1..4294967295, not 0",
                          "t.yaml:13:37: max_connections_per_endpoint must be an integer in "
                          "0..4294967295, not '-1'",
                          "t.yaml:14:24: pending_timeout must be more than 0",
                          "t.yaml:15:7: unknown key 'max_streams' in circuit_breaker (known: "
                          "max_connections, max_pending_requests, max_requests, max_retries, "
                          "max_connections_per_endpoint, pending_timeout)"));
}

TEST(CircuitBreakerReaderTest, OnlyOffOrAMapping) {
  EXPECT_THAT(errorsOf(withCluster("    circuit_breaker: on\n")),
              ElementsAre("t.yaml:8:22: circuit_breaker must be a mapping or 'off', not 'on'"));
  EXPECT_THAT(errorsOf(withCluster("    circuit_breaker: false\n")),
              ElementsAre("t.yaml:8:22: circuit_breaker must be a mapping or 'off', not "
                          "'false'"));
  EXPECT_THAT(errorsOf(withCluster("    circuit_breaker: [off]\n")),
              ElementsAre("t.yaml:8:22: circuit_breaker must be a mapping or 'off', not a list"));
  EXPECT_THAT(errorsOf(withCluster("    circuit_breaker:\n")),
              ElementsAre("t.yaml:8:5: circuit_breaker must be a mapping or 'off', not empty"));
  EXPECT_THAT(errorsOf(withCluster("    circuit_breaker: {pending_timeout: soon}\n")),
              ElementsAre("t.yaml:8:40: pending_timeout: bad duration 'soon': expected a number "
                          "followed by ms, s, m or h"));
}

}  // namespace
}  // namespace remora::config
