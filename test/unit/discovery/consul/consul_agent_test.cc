// The consul provider and registrar against a real Consul agent (-dev) run by the test: what
// they see and do as services come and go, checks fail, and the agent dies and comes back.
#include "test/unit/discovery/consul/consul_agent.h"

#include <event2/http.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "discovery/consul/consul_provider.h"
#include "discovery/consul/consul_registrar.h"
#include "discovery/provider_factory.h"

namespace remora::discovery::consul {
namespace {

using consultest::fetchNow;
using consultest::runUntil;
using json = nlohmann::json;
using std::chrono::milliseconds;

class ConsulAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (tls()) {
      tls_dir_ =
          std::filesystem::path(::testing::TempDir()) / ("consul-tls-" + std::to_string(getpid()));
      std::filesystem::remove_all(tls_dir_);
      std::filesystem::create_directories(tls_dir_);
      ASSERT_EQ(agent_.enableTls(tls_dir_), "");
    }
    const std::string error = agent_.start();
    ASSERT_EQ(error, "");
    config_.address = agent_.address();
    config_.wait = milliseconds(10000);  // longer than any wait here: replies come from changes
  }
  void TearDown() override {
    provider_.reset();
    registrar_.reset();
    if (!tls_dir_.empty()) std::filesystem::remove_all(tls_dir_);
  }
  virtual bool tls() const { return false; }

  ProviderCallbacks callbacks() {
    ProviderCallbacks callbacks;
    callbacks.on_view = [this](RegistryView view) {
      ++views_;
      last_view_ = std::move(view);
    };
    callbacks.on_error = [this](const std::string& error) {
      ++errors_;
      last_error_ = error;
    };
    return callbacks;
  }

  void startProvider(const std::set<std::string>& services) {
    provider_ = std::make_unique<ConsulProvider>(http_, config_, callbacks());
    provider_->watch(services);
  }

  // The service's endpoints in the last view; nullopt before the first view.
  std::optional<std::vector<RegistryEndpoint>> seen(const std::string& service) const {
    if (!last_view_) return std::nullopt;
    auto it = last_view_->services.find(service);
    if (it == last_view_->services.end()) return std::nullopt;
    return it->second;
  }

  bool waitFor(const std::function<bool()>& done, milliseconds limit = milliseconds(1000)) {
    return runUntil(base_.get(), done, limit);
  }

  // For state only the agent can be asked about: asks, then lets the loop run 50ms, until
  // `probe` holds or `limit` passes.
  bool eventually(const std::function<bool()>& probe, milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!probe()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      runUntil(
          base_.get(), [] { return false; }, milliseconds(50));
    }
    return true;
  }

  std::string url(const std::string& path) const { return agent_.address() + path; }

  // Registers an instance the way a peer's sidecar or the app itself would.
  void registerInstance(const std::string& id, uint16_t port, const std::string& version,
                        const std::string& status) {
    const json body = {{"ID", id},
                       {"Name", "users"},
                       {"Address", "127.0.0.1"},
                       {"Port", port},
                       {"Tags", {"http"}},
                       {"Meta", {{"version", version}}},
                       {"Check", {{"TTL", "30s"}, {"Status", status}}}};
    const HttpResponse response =
        fetchNow(http_, "PUT", url("/v1/agent/service/register"), body.dump());
    ASSERT_EQ(response.status, 200) << response.error << response.body;
  }

  json getJson(const std::string& path) {
    const HttpResponse response = fetchNow(http_, "GET", url(path));
    EXPECT_EQ(response.status, 200) << response.error << response.body;
    return json::parse(response.body, nullptr, false);
  }

  // The status of the registered instance's check as discovery reports it ("" when absent).
  std::string discoveredStatus(const std::string& service, const std::string& check_id) {
    const json entries = getJson("/v1/health/service/" + service);
    if (!entries.is_array()) return "";
    for (const json& entry : entries) {
      for (const json& check : entry["Checks"]) {
        if (check["CheckID"] == check_id) return check["Status"].get<std::string>();
      }
    }
    return "";
  }

  bool agentHasService(const std::string& id) { return getJson("/v1/agent/services").contains(id); }

  config::Service orders() const {
    config::Service service;
    service.name = "orders";
    service.id = "orders-1";
    service.address = "127.0.0.1";
    service.port = 15006;
    service.tags = {"http"};
    service.meta = {{"version", "v1"}};
    service.weight_passing = 10;
    service.weight_warning = 1;
    service.health.interval = milliseconds(1000);  // a TTL of 3s, refreshed every second
    return service;
  }

  std::unique_ptr<event_base, decltype(&event_base_free)> base_{event_base_new(), &event_base_free};
  HttpClient http_{base_.get()};
  consultest::ConsulAgent agent_{http_};
  config::ConsulRegistry config_;
  std::string tls_dir_;
  std::unique_ptr<RegistryProvider> provider_;
  std::unique_ptr<Registrar> registrar_;
  int views_ = 0;
  std::optional<RegistryView> last_view_;
  int errors_ = 0;
  std::string last_error_;
};

