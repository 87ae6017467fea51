// Least connections over every member.
#include "proxy/lb/least_connections.h"

#include "proxy/lb/member_weights.h"

namespace remora {

int LeastConnectionsBalancer::pick(const ClusterInfo& cluster, const SubsetInfo& subset,
                                   const EndpointLoad& load) {
  const size_t n = subset.members.size();
  if (n == 0) return -1;
  if (n == 1) return static_cast<int>(subset.members[0]);
  return static_cast<int>(subset.members[MemberWeights(cluster, subset, load).fewestActive(load)]);
}

}  // namespace remora
