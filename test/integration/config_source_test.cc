// Configuration from the registry's KV store in real remoras, against a real Consul agent and a
// real etcd: a route changed in the key is served by three remoras within a second, a bad value
// changes nothing and is counted, and a remora started while the registry is down serves the
// cached value.
#include <stdlib.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "integration/harness/certs.h"
#include "integration/harness/consul.h"
#include "integration/harness/etcd.h"
#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

// The bootstrap file: admin, the registry, and the key the rest comes from.
constexpr char kBootstrap[] = R"(admin: {address: "127.0.0.1:0"}
workers: 2
registry:
  {{registry}}
config_source:
  {{source}}
  cache: "{{cache}}"
)";

// The service's key, and instance one's own key (merged over it), without the store's prefix.
constexpr char kKey[] = "remora/edge";
constexpr char kInstanceKey[] = "remora/edge/instances/one";

// A registry that holds the keys: its settings in a bootstrap file, and its own client's writes.
class Store {
 public:
  virtual ~Store() = default;
  virtual std::string registry() const = 0;
  // "consul" or "etcd": the config_source block's store, and the command line's --from-...
  virtual std::string kind() const = 0;
  // A key as the store spells it (etcd's start with '/').
  virtual std::string key(const std::string& name) const = 0;
  virtual bool put(const std::string& key, const std::string& value) = 0;
  virtual bool del(const std::string& key) = 0;
  virtual void kill() = 0;

  bool put(const std::string& value) { return put(key(kKey), value); }
  // config_source's store block: the service's key, and with `instance` the instance key too.
  std::string source(bool instance) const {
    return kind() + ": {key: " + key(kKey) +
           (instance ? ", instance_key: " + key(kInstanceKey) : std::string()) + "}";
  }
};

class ConsulStore : public Store {
 public:
  std::string registry() const override {
    return "consul: {address: \"" + agent_.address() + "\"}";
  }
  std::string kind() const override { return "consul"; }
  std::string key(const std::string& name) const override { return name; }
  bool put(const std::string& key, const std::string& value) override {
    return agent_.request("PUT", "/v1/kv/" + key, value) == 200;
  }
  bool del(const std::string& key) override {
    return agent_.request("DELETE", "/v1/kv/" + key) == 200;
  }
  void kill() override { agent_.kill(); }

 private:
  ConsulAgent agent_;
};

class EtcdStore : public Store {
 public:
  std::string registry() const override {
    return "etcd: {endpoints: " + etcd_.yamlEndpoints() + "}";
  }
  std::string kind() const override { return "etcd"; }
  std::string key(const std::string& name) const override { return "/" + name; }
  bool put(const std::string& key, const std::string& value) override {
    return etcd_.put(key, value);
  }
  bool del(const std::string& key) override { return etcd_.del(key); }
  void kill() override { etcd_.kill(0); }

