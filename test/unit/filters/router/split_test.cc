// Unit tests of a route's weighted split.
#include "filters/router/split.h"

#include <gtest/gtest.h>

#include <map>

#include "proxy/lb/load_balancer.h"

namespace remora::router {
namespace {

TEST(SplitTest, TargetsByWeightSkipZero) {
  std::vector<RouteTarget> targets = {{0, 0, 0}, {0, 1, 9}, {0, 2, 1}};
  std::map<int, int> counts;
  for (int i = 0; i < 5000; ++i) ++counts[pickTarget(targets, &lbRandom)];
  EXPECT_EQ(counts[0], 0);
  EXPECT_NEAR(counts[1], 4500, 200);
  EXPECT_NEAR(counts[2], 500, 200);
}

TEST(SplitTest, NoWeightNoTarget) {
  EXPECT_EQ(pickTarget({{0, 0, 0}}, &lbRandom), -1);
  EXPECT_EQ(pickTarget({}, &lbRandom), -1);
}

// The stickiness check: 1,000 keys through weights 5 -> 25 -> 50 -> 100; a key on the
// canary (target 0) never goes back to the baseline, and each weight gets about its share.
TEST(SplitTest, StickyKeysOnlyMoveFromBaselineToCanaryAsTheWeightGrows) {
  std::vector<bool> on_canary(1000, false);
  for (uint32_t weight : {5u, 25u, 50u, 100u}) {
    const std::vector<RouteTarget> targets = {{0, 1, weight}, {0, 0, 100 - weight}};
    int canary = 0;
    for (size_t key = 0; key < on_canary.size(); ++key) {
      const bool now = pickTargetAt(targets, stickyPoint("user-" + std::to_string(key))) == 0;
      EXPECT_TRUE(now || !on_canary[key]) << "key " << key << " left the canary at " << weight;
      on_canary[key] = now;
      canary += now ? 1 : 0;
    }
    EXPECT_NEAR(canary, static_cast<int>(weight * 10), 40) << weight;
  }
}

TEST(SplitTest, StickyPointIsStableAndSpreadsSimilarKeys) {
  // Fixed for every remora and version: a fleet sends one user to one arm.
  EXPECT_EQ(stickyPoint("alice"), stickyPoint("alice"));
  EXPECT_NE(stickyPoint("user-1") >> 60, stickyPoint("user-2") >> 60);
  EXPECT_EQ(pickTargetAt({{0, 0, 0}, {0, 1, 0}}, 123), 0);  // no weight: the first, as pickTarget
  EXPECT_EQ(pickTargetAt({}, 123), -1);
}

TEST(SplitTest, CookieValueFindsTheNamedCookie) {
  bool found = false;
  EXPECT_EQ(cookieValue("a=1; x-remora-canary=always; b=2", "x-remora-canary", found), "always");
  EXPECT_TRUE(found);
  EXPECT_EQ(cookieValue("a=1;b=2 ", "b", found), "2");
  EXPECT_TRUE(found);
  EXPECT_EQ(cookieValue("ab=1", "b", found), "");
  EXPECT_FALSE(found);
  EXPECT_EQ(cookieValue("", "b", found), "");
  EXPECT_FALSE(found);
}

}  // namespace
}  // namespace remora::router
