// HashRing: the ring_hash table: each endpoint at points on a 64-bit ring in proportion to its
// weight; a key goes to the first point at or after its hash.
#pragma once

#include <utility>
#include <vector>

#include "proxy/lb/hash_table.h"

namespace remora {

class HashRing final : public HashTable {
 public:
  HashRing(const std::vector<HashMember>& members, uint32_t min_ring_size);
  int find(uint64_t hash, const HashAcceptor& accept) const override;
  std::vector<std::pair<uint32_t, uint32_t>> shares() const override;

 private:
  // A ring larger than this costs memory per subset and spreads no better.
  static constexpr uint64_t kMaxPoints = 8 * 1024 * 1024;
  std::vector<std::pair<uint64_t, uint32_t>> points_;  // (position, endpoint), by position
};

}  // namespace remora
