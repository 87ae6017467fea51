// Consistent-hash picks: the table's walk, with membership (and the load bound) as the test.
#include "proxy/lb/consistent_hash.h"

#include <algorithm>

#include "proxy/lb/hash_ring.h"
#include "proxy/lb/hash_table.h"
#include "proxy/lb/maglev_table.h"

namespace remora {
namespace {

// In rotation: a member of the subset (members are in index order), and under the load bound.
class MemberOfSubset final : public HashAcceptor {
 public:
  MemberOfSubset(const ClusterInfo& cluster, const SubsetInfo& subset, const EndpointLoad& load)
      : cluster_(cluster), subset_(subset), load_(load) {
    const double factor = cluster.config->lb == config::LbPolicy::RingHash
                              ? cluster.config->ring_hash.balance_factor
                              : 0;
    if (factor <= 0) return;
    uint64_t active = 0;
    for (uint32_t member : subset.members) active += load.active(cluster, member);
    // Counting this request, no endpoint above factor x the mean.
    bound_ = factor * static_cast<double>(active + 1) / static_cast<double>(subset.members.size());
  }

  bool accepts(uint32_t index) const override {
    if (!std::binary_search(subset_.members.begin(), subset_.members.end(), index)) return false;
    return bound_ == 0 || load_.active(cluster_, index) + 1 <= bound_;
  }

 private:
  const ClusterInfo& cluster_;
  const SubsetInfo& subset_;
  const EndpointLoad& load_;
  double bound_ = 0;  // 0: no bound
};

// Members only, whatever their load: where a bounded walk finds nobody.
class MemberOnly final : public HashAcceptor {
 public:
  explicit MemberOnly(const SubsetInfo& subset) : subset_(subset) {}
  bool accepts(uint32_t index) const override {
    return std::binary_search(subset_.members.begin(), subset_.members.end(), index);
  }

 private:
  const SubsetInfo& subset_;
};

}  // namespace

int ConsistentHashBalancer::pick(const ClusterInfo&, const SubsetInfo& subset,
                                 const EndpointLoad&) {
  if (subset.members.empty()) return -1;
  return static_cast<int>(subset.members[lbRandomBelow(subset.members.size())]);
}

int ConsistentHashBalancer::pickHashed(const ClusterInfo& cluster, const SubsetInfo& subset,
                                       const EndpointLoad& load, uint64_t hash) {
  if (subset.members.empty()) return -1;
  if (subset.hash_table == nullptr) return pick(cluster, subset, load);
  const int endpoint = subset.hash_table->find(hash, MemberOfSubset(cluster, subset, load));
  if (endpoint >= 0) return endpoint;
  return subset.hash_table->find(hash, MemberOnly(subset));
}

std::shared_ptr<const HashTable> buildHashTable(const config::Cluster& cluster,
                                                const std::vector<HashMember>& members) {
  switch (cluster.lb) {
    case config::LbPolicy::RingHash:
      return std::make_shared<HashRing>(members, cluster.ring_hash.min_ring_size);
    case config::LbPolicy::Maglev:
      return std::make_shared<MaglevTable>(members);
    default:
      return nullptr;
  }
}

}  // namespace remora
