// The slow-start ramp of an endpoint's weight.
#include "proxy/lb/slow_start.h"

#include <algorithm>
#include <cmath>

namespace remora {

double slowStartFactor(const config::SlowStart& settings, int64_t since_us, int64_t now_us) {
  const int64_t window_us = settings.window.count() * 1000;
  if (since_us == 0 || window_us <= 0 || now_us - since_us >= window_us) return 1.0;
  const double floor = settings.min_weight_percent / 100.0;
  const double elapsed =
      static_cast<double>(std::max<int64_t>(0, now_us - since_us)) / static_cast<double>(window_us);
  const double ramp =
      settings.aggression == 1.0 ? elapsed : std::pow(elapsed, 1.0 / settings.aggression);
  return std::clamp(ramp, floor, 1.0);
}

}  // namespace remora
