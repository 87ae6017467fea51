// MaglevTable: the maglev table: a lookup table of a prime size filled by each endpoint's own
// permutation of its slots, in turns weighted by weight; a key goes to the slot of its hash.
// Keys spread more evenly than on a ring, and a lookup is one array index.
#pragma once

#include <utility>
#include <vector>

#include "proxy/lb/hash_table.h"

namespace remora {

class MaglevTable final : public HashTable {
 public:
  static constexpr uint64_t kSize = 65537;  // prime, and well over 100 slots per endpoint

  explicit MaglevTable(const std::vector<HashMember>& members);
  int find(uint64_t hash, const HashAcceptor& accept) const override;
  std::vector<std::pair<uint32_t, uint32_t>> shares() const override;

 private:
  std::vector<uint32_t> slots_;  // endpoint per slot; empty without members
};

}  // namespace remora
