// Weighted random choice.
#include "proxy/lb/random.h"

#include "proxy/lb/member_weights.h"

namespace remora {

int RandomBalancer::pick(const ClusterInfo& cluster, const SubsetInfo& subset,
                         const EndpointLoad& load) {
  if (subset.members.empty() || subset.total_weight == 0) return -1;
  return static_cast<int>(subset.members[MemberWeights(cluster, subset, load).draw()]);
}

}  // namespace remora
