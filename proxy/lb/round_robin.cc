// Smooth weighted round robin: every member gains its weight, the richest is chosen and pays the
// total, so picks interleave in proportion to weight instead of coming in runs.
#include "proxy/lb/round_robin.h"

#include <unordered_map>

namespace remora {

void RoundRobinBalancer::align(const ClusterInfo& cluster, const SubsetInfo& subset) {
  // Each surviving endpoint keeps its position in the rotation, so a registry update does not
  // send a burst to the first endpoint.
  generation_ = subset.generation;
  std::unordered_map<std::string, int64_t> previous;
  for (size_t i = 0; i < keys_.size(); ++i) previous[keys_[i]] = current_[i];
  const size_t n = subset.members.size();
  keys_.resize(n);
  current_.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    keys_[i] = cluster.endpoints[subset.members[i]].key;
    if (auto p = previous.find(keys_[i]); p != previous.end()) current_[i] = p->second;
  }
}

int RoundRobinBalancer::pick(const ClusterInfo& cluster, const SubsetInfo& subset,
                             const EndpointLoad&) {
  const size_t n = subset.members.size();
  if (n == 0) return -1;
  if (n == 1) return static_cast<int>(subset.members[0]);
  if (generation_ != subset.generation) align(cluster, subset);
  if (subset.equal_weights) return static_cast<int>(subset.members[cursor_++ % n]);
  const auto total = static_cast<int64_t>(subset.total_weight);
  size_t best = 0;
  for (size_t i = 0; i < n; ++i) {
    current_[i] += cluster.endpoints[subset.members[i]].weight;
    if (current_[i] > current_[best]) best = i;
  }
  current_[best] -= total;
  return static_cast<int>(subset.members[best]);
}

}  // namespace remora
