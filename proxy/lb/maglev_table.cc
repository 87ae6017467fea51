// The maglev table's filling (offset and skip from each endpoint's key, turns by weight) and the
// walk from a key's slot.
#include "proxy/lb/maglev_table.h"

#include <algorithm>
#include <map>

#include "proxy/lb/stable_hash.h"

namespace remora {

MaglevTable::MaglevTable(const std::vector<HashMember>& members) {
  if (members.empty()) return;
  constexpr uint32_t kEmpty = UINT32_MAX;
  std::vector<uint32_t> table(kSize, kEmpty);
  std::vector<uint64_t> offset(members.size());
  std::vector<uint64_t> skip(members.size());
  std::vector<uint64_t> next(members.size(), 0);
  uint32_t max_weight = 1;
  for (size_t i = 0; i < members.size(); ++i) {
    const uint64_t hash = stableHash(members[i].key);
    offset[i] = hash % kSize;
    skip[i] = stableHash(members[i].key + "#skip") % (kSize - 1) + 1;
    max_weight = std::max(max_weight, members[i].weight);
  }
  uint64_t filled = 0;
  for (uint64_t round = 0; filled < kSize; ++round) {
    for (size_t i = 0; i < members.size() && filled < kSize; ++i) {
      // A member takes a turn in a round when its share of rounds so far grows: weight w of the
      // heaviest W takes w turns in W rounds.
      const uint64_t w = members[i].weight;
      if ((round + 1) * w / max_weight == round * w / max_weight) continue;
      uint64_t slot = 0;
      do {
        slot = (offset[i] + next[i] * skip[i]) % kSize;
        ++next[i];
      } while (table[slot] != kEmpty);
      table[slot] = members[i].index;
      ++filled;
    }
  }
  slots_ = std::move(table);
}

int MaglevTable::find(uint64_t hash, const HashAcceptor& accept) const {
  if (slots_.empty()) return -1;
  const uint64_t start = hash % kSize;
  for (uint64_t step = 0; step < kSize; ++step) {
    const uint32_t endpoint = slots_[(start + step) % kSize];
    if (accept.accepts(endpoint)) return static_cast<int>(endpoint);
  }
  return -1;
}

std::vector<std::pair<uint32_t, uint32_t>> MaglevTable::shares() const {
  std::map<uint32_t, uint64_t> counts;
  for (uint32_t endpoint : slots_) ++counts[endpoint];
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (const auto& [endpoint, count] : counts) {
    out.emplace_back(endpoint, static_cast<uint32_t>(count * 1'000'000 / kSize));
  }
  return out;
}

}  // namespace remora
