// GET /explain on the admin listener of the real binary: the route a request would take and why
// the others did not, the split's effective weights, the endpoints' states and the pick; and real
// requests going where it said they would.
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

// shop's v2 fails its health check and panic is off, so the split sends v2's share to v1 and the
// route pinned to v2 answers 503; v3 has no endpoint at all. legacy's endpoints both fail theirs:
// under its panic threshold, it balances over both.
constexpr char kConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    virtual_hosts:
      - name: shop
        domains: [shop.example, "*.shop.example"]
        routes:
          - name: canary-pin
            match: {prefix: /, headers: {x-canary: always}}
            cluster: shop
            subset: {version: v2}
          - name: item
            match: {regex: "/items/[0-9]+", methods: [GET, HEAD]}
            cluster: items
          - name: beta
            match: {prefix: /beta}
            cluster: shop
            subset: {version: v3}
          - name: legacy
            match: {prefix: /legacy}
            cluster: legacy
          - match: {prefix: /}
            split:
              - {cluster: shop, subset: {version: v1}, weight: 80}
              - {cluster: shop, subset: {version: v2}, weight: 20}
      - name: status
        domains: ["*"]
        routes:
          - match: {path: /teapot}
            direct_response: {status: 418, body: "short and stout\n"}
clusters:
  - name: shop
    lb: random
    panic_threshold: 0
    health_check: {path: /health, interval: 100ms, timeout: 100ms}
    endpoints:
      - {address: "{{v1}}", meta: {version: v1}}
      - {address: "{{v2}}", meta: {version: v2}}
  - name: items
    endpoints: ["{{items}}"]
  - name: legacy
    health_check: {path: /health, interval: 100ms, timeout: 100ms}
    endpoints: ["{{l1}}", "{{l2}}"]
)";

class Explain : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(remora_.start(render(kConfig, {{"v1", v1_.address()},
                                               {"v2", v2_.address()},
                                               {"items", items_.address()},
                                               {"l1", l1_.address()},
                                               {"l2", l2_.address()}})));
    // Every endpoint's first check result is in: v2, l1 and l2 are out.
    ASSERT_TRUE(waitUntil(
        [&] {
          return remora_.endpoint("shop", v1_.address())["health_check"] == "healthy (HTTP 200)" &&
                 remora_.endpoint("shop", v2_.address())["healthy"] == false &&
                 remora_.endpoint("legacy", l1_.address())["healthy"] == false &&
                 remora_.endpoint("legacy", l2_.address())["healthy"] == false;
        },
        deadlineIn(5s)))
        << remora_.adminGet("/clusters").body;
  }

  // /explain's JSON for `query`, with the status expected.
  nlohmann::json explain(const std::string& query, int status = 200) {
    HttpResponse r = remora_.adminGet("/explain?" + query);
    EXPECT_EQ(r.status, status) << r;
    EXPECT_EQ(r.headers.get("content-type").value_or(""), "application/json") << r;
    nlohmann::json body = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(body.is_discarded()) << "not JSON: " << r.body;
    return body;
  }

  // What the data path answers: the upstream's name, or the status and body of a local reply.
  std::string send(std::string_view path, const HeaderList& headers) {
    HttpResponse r = httpRequest(remora_.port("edge"), "GET", path, headers);
    if (r.status == 200) return r.body;
    return std::to_string(r.status) + " " + r.body;
  }

  std::atomic<int> up_{200};
  std::atomic<int> down_{503};
  ScriptedUpstream v1_{ScriptedUpstream::named("v1", up_)};
  ScriptedUpstream v2_{ScriptedUpstream::named("v2", down_)};
  ScriptedUpstream items_{ScriptedUpstream::named("items", up_)};
  ScriptedUpstream l1_{ScriptedUpstream::named("l1", down_)};
  ScriptedUpstream l2_{ScriptedUpstream::named("l2", down_)};
  Remora remora_;
};

TEST_F(Explain, BadQueriesAndMissingOrUnknownListenersAre400ListingTheListeners) {
  nlohmann::json unknown = explain("listener=nope&path=/", 400);
  EXPECT_EQ(unknown["error"], "unknown listener 'nope'") << unknown;
  EXPECT_EQ(unknown["listeners"], nlohmann::json({"edge"})) << unknown;
  nlohmann::json missing = explain("path=/", 400);
  EXPECT_EQ(missing["error"], "listener= is required") << missing;
  EXPECT_EQ(missing["listeners"], nlohmann::json({"edge"})) << missing;
  nlohmann::json bad = explain("listener=edge&header=x-canary&colour=red", 400);
  EXPECT_EQ(bad["error"],
            "header=x-canary: expected name:value (invalid character in field name); unknown "
            "parameter 'colour'; known: listener, path, method, host, client, header (name:value)")
      << bad;
  nlohmann::json refused = explain("listener=edge&path=/a%20b", 400);
  EXPECT_EQ(refused["error"],
            "path '/a b' holds a space, which splits a request line: remora answers 400")
      << refused;
}

