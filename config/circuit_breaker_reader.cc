// Circuit breaker reading: every limit at least 1, except the per-endpoint one (0: none).
#include "config/circuit_breaker_reader.h"

#include "config/field_readers.h"

namespace remora::config {

void readCircuitBreaker(YamlReader& reader, const Located& at, CircuitBreaker& out) {
  std::optional<Fields> fields =
      mappingOrOff(reader, at, "circuit_breaker",
                   {"max_connections", "max_pending_requests", "max_requests", "max_retries",
                    "max_connections_per_endpoint", "pending_timeout"},
                   out.enabled);
  if (!fields) return;
  readInteger(reader, *fields, "max_connections", 1, kMaxUint32, out.max_connections);
  readInteger(reader, *fields, "max_pending_requests", 1, kMaxUint32, out.max_pending_requests);
  readInteger(reader, *fields, "max_requests", 1, kMaxUint32, out.max_requests);
  readInteger(reader, *fields, "max_retries", 1, kMaxUint32, out.max_retries);
  readInteger(reader, *fields, "max_connections_per_endpoint", 0, kMaxUint32,
              out.max_connections_per_endpoint);
  readPositiveDuration(reader, *fields, "pending_timeout", out.pending_timeout);
}

}  // namespace remora::config
