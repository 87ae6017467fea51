// Active health checks of a cluster's endpoints through the real binary: an endpoint failing its
// check leaves rotation with the reason in /clusters, and comes back after its threshold.
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

nlohmann::json endpointAt(const Remora& remora, const std::string& address) {
  return remora.endpoint("backend", address);
}

TEST(HealthCheck, AnEndpointFailingItsCheckLeavesRotationAndComesBackAfterItsThreshold) {
  std::atomic<int> a_health{200};
  std::atomic<int> b_health{503};
  ScriptedUpstream a(ScriptedUpstream::named("a", a_health));
  ScriptedUpstream b(ScriptedUpstream::named("b", b_health));
  RefusingPort dead;
  Remora remora;
  ASSERT_TRUE(remora.start(
      render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: backend
clusters:
  - name: backend
    endpoints: [{{a}}, {{b}}, "127.0.0.1:{{dead}}"]
    health_check: {path: /health, interval: 100ms, timeout: 100ms, healthy_threshold: 3,
                   unhealthy_threshold: 2}
    panic_threshold: 0   # one of three healthy would be panic: this test is about rotation
)",
             {{"a", a.address()}, {"b", b.address()}, {"dead", std::to_string(dead.port())}})));
  const uint16_t port = remora.port("edge");
  // The first result decides: b (503) and the dead endpoint are out at once. Each endpoint is
  // checked on its own, so a's first result may come after the others'.
  ASSERT_TRUE(waitUntil(
      [&] {
        return endpointAt(remora, b.address())["healthy"] == false &&
               endpointAt(remora, dead.address())["healthy"] == false &&
               endpointAt(remora, a.address())["health_check"] == "healthy (HTTP 200)";
      },
      deadlineIn(5s)))
      << remora.adminGet("/clusters").body;
  nlohmann::json b_entry = endpointAt(remora, b.address());
  EXPECT_EQ(b_entry["reason"], "health check: HTTP 503");
  EXPECT_EQ(b_entry["health_check"], "unhealthy (HTTP 503)");
  EXPECT_EQ(endpointAt(remora, a.address())["health_check"], "healthy (HTTP 200)");
  EXPECT_NE(endpointAt(remora, dead.address())["reason"].get<std::string>().find("health check: "),
            std::string::npos);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(httpGet(port, "/").body, "a");

  // Back after three good answers in a row.
  b_health = 200;
  ASSERT_TRUE(waitUntil([&] { return endpointAt(remora, b.address())["healthy"] == true; },
                        deadlineIn(5s)));
  std::set<std::string> seen;
  for (int i = 0; i < 10; ++i) seen.insert(httpGet(port, "/").body);
  EXPECT_EQ(seen, (std::set<std::string>{"a", "b"}));

  // Out again after two failures; one failure is not enough.
  a_health = 500;
  ASSERT_TRUE(waitUntil([&] { return endpointAt(remora, a.address())["healthy"] == false; },
                        deadlineIn(5s)));
  EXPECT_EQ(httpGet(port, "/").body, "b");
  EXPECT_EQ(metricValue(remora.adminGet("/metrics").body, "remora_cluster_endpoints",
                        {{"cluster", "backend"}, {"health", "healthy"}}),
            1);
}

}  // namespace
}  // namespace remora::harness
