// HashTable: a consistent-hash table (ring_hash or maglev) for one subset, built on the main
// thread into the snapshot and shared by every worker. It holds every endpoint the subset
// selects, in rotation or not: one that is out is skipped by walking on from where a key lands,
// never by rebuilding, so every remora with the same endpoints maps a key to the same endpoint.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"

namespace remora {

// An endpoint a table is built over: its identity (host:port) and weight, and its index into
// ClusterInfo::endpoints.
struct HashMember {
  std::string key;
  uint32_t weight = 1;
  uint32_t index = 0;
};

// Whether a pick may take an endpoint (in rotation, not over its load bound).
class HashAcceptor {
 public:
  virtual ~HashAcceptor() = default;
  virtual bool accepts(uint32_t index) const = 0;
};

class HashTable {
 public:
  virtual ~HashTable() = default;
  // The endpoint `hash` lands on, or the first after it that `accept` takes; -1 when none does.
  virtual int find(uint64_t hash, const HashAcceptor& accept) const = 0;
  // For /explain: how much of the table each endpoint holds, per million.
  virtual std::vector<std::pair<uint32_t, uint32_t>> shares() const = 0;
};

// The table `policy` names over `members`; null for a policy that hashes nothing.
std::shared_ptr<const HashTable> buildHashTable(const config::Cluster& cluster,
                                                const std::vector<HashMember>& members);

}  // namespace remora
