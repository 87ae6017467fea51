// Unit tests of HashTableCache: a subset whose endpoints did not change keeps its table.
#include "discovery/hash_table_cache.h"

#include <gtest/gtest.h>

namespace remora::discovery {
namespace {

std::vector<HashMember> members(uint32_t count, uint32_t weight = 1) {
  std::vector<HashMember> out;
  for (uint32_t i = 0; i < count; ++i)
    out.push_back({"10.0.0." + std::to_string(i) + ":80", weight, i});
  return out;
}

TEST(HashTableCacheTest, AnUnchangedSubsetKeepsItsTableAndAChangeBuildsANewOne) {
  config::Cluster cluster;
  cluster.lb = config::LbPolicy::Maglev;
  HashTableCache cache;
  auto first = cache.tableFor(cluster, "c|", members(5));
  cache.sweep();
  EXPECT_EQ(cache.tableFor(cluster, "c|", members(5)), first);
  cache.sweep();
  auto reweighted = cache.tableFor(cluster, "c|", members(5, 2));
  EXPECT_NE(reweighted, first);
  cache.sweep();
  EXPECT_NE(cache.tableFor(cluster, "c|", members(6, 2)), reweighted);
  cache.sweep();
  cluster.lb = config::LbPolicy::RingHash;
  auto ring = cache.tableFor(cluster, "c|", members(6, 2));
  cache.sweep();
  cluster.ring_hash.min_ring_size = 4096;
  EXPECT_NE(cache.tableFor(cluster, "c|", members(6, 2)), ring);
}

TEST(HashTableCacheTest, ASweepDropsTablesNoSubsetAskedFor) {
  config::Cluster cluster;
  cluster.lb = config::LbPolicy::Maglev;
  HashTableCache cache;
  cache.tableFor(cluster, "a|", members(3));
  cache.tableFor(cluster, "b|", members(3));
  cache.sweep();
  EXPECT_EQ(cache.size(), 2u);
  cache.tableFor(cluster, "a|", members(3));
  cache.sweep();
  EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace remora::discovery
