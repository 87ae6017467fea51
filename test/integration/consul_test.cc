// remora with a real Consul agent (-dev): self-registration with a TTL check, discovery by
// blocking queries, subsets by Meta, static stability while the agent is down, registration
// restored when it is back, deregistration on SIGTERM.
#include <signal.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <set>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// A sidecar: `inbound` fronts the local service, `outbound` calls `users` from Consul.
constexpr char kSidecar[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
service:
  name: orders
  id: orders-1
  address: 127.0.0.1
  port: {{inbound_port}}
  tags: [http]
  meta: {version: v1}
  app: {{app}}
  health: {path: /health, interval: 200ms, timeout: 200ms, healthy_threshold: 1}
registry:
  consul: {address: "{{address}}", wait: 10s, check: ttl}
lifecycle: {drain_delay: 0s, drain_timeout: 5s}
listeners:
  - name: inbound
    address: "127.0.0.1:{{inbound_port}}"
    routes:
      - match: {prefix: /}
        direct_response: {status: 200, body: orders}
  - name: outbound
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /, headers: {x-version: v2}}
        cluster: users
        subset: {version: v2}
      - match: {prefix: /}
        cluster: users
        retry: {attempts: 2, on: [connect-failure, reset]}
clusters:
  - name: users
    service: users
)";

std::string sidecarConfig(const ConsulAgent& consul, const ScriptedUpstream& app) {
  return render(kSidecar, {{"address", consul.address()},
                           {"inbound_port", std::to_string(freePort())},
                           {"app", app.address()}});
}

// The bodies seen over `count` requests through `port`.
std::set<std::string> bodiesSeen(uint16_t port, int count, const HeaderList& headers = {}) {
  std::set<std::string> bodies;
  for (int i = 0; i < count; ++i) {
    HttpResponse response = httpGet(port, "/", headers);
    bodies.insert(std::to_string(response.status) + " " + response.body);
  }
  return bodies;
}

TEST(Consul, RegistersItselfWithATtlCheckAndDeregistersOnSigterm) {
  ConsulAgent consul;
  ScriptedUpstream app(ScriptedUpstream::respondWith(200, "ok"));
  Remora remora;
  ASSERT_TRUE(remora.start(sidecarConfig(consul, app)));
  ASSERT_TRUE(waitUntil([&] { return remora.adminGet("/ready").status == 200; }, deadlineIn(5s)))
      << remora.adminGet("/ready").body;
  const json services = consul.get("/v1/agent/services");
  ASSERT_TRUE(services.contains("orders-1")) << services.dump() << remora.logs();
  EXPECT_EQ(services["orders-1"]["Service"], "orders");
  EXPECT_EQ(services["orders-1"]["Port"], remora.port("inbound"));
  EXPECT_EQ(services["orders-1"]["Meta"]["version"], "v1");
  EXPECT_EQ(services["orders-1"]["Tags"], json({"http"}));
  // The check started out as healthy as the app, not critical: discoverable at once.
  const json health = consul.get("/v1/health/service/orders?passing=true");
  ASSERT_EQ(health.size(), 1u) << health.dump();
  auto clusters = json::parse(remora.adminGet("/clusters").body);
  EXPECT_EQ(clusters["registry"]["kind"], "consul");
  EXPECT_EQ(clusters["registry"]["registration"]["healthy"], true);
  EXPECT_EQ(clusters["registry"]["watch"]["healthy"], true);

  ASSERT_TRUE(remora.signal(SIGTERM));
  EXPECT_EQ(remora.waitExit(deadlineIn(10s)), 0);
  EXPECT_FALSE(consul.hasService("orders-1"));
}

// A peer's remora: it calls `orders` as Consul lists it.
constexpr char kPeer[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
registry:
  consul: {address: "{{address}}", wait: 10s}
listeners:
  - name: outbound
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: orders
clusters:
  - name: orders
    service: orders
)";

// The TTL check carries the app's health as remora's checks see it, and a peer's remora follows
// it: it stops routing to the instance while the app is unhealthy.
TEST(Consul, TheCheckFollowsTheLocalAppsHealthAndPeersFollowTheCheck) {
  ConsulAgent consul;
  std::atomic<int> app_status{200};
  ScriptedUpstream app([&](UpstreamConnection& connection) {
    while (connection.readRequest()) connection.respond(app_status.load(), "app");
  });
  Remora remora;
  ASSERT_TRUE(remora.start(sidecarConfig(consul, app)));
  ASSERT_TRUE(waitUntil([&] { return remora.adminGet("/ready").status == 200; }, deadlineIn(5s)));
  auto passing = [&] { return consul.get("/v1/health/service/orders?passing=true").size(); };
  EXPECT_EQ(passing(), 1u);
  Remora peer;
  ASSERT_TRUE(peer.start(render(kPeer, {{"address", consul.address()}})));
  const uint16_t peer_port = peer.port("outbound");
  ASSERT_TRUE(waitUntil([&] { return httpGet(peer_port, "/").body == "orders"; }, deadlineIn(5s)))
      << peer.logs();

  app_status = 500;
  ASSERT_TRUE(waitUntil([&] { return passing() == 0; }, deadlineIn(5s))) << remora.logs();
  const json checks = consul.get("/v1/agent/checks");
  EXPECT_EQ(checks["service:orders-1"]["Status"], "critical") << checks.dump();
  ASSERT_TRUE(waitUntil([&] { return httpGet(peer_port, "/").status == 503; }, deadlineIn(5s)))
      << peer.logs();
  auto endpoints = json::parse(peer.adminGet("/clusters").body)["clusters"][0]["endpoints"];
  ASSERT_EQ(endpoints.size(), 1u) << endpoints.dump();
  EXPECT_EQ(endpoints[0]["healthy"], false);

  app_status = 200;
  EXPECT_TRUE(waitUntil([&] { return passing() == 1; }, deadlineIn(5s))) << remora.logs();
  EXPECT_TRUE(waitUntil([&] { return httpGet(peer_port, "/").body == "orders"; }, deadlineIn(5s)))
      << peer.logs();
}

