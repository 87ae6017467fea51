// Weighted choice among a route's targets.
#include "filters/router/split.h"

namespace remora::router {

int pickTarget(const std::vector<RouteTarget>& targets, uint64_t (*random)()) {
  if (targets.size() == 1) return targets[0].weight > 0 ? 0 : -1;
  uint64_t total = 0;
  for (const auto& target : targets) total += target.weight;
  if (total == 0) return targets.empty() ? -1 : 0;
  uint64_t point = static_cast<uint64_t>((static_cast<unsigned __int128>(random()) * total) >> 64);
  for (size_t i = 0; i < targets.size(); ++i) {
    if (point < targets[i].weight) return static_cast<int>(i);
    point -= targets[i].weight;
  }
  return -1;
}

}  // namespace remora::router
