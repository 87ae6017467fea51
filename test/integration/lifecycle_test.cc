// remora's lifecycle: SIGHUP reloads (and rejects bad files), the file registry is followed, and
// SIGTERM drains in-flight requests before a clean exit.
#include <signal.h>

#include <chrono>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

constexpr char kDirectConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        direct_response: {status: 200, body: "{{body}}"}
)";

std::string directConfig(const std::string& body) {
  return render(kDirectConfig, {{"body", body}});
}

TEST(Lifecycle, SighupAppliesAChangedRoute) {
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig("v1")));
  uint16_t port = remora.port("edge");
  EXPECT_EQ(httpGet(port, "/").body, "v1");
  HttpClient kept(port);  // a connection from before the reload
  EXPECT_EQ(kept.request("GET", "/").status, 200);

  remora.reload(directConfig("v2"));
  EXPECT_TRUE(waitUntil([&] { return httpGet(port, "/").body == "v2"; }, deadlineIn(5s)));
  // A reload keeps listeners and existing connections.
  HttpResponse again = kept.request("GET", "/");
  EXPECT_EQ(again.status, 200) << again;
  EXPECT_TRUE(remora.running());
}

TEST(Lifecycle, EditingTheConfigFileReloadsWithoutASignal) {
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig("v1")));
  uint16_t port = remora.port("edge");
  EXPECT_EQ(httpGet(port, "/").body, "v1");
  HttpClient kept(port);
  EXPECT_EQ(kept.request("GET", "/").status, 200);

  // Replaced by rename, as editors and Kubernetes config maps do; no SIGHUP is sent.
  writeFile(remora.configPath(), directConfig("v2"));
  EXPECT_TRUE(waitUntil([&] { return httpGet(port, "/").body == "v2"; }, deadlineIn(5s)))
      << remora.logs();
  EXPECT_EQ(kept.request("GET", "/").body, "v2");
}

TEST(Lifecycle, SighupWithAnInvalidFileKeepsTheOldConfig) {
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig("v1")));
  uint16_t port = remora.port("edge");

  std::string invalid = directConfig("v2") + "    bogus_key: 1\n";
  remora.reload(invalid);
  // The rejection is logged with the error (which names the unknown key).
  EXPECT_TRUE(waitUntil([&] { return remora.logs().find("bogus_key") != std::string::npos; },
                        deadlineIn(3s)))
      << remora.logs();
  for (int i = 0; i < 10; ++i) {
    HttpResponse r = httpGet(port, "/");
    EXPECT_EQ(r.status, 200) << r;
    EXPECT_EQ(r.body, "v1");
  }
  EXPECT_TRUE(remora.running());
  EXPECT_EQ(remora.adminGet("/ready").status, 200);

  // And a good file after the bad one is applied.
  remora.reload(directConfig("v3"));
  EXPECT_TRUE(waitUntil([&] { return httpGet(port, "/").body == "v3"; }, deadlineIn(5s)));
}

TEST(Lifecycle, FileRegistryChangeMovesTrafficWithinASecond) {
  ScriptedUpstream a(ScriptedUpstream::respondWith(200, "a"));
  ScriptedUpstream b(ScriptedUpstream::respondWith(200, "b"));
  Remora remora;
  std::filesystem::path registry = remora.dir().file("endpoints.yaml");
  writeFile(registry, "users:\n  - {address: \"" + a.address() + "\", weight: 1}\n");
  ASSERT_TRUE(remora.start(render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
registry:
  file: {path: "{{registry}}"}
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: users
clusters:
  - name: users
    service: users
)",
                                  {{"registry", registry.string()}})));
  uint16_t port = remora.port("edge");
  EXPECT_EQ(httpGet(port, "/").body, "a");

  writeFile(registry, "users:\n  - {address: \"" + b.address() + "\", weight: 1}\n");
  EXPECT_TRUE(waitUntil([&] { return httpGet(port, "/").body == "b"; }, deadlineIn(1s)))
      << "still routed to the old endpoint after 1 s";
}

