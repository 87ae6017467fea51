// The latency- and load-aware policies and slow start in a real remora: least_connections and
// peak_ewma send most requests to the faster of two upstreams, peak_ewma does not send more to
// one that fails fast (nor does least_connections, with outlier detection on), and slow start ramps
// a returning endpoint's share over its window.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

constexpr char kConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 2
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: app
clusters:
  - name: app
    lb: {{lb}}
{{cluster_extra}}    endpoints: ["{{a}}", "{{b}}"]
)";

// Which upstream answered how many of the requests `clients` keep-alive clients sent back to
// back for `run`; "status N" for answers that were not a 200.
std::map<std::string, int> spread(uint16_t port, int clients, std::chrono::milliseconds run) {
  std::mutex mutex;
  std::map<std::string, int> answers;
  std::vector<std::thread> threads;
  const Deadline end = deadlineIn(run);
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      std::map<std::string, int> mine;
      HttpClient client(port);
      while (Clock::now() < end) {
        HttpResponse r = client.request("GET", "/", {{"host", "app"}});
        ++mine[r.status == 200 ? r.body : "status " + std::to_string(r.status)];
        if (!r.ok()) client.connect(port);
      }
      std::lock_guard lock(mutex);
      for (const auto& [what, n] : mine) answers[what] += n;
    });
  }
  for (auto& thread : threads) thread.join();
  return answers;
}

double share(const std::map<std::string, int>& answers, const std::string& of) {
  int total = 0;
  for (const auto& [what, n] : answers) total += n;
  auto it = answers.find(of);
  return total == 0 || it == answers.end() ? 0.0 : it->second / static_cast<double>(total);
}

class LatencyAware : public ::testing::TestWithParam<std::string> {};

TEST_P(LatencyAware, AtLeastEightyPercentGoToTheUpstreamThatIs50msFaster) {
  ScriptedUpstream fast(ScriptedUpstream::respondWith(200, "fast"));
  ScriptedUpstream slow(ScriptedUpstream::respondAfter(50ms, 200, "slow"));
  Remora remora;
  ASSERT_TRUE(remora.start(render(
      kConfig,
      {{"lb", GetParam()}, {"cluster_extra", ""}, {"a", fast.address()}, {"b", slow.address()}})));
  const auto answers = spread(remora.port("edge"), 8, 3s);
  EXPECT_GE(share(answers, "fast"), 0.8) << ::testing::PrintToString(answers);
  EXPECT_EQ(share(answers, "fast") + share(answers, "slow"), 1.0)
      << ::testing::PrintToString(answers);
}

INSTANTIATE_TEST_SUITE_P(Policies, LatencyAware,
                         ::testing::Values("least_connections", "peak_ewma"));

// A policy and the cluster settings it is tried with.
struct FastFailureCase {
  std::string lb;
  std::string cluster_extra;
  std::string name;
};

class FastFailure : public ::testing::TestWithParam<FastFailureCase> {};

TEST_P(FastFailure, AnUpstreamThatAnswers503FastDoesNotDrawMoreTraffic) {
  ScriptedUpstream failing(ScriptedUpstream::respondWith(503, "failing"));
  ScriptedUpstream working(ScriptedUpstream::respondAfter(5ms, 200, "working"));
  Remora remora;
  ASSERT_TRUE(remora.start(render(kConfig, {{"lb", GetParam().lb},
                                            {"cluster_extra", GetParam().cluster_extra},
                                            {"a", failing.address()},
                                            {"b", working.address()}})));
  const auto answers = spread(remora.port("edge"), 8, 3s);
  // Round robin would send it half; a balancer that took 503s for fast answers, nearly all.
  EXPECT_LT(share(answers, "status 503"), 0.1) << ::testing::PrintToString(answers);
  EXPECT_GT(share(answers, "working"), 0.9) << ::testing::PrintToString(answers);
  if (GetParam().lb != "peak_ewma") return;
  // /clusters shows the estimates of the workers that sent it requests (connections may all land
  // on one), decaying since the traffic stopped: the failures count as slower than the answers.
  auto estimates = [&](const ScriptedUpstream& upstream) {
    std::vector<double> out;
    const nlohmann::json endpoint = remora.endpoint("app", upstream.address());
    for (const auto& ms : endpoint["peak_ewma"]["latency_ms"]) out.push_back(ms.get<double>());
    return out;
  };
  ASSERT_TRUE(waitUntil([&] { return !estimates(failing).empty() && !estimates(working).empty(); },
                        deadlineIn(5s)))
      << remora.cluster("app");
  const std::vector<double> failing_ms = estimates(failing);
  const std::vector<double> working_ms = estimates(working);
  EXPECT_GT(*std::min_element(failing_ms.begin(), failing_ms.end()),
            *std::max_element(working_ms.begin(), working_ms.end()))
      << remora.cluster("app");
}

