// ring_hash and maglev in real remoras: two remoras send every key to the same endpoint, an
// endpoint that fails its health check loses only its own keys (and gets them back), and a
// made-up cookie pins a client that had no key.
#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <string>

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
        hash: [{header: x-user}, {cookie: {name: sid, ttl: 1h}}]
clusters:
  - name: app
    lb: {{lb}}
    outlier_detection: off
    health_check: {path: /health, interval: 100ms, timeout: 100ms}
    endpoints: [{{endpoints}}]
)";

constexpr size_t kEndpoints = 5;

// Five upstreams answering their name, each with a health the test sets.
struct HashedApp {
  std::array<std::atomic<int>, kEndpoints> health{200, 200, 200, 200, 200};
  std::vector<std::unique_ptr<ScriptedUpstream>> upstreams;

  HashedApp() {
    for (size_t i = 0; i < kEndpoints; ++i) {
      upstreams.push_back(std::make_unique<ScriptedUpstream>(
          ScriptedUpstream::named(std::string(1, static_cast<char>('a' + i)), health[i])));
    }
  }
  std::string config(const std::string& lb) const {
    std::string endpoints;
    for (const auto& upstream : upstreams) {
      endpoints += (endpoints.empty() ? "\"" : ", \"") + upstream->address() + "\"";
    }
    return render(kConfig, {{"lb", lb}, {"endpoints", endpoints}});
  }
};

// Which upstream answers each of 200 users through `remora`.
std::map<int, std::string> placeUsers(Remora& remora) {
  HttpClient client(remora.port("edge"));
  std::map<int, std::string> out;
  for (int user = 0; user < 200; ++user) {
    HttpResponse r =
        client.request("GET", "/", {{"host", "app"}, {"x-user", std::to_string(user)}});
    out[user] = r.status == 200 ? r.body : "status " + std::to_string(r.status);
  }
  return out;
}

class ConsistentHashing : public ::testing::TestWithParam<std::string> {};

TEST_P(ConsistentHashing, TwoRemorasSendEveryKeyToTheSameEndpoint) {
  HashedApp app;
  Remora first;
  Remora second;
  ASSERT_TRUE(first.start(app.config(GetParam())));
  ASSERT_TRUE(second.start(app.config(GetParam())));
  const std::map<int, std::string> placed = placeUsers(first);
  EXPECT_EQ(placeUsers(second), placed);
  EXPECT_EQ(placeUsers(first), placed);
  std::map<std::string, int> per_endpoint;
  for (const auto& [user, endpoint] : placed) ++per_endpoint[endpoint];
  EXPECT_EQ(per_endpoint.size(), kEndpoints) << ::testing::PrintToString(per_endpoint);
}

TEST_P(ConsistentHashing, AnUnhealthyEndpointLosesOnlyItsOwnKeysAndGetsThemBack) {
  HashedApp app;
  Remora remora;
  ASSERT_TRUE(remora.start(app.config(GetParam())));
  const std::map<int, std::string> before = placeUsers(remora);
  app.health[1] = 503;  // "b"
  const std::string b = app.upstreams[1]->address();
  ASSERT_TRUE(
      waitUntil([&] { return remora.endpoint("app", b)["healthy"] == false; }, deadlineIn(10s)));
  const std::map<int, std::string> during = placeUsers(remora);
  for (const auto& [user, endpoint] : before) {
    if (endpoint == "b") {
      EXPECT_NE(during.at(user), "b") << "user " << user;
      EXPECT_EQ(during.at(user).size(), 1u) << during.at(user);
    } else {
      EXPECT_EQ(during.at(user), endpoint) << "user " << user;
    }
  }
  app.health[1] = 200;
  ASSERT_TRUE(
      waitUntil([&] { return remora.endpoint("app", b)["healthy"] == true; }, deadlineIn(10s)));
  EXPECT_EQ(placeUsers(remora), before);
}

TEST_P(ConsistentHashing, AClientWithoutAKeyGetsACookieThatPinsIt) {
  HashedApp app;
  Remora remora;
  ASSERT_TRUE(remora.start(app.config(GetParam())));
  HttpClient client(remora.port("edge"));
  HttpResponse first = client.request("GET", "/", {{"host", "app"}});
  ASSERT_EQ(first.status, 200) << first;
  const std::string set_cookie = first.headers.get("set-cookie").value_or("");
  ASSERT_TRUE(set_cookie.starts_with("sid=")) << first;
  EXPECT_NE(set_cookie.find("Max-Age=3600"), std::string::npos) << set_cookie;
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  for (int i = 0; i < 20; ++i) {
    HttpResponse again = client.request("GET", "/", {{"host", "app"}, {"cookie", cookie}});
    EXPECT_EQ(again.body, first.body);
    EXPECT_FALSE(again.headers.get("set-cookie").has_value());
  }
}

TEST_P(ConsistentHashing, ClustersShowEachEndpointsShareAndExplainShowsWhereAKeyLands) {
  HashedApp app;
  Remora remora;
  ASSERT_TRUE(remora.start(app.config(GetParam())));
  double total = 0;
  for (const auto& upstream : app.upstreams) {
    const double share =
        remora.endpoint("app", upstream->address()).value("hash_share_percent", 0.0);
    // Equal weights: about a fifth each.
    EXPECT_NEAR(share, 20, 8) << upstream->address();
    total += share;
  }
  EXPECT_NEAR(total, 100, 0.1);
  const std::map<int, std::string> placed = placeUsers(remora);
  for (int user : {3, 77, 150}) {
    HttpResponse r = remora.adminGet("/explain?listener=edge&path=/&host=app&header=x-user:" +
                                     std::to_string(user));
    ASSERT_EQ(r.status, 200) << r;
    const nlohmann::json target = nlohmann::json::parse(r.body)["action"]["targets"][0];
    const size_t where = static_cast<size_t>(placed.at(user)[0] - 'a');
    EXPECT_EQ(target["pick"], app.upstreams[where]->address()) << target;
    EXPECT_TRUE(target["hash"]["value"].is_string()) << target;
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, ConsistentHashing, ::testing::Values("ring_hash", "maglev"));

}  // namespace
}  // namespace remora::harness