TEST(Consul, AnInstanceAddedIsRoutedWithinASecondAndOneRemovedIsNot) {
  ConsulAgent consul;
  ScriptedUpstream a(ScriptedUpstream::respondWith(200, "a"));
  ScriptedUpstream b(ScriptedUpstream::respondWith(200, "b"));
  ScriptedUpstream app(ScriptedUpstream::respondWith(200, "ok"));
  Remora remora;
  ASSERT_TRUE(remora.start(sidecarConfig(consul, app)));
  const uint16_t port = remora.port("outbound");
  ASSERT_TRUE(waitUntil([&] { return remora.adminGet("/ready").status == 200; }, deadlineIn(5s)));
  EXPECT_EQ(httpGet(port, "/").status, 503);  // no instance of users yet

  ASSERT_TRUE(consul.addUser("users-a", a, "v1"));
  const auto added_at = Clock::now();
  ASSERT_TRUE(waitUntil([&] { return httpGet(port, "/").body == "a"; }, deadlineIn(5s)))
      << remora.logs();
  EXPECT_LT(Clock::now() - added_at, 1s);

  ASSERT_TRUE(consul.addUser("users-b", b, "v1"));
  ASSERT_TRUE(waitUntil([&] { return bodiesSeen(port, 4).size() == 2; }, deadlineIn(5s)));
  ASSERT_TRUE(consul.removeUser("users-a"));
  const auto removed_at = Clock::now();
  ASSERT_TRUE(waitUntil([&] { return bodiesSeen(port, 4) == std::set<std::string>{"200 b"}; },
                        deadlineIn(5s)));
  EXPECT_LT(Clock::now() - removed_at, 1s);

  // An instance whose check turns critical leaves the rotation, and /clusters says why.
  ASSERT_EQ(consul.request("PUT", "/v1/agent/service/maintenance/users-b?enable=true&reason=t"),
            200);
  ASSERT_TRUE(waitUntil([&] { return httpGet(port, "/").status == 503; }, deadlineIn(5s)));
  const std::string clusters = remora.adminGet("/clusters").body;
  EXPECT_NE(clusters.find("consul: maintenance"), std::string::npos) << clusters;
}

TEST(Consul, ASubsetSelectsInstancesByTheirMeta) {
  ConsulAgent consul;
  ScriptedUpstream v1(ScriptedUpstream::respondWith(200, "v1"));
  ScriptedUpstream v2(ScriptedUpstream::respondWith(200, "v2"));
  ASSERT_TRUE(consul.addUser("users-1", v1, "v1"));
  ASSERT_TRUE(consul.addUser("users-2", v2, "v2"));
  ScriptedUpstream app(ScriptedUpstream::respondWith(200, "ok"));
  Remora remora;
  ASSERT_TRUE(remora.start(sidecarConfig(consul, app)));
  const uint16_t port = remora.port("outbound");
  ASSERT_TRUE(waitUntil([&] { return bodiesSeen(port, 4).size() == 2; }, deadlineIn(5s)))
      << remora.logs();
  EXPECT_EQ(bodiesSeen(port, 6, {{"x-version", "v2"}}), std::set<std::string>{"200 v2"});
}

TEST(Consul, TrafficFlowsWhileTheAgentIsDownAndRegistrationComesBackWithIt) {
  ConsulAgent consul;
  ScriptedUpstream a(ScriptedUpstream::respondWith(200, "a"));
  ASSERT_TRUE(consul.addUser("users-a", a, "v1"));
  ScriptedUpstream app(ScriptedUpstream::respondWith(200, "ok"));
  Remora remora;
  ASSERT_TRUE(remora.start(sidecarConfig(consul, app)));
  const uint16_t port = remora.port("outbound");
  ASSERT_TRUE(waitUntil([&] { return httpGet(port, "/").body == "a"; }, deadlineIn(5s)));
  ASSERT_TRUE(waitUntil([&] { return consul.hasService("orders-1"); }, deadlineIn(5s)));

  consul.kill();
  // Static stability: the last good view stays, and the failure is reported.
  ASSERT_TRUE(waitUntil(
      [&] {
        auto clusters = json::parse(remora.adminGet("/clusters").body);
        return clusters["registry"]["watch"]["healthy"] == false;
      },
      deadlineIn(5s)))
      << remora.logs();
  for (int i = 0; i < 20; ++i) ASSERT_EQ(httpGet(port, "/").body, "a");
  EXPECT_GT(metricValue(remora.adminGet("/metrics").body, "remora_registry_errors_total",
                        {{"registry", "consul"}}),
            0);

  // The agent comes back empty (dev mode keeps nothing): remora registers again, and the view
  // follows what the new agent knows.
  consul.start();
  ASSERT_TRUE(waitUntil([&] { return consul.hasService("orders-1"); }, deadlineIn(8s)))
      << remora.logs();
  // The agent has it before remora has read the agent's answer and logged it.
  EXPECT_TRUE(waitUntil(
      [&] { return remora.logs().find("registration of orders-1 restored") != std::string::npos; },
      deadlineIn(5s)));
  ScriptedUpstream b(ScriptedUpstream::respondWith(200, "b"));
  ASSERT_TRUE(consul.addUser("users-b", b, "v1"));
  EXPECT_TRUE(waitUntil([&] { return bodiesSeen(port, 4) == std::set<std::string>{"200 b"}; },
                        deadlineIn(8s)))
      << remora.logs();
}

}  // namespace
}  // namespace remora::harness
