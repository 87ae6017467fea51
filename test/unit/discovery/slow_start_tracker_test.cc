// Unit tests of SlowStartTracker: which endpoints ramp, from when, and when nothing does.
#include "discovery/slow_start_tracker.h"

#include <gtest/gtest.h>

namespace remora::discovery {
namespace {

constexpr int64_t kSecond = 1'000'000;

struct TrackerFixture {
  config::Cluster cluster;
  SlowStartTracker tracker;
  TrackerFixture() {
    cluster.name = "c";
    cluster.slow_start = {true, config::Duration{30000}, 1.0, 10};
  }
  // One endpoint per letter of `names`, in rotation but those in `out`.
  std::vector<EndpointInfo> endpoints(std::string_view names, std::string_view out = "") {
    std::vector<EndpointInfo> result;
    for (char name : names) {
      EndpointInfo e;
      e.key = std::string(1, name);
      e.address_length = sizeof(sockaddr_in);
      e.healthy = out.find(name) == std::string_view::npos;
      result.push_back(e);
    }
    return result;
  }
  std::vector<int64_t> mark(std::vector<EndpointInfo> endpoints, int64_t now) {
    tracker.mark(cluster, endpoints, now);
    std::vector<int64_t> since;
    for (const EndpointInfo& e : endpoints) since.push_back(e.slow_start_since_us);
    return since;
  }
};

TEST(SlowStartTrackerTest, AColdStartRampsNobodyAndALaterEndpointRampsFromItsArrival) {
  TrackerFixture f;
  EXPECT_EQ(f.mark(f.endpoints("ab"), 10 * kSecond), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(f.mark(f.endpoints("abc"), 20 * kSecond), (std::vector<int64_t>{0, 0, 20 * kSecond}));
  // Another build within the window keeps its start.
  EXPECT_EQ(f.mark(f.endpoints("abc"), 40 * kSecond), (std::vector<int64_t>{0, 0, 20 * kSecond}));
  // Past the window it is at full weight for good.
  EXPECT_EQ(f.mark(f.endpoints("abc"), 50 * kSecond), (std::vector<int64_t>{0, 0, 0}));
}

TEST(SlowStartTrackerTest, AnEndpointBackFromUnhealthyRampsAgain) {
  TrackerFixture f;
  f.mark(f.endpoints("abc"), 10 * kSecond);
  EXPECT_EQ(f.mark(f.endpoints("abc", "b"), 20 * kSecond), (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(f.mark(f.endpoints("abc"), 30 * kSecond), (std::vector<int64_t>{0, 30 * kSecond, 0}));
  // Ejected is out of rotation too.
  auto endpoints = f.endpoints("abc");
  endpoints[0].ejected = true;
  f.mark(endpoints, 31 * kSecond);
  EXPECT_EQ(f.mark(f.endpoints("abc"), 32 * kSecond),
            (std::vector<int64_t>{32 * kSecond, 30 * kSecond, 0}));
}

TEST(SlowStartTrackerTest, NothingRampsWhenEveryEndpointInRotationWould) {
  TrackerFixture f;
  f.mark(f.endpoints("ab"), 10 * kSecond);
  // Every endpoint replaced at once: nobody to spare them.
  EXPECT_EQ(f.mark(f.endpoints("cd"), 20 * kSecond), (std::vector<int64_t>{0, 0}));
  // After every endpoint was out, those back are a cold start.
  f.mark(f.endpoints("cd", "cd"), 21 * kSecond);
  EXPECT_EQ(f.mark(f.endpoints("cd"), 22 * kSecond), (std::vector<int64_t>{0, 0}));
}

TEST(SlowStartTrackerTest, ForgetsClustersWithoutSlowStart) {
  TrackerFixture f;
  f.mark(f.endpoints("ab"), 10 * kSecond);
  config::Config config;
  config.clusters.push_back(f.cluster);
  config.clusters.back().slow_start.enabled = false;
  f.tracker.retain(config);
  // Forgotten: the next build is a cold start again.
  EXPECT_EQ(f.mark(f.endpoints("abc"), 20 * kSecond), (std::vector<int64_t>{0, 0, 0}));
}

}  // namespace
}  // namespace remora::discovery