TEST_F(ConsulAgentTest, ProviderFollowsRegistrationsChecksAndDeregistrations) {
  config_.datacenter = "dc1";
  config_.stale = true;
  config_.token = "not-checked-without-acls";
  startProvider({"users"});
  ASSERT_TRUE(waitFor([&] { return seen("users").has_value(); }));
  EXPECT_TRUE(seen("users")->empty());
  EXPECT_EQ(last_view_->source, "consul");
  EXPECT_TRUE(provider_->status().healthy);

  registerInstance("users-1", 8081, "v1", "passing");
  ASSERT_TRUE(waitFor([&] { return seen("users")->size() == 1; })) << "not seen within 1s";
  RegistryEndpoint endpoint = seen("users")->front();
  EXPECT_EQ(endpoint.endpoint.address.text(), "127.0.0.1:8081");
  EXPECT_TRUE(endpoint.healthy);
  EXPECT_EQ(endpoint.endpoint.meta.at("version"), "v1");
  EXPECT_EQ(endpoint.endpoint.meta.at("tags"), "http");
  EXPECT_EQ(endpoint.endpoint.meta.at("node"), "test");

  const HttpResponse failed = fetchNow(http_, "PUT", url("/v1/agent/check/update/service:users-1"),
                                       R"({"Status":"critical","Output":"HTTP GET /health: 503"})");
  ASSERT_EQ(failed.status, 200) << failed.body;
  ASSERT_TRUE(waitFor([&] { return !seen("users")->front().healthy; }));
  EXPECT_EQ(seen("users")->front().health_reason,
            "consul: critical (service:users-1: HTTP GET /health: 503)");

  const int views_before = views_;
  const HttpResponse gone = fetchNow(http_, "PUT", url("/v1/agent/service/deregister/users-1"));
  ASSERT_EQ(gone.status, 200) << gone.body;
  ASSERT_TRUE(waitFor([&] { return seen("users")->empty(); }));
  EXPECT_EQ(views_, views_before + 1);
  EXPECT_EQ(errors_, 0) << last_error_;
}

TEST_F(ConsulAgentTest, ProviderFollowsTheWatchedSet) {
  registerInstance("users-1", 8081, "v1", "passing");
  startProvider({"users"});
  ASSERT_TRUE(waitFor([&] { return seen("users") && seen("users")->size() == 1; }));
  provider_->watch({"users", "orders"});
  ASSERT_TRUE(waitFor([&] { return seen("orders").has_value(); }));
  EXPECT_EQ(seen("users")->size(), 1u);
  provider_->watch({"orders"});
  EXPECT_FALSE(seen("users").has_value());
  EXPECT_TRUE(seen("orders").has_value());
  // Nothing changed: no new view.
  const int views_before = views_;
  provider_->watch({"orders"});
  EXPECT_EQ(views_, views_before);
}

