// HashTableCache: each subset's consistent-hash table kept across snapshots, so that a rebuild
// for a health change or an ejection (which leaves the tables' endpoints as they were: a table
// holds endpoints out of rotation too) reuses the table instead of building it again.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "proxy/lb/hash_table.h"

namespace remora::discovery {

class HashTableCache {
 public:
  // The table of `cluster`'s subset `lb_key` over `members`: the last build's when the policy,
  // its settings and the members (keys, weights and indices) are the same, else a new one.
  std::shared_ptr<const HashTable> tableFor(const config::Cluster& cluster,
                                            const std::string& lb_key,
                                            std::vector<HashMember> members);
  // Ends a build: tables no subset asked for since the last call are dropped.
  void sweep();
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    config::LbPolicy policy = config::LbPolicy::RingHash;
    uint32_t min_ring_size = 0;
    std::vector<HashMember> members;
    std::shared_ptr<const HashTable> table;
    bool used = false;
  };
  std::unordered_map<std::string, Entry> entries_;  // by SubsetInfo::lb_key
};

}  // namespace remora::discovery