TEST_F(Explain, BytesThatAreNotUtf8AreAnsweredAndEchoedReplaced) {
  // Percent-encoded: decoded, routed (the codec takes obs-text), and shown as U+FFFD.
  nlohmann::json body = explain("listener=edge&host=shop.example&path=/%FF&header=x-a:%FE");
  EXPECT_EQ(body["request"]["path"], "/\xEF\xBF\xBD") << body;
  EXPECT_EQ(body["request"]["headers"][0], nlohmann::json({"x-a", "\xEF\xBF\xBD"})) << body;
  EXPECT_EQ(body["outcome"]["result"], "proxied") << body;
  nlohmann::json error = explain("listener=%FF", 400);
  EXPECT_EQ(error["error"], "unknown listener '\xEF\xBF\xBD'") << error;
  // Raw in the request line: the admin answers, whatever it makes of them, and lives on.
  HttpResponse raw = remora_.adminGet("/explain?listener=edge&path=/\xFF\xFE");
  EXPECT_TRUE(raw.status == 200 || raw.status == 400) << raw;
  EXPECT_EQ(remora_.adminGet("/ready").status, 200);
}

TEST_F(Explain, ARegexRouteWithTheOthersReasonsAndThePickTheDataPathMakes) {
  nlohmann::json body = explain("listener=edge&path=/items/42&header=Host:api.shop.example:80");
  EXPECT_EQ(body["virtual_host"]["name"], "shop") << body;
  EXPECT_EQ(body["virtual_host"]["selected_by"], "suffix") << body;
  EXPECT_EQ(body["virtual_host"]["domain"], "*.shop.example") << body;
  EXPECT_EQ(body["route"]["name"], "item") << body;
  EXPECT_EQ(body["routes"][0]["why_not"],
            nlohmann::json({"header 'x-canary' is missing (wanted 'always')"}))
      << body;
  const nlohmann::json& target = body["action"]["targets"][0];
  EXPECT_EQ(target["cluster"], "items") << body;
  EXPECT_EQ(target["pick"], items_.address()) << body;
  EXPECT_EQ(send("/items/42", {{"Host", "api.shop.example:80"}}), "items");

  // Another method: the regex route's reasons, and the split catches it.
  nlohmann::json post = explain("listener=edge&method=POST&path=/items/x&host=shop.example");
  EXPECT_EQ(post["virtual_host"]["selected_by"], "exact") << post;
  EXPECT_EQ(post["routes"][1]["why_not"],
            nlohmann::json({"path '/items/x' does not fully match regex '/items/[0-9]+'",
                            "method 'POST' is not one of 'GET', 'HEAD'"}))
      << post;
  EXPECT_EQ(post["route"]["index"], 4) << post;
  nlohmann::json del = explain("listener=edge&method=DELETE&path=/items/7&host=shop.example");
  EXPECT_EQ(del["routes"][1]["why_not"],
            nlohmann::json({"method 'DELETE' is not one of 'GET', 'HEAD'"}))
      << del;
}

TEST_F(Explain, TheSplitsUnhealthySubsetGetsNoWeightAndEveryRequestGoesToTheOther) {
  nlohmann::json body = explain("listener=edge&path=/cart&host=shop.example");
  EXPECT_EQ(body["action"]["type"], "split") << body;
  const nlohmann::json& v1 = body["action"]["targets"][0];
  const nlohmann::json& v2 = body["action"]["targets"][1];
  EXPECT_EQ(v1["configured_weight"], 80) << body;
  EXPECT_EQ(v1["effective_weight"], 80) << body;
  EXPECT_EQ(v1["share_percent"], 100.0) << body;
  EXPECT_EQ(v1["lb"], "random") << body;
  ASSERT_EQ(v1["endpoints"].size(), 1u) << body;
  EXPECT_EQ(v1["endpoints"][0]["address"], v1_.address()) << body;
  EXPECT_TRUE(v1["endpoints"][0]["in_rotation"]) << body;
  EXPECT_EQ(v1["pick"], v1_.address()) << body;
  EXPECT_EQ(v2["configured_weight"], 20) << body;
  EXPECT_EQ(v2["effective_weight"], 0) << body;
  EXPECT_EQ(v2["share_percent"], 0.0) << body;
  EXPECT_EQ(v2["weight_note"],
            "no endpoint of this subset is healthy: its weight goes to the others")
      << body;
  ASSERT_EQ(v2["endpoints"].size(), 1u) << body;
  EXPECT_EQ(v2["endpoints"][0]["address"], v2_.address()) << body;
  EXPECT_FALSE(v2["endpoints"][0]["healthy"]) << body;
  EXPECT_FALSE(v2["endpoints"][0]["in_rotation"]) << body;
  EXPECT_EQ(v2["endpoints"][0]["reason"], "health check: HTTP 503") << body;
  EXPECT_TRUE(v2["pick"].is_null()) << body;
  EXPECT_EQ(body["outcome"]["result"], "proxied") << body;
  EXPECT_EQ(body["outcome"]["why"], "a pick now: " + v1_.address() + " (shop, 100%)") << body;
  for (int i = 0; i < 20; ++i) EXPECT_EQ(send("/cart", {{"Host", "shop.example"}}), "v1");
}

