// Tests of the /explain dry run on a snapshot: query errors, virtual host and route reasons, the
// split's effective weights, candidate endpoints and the pick.
#include "admin/explain.h"

#include <gtest/gtest.h>

#include "config/loader.h"
#include "discovery/snapshot_builder.h"

namespace remora::admin {
namespace {

constexpr char kConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
registry:
  file: {path: /nonexistent/endpoints.yaml}
listeners:
  - name: edge
    address: "127.0.0.1:0"
    trusted: false
    virtual_hosts:
      - name: users
        domains: [users, "*.users"]
        routes:
          - name: pinned
            match: {prefix: /, headers: {x-canary: always}}
            cluster: users
            subset: {version: v2}
          - match: {regex: "/users/[0-9]+", methods: [GET]}
            cluster: users
          - name: beta
            match: {prefix: /beta}
            cluster: users
            subset: {version: v3}
          - match: {prefix: /}
            split:
              - {cluster: users, subset: {version: v1}, weight: 90}
              - {cluster: users, subset: {version: v2}, weight: 10}
      - name: fallback
        domains: ["*"]
        routes:
          - match: {path: /teapot}
            direct_response: {status: 418, body: "short and stout"}
  - name: internal
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /x-remora}
        cluster: users
        subset: {version: v1}
      - match: {prefix: /, headers: {x-remora-test: "1"}}
        cluster: users
clusters:
  - name: users
    service: users
    lb: round_robin
)";

class ExplainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = config::loadConfigString(kConfig, "t.yaml");
    ASSERT_TRUE(config.ok()) << config.errors()[0].text();
    auto loaded = discovery::prepareConfig(*config);
    ASSERT_TRUE(loaded.ok()) << loaded.errors()[0].text();
    loaded_ = *loaded;
    // Two v1 endpoints, the second of which the registry has out; no v2 at all; one v3, out.
    discovery::RegistryView view;
    for (int i = 1; i <= 3; ++i) {
      discovery::RegistryEndpoint entry;
      entry.endpoint.address = {"10.0.0." + std::to_string(i), 80};
      entry.endpoint.meta = {{"version", i == 3 ? "v3" : "v1"}};
      entry.healthy = i == 1;
      entry.health_reason = i == 1 ? "" : "critical";
      view.services["users"].push_back(entry);
    }
    snapshot_ = discovery::buildSnapshot(loaded_, view, nullptr, nullptr, 7);
  }

  nlohmann::json ok(std::string_view query) {
    ExplainReply reply = explain(*snapshot_, query);
    EXPECT_EQ(reply.status, 200) << reply.body.dump(2);
    return reply.body;
  }

  std::shared_ptr<const LoadedConfig> loaded_;
  std::shared_ptr<const Snapshot> snapshot_;
};

TEST_F(ExplainTest, AMissingOrUnknownListenerIs400WithTheKnownOnes) {
  ExplainReply missing = explain(*snapshot_, "path=/");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.body["error"], "listener= is required");
  EXPECT_EQ(missing.body["listeners"], nlohmann::json({"edge", "internal"}));
  ExplainReply unknown = explain(*snapshot_, "listener=nope");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.body["error"], "unknown listener 'nope'");
  EXPECT_EQ(unknown.body["listeners"], nlohmann::json({"edge", "internal"}));
}

