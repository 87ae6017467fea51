// Unit tests of ring_hash and maglev: a key always lands on the same endpoint, two builds agree,
// an 11th endpoint moves few keys, an endpoint out of rotation moves only its own keys, weights
// hold in maglev's table, and the balancer's walk and load bound.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/cluster_state.h"
#include "proxy/lb/hash_ring.h"
#include "proxy/lb/load_balancer.h"
#include "proxy/lb/maglev_table.h"
#include "proxy/lb/stable_hash.h"

namespace remora {
namespace {

std::vector<HashMember> membersOf(size_t count, uint32_t weight = 1) {
  std::vector<HashMember> members;
  for (uint32_t i = 0; i < count; ++i) {
    members.push_back({"10.0.0." + std::to_string(i) + ":80", weight, i});
  }
  return members;
}

class AcceptAllBut final : public HashAcceptor {
 public:
  explicit AcceptAllBut(int out = -1) : out_(out) {}
  bool accepts(uint32_t index) const override { return static_cast<int>(index) != out_; }

 private:
  int out_;
};

// Where 10,000 keys land.
std::vector<int> place(const HashTable& table, const HashAcceptor& accept = AcceptAllBut()) {
  std::vector<int> out;
  for (int key = 0; key < 10000; ++key) {
    out.push_back(table.find(stableHash("user-" + std::to_string(key)), accept));
  }
  return out;
}

double movedShare(const std::vector<int>& before, const std::vector<int>& after) {
  int moved = 0;
  for (size_t i = 0; i < before.size(); ++i) moved += before[i] != after[i];
  return static_cast<double>(moved) / static_cast<double>(before.size());
}

std::unique_ptr<HashTable> build(config::LbPolicy lb, const std::vector<HashMember>& members) {
  if (lb == config::LbPolicy::Maglev) return std::make_unique<MaglevTable>(members);
  return std::make_unique<HashRing>(members, 1024);
}

class ConsistentHash : public ::testing::TestWithParam<config::LbPolicy> {};

TEST_P(ConsistentHash, AKeyAlwaysLandsOnTheSameEndpointAndTwoBuildsAgree) {
  const auto a = build(GetParam(), membersOf(10));
  const auto b = build(GetParam(), membersOf(10));
  const std::vector<int> first = place(*a);
  EXPECT_EQ(place(*a), first);
  EXPECT_EQ(place(*b), first);
  std::map<int, int> per_endpoint;
  for (int endpoint : first) ++per_endpoint[endpoint];
  EXPECT_EQ(per_endpoint.size(), 10u);
}

TEST_P(ConsistentHash, AnEleventhEndpointMovesAboutAnEleventhOfTheKeys) {
  const std::vector<int> ten = place(*build(GetParam(), membersOf(10)));
  const std::vector<int> eleven = place(*build(GetParam(), membersOf(11)));
  const double moved = movedShare(ten, eleven);
  EXPECT_LE(moved, 0.12) << moved;
  // On a ring, every key that moved went to the new endpoint (maglev moves a few between the
  // others too: its table is refilled).
  if (GetParam() != config::LbPolicy::RingHash) return;
  for (size_t i = 0; i < ten.size(); ++i) {
    if (ten[i] != eleven[i]) {
      ASSERT_EQ(eleven[i], 10) << "key " << i;
    }
  }
}

TEST_P(ConsistentHash, AnEndpointOutOfRotationMovesOnlyItsOwnKeys) {
  const auto table = build(GetParam(), membersOf(10));
  const std::vector<int> all_in = place(*table);
  const std::vector<int> one_out = place(*table, AcceptAllBut(3));
  for (size_t i = 0; i < all_in.size(); ++i) {
    if (all_in[i] == 3) {
      EXPECT_NE(one_out[i], 3);
    } else {
      ASSERT_EQ(one_out[i], all_in[i]) << "key " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(RingAndMaglev, ConsistentHash,
                         ::testing::Values(config::LbPolicy::RingHash, config::LbPolicy::Maglev),
                         [](const auto& info) {
                           return info.param == config::LbPolicy::Maglev ? "Maglev" : "RingHash";
                         });

TEST(MaglevTable, SlotsFollowTheWeightsWithinTwoPercent) {
  std::vector<HashMember> members = membersOf(4);
  for (uint32_t i = 0; i < 4; ++i) members[i].weight = i + 1;  // 10%, 20%, 30%, 40%
  const MaglevTable table(members);
  for (const auto& [endpoint, per_million] : table.shares()) {
    const double expected = (endpoint + 1) / 10.0;
    EXPECT_NEAR(per_million / 1e6, expected, 0.02 * expected) << "endpoint " << endpoint;
  }
}

TEST(HashRing, ArcsFollowTheWeights) {
  std::vector<HashMember> members = membersOf(2);
  members[1].weight = 3;
  const HashRing ring(members, 4096);
  const auto shares = ring.shares();
  ASSERT_EQ(shares.size(), 2u);
  EXPECT_NEAR(shares[0].second / 1e6, 0.25, 0.03);
  EXPECT_NEAR(shares[1].second / 1e6, 0.75, 0.03);
}

// The balancer over a snapshot's subset: the table's walk keeps to members, and a ring with
// balance_factor walks past an endpoint over its bound.
struct HashedCluster {
  config::Cluster config;
  ClusterInfo cluster;
  std::unique_ptr<ClusterState> state;

  HashedCluster(config::LbPolicy lb, double balance_factor) {
    config.name = "c";
    config.lb = lb;
    config.ring_hash.balance_factor = balance_factor;
    cluster.config = &config;
    SubsetInfo all;
    all.lb_key = "c|";
    all.generation = 1;
    std::vector<HashMember> members = membersOf(4);
    for (const HashMember& member : members) {
      EndpointInfo e;
      e.key = member.key;
      cluster.endpoints.push_back(e);
      all.members.push_back(member.index);
    }
    all.hash_table = buildHashTable(config, members);
    cluster.subsets.push_back(all);
    state = std::make_unique<ClusterState>(config, std::make_shared<BreakerCounts>(), nullptr);
    std::vector<std::string> left;
    state->reconcile(cluster, left);
  }
  int pick(uint64_t hash) {
    const SubsetInfo& subset = cluster.subsets[0];
    return state->balancer(cluster, subset).pickHashed(cluster, subset, *state, hash);
  }
};

TEST(ConsistentHashBalancer, KeepsToMembersAndPicksAtRandomWithoutAKey) {
  HashedCluster c(config::LbPolicy::Maglev, 0);
  const uint64_t key = stableHash("alice");
  const int home = c.pick(key);
  ASSERT_GE(home, 0);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(c.pick(key), home);
  // Out of rotation (not a member of the snapshot's subset): the key walks on, consistently.
  auto& members = c.cluster.subsets[0].members;
  members.erase(std::find(members.begin(), members.end(), static_cast<uint32_t>(home)));
  const int elsewhere = c.pick(key);
  EXPECT_NE(elsewhere, home);
  EXPECT_EQ(c.pick(key), elsewhere);
  std::map<int, int> unkeyed;
  for (int i = 0; i < 300; ++i) {
    const SubsetInfo& subset = c.cluster.subsets[0];
    ++unkeyed[c.state->balancer(c.cluster, subset).pick(c.cluster, subset, *c.state)];
  }
  EXPECT_EQ(unkeyed.size(), 3u);
}

TEST(ConsistentHashBalancer, ARingWithABalanceFactorWalksPastAnEndpointOverItsBound) {
  HashedCluster c(config::LbPolicy::RingHash, 1.25);
  const uint64_t key = stableHash("bob");
  const int home = c.pick(key);
  ASSERT_GE(home, 0);
  // The key's endpoint busy with 8 requests, the others idle: over 1.25 x the mean.
  EndpointState& busy = c.state->endpoint(c.cluster, static_cast<uint32_t>(home));
  for (int i = 0; i < 8; ++i) c.state->requestStarted(busy);
  const int relieved = c.pick(key);
  EXPECT_NE(relieved, home);
  for (int i = 0; i < 8; ++i) c.state->requestFinished(busy);
  EXPECT_EQ(c.pick(key), home);
}

}  // namespace
}  // namespace remora
