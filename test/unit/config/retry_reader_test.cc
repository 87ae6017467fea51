// Tests for reading a route's `retry:` block: defaults, every key, and each error.
#include "config/retry_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/dump.h"
#include "config/loader.h"

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One route to one cluster; `route_line` and `cluster_line`, when given, end each of them.
std::string config(const std::string& route_line, const std::string& cluster_line = "") {
  std::string text =
      "listeners:\n  - name: edge\n    address: 127.0.0.1:15001\n    routes:\n"
      "      - match: {prefix: /}\n        cluster: backend\n";
  if (!route_line.empty()) text += "        " + route_line + "\n";
  text += "clusters:\n  - name: backend\n    endpoints: [127.0.0.1:8080]\n";
  if (!cluster_line.empty()) text += "    " + cluster_line + "\n";
  return text;
}

Result<std::shared_ptr<const Config>> load(const std::string& retry) {
  return loadConfigString(config("retry: " + retry), "t.yaml");
}

std::vector<std::string> errorsOf(const std::string& retry) {
  const Result<std::shared_ptr<const Config>> result = load(retry);
  std::vector<std::string> texts;
  for (const Error& error : result.errors()) texts.push_back(error.text());
  return texts;
}

const RetryPolicy& policyOf(const Result<std::shared_ptr<const Config>>& result) {
  return *(*result)->listeners[0].virtual_hosts[0].routes[0].retry;
}

TEST(RetryReaderTest, EmptyBlockGetsTheDefaults) {
  auto result = load("{}");
  ASSERT_TRUE(result.ok()) << result.errors().front().text();
  const RetryPolicy& policy = policyOf(result);
  EXPECT_EQ(policy.attempts, 2u);
  EXPECT_EQ(policy.on, kRetryOnConnectFailure | kRetryOnRefusedStream | kRetryOnGrpcUnavailable |
                           kRetryOnGrpcCancelled);
  EXPECT_EQ(policy.per_try_timeout, Duration{0});
  EXPECT_EQ(policy.backoff_base, Duration{25});
  EXPECT_EQ(policy.backoff_max, Duration{250});
  EXPECT_EQ(policy.max_body_bytes, 64u * 1024);
}

TEST(RetryReaderTest, RouteWithoutRetryHasNone) {
  auto result = loadConfigString(config(""), "t.yaml");
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE((*result)->listeners[0].virtual_hosts[0].routes[0].retry.has_value());
}

TEST(RetryReaderTest, EveryKeyAndTheDump) {
  auto result = load(
      "{attempts: 3, on: [5xx, reset, unavailable, 429], per_try_timeout: 500ms, "
      "backoff: {base: 10ms, max: 1s}, max_body_bytes: 1MiB}");
  ASSERT_TRUE(result.ok()) << result.errors().front().text();
  const RetryPolicy& policy = policyOf(result);
  EXPECT_EQ(policy.attempts, 3u);
  EXPECT_EQ(policy.on, kRetryOn5xx | kRetryOnReset | kRetryOnGrpcUnavailable);
  EXPECT_THAT(policy.status_codes, ElementsAre(429));
  EXPECT_EQ(policy.per_try_timeout, Duration{500});
  EXPECT_EQ(policy.backoff_base, Duration{10});
  EXPECT_EQ(policy.backoff_max, Duration{1000});
  EXPECT_EQ(policy.max_body_bytes, 1024u * 1024);
  const std::string dump = toJson(**result).dump();
  EXPECT_THAT(dump, HasSubstr(R"("on":["5xx","reset","unavailable","429"])"));
  EXPECT_THAT(dump, HasSubstr(R"("per_try_timeout":"500ms")"));
}

TEST(RetryReaderTest, BackoffMaxDefaultsToTenTimesItsBase) {
  auto result = load("{backoff: {base: 40ms}}");
  ASSERT_TRUE(result.ok()) << result.errors().front().text();
  EXPECT_EQ(policyOf(result).backoff_max, Duration{400});
}

