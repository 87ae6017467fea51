// The circuit breakers' metrics: overflows by resource, and which breakers are open now.
#pragma once

#include "discovery/snapshot.h"
#include "proxy/pool/circuit_breaker.h"
#include "proxy/stats.h"

namespace remora {

// Copies remora_upstream_overflow_total{cluster,resource} and
// remora_circuit_breaker_open{cluster,resource} into `registry`, against `snapshot`'s limits.
void publishBreakerMetrics(CircuitBreakers& breakers, const Snapshot& snapshot,
                           stats::Registry& registry);

}  // namespace remora
