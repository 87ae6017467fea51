// Configuration from Consul's KV store in real remoras against a real Consul agent: a route
// changed in the key is served by three remoras within a second, a bad value changes nothing and
// is counted, and a remora started while the registry is down serves the cached value.
#include <stdlib.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "integration/harness/consul.h"
#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

// The bootstrap file: admin, the registry, and the key the rest comes from.
constexpr char kBootstrap[] = R"(admin: {address: "127.0.0.1:0"}
workers: 2
registry:
  consul: {address: "{{consul}}"}
config_source:
  consul: {key: remora/edge}
  cache: "{{cache}}"
)";

// What the key holds, for the whole fleet: one listener answering `body` itself, on the port each
// instance's environment gives (they share a host here).
std::string value(const std::string& body) {
  return render(R"(listeners:
  - name: edge
    address: "127.0.0.1:${EDGE_PORT}"
    routes:
      - match: {prefix: /}
        direct_response: {status: 200, body: "{{body}}"}
)",
                {{"body", body}});
}

// The body `port` answers with; "" when nothing answers 200.
std::string served(uint16_t port) {
  HttpResponse r = httpGet(port, "/", {{"host", "edge"}});
  return r.status == 200 ? r.body : "";
}

struct SourceFixture {
  ConsulAgent consul;
  TempDir cache_dir;
  std::vector<uint16_t> ports;
  std::vector<std::unique_ptr<Remora>> remoras;

  bool put(const std::string& text) {
    return consul.request("PUT", "/v1/kv/remora/edge", text) == 200;
  }
  // Starts remora `i` on its own port and cache file.
  ::testing::AssertionResult start(size_t i) {
    while (ports.size() <= i) ports.push_back(freePort());
    while (remoras.size() <= i) remoras.push_back(nullptr);
    remoras[i] = std::make_unique<Remora>();
    // The child takes the environment as it is when it starts.
    setenv("EDGE_PORT", std::to_string(ports[i]).c_str(), 1);
    return remoras[i]->start(render(
        kBootstrap, {{"consul", consul.address()},
                     {"cache", cache_dir.file("cache-" + std::to_string(i) + ".yaml").string()}}));
  }
  bool allServe(const std::string& body, Deadline deadline) {
    return waitUntil(
        [&] {
          for (uint16_t port : ports) {
            if (served(port) != body) return false;
          }
          return true;
        },
        deadline);
  }
  double reloads(size_t i, const std::string& result) {
    return metricValue(remoras[i]->adminGet("/metrics").body, "remora_config_reloads_total",
                       {{"result", result}});
  }
};

TEST(ConfigSource, ARouteChangedInTheKeyIsServedWithinASecondOnThreeRemoras) {
  SourceFixture f;
  ASSERT_TRUE(f.put(value("one")));
  for (size_t i = 0; i < 3; ++i) ASSERT_TRUE(f.start(i));
  ASSERT_TRUE(f.allServe("one", deadlineIn(10s))) << f.remoras[0]->logs();
  ASSERT_TRUE(f.put(value("two")));
  EXPECT_TRUE(f.allServe("two", deadlineIn(1s))) << f.remoras[0]->logs();
  // Connections and the listener stayed: the port never stopped answering.
  EXPECT_NE(f.remoras[0]->logs().find("consul key remora/edge changed"), std::string::npos)
      << f.remoras[0]->logs();
}

TEST(ConfigSource, ABadValueChangesNothingAndIsReportedWithItsPlace) {
  SourceFixture f;
  ASSERT_TRUE(f.put(value("good")));
  ASSERT_TRUE(f.start(0));
  ASSERT_TRUE(f.allServe("good", deadlineIn(10s))) << f.remoras[0]->logs();
  ASSERT_TRUE(f.put("listeners:\n  - name: edge\n    address: nowhere\n"));
  ASSERT_TRUE(waitUntil([&] { return f.reloads(0, "rejected") >= 1; }, deadlineIn(10s)))
      << f.remoras[0]->logs();
  EXPECT_EQ(served(f.ports[0]), "good");
  EXPECT_NE(f.remoras[0]->logs().find("consul key remora/edge:3:14"), std::string::npos)
      << f.remoras[0]->logs();
  // A good value afterwards applies.
  ASSERT_TRUE(f.put(value("better")));
  EXPECT_TRUE(f.allServe("better", deadlineIn(5s))) << f.remoras[0]->logs();
}

TEST(ConfigSource, ARemoraStartedWhileTheRegistryIsDownServesTheCachedValue) {
  SourceFixture f;
  ASSERT_TRUE(f.put(value("cached")));
  ASSERT_TRUE(f.start(0));
  ASSERT_TRUE(f.allServe("cached", deadlineIn(10s))) << f.remoras[0]->logs();
  f.consul.kill();
  // Killed, it keeps serving; restarted, it serves what it cached.
  EXPECT_EQ(served(f.ports[0]), "cached");
  f.remoras[0].reset();
  ASSERT_TRUE(f.start(0));
  EXPECT_TRUE(f.allServe("cached", deadlineIn(10s))) << f.remoras[0]->logs();
  EXPECT_NE(f.remoras[0]->logs().find("starting from the value cached at"), std::string::npos)
      << f.remoras[0]->logs();
}

}  // namespace
}  // namespace remora::harness