TEST_F(ConsulAgentTest, ProviderKeepsTheLastViewWhileTheAgentIsDownAndRecovers) {
  registerInstance("users-1", 8081, "v1", "passing");
  startProvider({"users"});
  ASSERT_TRUE(waitFor([&] { return seen("users") && seen("users")->size() == 1; }));
  const int views_before = views_;

  agent_.kill();
  ASSERT_TRUE(waitFor([&] { return errors_ >= 2; }, milliseconds(5000)))
      << "the broken query and a retry should both have failed";
  EXPECT_EQ(views_, views_before);
  EXPECT_EQ(seen("users")->size(), 1u);
  EXPECT_FALSE(provider_->status().healthy);
  EXPECT_NE(provider_->status().last_error, "");
  EXPECT_EQ(last_error_.rfind("consul: users: ", 0), 0u) << last_error_;

  // A restarted dev agent has lost everything, and its index starts over lower than the last
  // one seen: the provider must read afresh instead of blocking on the old index.
  ASSERT_EQ(agent_.start(), "");
  registerInstance("users-2", 8082, "v2", "passing");
  ASSERT_TRUE(waitFor(
      [&] {
        return seen("users")->size() == 1 && seen("users")->front().endpoint.address.port == 8082;
      },
      milliseconds(8000)));
  EXPECT_TRUE(provider_->status().healthy);
}

TEST_F(ConsulAgentTest, RegistrarRegistersFollowsHealthAndDeregisters) {
  registrar_ = std::make_unique<ConsulRegistrar>(http_, config_, orders());
  int registered = 0;
  registrar_->start(AppHealth::Passing, [&] { ++registered; });
  ASSERT_TRUE(waitFor([&] { return registered == 1; }, milliseconds(3000)));
  EXPECT_TRUE(registrar_->status().healthy);

  const json services = getJson("/v1/agent/services");
  ASSERT_TRUE(services.contains("orders-1")) << services.dump();
  const json& service = services["orders-1"];
  EXPECT_EQ(service["Service"], "orders");
  EXPECT_EQ(service["Port"], 15006);
  EXPECT_EQ(service["Tags"], json({"http"}));
  EXPECT_EQ(service["Meta"], json({{"version", "v1"}}));
  EXPECT_EQ(service["Weights"], json({{"Passing", 10}, {"Warning", 1}}));
  const json checks = getJson("/v1/agent/checks");
  ASSERT_TRUE(checks.contains("service:orders-1")) << checks.dump();
  EXPECT_EQ(checks["service:orders-1"]["Type"], "ttl");
  // It started passing, as the app is, not critical as a new Consul check does.
  EXPECT_EQ(discoveredStatus("orders", "service:orders-1"), "passing");

  registrar_->setHealth(AppHealth::Critical);
  EXPECT_TRUE(
      eventually([&] { return discoveredStatus("orders", "service:orders-1") == "critical"; },
                 milliseconds(2000)));
  registrar_->setHealth(AppHealth::Warning);
  EXPECT_TRUE(
      eventually([&] { return discoveredStatus("orders", "service:orders-1") == "warning"; },
                 milliseconds(2000)));

  bool done = false;
  registrar_->deregister([&] { done = true; });
  ASSERT_TRUE(waitFor([&] { return done; }, milliseconds(4000)));
  EXPECT_FALSE(agentHasService("orders-1"));
  EXPECT_EQ(registered, 1);
}

TEST_F(ConsulAgentTest, RegistrarRestoresTheRegistrationAfterAnAgentRestart) {
  registrar_ = std::make_unique<ConsulRegistrar>(http_, config_, orders());
  int registered = 0;
  registrar_->start(AppHealth::Passing, [&] { ++registered; });
  ASSERT_TRUE(waitFor([&] { return registered == 1; }, milliseconds(3000)));

  agent_.kill();
  // The app's health changes while the agent is away; the restored registration carries it.
  registrar_->setHealth(AppHealth::Warning);
  ASSERT_TRUE(waitFor([&] { return !registrar_->status().healthy; }, milliseconds(3000)));
  ASSERT_EQ(agent_.start(), "");
  ASSERT_TRUE(waitFor([&] { return registered == 2; }, milliseconds(6000)));
  EXPECT_TRUE(agentHasService("orders-1"));
  EXPECT_TRUE(registrar_->status().healthy);
  EXPECT_TRUE(
      eventually([&] { return discoveredStatus("orders", "service:orders-1") == "warning"; },
                 milliseconds(2000)));

  // The agent losing just the service (an operator deregistered it) is noticed too.
  ASSERT_EQ(fetchNow(http_, "PUT", url("/v1/agent/service/deregister/orders-1")).status, 200);
  ASSERT_TRUE(waitFor([&] { return registered == 3; }, milliseconds(3000)));
  EXPECT_TRUE(agentHasService("orders-1"));
}

