// Least request by two choices drawn by weight; a scan of every member for small subsets.
#include "proxy/lb/least_request.h"

#include "proxy/lb/member_weights.h"

namespace remora {

namespace {

// Up to this many members, two random choices often compare a member with itself or pick the
// busier of two (one time in four with two members): every member is compared instead.
constexpr size_t kFullScanMembers = 3;

}  // namespace

int LeastRequestBalancer::pick(const ClusterInfo& cluster, const SubsetInfo& subset,
                               const EndpointLoad& load) {
  const size_t n = subset.members.size();
  if (n == 0) return -1;
  if (n == 1) return static_cast<int>(subset.members[0]);
  const MemberWeights weights(cluster, subset, load);
  if (n <= kFullScanMembers) return static_cast<int>(subset.members[weights.fewestActive(load)]);
  const auto [a, b] = weights.drawTwo();
  // Fewer in flight per unit of weight: active_a / w_a <= active_b / w_b, without division. An
  // idle pair keeps the first draw, so that idle picks follow the weights.
  const double load_a = load.active(cluster, subset.members[a]) * weights.of(b);
  const double load_b = load.active(cluster, subset.members[b]) * weights.of(a);
  return static_cast<int>(subset.members[load_a <= load_b ? a : b]);
}

}  // namespace remora
