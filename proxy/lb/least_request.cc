// Least request by two random choices, weighted.
#include "proxy/lb/least_request.h"

namespace remora {

int LeastRequestBalancer::pick(const ClusterInfo& cluster, const SubsetInfo& subset,
                               const EndpointLoad& load) {
  const size_t n = subset.members.size();
  if (n == 0) return -1;
  if (n == 1) return static_cast<int>(subset.members[0]);
  const size_t a = lbRandomBelow(n);
  size_t b = lbRandomBelow(n);
  if (b == a) b = (a + 1) % n;
  const uint32_t ia = subset.members[a];
  const uint32_t ib = subset.members[b];
  // Compare load per unit of weight: active_a / w_a < active_b / w_b, without division.
  const uint64_t load_a =
      static_cast<uint64_t>(load.active(cluster, ia) + 1) * cluster.endpoints[ib].weight;
  const uint64_t load_b =
      static_cast<uint64_t>(load.active(cluster, ib) + 1) * cluster.endpoints[ia].weight;
  return static_cast<int>(load_a <= load_b ? ia : ib);
}

}  // namespace remora
