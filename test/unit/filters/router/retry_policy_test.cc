// Tests for the retry decisions: which statuses and failures each condition covers, and backoff.
#include "filters/router/retry_policy.h"

#include <gtest/gtest.h>

#include "filters/router/retry_budget.h"

namespace remora::router {
namespace {

config::RetryPolicy policyOn(uint32_t on, std::vector<int> codes = {}) {
  config::RetryPolicy policy;
  policy.on = on;
  policy.status_codes = std::move(codes);
  return policy;
}

TEST(RetryPolicyTest, FiveXxCoversEvery5xxAndEveryFailureButProtocolErrorsToo) {
  const config::RetryPolicy policy = policyOn(config::kRetryOn5xx);
  EXPECT_TRUE(retriableResponse(policy, 500, std::nullopt));
  EXPECT_TRUE(retriableResponse(policy, 599, std::nullopt));
  EXPECT_FALSE(retriableResponse(policy, 499, std::nullopt));
  EXPECT_FALSE(retriableResponse(policy, 200, std::nullopt));
  for (TryFailure failure : {TryFailure::ConnectFailure, TryFailure::Reset, TryFailure::Refused,
                             TryFailure::Timeout, TryFailure::ProtocolError}) {
    EXPECT_TRUE(retriableFailure(policy, failure));
  }
}

TEST(RetryPolicyTest, GatewayErrorIsOnly502To504) {
  const config::RetryPolicy policy = policyOn(config::kRetryOnGatewayError);
  EXPECT_FALSE(retriableResponse(policy, 500, std::nullopt));
  EXPECT_TRUE(retriableResponse(policy, 502, std::nullopt));
  EXPECT_TRUE(retriableResponse(policy, 503, std::nullopt));
  EXPECT_TRUE(retriableResponse(policy, 504, std::nullopt));
  EXPECT_TRUE(retriableFailure(policy, TryFailure::ConnectFailure));
}

TEST(RetryPolicyTest, NarrowConditionsCoverOnlyTheirFailure) {
  const config::RetryPolicy connect = policyOn(config::kRetryOnConnectFailure);
  EXPECT_TRUE(retriableFailure(connect, TryFailure::ConnectFailure));
  EXPECT_FALSE(retriableFailure(connect, TryFailure::Reset));
  EXPECT_FALSE(retriableFailure(connect, TryFailure::Timeout));
  EXPECT_FALSE(retriableResponse(connect, 503, std::nullopt));

  const config::RetryPolicy reset = policyOn(config::kRetryOnReset);
  EXPECT_TRUE(retriableFailure(reset, TryFailure::Reset));
  EXPECT_TRUE(retriableFailure(reset, TryFailure::Timeout));
  EXPECT_TRUE(retriableFailure(reset, TryFailure::Refused));
  EXPECT_FALSE(retriableFailure(reset, TryFailure::ConnectFailure));
  EXPECT_FALSE(retriableFailure(reset, TryFailure::ProtocolError));

  const config::RetryPolicy refused = policyOn(config::kRetryOnRefusedStream);
  EXPECT_TRUE(retriableFailure(refused, TryFailure::Refused));
  EXPECT_FALSE(retriableFailure(refused, TryFailure::Reset));
}

TEST(RetryPolicyTest, Retriable4xxAndListedCodes) {
  EXPECT_TRUE(retriableResponse(policyOn(config::kRetryOnRetriable4xx), 409, std::nullopt));
  EXPECT_FALSE(retriableResponse(policyOn(config::kRetryOnRetriable4xx), 429, std::nullopt));
  const config::RetryPolicy listed = policyOn(0, {429, 503});
  EXPECT_TRUE(retriableResponse(listed, 429, std::nullopt));
  EXPECT_TRUE(retriableResponse(listed, 503, std::nullopt));
  EXPECT_FALSE(retriableResponse(listed, 502, std::nullopt));
}

TEST(RetryPolicyTest, GrpcStatusesByName) {
  const config::RetryPolicy policy =
      policyOn(config::kRetryOnGrpcUnavailable | config::kRetryOnGrpcResourceExhausted);
  const std::string unavailable = "14";
  const std::string exhausted = "8";
  const std::string internal = "13";
  const std::string garbage = "14x";
  EXPECT_TRUE(retriableResponse(policy, 200, unavailable));
  EXPECT_TRUE(retriableResponse(policy, 200, exhausted));
  EXPECT_FALSE(retriableResponse(policy, 200, internal));
  EXPECT_FALSE(retriableResponse(policy, 200, garbage));
  EXPECT_FALSE(retriableResponse(policy, 200, std::nullopt));
  const std::string cancelled = "1";
  const std::string deadline = "4";
  EXPECT_TRUE(retriableResponse(policyOn(config::kRetryOnGrpcCancelled), 200, cancelled));
  EXPECT_TRUE(retriableResponse(policyOn(config::kRetryOnGrpcDeadlineExceeded), 200, deadline));
  EXPECT_TRUE(retriableResponse(policyOn(config::kRetryOnGrpcInternal), 200, internal));
}

TEST(RetryPolicyTest, BackoffIsJitteredBelowADoublingCeilingCappedAtMax) {
  config::RetryPolicy policy;
  policy.backoff_base = config::Duration{25};
  policy.backoff_max = config::Duration{250};
  // The ceiling doubles per retry (25, 50, 100, 200) until max (250).
  const int64_t ceilings[] = {25, 50, 100, 200, 250, 250};
  for (uint32_t retry = 1; retry <= 6; ++retry) {
    const int64_t ceiling = ceilings[retry - 1];
    EXPECT_EQ(backoffDelay(policy, retry, 0).count(), 0);
    EXPECT_EQ(backoffDelay(policy, retry, static_cast<uint64_t>(ceiling) - 1).count(), ceiling - 1);
    EXPECT_EQ(backoffDelay(policy, retry, static_cast<uint64_t>(ceiling)).count(), 0);
  }
  // No overflow however many retries.
  EXPECT_LT(backoffDelay(policy, 1000, ~uint64_t{0}).count(), 250);
}

TEST(RetryBudgetTest, AShareOfTheRequestsInFlightWithAFloor) {
  const config::RetryBudget budget{20, 3};
  // The floor: three retrying requests whatever the traffic.
  EXPECT_TRUE(budgetAllows(budget, {1, 0}));
  EXPECT_TRUE(budgetAllows(budget, {1, 2}));
  EXPECT_FALSE(budgetAllows(budget, {1, 3}));
  // Above it, 20% of what is in flight: 100 requests allow 20 retrying.
  EXPECT_TRUE(budgetAllows(budget, {100, 19}));
  EXPECT_FALSE(budgetAllows(budget, {100, 20}));
  // No budget at all.
  EXPECT_FALSE(budgetAllows(config::RetryBudget{0, 0}, {100, 0}));
}

}  // namespace
}  // namespace remora::router