TEST(RetryReaderTest, EveryConditionNameIsKnown) {
  auto result = load(
      "{on: [5xx, gateway-error, reset, connect-failure, refused-stream, retriable-4xx, "
      "cancelled, deadline-exceeded, resource-exhausted, internal, unavailable]}");
  ASSERT_TRUE(result.ok()) << result.errors().front().text();
  EXPECT_EQ(retryConditionNames(policyOf(result)).size(), 11u);
}

TEST(RetryReaderTest, ErrorsArePreciseAndAllReported) {
  EXPECT_THAT(errorsOf("{on: [5xx, sometimes, 600]}"),
              ElementsAre(HasSubstr("t.yaml:7:27: unknown retry condition 'sometimes'"),
                          HasSubstr("t.yaml:7:38: unknown retry condition '600'")));
  EXPECT_THAT(errorsOf("{attempts: 0}"),
              ElementsAre(HasSubstr("t.yaml:7:27: attempts must be in 1..10")));
  EXPECT_THAT(errorsOf("{attempts: 11}"),
              ElementsAre(HasSubstr("t.yaml:7:27: attempts must be in 1..10")));
  EXPECT_THAT(errorsOf("{on: []}"), ElementsAre(HasSubstr("on must not be empty")));
  EXPECT_THAT(errorsOf("{backoff: {base: 0ms}}"),
              ElementsAre(HasSubstr("backoff base must be more than 0")));
  EXPECT_THAT(errorsOf("{backoff: {base: 100ms, max: 50ms}}"),
              ElementsAre(HasSubstr("backoff max must not be less than its base")));
  EXPECT_THAT(errorsOf("{per_try_timeout: soon}"), ElementsAre(HasSubstr("per_try_timeout")));
  EXPECT_THAT(errorsOf("{tries: 2}"), ElementsAre(HasSubstr("unknown key 'tries' in retry")));
  EXPECT_THAT(errorsOf("3"), ElementsAre(HasSubstr("retry must be a mapping")));
}

TEST(RetryReaderTest, DirectResponseCannotBeRetried) {
  auto result = loadConfigString(R"(listeners:
  - name: edge
    address: 127.0.0.1:15001
    routes:
      - match: {prefix: /}
        direct_response: {status: 200}
        retry: {attempts: 1}
)",
                                 "t.yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.errors().front().text(),
              HasSubstr("t.yaml:7:9: retry needs an upstream: a direct_response is never retried"));
}

std::string withBudget(const std::string& budget) { return config("", "retry_budget: " + budget); }

TEST(RetryReaderTest, RetryBudgetOfACluster) {
  auto defaults = loadConfigString(withBudget("{}"), "t.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.errors().front().text();
  EXPECT_EQ((*defaults)->clusters[0].retry_budget.percent, 20u);
  EXPECT_EQ((*defaults)->clusters[0].retry_budget.min_concurrency, 3u);
  auto set = loadConfigString(withBudget("{percent: 50, min_concurrency: 0}"), "t.yaml");
  ASSERT_TRUE(set.ok()) << set.errors().front().text();
  EXPECT_EQ((*set)->clusters[0].retry_budget.percent, 50u);
  EXPECT_EQ((*set)->clusters[0].retry_budget.min_concurrency, 0u);
  auto bad = loadConfigString(withBudget("{percent: 101, burst: 2}"), "t.yaml");
  ASSERT_FALSE(bad.ok());
  ASSERT_EQ(bad.errors().size(), 2u);
  EXPECT_THAT(bad.errors()[0].text(), HasSubstr("t.yaml:10:29: percent must be in 0..100"));
  EXPECT_THAT(bad.errors()[1].text(), HasSubstr("unknown key 'burst' in retry_budget"));
}

}  // namespace
}  // namespace remora::config
