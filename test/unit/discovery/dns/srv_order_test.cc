// Tests for RFC 2782 ordering and the SRV -> endpoint mapping.
#include "discovery/dns/srv_order.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace remora::discovery::dns {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

SrvRecord srv(uint16_t priority, uint16_t weight, uint16_t port, std::string target,
              std::vector<std::string> addresses) {
  return SrvRecord{priority, weight, port, std::move(target), std::move(addresses)};
}

std::vector<std::string> targetsOf(const std::vector<SrvRecord>& records) {
  std::vector<std::string> targets;
  for (const SrvRecord& r : records) targets.push_back(r.target);
  return targets;
}

// How often each target comes first over many orderings with a fixed seed.
std::map<std::string, double> firstShares(const std::vector<SrvRecord>& records, int rounds) {
  std::mt19937_64 random(12345);
  std::map<std::string, int> counts;
  for (int i = 0; i < rounds; ++i) ++counts[rfc2782Order(records, random).front().target];
  std::map<std::string, double> shares;
  for (const auto& [target, count] : counts) shares[target] = static_cast<double>(count) / rounds;
  return shares;
}

TEST(SrvOrderTest, LowestPriorityFirstWhateverTheWeights) {
  std::mt19937_64 random(1);
  const std::vector<SrvRecord> records = {srv(20, 100, 1, "c", {}), srv(10, 0, 1, "a", {}),
                                          srv(30, 5, 1, "d", {}), srv(10, 0, 1, "b", {})};
  for (int i = 0; i < 50; ++i) {
    const std::vector<SrvRecord> ordered = rfc2782Order(records, random);
    ASSERT_EQ(ordered.size(), 4u);
    EXPECT_EQ(ordered[0].priority, 10);
    EXPECT_EQ(ordered[1].priority, 10);
    EXPECT_EQ(ordered[2].target, "c");
    EXPECT_EQ(ordered[3].target, "d");
  }
}

TEST(SrvOrderTest, FirstPickFollowsTheWeights) {
  const std::vector<SrvRecord> records = {srv(10, 10, 1, "a", {}), srv(10, 20, 1, "b", {}),
                                          srv(10, 70, 1, "c", {})};
  // A draw from [0, 100] (101 values), the first running sum >= the draw: each record gets its
  // weight's share of the draws, and the draw 0 goes to whichever was shuffled to the front.
  const std::map<std::string, double> shares = firstShares(records, 20000);
  EXPECT_NEAR(shares.at("a"), (10 + 1.0 / 3) / 101, 0.015);
  EXPECT_NEAR(shares.at("b"), (20 + 1.0 / 3) / 101, 0.015);
  EXPECT_NEAR(shares.at("c"), (70 + 1.0 / 3) / 101, 0.015);
}

TEST(SrvOrderTest, WeightZeroComesFirstOnlyWhenTheDrawIsZero) {
  const std::vector<SrvRecord> records = {srv(10, 9, 1, "heavy", {}), srv(10, 0, 1, "zero", {})};
  // Only a draw of 0 out of [0, 9] picks the weight-0 record, placed at the front.
  const std::map<std::string, double> shares = firstShares(records, 20000);
  EXPECT_NEAR(shares.at("zero"), 0.1, 0.015);
  EXPECT_NEAR(shares.at("heavy"), 0.9, 0.015);
}

TEST(SrvOrderTest, AllWeightsZeroIsAnEvenShuffle) {
  const std::vector<SrvRecord> records = {srv(10, 0, 1, "a", {}), srv(10, 0, 1, "b", {}),
                                          srv(10, 0, 1, "c", {})};
  const std::map<std::string, double> shares = firstShares(records, 20000);
  for (const char* target : {"a", "b", "c"}) EXPECT_NEAR(shares.at(target), 1.0 / 3, 0.02);
}

TEST(SrvOrderTest, EveryRecordIsPlacedOnce) {
  std::mt19937_64 random(7);
  const std::vector<SrvRecord> records = {srv(1, 3, 1, "a", {}), srv(1, 0, 1, "b", {}),
                                          srv(2, 1, 1, "c", {}), srv(1, 5, 1, "d", {})};
  std::vector<std::string> targets = targetsOf(rfc2782Order(records, random));
  std::sort(targets.begin(), targets.end());
  EXPECT_THAT(targets, ElementsAre("a", "b", "c", "d"));
}

TEST(SrvEndpointsTest, LowestPriorityIsInUseTheOthersAreBackups) {
  const std::vector<RegistryEndpoint> endpoints = srvEndpoints(
      {srv(20, 1, 8083, "u3.test", {"10.0.0.3"}), srv(10, 5, 8081, "u1.test", {"10.0.0.1"}),
       srv(10, 15, 8082, "u2.test", {"10.0.0.2"})});
  ASSERT_EQ(endpoints.size(), 3u);
  EXPECT_EQ(endpoints[0].endpoint.address.text(), "10.0.0.1:8081");
  EXPECT_TRUE(endpoints[0].healthy);
  EXPECT_EQ(endpoints[0].health_reason, "");
  EXPECT_EQ(endpoints[0].endpoint.meta,
            (config::Metadata{{"priority", "10"}, {"target", "u1.test"}}));
  EXPECT_EQ(endpoints[1].endpoint.address.text(), "10.0.0.2:8082");
  EXPECT_TRUE(endpoints[1].healthy);
  EXPECT_EQ(endpoints[2].endpoint.address.text(), "10.0.0.3:8083");
  EXPECT_FALSE(endpoints[2].healthy);
  EXPECT_EQ(endpoints[2].health_reason, "dns: backup (priority 20)");
  EXPECT_EQ(endpoints[2].endpoint.meta.at("priority"), "20");
}

