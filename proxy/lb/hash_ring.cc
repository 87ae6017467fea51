// The ring's points, placed by each endpoint's key and numbered, and the walk from a key.
#include "proxy/lb/hash_ring.h"

#include <algorithm>
#include <map>

#include "proxy/lb/stable_hash.h"

namespace remora {

HashRing::HashRing(const std::vector<HashMember>& members, uint32_t min_ring_size) {
  uint64_t total_weight = 0;
  for (const HashMember& member : members) total_weight += member.weight;
  if (total_weight == 0) return;
  // Points per unit of weight: a power of two that makes the ring at least min_ring_size. It
  // stays the same when an endpoint joins or leaves (until the ring would double or halve), so
  // the others keep their points, and their keys.
  uint64_t per_weight = 1;
  while (per_weight * total_weight < min_ring_size) per_weight <<= 1;
  const bool too_many = total_weight > kMaxPoints;
  for (const HashMember& member : members) {
    // Weights summing beyond kMaxPoints are scaled down to it.
    const uint64_t points = too_many
                                ? std::max<uint64_t>(1, member.weight * kMaxPoints / total_weight)
                                : member.weight * per_weight;
    for (uint64_t i = 0; i < points; ++i) {
      points_.emplace_back(stableHash(member.key + "#" + std::to_string(i)), member.index);
    }
  }
  std::sort(points_.begin(), points_.end());
}

int HashRing::find(uint64_t hash, const HashAcceptor& accept) const {
  if (points_.empty()) return -1;
  auto at = std::lower_bound(points_.begin(), points_.end(), std::make_pair(hash, uint32_t{0}));
  const size_t start = static_cast<size_t>(at - points_.begin());
  for (size_t step = 0; step < points_.size(); ++step) {
    const uint32_t endpoint = points_[(start + step) % points_.size()].second;
    if (accept.accepts(endpoint)) return static_cast<int>(endpoint);
  }
  return -1;
}

std::vector<std::pair<uint32_t, uint32_t>> HashRing::shares() const {
  // The arc before each point belongs to that point's endpoint.
  std::map<uint32_t, long double> arcs;
  for (size_t i = 0; i < points_.size(); ++i) {
    const uint64_t previous = i == 0 ? points_.back().first : points_[i - 1].first;
    arcs[points_[i].second] += static_cast<long double>(points_[i].first - previous);
  }
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (const auto& [endpoint, arc] : arcs) {
    out.emplace_back(endpoint,
                     static_cast<uint32_t>(std::llround(arc / 18446744073709551616.0L * 1e6)));
  }
  return out;
}

}  // namespace remora
