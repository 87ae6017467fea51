// Retry decisions: which statuses and failures each `on` condition covers; jittered backoff.
#include "filters/router/retry_policy.h"

#include <algorithm>
#include <charconv>
#include <string_view>

namespace remora::router {
namespace {

// The `on` bit for a gRPC status, or 0 for one that is never retried.
uint32_t grpcCondition(std::string_view status) {
  int code = -1;
  auto [ptr, ec] = std::from_chars(status.data(), status.data() + status.size(), code);
  if (ec != std::errc() || ptr != status.data() + status.size()) return 0;
  switch (code) {
    case 1:
      return config::kRetryOnGrpcCancelled;
    case 4:
      return config::kRetryOnGrpcDeadlineExceeded;
    case 8:
      return config::kRetryOnGrpcResourceExhausted;
    case 13:
      return config::kRetryOnGrpcInternal;
    case 14:
      return config::kRetryOnGrpcUnavailable;
    default:
      return 0;
  }
}

}  // namespace

bool retriableResponse(const config::RetryPolicy& policy, int status,
                       std::optional<std::string_view> grpc_status) {
  if (status >= 500 && status <= 599 && (policy.on & config::kRetryOn5xx) != 0) return true;
  if ((status == 502 || status == 503 || status == 504) &&
      (policy.on & config::kRetryOnGatewayError) != 0) {
    return true;
  }
  if (status == 409 && (policy.on & config::kRetryOnRetriable4xx) != 0) return true;
  if (std::find(policy.status_codes.begin(), policy.status_codes.end(), status) !=
      policy.status_codes.end()) {
    return true;
  }
  return grpc_status && (policy.on & grpcCondition(*grpc_status)) != 0;
}

bool retriableFailure(const config::RetryPolicy& policy, TryFailure failure) {
  // A try that got no response is what a gateway answers 502 or 504 for.
  if ((policy.on & (config::kRetryOn5xx | config::kRetryOnGatewayError)) != 0) return true;
  switch (failure) {
    case TryFailure::ConnectFailure:
      return (policy.on & config::kRetryOnConnectFailure) != 0;
    case TryFailure::Refused:
      return (policy.on & (config::kRetryOnRefusedStream | config::kRetryOnReset)) != 0;
    case TryFailure::Reset:
    case TryFailure::Timeout:
      return (policy.on & config::kRetryOnReset) != 0;
    case TryFailure::ProtocolError:
      return false;
  }
  return false;
}

config::Duration backoffDelay(const config::RetryPolicy& policy, uint32_t retry, uint64_t random) {
  const uint32_t doublings = std::min<uint32_t>(retry > 0 ? retry - 1 : 0, 30);
  const int64_t base = policy.backoff_base.count();
  const int64_t ceiling = std::min<int64_t>(policy.backoff_max.count(), base << doublings);
  if (ceiling <= 0) return config::Duration{0};
  return config::Duration{static_cast<int64_t>(random % static_cast<uint64_t>(ceiling))};
}

}  // namespace remora::router