TEST_F(Explain, RoutesToSubsetsWithNoEndpointInRotationAre503AsTheDataPathSays) {
  nlohmann::json body =
      explain("listener=edge&path=/cart&host=shop.example&header=X-Canary:%20always");
  EXPECT_EQ(body["route"]["name"], "canary-pin") << body;
  EXPECT_TRUE(body["routes"][4]["matched"]) << body;
  EXPECT_FALSE(body["routes"][4]["chosen"]) << body;
  EXPECT_EQ(body["action"]["targets"][0]["no_pick"],
            "503: no endpoint of cluster 'shop' subset version=v2 is in rotation, and panic "
            "does not apply (panic_threshold is 0)")
      << body;
  EXPECT_EQ(body["outcome"]["status"], 503) << body;
  EXPECT_EQ(send("/cart", {{"Host", "shop.example"}, {"x-canary", "always"}}).substr(0, 3), "503");

  // The same header with another value: not pinned.
  nlohmann::json other = explain("listener=edge&path=/cart&host=shop.example&header=x-canary:no");
  EXPECT_EQ(other["routes"][0]["why_not"],
            nlohmann::json({"header 'x-canary' is 'no', not 'always'"}))
      << other;

  nlohmann::json beta = explain("listener=edge&path=/beta/x&host=shop.example");
  EXPECT_EQ(beta["route"]["name"], "beta") << beta;
  EXPECT_TRUE(beta["action"]["targets"][0]["endpoints"].empty()) << beta;
  EXPECT_EQ(beta["action"]["targets"][0]["no_pick"],
            "503: cluster 'shop' subset version=v3 has no endpoints")
      << beta;
  EXPECT_EQ(beta["outcome"]["result"], "no_healthy_upstream") << beta;
  EXPECT_EQ(send("/beta/x", {{"Host", "shop.example"}}).substr(0, 3), "503");
}

TEST_F(Explain, APanickingClusterPicksAmongItsUnhealthyEndpoints) {
  nlohmann::json body = explain("listener=edge&path=/legacy&host=shop.example");
  const nlohmann::json& target = body["action"]["targets"][0];
  EXPECT_TRUE(target["panic"]) << body;
  ASSERT_EQ(target["endpoints"].size(), 2u) << body;
  for (const auto& endpoint : target["endpoints"]) {
    EXPECT_FALSE(endpoint["healthy"]) << body;
    EXPECT_TRUE(endpoint["in_rotation"]) << body;
    EXPECT_EQ(endpoint["reason"], "in rotation (panic); health check: HTTP 503") << body;
  }
  const std::set<std::string> both = {l1_.address(), l2_.address()};
  EXPECT_TRUE(both.contains(target["pick"].get<std::string>())) << body;
  EXPECT_EQ(body["outcome"]["result"], "proxied") << body;
  const std::string answer = send("/legacy", {{"Host", "shop.example"}});
  EXPECT_TRUE(answer == "l1" || answer == "l2") << answer;
}

TEST_F(Explain, ADirectResponseOrNoRouteOnTheCatchAllHost) {
  nlohmann::json body = explain("listener=edge&path=/x/../teapot&host=elsewhere.example");
  EXPECT_EQ(body["virtual_host"]["name"], "status") << body;
  EXPECT_EQ(body["virtual_host"]["selected_by"], "*") << body;
  EXPECT_EQ(body["request"]["path"], "/teapot") << body;
  EXPECT_EQ(body["action"]["type"], "direct_response") << body;
  EXPECT_EQ(body["outcome"]["status"], 418) << body;
  EXPECT_EQ(send("/x/../teapot", {{"Host", "elsewhere.example"}}), "418 short and stout\n");

  nlohmann::json none = explain("listener=edge&path=/coffee&host=elsewhere.example");
  EXPECT_TRUE(none["route"].is_null()) << none;
  EXPECT_EQ(none["routes"][0]["why_not"],
            nlohmann::json({"path '/coffee' is not exactly '/teapot'"}))
      << none;
  EXPECT_EQ(none["outcome"]["status"], 404) << none;
  EXPECT_EQ(send("/coffee", {{"Host", "elsewhere.example"}}).substr(0, 3), "404");
}

}  // namespace
}  // namespace remora::harness
