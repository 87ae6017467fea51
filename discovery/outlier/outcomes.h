// Request outcomes per endpoint, as workers report them to the main thread's outlier detector:
// in batches once a second, and at once when a run of failures reaches a threshold.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace remora::outlier {

// What one try's end says about its endpoint.
enum class Outcome : uint8_t {
  Success,      // any response that is not a 5xx
  ServerError,  // a 5xx other than 502, 503, 504
  Gateway,      // 502, 503, 504
  LocalOrigin,  // no response: connect refused or timed out, reset, timeout, malformed
};

// Which runs of failures reached their threshold (consecutive_5xx, consecutive_gateway_failure,
// consecutive_local_origin_failure); a bit set.
enum Crossed : uint8_t {
  kCrossed5xx = 1 << 0,
  kCrossedGateway = 1 << 1,
  kCrossedLocalOrigin = 1 << 2,
};

struct OutcomeCounts {
  uint32_t successes = 0;
  uint32_t server_errors = 0;  // 5xx other than gateway errors
  uint32_t gateway = 0;
  uint32_t local_origin = 0;
  uint32_t total() const { return successes + server_errors + gateway + local_origin; }
  bool empty() const { return total() == 0; }
};

struct EndpointReport {
  std::string cluster;
  std::string endpoint;  // EndpointInfo::key
  OutcomeCounts counts;  // since the worker's last report of this endpoint
  uint8_t crossed = 0;   // Crossed bits
};

using OutcomeBatch = std::vector<EndpointReport>;

}  // namespace remora::outlier
