// remora with a real etcd (Debian's 3.4): discovery by watch, self-registration under a lease,
// static stability when etcd dies, resync after compaction, and a three-member fail-over.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

// A sidecar: `inbound` fronts the local app, `outbound` calls the `users` service from etcd.
constexpr char kSidecar[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
service:
  name: orders
  id: orders-1
  port: {{inbound_port}}
  meta: {version: v1}
  {{app}}
registry:
  etcd: {endpoints: {{endpoints}}, prefix: /services/, lease_ttl: 3s{{etcd_tls}}}
lifecycle: {drain_delay: {{drain_delay}}, drain_timeout: 5s}
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
        retry: {attempts: 2, on: [connect-failure, reset]}
      - match: {prefix: /}
        cluster: users
        retry: {attempts: 2, on: [connect-failure, reset]}
clusters:
  - name: users
    service: users
)";

struct SidecarOptions {
  std::string app;  // a `app: ... health: ...` line, or ""
  std::string drain_delay = "0s";
  std::string etcd_tls{};  // ", ca: ..., cert: ..., key: ..." for an etcd over TLS
};

std::string sidecarConfig(const Etcd& etcd, const SidecarOptions& options = {}) {
  return render(kSidecar, {{"endpoints", etcd.yamlEndpoints()},
                           {"inbound_port", std::to_string(freePort())},
                           {"app", options.app},
                           {"drain_delay", options.drain_delay},
                           {"etcd_tls", options.etcd_tls}});
}

