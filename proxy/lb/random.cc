// Weighted random choice.
#include "proxy/lb/random.h"

namespace remora {

int RandomBalancer::pick(const ClusterInfo& cluster, const SubsetInfo& subset,
                         const EndpointLoad&) {
  if (subset.members.empty() || subset.total_weight == 0) return -1;
  uint64_t point = lbRandomBelow(subset.total_weight);
  for (uint32_t m : subset.members) {
    const uint32_t weight = cluster.endpoints[m].weight;
    if (point < weight) return static_cast<int>(m);
    point -= weight;
  }
  return static_cast<int>(subset.members.back());
}

}  // namespace remora