TEST(Lifecycle, SigtermFinishesTheRequestInFlightThenExitsZero) {
  Event request_arrived;
  Event release;
  ScriptedUpstream slow([&](UpstreamConnection& c) {
    if (!c.readRequest()) return;
    request_arrived.set();
    release.wait(deadlineIn(5s));
    c.respond(200, "done");
  });
  Remora remora;
  ASSERT_TRUE(remora.start(render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
lifecycle: {drain_timeout: 5s}
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: slow
clusters:
  - name: slow
    endpoints: ["{{slow}}"]
)",
                                  {{"slow", slow.address()}})));
  HttpClient client(remora.port("edge"));
  ASSERT_TRUE(client.send(formatRequest("GET", "/slow")));
  ASSERT_TRUE(request_arrived.wait(deadlineIn(2s)));

  ASSERT_TRUE(remora.signal(SIGTERM));
  // Draining: /ready stops saying 200 (503, or refused once the admin listener is closed).
  EXPECT_TRUE(waitUntil([&] { return remora.adminGet("/ready").status != 200; }, deadlineIn(2s)));
  EXPECT_TRUE(remora.running()) << "exited with a request in flight";

  release.set();
  HttpResponse r = client.readResponse(deadlineIn(3s));
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.body, "done");
  EXPECT_EQ(remora.waitExit(deadlineIn(5s)), 0);
}

// A sidecar's inbound listener closes after drain_delay, but the app's way out stays open while
// the app finishes its own in-flight work, which may still call its upstreams.
TEST(Lifecycle, TheAppsOutboundListenerStaysOpenThroughTheDrain) {
  Event request_arrived;
  Event release;
  ScriptedUpstream app([&](UpstreamConnection& c) {
    if (!c.readRequest()) return;
    request_arrived.set();
    release.wait(deadlineIn(5s));
    c.respond(200, "done");
  });
  const uint16_t inbound_port = freePort();
  Remora remora;
  ASSERT_TRUE(remora.start(
      render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
service: {name: orders, port: {{inbound_port}}}
lifecycle: {drain_delay: 0s, drain_timeout: 5s}
listeners:
  - name: inbound
    address: "127.0.0.1:{{inbound_port}}"
    routes:
      - match: {prefix: /}
        cluster: app
  - name: outbound
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        direct_response: {status: 200, body: upstream}
clusters:
  - name: app
    endpoints: ["{{app}}"]
)",
             {{"app", app.address()}, {"inbound_port", std::to_string(inbound_port)}})));
  const uint16_t outbound = remora.port("outbound");
  HttpClient client(inbound_port);
  ASSERT_TRUE(client.send(formatRequest("GET", "/work")));
  ASSERT_TRUE(request_arrived.wait(deadlineIn(2s)));

  ASSERT_TRUE(remora.signal(SIGTERM));
  ASSERT_TRUE(waitUntil(
      [&] {
        HttpClient probe;
        return !probe.connect(inbound_port, deadlineIn(50ms));
      },
      deadlineIn(2s)))
      << "the inbound listener still accepts";
  // The app, still busy with that request, calls out: new connections are taken.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(httpGet(outbound, "/").body, "upstream");

  release.set();
  EXPECT_EQ(client.readResponse(deadlineIn(3s)).body, "done");
  EXPECT_EQ(remora.waitExit(deadlineIn(5s)), 0);
}

TEST(Lifecycle, SigtermWhenIdleClosesKeepAlivesAndExitsZero) {
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig("v1")));
  HttpClient idle(remora.port("edge"));
  EXPECT_EQ(idle.request("GET", "/").status, 200);
  auto before = Clock::now();
  ASSERT_TRUE(remora.signal(SIGTERM));
  EXPECT_TRUE(idle.waitClosed(deadlineIn(3s))) << "idle keep-alive connection left open";
  EXPECT_EQ(remora.waitExit(deadlineIn(3s)), 0);
  EXPECT_LT(Clock::now() - before, 3s);
}

}  // namespace
}  // namespace remora::harness
