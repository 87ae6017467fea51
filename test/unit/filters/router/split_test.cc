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

}  // namespace
}  // namespace remora::router