std::string instance(const std::string& address, const std::string& version = "v1") {
  return nlohmann::json{{"Addr", address}, {"Metadata", {{"version", version}}}}.dump();
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

TEST(Etcd, RegistersItselfUnderALeaseAndRevokesItOnSigterm) {
  Etcd etcd;
  Remora remora;
  ASSERT_TRUE(remora.start(sidecarConfig(etcd)));
  ASSERT_TRUE(waitUntil([&] { return remora.adminGet("/ready").status == 200; }, deadlineIn(5s)))
      << remora.adminGet("/ready").body;
  std::optional<std::string> value = etcd.get("/services/orders/orders-1");
  ASSERT_TRUE(value.has_value()) << remora.logs();
  auto published = nlohmann::json::parse(*value);
  EXPECT_EQ(published["Addr"], "127.0.0.1:" + std::to_string(remora.port("inbound")));
  EXPECT_EQ(published["Metadata"]["version"], "v1");
  EXPECT_EQ(published["Metadata"]["health"], "passing");
  auto clusters = nlohmann::json::parse(remora.adminGet("/clusters").body);
  EXPECT_EQ(clusters["registry"]["kind"], "etcd");
  EXPECT_EQ(clusters["registry"]["registration"]["healthy"], true);

  ASSERT_TRUE(remora.signal(SIGTERM));
  EXPECT_EQ(remora.waitExit(deadlineIn(10s)), 0);
  EXPECT_FALSE(etcd.get("/services/orders/orders-1").has_value());
}

TEST(Etcd, AnEndpointAddedIsRoutedWithinASecondAndOneRemovedIsNot) {
  Etcd etcd;
  ScriptedUpstream a(ScriptedUpstream::respondWith(200, "a"));
  ScriptedUpstream b(ScriptedUpstream::respondWith(200, "b"));
  Remora remora;
  ASSERT_TRUE(remora.start(sidecarConfig(etcd)));
  const uint16_t port = remora.port("outbound");
  EXPECT_EQ(httpGet(port, "/").status, 503);  // nothing registered yet

  ASSERT_TRUE(etcd.put("/services/users/a", instance(a.address())));
  const auto put_at = Clock::now();
  ASSERT_TRUE(waitUntil([&] { return httpGet(port, "/").body == "a"; }, deadlineIn(5s)))
      << remora.logs();
  EXPECT_LT(Clock::now() - put_at, 1s);

  ASSERT_TRUE(etcd.put("/services/users/b", instance(b.address())));
  ASSERT_TRUE(waitUntil([&] { return bodiesSeen(port, 4).size() == 2; }, deadlineIn(5s)));
  ASSERT_TRUE(etcd.del("/services/users/a"));
  const auto del_at = Clock::now();
  ASSERT_TRUE(waitUntil([&] { return bodiesSeen(port, 4) == std::set<std::string>{"200 b"}; },
                        deadlineIn(5s)));
  EXPECT_LT(Clock::now() - del_at, 1s);
  // A key of another service with the same prefix is not mistaken for one of `users`.
  ASSERT_TRUE(etcd.put("/services/users-admin/x", instance(a.address())));
  ASSERT_TRUE(etcd.put("/services/users/garbage", "not json"));
  ASSERT_TRUE(etcd.put("/services/users/c", instance(b.address(), "v2")));
  ASSERT_TRUE(waitUntil(
      [&] {
        auto clusters = nlohmann::json::parse(remora.adminGet("/clusters").body);
        return clusters["clusters"][0]["endpoints"].size() == 2;
      },
      deadlineIn(5s)));
  EXPECT_EQ(bodiesSeen(port, 4), std::set<std::string>{"200 b"});
  EXPECT_NE(remora.logs().find("/services/users/garbage"), std::string::npos);
}

TEST(Etcd, ASubsetSelectsInstancesByTheirMetadata) {
  Etcd etcd;
  ScriptedUpstream v1(ScriptedUpstream::respondWith(200, "v1"));
  ScriptedUpstream v2(ScriptedUpstream::respondWith(200, "v2"));
  ASSERT_TRUE(etcd.put("/services/users/one", instance(v1.address(), "v1")));
  ASSERT_TRUE(etcd.put("/services/users/two", instance(v2.address(), "v2")));
  Remora remora;
  ASSERT_TRUE(remora.start(sidecarConfig(etcd)));
  const uint16_t port = remora.port("outbound");
  ASSERT_TRUE(waitUntil([&] { return bodiesSeen(port, 4).size() == 2; }, deadlineIn(5s)));
  EXPECT_EQ(bodiesSeen(port, 6, {{"x-version", "v2"}}), std::set<std::string>{"200 v2"});
}

TEST(Etcd, OverTlsWithAClientCertificateItWatchesAndRegisters) {
  TestPki pki;
  Etcd etcd(1, EtcdTls{pki.ca(), pki.server().cert, pki.server().key, pki.client().cert,
                       pki.client().key});
  ScriptedUpstream a(ScriptedUpstream::respondWith(200, "a"));
  Remora remora;
  SidecarOptions options;
  options.etcd_tls =
      ", ca: " + pki.ca() + ", cert: " + pki.client().cert + ", key: " + pki.client().key;
  ASSERT_TRUE(remora.start(sidecarConfig(etcd, options)));
  ASSERT_TRUE(waitUntil([&] { return remora.adminGet("/ready").status == 200; }, deadlineIn(10s)))
      << remora.adminGet("/ready").body << remora.logs();
  EXPECT_TRUE(etcd.get("/services/orders/orders-1").has_value());
  ASSERT_TRUE(etcd.put("/services/users/a", instance(a.address())));
  const uint16_t port = remora.port("outbound");
  EXPECT_TRUE(waitUntil([&] { return httpGet(port, "/").body == "a"; }, deadlineIn(5s)))
      << remora.logs();

  // Without its client certificate, or trusting another CA, remora is refused and says why.
  for (const std::string& settings :
       {", ca: " + pki.ca(),
        ", ca: " + pki.otherCa() + ", cert: " + pki.client().cert + ", key: " + pki.client().key}) {
    Remora refused;
    SidecarOptions refused_options;
    refused_options.etcd_tls = settings;
    ASSERT_TRUE(refused.start(sidecarConfig(etcd, refused_options)));
    ASSERT_TRUE(waitUntil(
        [&] {
          auto clusters = nlohmann::json::parse(refused.adminGet("/clusters").body);
          return clusters["registry"]["watch"].value("last_error", "").find("TLS") !=
                 std::string::npos;
        },
        deadlineIn(10s)))
        << settings << "\n"
        << refused.adminGet("/clusters").body;
    EXPECT_EQ(refused.adminGet("/ready").status, 503);
  }
}

TEST(Etcd, TrafficFlowsWhileEtcdIsDownAndRegistrationComesBackWithIt) {
  Etcd etcd;
  ScriptedUpstream a(ScriptedUpstream::respondWith(200, "a"));
  ASSERT_TRUE(etcd.put("/services/users/a", instance(a.address())));
  Remora remora;
  ASSERT_TRUE(remora.start(sidecarConfig(etcd)));
  const uint16_t port = remora.port("outbound");
  ASSERT_TRUE(waitUntil([&] { return httpGet(port, "/").body == "a"; }, deadlineIn(5s)));
  ASSERT_TRUE(
      waitUntil([&] { return etcd.get("/services/orders/orders-1").has_value(); }, deadlineIn(5s)));

  etcd.kill(0);
  // Static stability: the last good view stays, and the failure is reported.
  ASSERT_TRUE(waitUntil(
      [&] {
        auto clusters = nlohmann::json::parse(remora.adminGet("/clusters").body);
        return clusters["registry"]["watch"]["healthy"] == false;
      },
      deadlineIn(10s)))
      << remora.logs();
  for (int i = 0; i < 20; ++i) ASSERT_EQ(httpGet(port, "/").body, "a");
  EXPECT_GT(metricValue(remora.adminGet("/metrics").body, "remora_registry_errors_total",
                        {{"registry", "etcd"}}),
            0);
  EXPECT_EQ(metricValue(remora.adminGet("/metrics").body, "remora_cluster_endpoints",
                        {{"cluster", "users"}, {"health", "healthy"}}),
            1);

  // etcd comes back empty (restored from nothing): remora registers again, and the view
  // follows the new store.
  etcd.restart(0, /*wipe=*/true);
  ASSERT_TRUE(etcd.waitHealthy(deadlineIn(10s)));
  ASSERT_TRUE(
      waitUntil([&] { return etcd.get("/services/orders/orders-1").has_value(); }, deadlineIn(15s)))
      << remora.logs();
  ScriptedUpstream b(ScriptedUpstream::respondWith(200, "b"));
  ASSERT_TRUE(etcd.put("/services/users/b", instance(b.address())));
  EXPECT_TRUE(waitUntil([&] { return bodiesSeen(port, 4) == std::set<std::string>{"200 b"}; },
                        deadlineIn(10s)))
      << remora.logs();
}

TEST(Etcd, AWatchResumingFromACompactedRevisionReadsEverythingAgain) {
  Etcd etcd;
  ScriptedUpstream a(ScriptedUpstream::respondWith(200, "a"));
  ScriptedUpstream b(ScriptedUpstream::respondWith(200, "b"));
  ASSERT_TRUE(etcd.put("/services/users/a", instance(a.address())));
  Remora remora;
  ASSERT_TRUE(remora.start(sidecarConfig(etcd)));
  const uint16_t port = remora.port("outbound");
  ASSERT_TRUE(waitUntil([&] { return httpGet(port, "/").body == "a"; }, deadlineIn(5s)));

  // Frozen, remora does not see its watch break with the restart, nor the changes and the
  // compaction after it; thawed, it resumes from a revision etcd no longer has.
  ASSERT_TRUE(remora.signal(SIGSTOP));
  etcd.kill(0);
  etcd.restart(0);
  ASSERT_TRUE(etcd.waitHealthy(deadlineIn(10s)));
  ASSERT_TRUE(etcd.put("/services/users/b", instance(b.address())));
  ASSERT_TRUE(etcd.del("/services/users/a"));
  ASSERT_TRUE(etcd.compact(etcd.revision()));
  ASSERT_TRUE(remora.signal(SIGCONT));
  EXPECT_TRUE(waitUntil([&] { return bodiesSeen(port, 4) == std::set<std::string>{"200 b"}; },
                        deadlineIn(10s)))
      << remora.logs();
  EXPECT_NE(remora.logs().find("compacted"), std::string::npos) << remora.logs();
}

TEST(Etcd, KillingTheLeaderOfThreeMembersDoesNotInterruptRouting) {
  Etcd etcd(3);
  ScriptedUpstream a(ScriptedUpstream::respondWith(200, "a"));
  ASSERT_TRUE(etcd.put("/services/users/a", instance(a.address())));
  Remora remora;
  ASSERT_TRUE(remora.start(sidecarConfig(etcd)));
  const uint16_t port = remora.port("outbound");
  ASSERT_TRUE(waitUntil([&] { return remora.adminGet("/ready").status == 200; }, deadlineIn(5s)));

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::thread load([&] {
    while (!stop.load()) {
      HttpResponse response = httpGet(port, "/");
      (response.status == 200 ? ok : failed)++;
    }
  });
  std::optional<size_t> leader = etcd.leader();
  ASSERT_TRUE(leader.has_value());
  etcd.kill(*leader);
  // The survivors elect a new leader; a new instance written there reaches remora.
  ScriptedUpstream b(ScriptedUpstream::respondWith(200, "b"));
  ASSERT_TRUE(waitUntil([&] { return etcd.put("/services/users/b", instance(b.address())); },
                        deadlineIn(10s)));
  EXPECT_TRUE(waitUntil([&] { return bodiesSeen(port, 4).size() == 2; }, deadlineIn(10s)))
      << remora.logs();
  stop = true;
  load.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  // The lease lives on through the new leader.
  EXPECT_TRUE(etcd.get("/services/orders/orders-1").has_value());
}

// The local app's health, as remora's checks see it, decides whether peers find it.
TEST(Etcd, AnUnhealthyAppIsWithdrawnFromTheRegistryAndComesBackWhenHealthy) {
  Etcd etcd;
  std::atomic<int> app_status{503};
  ScriptedUpstream app([&](UpstreamConnection& connection) {
    while (connection.readRequest()) connection.respond(app_status.load(), "app");
  });
  Remora remora;
  ASSERT_TRUE(remora.start(
      sidecarConfig(etcd, {.app = "app: " + app.address() +
                                  "\n  health: {path: /health, interval: 100ms, timeout: 100ms, "
                                  "healthy_threshold: 1, unhealthy_threshold: 2}",
                           .drain_delay = "0s"})));
  // STARTING until the app answers its health check; nothing registered meanwhile.
  HttpResponse starting = remora.adminGet("/ready");
  EXPECT_EQ(starting.status, 503);
  EXPECT_NE(starting.body.find("STARTING"), std::string::npos) << starting.body;
  EXPECT_FALSE(etcd.get("/services/orders/orders-1").has_value());

  app_status = 200;
  ASSERT_TRUE(waitUntil([&] { return remora.adminGet("/ready").status == 200; }, deadlineIn(5s)))
      << remora.logs();
  EXPECT_TRUE(etcd.get("/services/orders/orders-1").has_value());

  app_status = 500;
  ASSERT_TRUE(
      waitUntil([&] { return !etcd.get("/services/orders/orders-1").has_value(); }, deadlineIn(5s)))
      << remora.logs();
  HttpResponse unhealthy = remora.adminGet("/ready");
  EXPECT_EQ(unhealthy.status, 503);
  EXPECT_NE(unhealthy.body.find("APP UNHEALTHY"), std::string::npos) << unhealthy.body;

  app_status = 200;
  EXPECT_TRUE(
      waitUntil([&] { return etcd.get("/services/orders/orders-1").has_value(); }, deadlineIn(5s)));
}

// The sidecar story end to end: a client's remora routes to two instances of `orders`; one is
// a remora that drains on SIGTERM. The client sees no failure: the draining instance leaves
// the registry first and keeps serving for drain_delay while peers learn of it.
TEST(Etcd, SigtermUnderLoadLosesNoRequest) {
  Etcd etcd;
  ScriptedUpstream other(ScriptedUpstream::respondWith(200, "other"));
  ASSERT_TRUE(etcd.put("/services/orders/other", instance(other.address())));
  Remora draining;
  ASSERT_TRUE(draining.start(sidecarConfig(etcd, {.app = "", .drain_delay = "1s"})));
  ASSERT_TRUE(waitUntil([&] { return draining.adminGet("/ready").status == 200; }, deadlineIn(5s)));

  Remora client;
  ASSERT_TRUE(client.start(render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
registry:
  etcd: {endpoints: {{endpoints}}}
listeners:
  - name: outbound
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: orders
clusters:
  - name: orders
    service: orders
)",
                                  {{"endpoints", etcd.yamlEndpoints()}})));
  const uint16_t port = client.port("outbound");
  ASSERT_TRUE(waitUntil([&] { return bodiesSeen(port, 4).size() == 2; }, deadlineIn(5s)));

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::thread load([&] {
    while (!stop.load()) {
      HttpResponse response = httpGet(port, "/");
      (response.status == 200 ? ok : failed)++;
    }
  });
  ASSERT_TRUE(waitUntil([&] { return ok.load() > 50; }, deadlineIn(5s)));
  ASSERT_TRUE(draining.signal(SIGTERM));
  EXPECT_EQ(draining.waitExit(deadlineIn(10s)), 0) << draining.logs();
  const int at_exit = ok.load();
  ASSERT_TRUE(waitUntil([&] { return ok.load() > at_exit + 50; }, deadlineIn(5s)));
  stop = true;
  load.join();
  EXPECT_EQ(failed.load(), 0) << client.logs();
  EXPECT_EQ(bodiesSeen(port, 4), std::set<std::string>{"200 other"});
}

}  // namespace
}  // namespace remora::harness
