// Reusing consistent-hash tables whose subsets did not change.
#include "discovery/hash_table_cache.h"

#include <algorithm>
#include <utility>

namespace remora::discovery {

namespace {

bool sameMembers(const std::vector<HashMember>& a, const std::vector<HashMember>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const HashMember& x, const HashMember& y) {
                      return x.index == y.index && x.weight == y.weight && x.key == y.key;
                    });
}

}  // namespace

std::shared_ptr<const HashTable> HashTableCache::tableFor(const config::Cluster& cluster,
                                                          const std::string& lb_key,
                                                          std::vector<HashMember> members) {
  Entry& entry = entries_[lb_key];
  entry.used = true;
  if (entry.table == nullptr || entry.policy != cluster.lb ||
      entry.min_ring_size != cluster.ring_hash.min_ring_size ||
      !sameMembers(entry.members, members)) {
    entry.table = buildHashTable(cluster, members);
    entry.policy = cluster.lb;
    entry.min_ring_size = cluster.ring_hash.min_ring_size;
    entry.members = std::move(members);
  }
  return entry.table;
}

void HashTableCache::sweep() {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!it->second.used) {
      it = entries_.erase(it);
    } else {
      it->second.used = false;
      ++it;
    }
  }
}

}  // namespace remora::discovery