// An http check: the agent GETs the inbound listener's health path itself.
TEST_F(ConsulAgentTest, RegistrarWithAnHttpCheck) {
  int answer = 200;
  std::unique_ptr<evhttp, decltype(&evhttp_free)> server(evhttp_new(base_.get()), &evhttp_free);
  evhttp_set_gencb(
      server.get(),
      [](evhttp_request* request, void* status) {
        evhttp_send_reply(request, *static_cast<int*>(status), "", nullptr);
      },
      &answer);
  evhttp_bound_socket* bound = evhttp_bind_socket_with_handle(server.get(), "127.0.0.1", 0);
  ASSERT_NE(bound, nullptr);
  sockaddr_in address{};
  socklen_t length = sizeof(address);
  getsockname(evhttp_bound_socket_get_fd(bound), reinterpret_cast<sockaddr*>(&address), &length);

  config_.check = config::ConsulRegistry::Check::Http;
  config::Service service = orders();
  service.port = ntohs(address.sin_port);
  service.health.path = "/health";
  registrar_ = std::make_unique<ConsulRegistrar>(http_, config_, service);
  int registered = 0;
  // The app is not known healthy yet: the check starts critical and the agent's own GET
  // turns it passing.
  registrar_->start(AppHealth::Critical, [&] { ++registered; });
  ASSERT_TRUE(waitFor([&] { return registered == 1; }, milliseconds(3000)));
  const json checks = getJson("/v1/agent/checks");
  ASSERT_TRUE(checks.contains("service:orders-1")) << checks.dump();
  EXPECT_EQ(checks["service:orders-1"]["Type"], "http");
  EXPECT_TRUE(
      eventually([&] { return discoveredStatus("orders", "service:orders-1") == "passing"; },
                 milliseconds(4000)));
  answer = 503;
  EXPECT_TRUE(
      eventually([&] { return discoveredStatus("orders", "service:orders-1") == "critical"; },
                 milliseconds(4000)));

  // remora's own view reaches Consul as maintenance mode: on while critical, off when not.
  auto inMaintenance = [&] {
    return getJson("/v1/agent/checks").contains("_service_maintenance:orders-1");
  };
  EXPECT_TRUE(eventually(inMaintenance, milliseconds(3000)));
  registrar_->setHealth(AppHealth::Passing);
  EXPECT_TRUE(eventually([&] { return !inMaintenance(); }, milliseconds(3000)));
  registrar_->setHealth(AppHealth::Critical);
  EXPECT_TRUE(eventually(inMaintenance, milliseconds(3000)));
  registrar_->setHealth(AppHealth::Passing);
  EXPECT_TRUE(eventually([&] { return !inMaintenance(); }, milliseconds(3000)));

  // Without a TTL to refresh, a periodic lookup notices the agent lost the service.
  ASSERT_EQ(fetchNow(http_, "PUT", url("/v1/agent/service/deregister/orders-1")).status, 200);
  ASSERT_TRUE(waitFor([&] { return registered == 2; }, milliseconds(3000)));
  EXPECT_TRUE(agentHasService("orders-1"));
}

TEST_F(ConsulAgentTest, DeregisterIsBoundedWhenTheAgentIsGone) {
  registrar_ = std::make_unique<ConsulRegistrar>(http_, config_, orders());
  int registered = 0;
  registrar_->start(AppHealth::Passing, [&] { ++registered; });
  ASSERT_TRUE(waitFor([&] { return registered == 1; }, milliseconds(3000)));
  agent_.kill();
  bool done = false;
  registrar_->deregister([&] { done = true; });
  ASSERT_TRUE(waitFor([&] { return done; }, milliseconds(4000)));
}

