// Slow start's ramp: the share of its weight an endpoint that entered rotation lately gets, and
// the clock that ramps and latency estimates are measured by.
#pragma once

#include <chrono>
#include <cstdint>

#include "config/config.h"

namespace remora {

// Microseconds of the steady clock: the same on the main thread (which marks when an endpoint
// entered rotation) and on the workers (which ramp its weight).
inline int64_t steadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// max(min_weight_percent, (time in rotation / window)^(1 / aggression)), as a fraction; 1 once
// the window has passed or when `since_us` is 0 (not ramping).
double slowStartFactor(const config::SlowStart& settings, int64_t since_us, int64_t now_us);

}  // namespace remora