TEST_F(ExplainTest, BadQueriesAre400WithEveryProblem) {
  ExplainReply reply =
      explain(*snapshot_, "listener=edge&header=nocolon&color=red&method=GET&method=PUT");
  EXPECT_EQ(reply.status, 400);
  const std::string error = reply.body["error"];
  EXPECT_NE(error.find("header=nocolon: expected name:value (invalid character in field name)"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("unknown parameter 'color'"), std::string::npos) << error;
  EXPECT_NE(error.find("method= given more than once"), std::string::npos) << error;
  auto errorOf = [&](std::string_view query) {
    ExplainReply r = explain(*snapshot_, query);
    EXPECT_EQ(r.status, 400) << query;
    return r.body.value("error", "");
  };
  EXPECT_EQ(errorOf("listener=edge&header=x-a:1%0D%0Ax-b:2"), "header= holds a CR or LF");
  EXPECT_EQ(errorOf("listener=edge&client=somewhere"), "client 'somewhere' is not an IP");
  EXPECT_EQ(errorOf("listener=edge&host=a&header=Host:b"),
            "host= and header=host:... both given; one Host only");
  EXPECT_EQ(errorOf("header=x%20y:1"),
            "header=x y:1: expected name:value (whitespace before colon)");
  EXPECT_EQ(errorOf("listener"), "'listener' is not name=value");
  // What the codec refuses before routing, with the status it answers.
  EXPECT_EQ(errorOf("listener=edge&path=x"),
            "remora answers 'GET x' 400 (invalid request target) before routing it");
  EXPECT_EQ(errorOf("listener=edge&method=CONNECT"),
            "remora answers 'CONNECT /' 501 (CONNECT is not supported) before routing it");
  EXPECT_NE(errorOf("listener=edge&host=user@users").find("400"), std::string::npos);
  EXPECT_EQ(errorOf("listener=edge&method=G%20T"),
            "method 'G T' holds a space, which splits a request line: remora answers 400");
  EXPECT_EQ(errorOf("listener=edge&method=G%40T"),
            "remora answers 'G@T /' 400 (invalid method) before routing it");
  EXPECT_NE(errorOf("listener=edge&header=transfer-encoding:gzip").find("501"), std::string::npos);
}

TEST_F(ExplainTest, AHeaderRouteWinsAndItsEmptySubsetMeans503) {
  nlohmann::json body =
      ok("listener=edge&path=/users/1&header=Host:api.users:8080&header=x-canary:%20always");
  EXPECT_EQ(body["version"], 7);
  EXPECT_EQ(body["request"]["authority"], "api.users:8080");
  EXPECT_EQ(body["virtual_host"]["name"], "users");
  EXPECT_EQ(body["virtual_host"]["selected_by"], "suffix");
  EXPECT_EQ(body["virtual_host"]["domain"], "*.users");
  EXPECT_EQ(body["route"]["name"], "pinned");
  EXPECT_EQ(body["route"]["index"], 0);
  ASSERT_EQ(body["routes"].size(), 4u);
  EXPECT_TRUE(body["routes"][0]["chosen"]);
  EXPECT_TRUE(body["routes"][1]["matched"]);
  EXPECT_FALSE(body["routes"][1]["chosen"]);
  EXPECT_TRUE(body["routes"][1].contains("note"));
  const nlohmann::json& target = body["action"]["targets"][0];
  EXPECT_EQ(body["action"]["type"], "cluster");
  EXPECT_EQ(target["subset_label"], "version=v2");
  EXPECT_TRUE(target["endpoints"].empty());
  EXPECT_TRUE(target["pick"].is_null());
  EXPECT_EQ(target["no_pick"], "503: cluster 'users' subset version=v2 has no endpoints");
  EXPECT_EQ(body["outcome"]["status"], 503);
}

TEST_F(ExplainTest, ASubsetTheRegistryHasAllOutIs503EvenWithPanic) {
  nlohmann::json body = ok("listener=edge&host=users&path=/beta");
  EXPECT_EQ(body["route"]["name"], "beta");
  const nlohmann::json& target = body["action"]["targets"][0];
  ASSERT_EQ(target["endpoints"].size(), 1u);
  EXPECT_EQ(target["endpoints"][0]["address"], "10.0.0.3:80");
  EXPECT_FALSE(target["endpoints"][0]["in_rotation"]);
  EXPECT_EQ(target["no_pick"],
            "503: no endpoint of cluster 'users' subset version=v3 is in rotation, and panic does "
            "not apply (the registry has them all out)");
  EXPECT_EQ(body["outcome"]["result"], "no_healthy_upstream");
}

TEST_F(ExplainTest, TheSplitGivesAnEmptySubsetsWeightAwayAndPicksAHealthyEndpoint) {
  nlohmann::json body = ok("listener=edge&host=users&method=POST&path=/users/1");
  EXPECT_EQ(body["virtual_host"]["selected_by"], "exact");
  EXPECT_EQ(body["route"]["index"], 3);
  EXPECT_EQ(body["routes"][0]["why_not"],
            nlohmann::json({"header 'x-canary' is missing (wanted 'always')"}));
  EXPECT_EQ(body["routes"][1]["why_not"], nlohmann::json({"method 'POST' is not one of 'GET'"}));
  EXPECT_EQ(body["action"]["type"], "split");
  const nlohmann::json& v1 = body["action"]["targets"][0];
  const nlohmann::json& v2 = body["action"]["targets"][1];
  EXPECT_EQ(v1["configured_weight"], 90);
  EXPECT_EQ(v1["effective_weight"], 90);
  EXPECT_EQ(v1["share_percent"], 100.0);
  EXPECT_EQ(v2["configured_weight"], 10);
  EXPECT_EQ(v2["effective_weight"], 0);
  EXPECT_EQ(v2["share_percent"], 0.0);
  EXPECT_TRUE(v2.contains("weight_note"));
  EXPECT_EQ(v1["lb"], "round_robin");
  EXPECT_FALSE(v1["panic"]);
  ASSERT_EQ(v1["endpoints"].size(), 2u);
  EXPECT_EQ(v1["endpoints"][0]["address"], "10.0.0.1:80");
  EXPECT_TRUE(v1["endpoints"][0]["in_rotation"]);
  EXPECT_FALSE(v1["endpoints"][1]["healthy"]);
  EXPECT_FALSE(v1["endpoints"][1]["in_rotation"]);
  EXPECT_FALSE(v1["endpoints"][1].contains("ejected"));
  EXPECT_EQ(v1["endpoints"][1]["reason"], "registry: critical");
  EXPECT_EQ(v1["pick"], "10.0.0.1:80");
  EXPECT_EQ(body["outcome"]["result"], "proxied");
  EXPECT_EQ(body["outcome"]["why"], "a pick now: 10.0.0.1:80 (users, 100%)");
}

TEST_F(ExplainTest, DirectResponseOnTheCatchAllHost) {
  nlohmann::json body = ok("listener=edge&host=elsewhere&path=/a/../teapot");
  EXPECT_EQ(body["virtual_host"]["name"], "fallback");
  EXPECT_EQ(body["virtual_host"]["selected_by"], "*");
  EXPECT_EQ(body["request"]["path"], "/teapot");
  EXPECT_EQ(
      body["action"],
      nlohmann::json({{"type", "direct_response"}, {"status", 418}, {"body", "short and stout"}}));
  EXPECT_EQ(body["outcome"]["status"], 418);
  nlohmann::json none = ok("listener=edge&host=elsewhere&path=/coffee");
  EXPECT_TRUE(none["route"].is_null());
  EXPECT_EQ(none["routes"][0]["why_not"],
            nlohmann::json({"path '/coffee' is not exactly '/teapot'"}));
  EXPECT_EQ(none["outcome"]["status"], 404);
}

TEST_F(ExplainTest, MatchesWhatTheStreamMatchesAfterTheCodecsAndItsChanges) {
  // edge does not trust its clients: their x-remora-* headers are gone before matching; the
  // codec drops hop-by-hop fields; the stream adds the forwarding headers.
  nlohmann::json edge =
      ok("listener=edge&host=users&header=x-remora-test:1&header=Connection:x-gone"
         "&header=x-gone:1&header=te:trailers&client=10.1.2.3&header=x-forwarded-for:10.9.9.9");
  EXPECT_EQ(edge["request"]["headers"],
            nlohmann::json::parse(R"([["x-forwarded-for", "10.9.9.9, 10.1.2.3"],
                                      ["x-forwarded-proto", "http"]])"));
  EXPECT_EQ(edge["notes"][0],
            "hop-by-hop fields removed as the codec does: 'connection', "
            "'x-gone', 'te'");
  EXPECT_EQ(edge["notes"][1],
            "x-remora-* fields removed: listener 'edge' does not trust its "
            "clients");
  // internal is on loopback, so trusted: x-remora-test stays and selects its route.
  nlohmann::json internal = ok("listener=internal&header=x-remora-test:1&path=/y");
  EXPECT_EQ(internal["route"]["index"], 1);
  EXPECT_EQ(internal["virtual_host"]["name"], "internal");
  EXPECT_EQ(internal["request"]["headers"][0], nlohmann::json({"x-remora-test", "1"}));
  EXPECT_EQ(internal["request"]["headers"][1], nlohmann::json({"x-forwarded-for", "127.0.0.1"}));
  // An absolute-form target's authority wins, as on the data path.
  nlohmann::json absolute = ok("listener=edge&path=http://users:81/users/7&host=other");
  EXPECT_EQ(absolute["request"]["authority"], "users:81");
  EXPECT_EQ(absolute["virtual_host"]["name"], "users");
}

}  // namespace
}  // namespace remora::admin