// The factory loads the TLS settings; a bad CA file leaves a provider that keeps failing (and
// says so) rather than no provider at all.
TEST_F(ConsulAgentTest, FactoryWithABadCaFileReportsErrors) {
  config::Registry registry;
  registry.consul = config_;
  registry.consul->address = "https://127.0.0.1:1";
  registry.consul->tls.ca = "/nonexistent/ca.pem";
  provider_ = makeProvider(registry, http_, callbacks());
  ASSERT_NE(provider_, nullptr);
  provider_->watch({"users"});
  ASSERT_TRUE(waitFor([&] { return errors_ > 0 && seen("users").has_value(); }));
  EXPECT_EQ(last_error_, "consul: users: https needs TLS settings");
}

class ConsulTlsAgentTest : public ConsulAgentTest {
 protected:
  bool tls() const override { return true; }
};

// Over HTTPS, with the CA checked and a client certificate the agent requires.
TEST_F(ConsulTlsAgentTest, ProviderAndRegistrarOverTls) {
  config::Registry registry;
  registry.consul = config_;
  registry.consul->address = agent_.httpsAddress();
  registry.consul->tls.ca = agent_.caFile();
  registry.consul->tls.cert = agent_.clientCert();
  registry.consul->tls.key = agent_.clientKey();
  provider_ = makeProvider(registry, http_, callbacks());
  ASSERT_NE(provider_, nullptr);
  provider_->watch({"orders"});
  registrar_ = makeRegistrar(registry, orders(), http_);
  ASSERT_NE(registrar_, nullptr);
  int registered = 0;
  registrar_->start(AppHealth::Passing, [&] { ++registered; });
  ASSERT_TRUE(waitFor([&] { return registered == 1; }, milliseconds(3000)))
      << registrar_->status().last_error;
  ASSERT_TRUE(waitFor([&] { return seen("orders") && seen("orders")->size() == 1; }))
      << last_error_;
  EXPECT_TRUE(seen("orders")->front().healthy);
  EXPECT_EQ(errors_, 0) << last_error_;

  // The name checked can be another of the certificate's.
  registry.consul->tls.server_name = "server.dc1.consul";
  registrar_.reset();
  last_view_.reset();
  provider_ = makeProvider(registry, http_, callbacks());
  provider_->watch({"orders"});
  ASSERT_TRUE(waitFor([&] { return seen("orders") && seen("orders")->size() == 1; }))
      << last_error_;
  EXPECT_EQ(errors_, 0) << last_error_;

  // A CA the agent's certificate does not chain to is refused.
  const std::string other = tls_dir_ + "/other";
  std::filesystem::create_directories(other);
  consultest::ConsulAgent unused(http_);
  ASSERT_EQ(unused.enableTls(other), "");
  registry.consul->tls.ca = unused.caFile();
  registry.consul->tls.server_name.clear();
  provider_ = makeProvider(registry, http_, callbacks());
  errors_ = 0;
  provider_->watch({"orders"});
  ASSERT_TRUE(waitFor([&] { return errors_ > 0; })) << "an unknown CA was accepted";
  EXPECT_EQ(last_error_, "consul: orders: TLS: unable to get local issuer certificate");

  // So are a name the certificate does not carry, and a missing client certificate.
  registry.consul->tls.ca = agent_.caFile();
  registry.consul->tls.server_name = "elsewhere.example";
  provider_ = makeProvider(registry, http_, callbacks());
  errors_ = 0;
  provider_->watch({"orders"});
  ASSERT_TRUE(waitFor([&] { return errors_ > 0; })) << "a wrong name was accepted";
  EXPECT_EQ(last_error_, "consul: orders: TLS: hostname mismatch");
  registry.consul->tls.server_name.clear();
  registry.consul->tls.cert.clear();
  registry.consul->tls.key.clear();
  provider_ = makeProvider(registry, http_, callbacks());
  errors_ = 0;
  provider_->watch({"orders"});
  ASSERT_TRUE(waitFor([&] { return errors_ > 0; })) << "no client certificate was accepted";
  EXPECT_NE(last_error_.find("consul: orders: TLS: "), std::string::npos) << last_error_;
}

}  // namespace
}  // namespace remora::discovery::consul