TEST(SrvEndpointsTest, WeightsAreScaledAndSplitOverATargetsAddresses) {
  const std::vector<RegistryEndpoint> endpoints = srvEndpoints(
      {srv(10, 5, 80, "one", {"10.0.0.1"}), srv(10, 15, 80, "two", {"10.0.0.2", "fd00::2"})});
  ASSERT_EQ(endpoints.size(), 3u);
  EXPECT_EQ(endpoints[0].endpoint.weight, 5 * kSrvWeightScale);
  // Target "two" keeps three times the traffic of "one", spread over its two addresses.
  EXPECT_EQ(endpoints[1].endpoint.address.text(), "10.0.0.2:80");
  EXPECT_EQ(endpoints[1].endpoint.weight, 15 * kSrvWeightScale / 2);
  EXPECT_EQ(endpoints[2].endpoint.address.text(), "[fd00::2]:80");
  EXPECT_EQ(endpoints[2].endpoint.weight, 15 * kSrvWeightScale / 2);
}

TEST(SrvEndpointsTest, WeightZeroGetsAVerySmallShareNextToWeightedPeers) {
  const std::vector<RegistryEndpoint> endpoints =
      srvEndpoints({srv(10, 0, 80, "spare", {"10.0.0.9"}), srv(10, 1, 80, "main", {"10.0.0.1"})});
  ASSERT_EQ(endpoints.size(), 2u);
  EXPECT_EQ(endpoints[0].endpoint.address.host, "10.0.0.1");
  EXPECT_EQ(endpoints[0].endpoint.weight, kSrvWeightScale);
  EXPECT_EQ(endpoints[1].endpoint.address.host, "10.0.0.9");
  EXPECT_EQ(endpoints[1].endpoint.weight, 1u);
  EXPECT_TRUE(endpoints[1].healthy);
}

TEST(SrvEndpointsTest, AllWeightsZeroMeansEqualWeights) {
  const std::vector<RegistryEndpoint> endpoints =
      srvEndpoints({srv(10, 0, 80, "a", {"10.0.0.1"}), srv(10, 0, 80, "b", {"10.0.0.2"})});
  ASSERT_EQ(endpoints.size(), 2u);
  EXPECT_EQ(endpoints[0].endpoint.weight, kSrvWeightScale);
  EXPECT_EQ(endpoints[1].endpoint.weight, kSrvWeightScale);
}

TEST(SrvEndpointsTest, DotTargetMeansNoEndpoints) {
  EXPECT_THAT(srvEndpoints({srv(0, 0, 0, ".", {})}), IsEmpty());
  EXPECT_THAT(srvEndpoints({}), IsEmpty());
}

TEST(SrvEndpointsTest, APriorityWithoutUsableTargetsFallsToTheNext) {
  const std::vector<RegistryEndpoint> endpoints =
      srvEndpoints({srv(10, 5, 80, ".", {}), srv(10, 5, 80, "gone", {}),
                    srv(20, 5, 80, "next", {"10.0.0.2"}), srv(30, 5, 80, "last", {"10.0.0.3"})});
  ASSERT_EQ(endpoints.size(), 2u);
  EXPECT_EQ(endpoints[0].endpoint.address.host, "10.0.0.2");
  EXPECT_TRUE(endpoints[0].healthy);
  EXPECT_EQ(endpoints[1].endpoint.address.host, "10.0.0.3");
  EXPECT_EQ(endpoints[1].health_reason, "dns: backup (priority 30)");
}

TEST(SrvEndpointsTest, AnAddressAppearsOnceAtItsLowestPriority) {
  const std::vector<RegistryEndpoint> endpoints =
      srvEndpoints({srv(20, 7, 80, "b", {"10.0.0.1"}), srv(10, 2, 80, "a", {"10.0.0.1"}),
                    srv(10, 3, 80, "a2", {"10.0.0.1"}), srv(10, 3, 81, "a", {"10.0.0.1"})});
  ASSERT_EQ(endpoints.size(), 2u);
  EXPECT_EQ(endpoints[0].endpoint.address.text(), "10.0.0.1:80");
  EXPECT_EQ(endpoints[0].endpoint.weight, 5 * kSrvWeightScale);
  EXPECT_TRUE(endpoints[0].healthy);
  EXPECT_EQ(endpoints[1].endpoint.address.text(), "10.0.0.1:81");
}

TEST(SrvEndpointsTest, TheServersRecordOrderDoesNotMatter) {
  const SrvRecord a = srv(10, 1, 80, "a", {"10.0.0.1"});
  const SrvRecord b = srv(10, 2, 80, "b", {"10.0.0.2"});
  const SrvRecord c = srv(20, 1, 80, "c", {"10.0.0.3"});
  const std::vector<RegistryEndpoint> one = srvEndpoints({a, b, c});
  const std::vector<RegistryEndpoint> two = srvEndpoints({c, b, a});
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(one[i].endpoint.address.text(), two[i].endpoint.address.text());
    EXPECT_EQ(one[i].endpoint.weight, two[i].endpoint.weight);
  }
}

}  // namespace
}  // namespace remora::discovery::dns