// peak_ewma on its own (outlier detection off): its estimate counts a failure as slow.
// least_connections counts nothing but requests in flight, where a fast failure looks idle: it
// relies on outlier detection, on by default, which ejects the endpoint after five 503s.
INSTANTIATE_TEST_SUITE_P(
    Policies, FastFailure,
    ::testing::Values(FastFailureCase{"peak_ewma", "    outlier_detection: off\n", "peak_ewma"},
                      FastFailureCase{"least_connections", "", "least_connections"}),
    [](const ::testing::TestParamInfo<FastFailureCase>& info) { return info.param.name; });

TEST(LoadBalancing, SlowStartRampsAReturningEndpointsShareOverItsWindow) {
  std::atomic<int> health_a{200};
  std::atomic<int> health_b{200};
  ScriptedUpstream a(ScriptedUpstream::named("a", health_a));
  ScriptedUpstream b(ScriptedUpstream::named("b", health_b));
  Remora remora;
  ASSERT_TRUE(remora.start(render(
      kConfig,
      {{"lb", "round_robin"},
       {"cluster_extra",
        "    slow_start: {window: 9s, min_weight_percent: 10}\n"
        "    health_check: {path: /health, interval: 100ms, timeout: 100ms, healthy_threshold: 1, "
        "unhealthy_threshold: 1}\n"},
       {"a", a.address()},
       {"b", b.address()}})));
  auto endpoint_b = [&] { return remora.endpoint("app", b.address()); };
  // Both healthy at start: a cold start, nobody ramps.
  ASSERT_TRUE(waitUntil([&] { return endpoint_b()["in_rotation"] == true; }, deadlineIn(10s)));
  EXPECT_FALSE(endpoint_b().contains("slow_start")) << endpoint_b();
  health_b = 503;
  ASSERT_TRUE(waitUntil([&] { return endpoint_b()["in_rotation"] == false; }, deadlineIn(10s)));
  health_b = 200;
  ASSERT_TRUE(waitUntil([&] { return endpoint_b()["in_rotation"] == true; }, deadlineIn(10s)));
  const auto back = Clock::now();
  // b's share at three points of the window: weight x max(10%, t / 9 s) against a's 1.
  std::vector<double> shares;
  for (auto at : {1500ms, 4500ms, 7500ms}) {
    std::this_thread::sleep_until(back + at - 500ms);  // the test's own schedule, not a state
    const nlohmann::json ramp = endpoint_b()["slow_start"];
    shares.push_back(share(spread(remora.port("edge"), 2, 1000ms), "b"));
    const double t = std::chrono::duration<double>(at).count() / 9.0;
    EXPECT_NEAR(shares.back(), t / (1 + t), 0.08) << "at " << at.count() << " ms";
    EXPECT_NEAR(ramp.value("percent", 0.0), 100 * (t - 0.5 / 9), 8) << ramp;
  }
  EXPECT_LT(shares[0], shares[1]);
  EXPECT_LT(shares[1], shares[2]);
  ASSERT_TRUE(waitUntil([&] { return !endpoint_b().contains("slow_start"); }, deadlineIn(5s)));
  EXPECT_NEAR(share(spread(remora.port("edge"), 2, 1000ms), "b"), 0.5, 0.02);
}

}  // namespace
}  // namespace remora::harness
