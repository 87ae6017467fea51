// The router's retry policy applied to one try: is its outcome worth another try, and when.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace remora::router {

// How a try ended without a response.
enum class TryFailure {
  ConnectFailure,  // refused, unreachable, or the connect timeout passed
  Reset,           // the connection broke before the response
  Refused,         // HTTP/2 REFUSED_STREAM or beyond a GOAWAY: not processed
  Timeout,         // the per-try timeout passed
  ProtocolError,   // the response was malformed or over a limit
};

// A response with `status`; `grpc_status` is the `grpc-status` of a response that ended with its
// headers (Trailers-Only), nothing otherwise.
bool retriableResponse(const config::RetryPolicy& policy, int status,
                       std::optional<std::string_view> grpc_status);
bool retriableFailure(const config::RetryPolicy& policy, TryFailure failure);

// The wait before retry number `retry` (1 for the first), given a uniformly random `random`.
config::Duration backoffDelay(const config::RetryPolicy& policy, uint32_t retry, uint64_t random);

}  // namespace remora::router