 private:
  Etcd etcd_;
};

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
  std::unique_ptr<Store> store;
  TempDir cache_dir;
  std::vector<uint16_t> ports;
  std::vector<std::unique_ptr<Remora>> remoras;

  explicit SourceFixture(const std::string& kind) {
    if (kind == "consul") {
      store = std::make_unique<ConsulStore>();
    } else {
      store = std::make_unique<EtcdStore>();
    }
  }
  bool put(const std::string& text) { return store->put(text); }
  // Starts remora `i` on its own port and cache file.
  // With `instance`, its bootstrap names the instance key too.
  ::testing::AssertionResult start(size_t i, bool instance = false) {
    while (ports.size() <= i) ports.push_back(freePort());
    while (remoras.size() <= i) remoras.push_back(nullptr);
    remoras[i] = std::make_unique<Remora>();
    // The child takes the environment as it is when it starts.
    setenv("EDGE_PORT", std::to_string(ports[i]).c_str(), 1);
    return remoras[i]->start(render(
        kBootstrap, {{"registry", store->registry()},
                     {"source", store->source(instance)},
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

class ConfigSource : public ::testing::TestWithParam<std::string> {};

TEST_P(ConfigSource, ARouteChangedInTheKeyIsServedWithinASecondOnThreeRemoras) {
  SourceFixture f(GetParam());
  ASSERT_TRUE(f.put(value("one")));
  for (size_t i = 0; i < 3; ++i) ASSERT_TRUE(f.start(i));
  ASSERT_TRUE(f.allServe("one", deadlineIn(10s))) << f.remoras[0]->logs();
  HttpClient kept(f.ports[0]);
  ASSERT_EQ(kept.request("GET", "/", {{"host", "edge"}}).body, "one");
  ASSERT_TRUE(f.put(value("two")));
  EXPECT_TRUE(f.allServe("two", deadlineIn(1s))) << f.remoras[0]->logs();
  // Applied like a reload: a connection open across the change goes on, on the new route.
  EXPECT_EQ(kept.request("GET", "/", {{"host", "edge"}}).body, "two");
  EXPECT_NE(f.remoras[0]->logs().find(" key " + f.store->key(kKey) + " changed"), std::string::npos)
      << f.remoras[0]->logs();
}

TEST_P(ConfigSource, ABadValueChangesNothingAndIsReportedWithItsPlace) {
  SourceFixture f(GetParam());
  ASSERT_TRUE(f.put(value("good")));
  ASSERT_TRUE(f.start(0));
  ASSERT_TRUE(f.allServe("good", deadlineIn(10s))) << f.remoras[0]->logs();
  ASSERT_TRUE(f.put("listeners:\n  - name: edge\n    address: nowhere\n"));
  ASSERT_TRUE(waitUntil([&] { return f.reloads(0, "rejected") >= 1; }, deadlineIn(10s)))
      << f.remoras[0]->logs();
  EXPECT_EQ(served(f.ports[0]), "good");
  const nlohmann::json rejected =
      nlohmann::json::parse(f.remoras[0]->adminGet("/config_dump").body)["origin"]["last_rejected"];
  EXPECT_NE(rejected.dump().find(":3:14: address"), std::string::npos) << rejected;
  const std::string key = GetParam() + " key " + f.store->key(kKey);
  EXPECT_NE(f.remoras[0]->logs().find(key + ":3:14"), std::string::npos) << f.remoras[0]->logs();
  // A good value afterwards applies.
  ASSERT_TRUE(f.put(value("better")));
  EXPECT_TRUE(f.allServe("better", deadlineIn(5s))) << f.remoras[0]->logs();
}

TEST_P(ConfigSource, ARemoraStartedWhileTheRegistryIsDownServesTheCachedValue) {
  SourceFixture f(GetParam());
  ASSERT_TRUE(f.put(value("cached")));
  ASSERT_TRUE(f.start(0));
  ASSERT_TRUE(f.allServe("cached", deadlineIn(10s))) << f.remoras[0]->logs();
  f.store->kill();
  // Killed, it keeps serving; restarted, it serves what it cached.
  EXPECT_EQ(served(f.ports[0]), "cached");
  f.remoras[0].reset();
  ASSERT_TRUE(f.start(0));
  EXPECT_TRUE(f.allServe("cached", deadlineIn(10s))) << f.remoras[0]->logs();
  EXPECT_NE(f.remoras[0]->logs().find("starting from the value cached at"), std::string::npos)
      << f.remoras[0]->logs();
  // Ready, and saying where its config came from.
  HttpResponse ready = f.remoras[0]->adminGet("/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_NE(ready.body.find("serving the config cached at"), std::string::npos) << ready.body;
  EXPECT_EQ(
      nlohmann::json::parse(
          f.remoras[0]->adminGet("/config_dump").body)["origin"]["config_source"]["value_from"],
      "cache");
}

TEST_P(ConfigSource, ValidateChecksWhatTheKeyHoldsAndPushWritesOnlyAValidValue) {
  SourceFixture f(GetParam());
  ASSERT_TRUE(f.put(value("first")));
  ASSERT_TRUE(f.start(0));
  ASSERT_TRUE(f.allServe("first", deadlineIn(10s))) << f.remoras[0]->logs();
  const std::string boot = f.remoras[0]->configPath().string();
  const std::string key = f.store->key(kKey);
  auto remora = [](std::vector<std::string> args) {
    args.insert(args.begin(), remoraBinary());
    return runCommand(args, deadlineIn(10s));
  };
  CommandResult stored = remora({"validate", boot, "--from-" + GetParam(), key});
  EXPECT_EQ(stored.exit_code, 0) << stored.err;
  EXPECT_NE(stored.out.find(": ok"), std::string::npos) << stored.out;
  // A bad value is refused before it reaches the key.
  writeFile(f.cache_dir.file("bad.yaml"), "listeners:\n  - name: edge\n    address: nowhere\n");
  CommandResult refused =
      remora({"config", "push", f.cache_dir.file("bad.yaml").string(), "-c", boot});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("bad.yaml:3:14: address"), std::string::npos) << refused.err;
  EXPECT_EQ(served(f.ports[0]), "first");
  // A good one is checked, written, and served.
  writeFile(f.cache_dir.file("good.yaml"), value("pushed"));
  CommandResult pushed =
      remora({"config", "push", f.cache_dir.file("good.yaml").string(), "-c", boot});
  EXPECT_EQ(pushed.exit_code, 0) << pushed.err;
  EXPECT_TRUE(f.allServe("pushed", deadlineIn(5s))) << f.remoras[0]->logs();
  CommandResult missing = remora({"validate", boot, "--from-" + GetParam(), key + "-nowhere"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;
}

TEST_P(ConfigSource, ACanaryDefinedInTheKeyRunsLikeOneFromAFile) {
  SourceFixture f(GetParam());
  ScriptedUpstream v1(ScriptedUpstream::respondWith(200, "v1"));
  ScriptedUpstream v2(ScriptedUpstream::respondWith(200, "v2"));
  ASSERT_TRUE(f.put(render(R"(listeners:
  - name: edge
    address: "127.0.0.1:${EDGE_PORT}"
    routes:
      - name: users
        match: {prefix: /}
        cluster: users
clusters:
  - name: users
    outlier_detection: off
    endpoints:
      - {address: "{{v1}}", meta: {version: v1}}
      - {address: "{{v2}}", meta: {version: v2}}
canaries:
  - name: users-v2
    route: users
    cluster: users
    baseline: {version: v1}
    canary: {version: v2}
    steps: [50]
    step_interval: 1s
    min_requests: 30
)",
                           {{"v1", v1.address()}, {"v2", v2.address()}})));
  ASSERT_TRUE(f.start(0));
  HttpClient client(f.ports[0]);
  nlohmann::json canary = nlohmann::json::object();
  const Deadline deadline = deadlineIn(60s);
  while (Clock::now() < deadline && canary.value("state", "") != "promoted") {
    for (int i = 0; i < 20; ++i) {
      if (!client.request("GET", "/", {{"host", "users"}}).ok()) client.connect(f.ports[0]);
    }
    canary = f.remoras[0]->canary("users-v2");
    if (canary.is_null()) canary = nlohmann::json::object();
  }
  ASSERT_EQ(canary.value("state", ""), "promoted") << canary.dump(2) << f.remoras[0]->logs();
  EXPECT_EQ(client.request("GET", "/", {{"host", "users"}}).body, "v2");
}

TEST_P(ConfigSource, AnInstanceKeyOverridesTheServicesKeyForThatInstanceOnly) {
  SourceFixture f(GetParam());
  ASSERT_TRUE(f.put(value("shared")));
  ASSERT_TRUE(f.store->put(f.store->key(kInstanceKey), value("mine")));
  ASSERT_TRUE(f.start(0));
  ASSERT_TRUE(f.start(1, /*instance=*/true));
  ASSERT_TRUE(
      waitUntil([&] { return served(f.ports[0]) == "shared" && served(f.ports[1]) == "mine"; },
                deadlineIn(10s)))
      << f.remoras[1]->logs();
  const nlohmann::json origin =
      nlohmann::json::parse(f.remoras[1]->adminGet("/config_dump").body)["origin"];
  EXPECT_EQ(origin["config_source"]["instance_merge"],
            nlohmann::json::array({"listeners/edge: replaced"}))
      << origin;
  // A change of the service's key reaches both; the override still wins on its instance.
  ASSERT_TRUE(f.put(value("shared-2")));
  ASSERT_TRUE(waitUntil([&] { return served(f.ports[0]) == "shared-2"; }, deadlineIn(5s)));
  EXPECT_EQ(served(f.ports[1]), "mine");
  // The override removed: the instance follows the service's key again.
  ASSERT_TRUE(f.store->del(f.store->key(kInstanceKey)));
  EXPECT_TRUE(waitUntil([&] { return served(f.ports[1]) == "shared-2"; }, deadlineIn(5s)))
      << f.remoras[1]->logs();
}

INSTANTIATE_TEST_SUITE_P(Stores, ConfigSource, ::testing::Values("consul", "etcd"));

// A remora whose registry block (`registry_open`, then "}") lacks `credentials` is refused: it
// logs `refusal` and serves nothing. One with them serves `body` from the key, and `secret` never
// shows in its /config_dump.
void expectTheKeyNeedsCredentials(const std::string& registry_open, const std::string& source,
                                  const std::string& credentials, const std::string& secret,
                                  const std::string& refusal, const std::string& body) {
  TempDir dir;
  auto bootstrap = [&](const std::string& added, const std::string& cache) {
    return render(kBootstrap, {{"registry", registry_open + added + "}"},
                               {"source", source},
                               {"cache", dir.file(cache).string()}});
  };
  const uint16_t refused_port = freePort();
  setenv("EDGE_PORT", std::to_string(refused_port).c_str(), 1);
  Remora refused;
  ASSERT_TRUE(refused.start(bootstrap("", "refused.yaml")));
  ASSERT_TRUE(
      waitUntil([&] { return refused.logs().find(refusal) != std::string::npos; }, deadlineIn(10s)))
      << refused.logs();
  EXPECT_EQ(served(refused_port), "");
  const uint16_t port = freePort();
  setenv("EDGE_PORT", std::to_string(port).c_str(), 1);
  Remora remora;
  ASSERT_TRUE(remora.start(bootstrap(credentials, "cache.yaml")));
  EXPECT_TRUE(waitUntil([&] { return served(port) == body; }, deadlineIn(10s))) << remora.logs();
  EXPECT_EQ(remora.adminGet("/config_dump").body.find(secret), std::string::npos);
}

// A Consul that enforces ACLs: the key is read with the registry's token, refused without it.
TEST(ConfigSourceWithAcl, AConsulKeyIsReadWithTheRegistrysTokenAndRefusedWithoutIt) {
  ConsulAgent consul("remora-test-management-token");
  ASSERT_EQ(consul.request("PUT", "/v1/kv/remora/edge", value("with token")), 200);
  expectTheKeyNeedsCredentials(
      "consul: {address: \"" + consul.address() + "\"", "consul: {key: remora/edge}",
      ", token: remora-test-management-token", "remora-test-management-token",
      "key remora/edge: HTTP 403", "with token");
}

// An etcd with authentication on: the key is read as the registry's user.
TEST(ConfigSourceWithAcl, AnEtcdKeyIsReadAsTheRegistrysUserAndRefusedWithoutOne) {
  Etcd etcd;
  ASSERT_TRUE(etcd.enableAuth("remora-test-password"));
  ASSERT_TRUE(etcd.put("/remora/edge", value("as root")));
  expectTheKeyNeedsCredentials("etcd: {endpoints: " + etcd.yamlEndpoints(),
                               "etcd: {key: /remora/edge}",
                               ", username: root, password: remora-test-password",
                               "remora-test-password", "the key /remora/edge: range", "as root");
}

// The key is reached as discovery reaches the registry: here etcd over TLS with a client
// certificate, the registry's own settings.
TEST(ConfigSourceOverTls, AnEtcdKeyIsReadAndWatchedWithTheRegistrysClientCertificate) {
  TestPki pki;
  Etcd etcd(1, EtcdTls{pki.ca(), pki.server().cert, pki.server().key, pki.client().cert,
                       pki.client().key});
  TempDir dir;
  const uint16_t port = freePort();
  setenv("EDGE_PORT", std::to_string(port).c_str(), 1);
  ASSERT_TRUE(etcd.put("/remora/edge", value("over tls")));
  Remora remora;
  ASSERT_TRUE(remora.start(
      render(kBootstrap,
             {{"registry", "etcd: {endpoints: " + etcd.yamlEndpoints() + ", ca: " + pki.ca() +
                               ", cert: " + pki.client().cert + ", key: " + pki.client().key + "}"},
              {"source", "etcd: {key: /remora/edge}"},
              {"cache", dir.file("cache.yaml").string()}})));
  ASSERT_TRUE(waitUntil([&] { return served(port) == "over tls"; }, deadlineIn(10s)))
      << remora.logs();
  ASSERT_TRUE(etcd.put("/remora/edge", value("still tls")));
  EXPECT_TRUE(waitUntil([&] { return served(port) == "still tls"; }, deadlineIn(5s)))
      << remora.logs();
  // Nothing secret in the dump: paths only.
  EXPECT_EQ(remora.adminGet("/config_dump").body.find("BEGIN"), std::string::npos);
}

}  // namespace
}  // namespace remora::harness
