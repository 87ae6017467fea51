// Reads a cluster's `circuit_breaker:` block: its limits, or `off`.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace remora::config {

// {max_connections, max_pending_requests, max_requests, max_retries,
//  max_connections_per_endpoint, pending_timeout} or `off`. `out` comes in with the cluster's
// defaults (pending_timeout already its connect_timeout); written keys replace them.
void readCircuitBreaker(YamlReader& reader, const Located& at, CircuitBreaker& out);

}  // namespace remora::config
