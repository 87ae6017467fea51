// remora's routing: path, header and method matches, virtual hosts, direct responses, weighted
// splits, subsets, load balancing and header rewriting.
#include <chrono>
#include <map>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

constexpr char kPrelude[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
)";

// Three upstreams that answer with their own name.
class Routing : public ::testing::Test {
 protected:
  ::testing::AssertionResult start(std::string_view yaml) {
    return remora_.start(render(std::string(kPrelude) + std::string(yaml),
                                {{"a", a_.address()}, {"b", b_.address()}, {"c", c_.address()}}));
  }

  // The name of the upstream that answered, or "<status>" for anything else.
  std::string who(std::string_view path, const HeaderList& headers = {},
                  std::string_view method = "GET") {
    HttpResponse r = httpRequest(remora_.port("edge"), method, path, headers);
    if (r.status == 200 && (r.body == "a" || r.body == "b" || r.body == "c")) return r.body;
    return std::to_string(r.status);
  }

  // How many of `n` requests on one keep-alive connection each upstream answered.
  std::map<std::string, int> distribution(int n, std::string_view path = "/") {
    std::map<std::string, int> counts;
    HttpClient client(remora_.port("edge"));
    for (int i = 0; i < n; ++i) {
      HttpResponse r = client.request("GET", path);
      counts[r.ok() ? r.body : "error " + std::to_string(r.status)]++;
    }
    return counts;
  }

  ScriptedUpstream a_{ScriptedUpstream::respondWith(200, "a")};
  ScriptedUpstream b_{ScriptedUpstream::respondWith(200, "b")};
  ScriptedUpstream c_{ScriptedUpstream::respondWith(200, "c")};
  Remora remora_;
};

constexpr char kClustersABC[] = R"(clusters:
  - name: a
    endpoints: ["{{a}}"]
  - name: b
    endpoints: ["{{b}}"]
  - name: c
    endpoints: ["{{c}}"]
)";

TEST_F(Routing, ExactRegexAndPrefixMatches) {
  ASSERT_TRUE(start(std::string(R"(listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {path: /exact}
        cluster: a
      - match: {regex: "/re/[0-9]+"}
        cluster: b
      - match: {prefix: /api}
        cluster: c
)") + kClustersABC));
  EXPECT_EQ(who("/exact"), "a");
  EXPECT_EQ(who("/exact/more"), "404");
  EXPECT_EQ(who("/re/123"), "b");
  EXPECT_EQ(who("/re/12x"), "404");  // the regex must match the whole path
  EXPECT_EQ(who("/api"), "c");
  EXPECT_EQ(who("/api/v1/users?x=1"), "c");
  EXPECT_EQ(who("/elsewhere"), "404");
}

TEST_F(Routing, NoMatchingRouteIs404) {
  ASSERT_TRUE(start(std::string(R"(listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /only}
        cluster: a
)") + kClustersABC));
  HttpResponse r = httpGet(remora_.port("edge"), "/nope");
  EXPECT_EQ(r.status, 404) << r;
  EXPECT_EQ(a_.requestCount(), 0u);
}

TEST_F(Routing, HeaderAndMethodMatches) {
  ASSERT_TRUE(start(std::string(R"(listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /, headers: {x-canary: always}}
        cluster: b
      - match: {prefix: /, method: POST}
        cluster: c
      - match: {prefix: /}
        cluster: a
)") + kClustersABC));
  EXPECT_EQ(who("/"), "a");
  EXPECT_EQ(who("/", {{"X-Canary", "always"}}), "b");
  EXPECT_EQ(who("/", {{"X-Canary", "sometimes"}}), "a");
  EXPECT_EQ(who("/", {}, "POST"), "c");
  EXPECT_EQ(who("/", {{"X-Canary", "always"}}, "POST"), "b");  // first match wins
}

TEST_F(Routing, VirtualHostsByDomain) {
  ASSERT_TRUE(start(std::string(R"(listeners:
  - name: edge
    address: "127.0.0.1:0"
    virtual_hosts:
      - name: api
        domains: [api.example.com]
        routes:
          - match: {prefix: /}
            cluster: a
      - name: wildcard
        domains: ["*.example.com"]
        routes:
          - match: {prefix: /}
            cluster: b
)") + kClustersABC));
  EXPECT_EQ(who("/", {{"Host", "api.example.com"}}), "a");
  EXPECT_EQ(who("/", {{"Host", "API.Example.COM"}}), "a");
  EXPECT_EQ(who("/", {{"Host", "www.example.com"}}), "b");
  EXPECT_EQ(who("/", {{"Host", "www.example.com:8080"}}), "b");  // the port is ignored
  EXPECT_EQ(who("/", {{"Host", "example.com"}}), "404");
  EXPECT_EQ(who("/", {{"Host", "other.org"}}), "404");
}

TEST_F(Routing, DirectResponse) {
  ASSERT_TRUE(start(std::string(R"(listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {path: /teapot}
        direct_response: {status: 418, body: "short and stout"}
      - match: {prefix: /}
        cluster: a
)") + kClustersABC));
  HttpResponse r = httpGet(remora_.port("edge"), "/teapot");
  EXPECT_EQ(r.status, 418) << r;
  EXPECT_EQ(r.body, "short and stout");
  EXPECT_EQ(a_.requestCount(), 0u);
  EXPECT_EQ(who("/other"), "a");
}

TEST_F(Routing, EvenSplitIsEvenWithinTolerance) {
  ASSERT_TRUE(start(std::string(R"(listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        split:
          - {cluster: a, weight: 50}
          - {cluster: b, weight: 50}
)") + kClustersABC));
  std::map<std::string, int> counts = distribution(200);
  // 100 each expected; +-30 is more than four standard deviations of a fair coin.
  EXPECT_EQ(counts["a"] + counts["b"], 200) << ::testing::PrintToString(counts);
  EXPECT_NEAR(counts["a"], 100, 30) << ::testing::PrintToString(counts);
  EXPECT_NEAR(counts["b"], 100, 30) << ::testing::PrintToString(counts);
}

constexpr char kVersionedCluster[] = R"(clusters:
  - name: users
    endpoints:
      - {address: "{{a}}", meta: {version: v1}}
      - {address: "{{b}}", meta: {version: v2}}
)";

TEST_F(Routing, SubsetsSelectEndpointsByMetadata) {
  ASSERT_TRUE(start(std::string(R"(listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /, headers: {x-canary: always}}
        cluster: users
        subset: {version: v2}
      - match: {prefix: /}
        cluster: users
        subset: {version: v1}
)") + kVersionedCluster));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(who("/"), "a");
    EXPECT_EQ(who("/", {{"X-Canary", "always"}}), "b");
  }
}

TEST_F(Routing, SplitAcrossSubsets) {
  ASSERT_TRUE(start(std::string(R"(listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        split:
          - {cluster: users, subset: {version: v1}, weight: 90}
          - {cluster: users, subset: {version: v2}, weight: 10}
)") + kVersionedCluster));
  std::map<std::string, int> counts = distribution(200);
  EXPECT_EQ(counts["a"] + counts["b"], 200) << ::testing::PrintToString(counts);
  EXPECT_NEAR(counts["b"], 20, 16) << ::testing::PrintToString(counts);
}

TEST_F(Routing, RoundRobinVisitsEveryEndpointInTurn) {
  ASSERT_TRUE(start(R"(listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: pool
clusters:
  - name: pool
    lb: round_robin
    endpoints: ["{{a}}", "{{b}}", "{{c}}"]
)"));
  std::map<std::string, int> counts = distribution(30);
  EXPECT_EQ(counts["a"], 10) << ::testing::PrintToString(counts);
  EXPECT_EQ(counts["b"], 10) << ::testing::PrintToString(counts);
  EXPECT_EQ(counts["c"], 10) << ::testing::PrintToString(counts);
}

TEST_F(Routing, RoundRobinHonoursWeights) {
  ASSERT_TRUE(start(R"(listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: pool
clusters:
  - name: pool
    lb: round_robin
    endpoints:
      - {address: "{{a}}", weight: 3}
      - {address: "{{b}}", weight: 1}
)"));
  std::map<std::string, int> counts = distribution(200);
  EXPECT_EQ(counts["a"] + counts["b"], 200) << ::testing::PrintToString(counts);
  EXPECT_NEAR(counts["a"], 150, 25) << ::testing::PrintToString(counts);
}

// 2,000 routes of all three kinds, each answering with its own number: the route chosen is the
// first in config order, as with a handful (the table is indexed, not scanned).
TEST_F(Routing, TwoThousandRoutesMatchInConfigOrder) {
  std::string routes;
  for (int i = 0; i < 2000; ++i) {
    const std::string service = "/service" + std::to_string(i);
    const std::string answer =
        "direct_response: {status: 200, body: \"route " + std::to_string(i) + "\"}}\n";
    switch (i % 3) {
      case 0:
        routes += "      - {match: {regex: \"" + service + "/v[0-9]+/items/[0-9]+\"}, " + answer;
        break;
      case 1:
        routes += "      - {match: {prefix: " + service + "/}, " + answer;
        break;
      default:
        routes += "      - {match: {path: " + service + "/health, method: POST}, " + answer;
        break;
    }
  }
  ASSERT_TRUE(start(std::string(R"(listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
)") + routes + R"(      - match: {regex: "/service[0-9]+/.*"}
        direct_response: {status: 200, body: "late regex"}
      - match: {prefix: /}
        cluster: a
)" + kClustersABC));
  auto body = [&](std::string_view path, std::string_view method = "GET") {
    HttpResponse r = httpRequest(remora_.port("edge"), method, path, {});
    return r.status == 200 ? r.body : std::to_string(r.status);
  };
  EXPECT_EQ(body("/service0/v1/items/7"), "route 0");
  EXPECT_EQ(body("/service1/anything"), "route 1");
  EXPECT_EQ(body("/service1999/v2/items/3?x=1"), "route 1999");  // a prefix route
  EXPECT_EQ(body("/service1997/health", "POST"), "route 1997");
  EXPECT_EQ(body("/service1997/health"), "late regex");  // GET: the method fails
  EXPECT_EQ(body("/service1996/health"), "route 1996");
  EXPECT_EQ(body("/service1995/v2/items/3"), "route 1995");
  EXPECT_EQ(body("/service1995/v2/items/x"), "late regex");  // its regex fails
  EXPECT_EQ(body("/elsewhere"), "a");
}

TEST(RoutingHeaders, RouteAddsAndRemovesHeaders) {
  ScriptedUpstream upstream(ScriptedUpstream::respondWith(
      200, "ok", {{"X-Upstream-Secret", "s"}, {"X-Upstream-Kept", "k"}}));
  Remora remora;
  ASSERT_TRUE(remora.start(render(std::string(kPrelude) + R"(listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: backend
        request_headers:
          add: {x-added: route}
          remove: [x-secret]
        response_headers:
          add: {x-resp-added: route}
          remove: [x-upstream-secret]
clusters:
  - name: backend
    endpoints: ["{{backend}}"]
)",
                                  {{"backend", upstream.address()}})));
  HttpResponse r = httpGet(remora.port("edge"), "/",
                           {{"X-Secret", "hidden"}, {"X-Added", "from-client"}, {"X-Kept", "1"}});
  ASSERT_EQ(r.status, 200) << r;
  ASSERT_EQ(upstream.requestCount(), 1u);
  HttpRequest seen = upstream.requests()[0];
  EXPECT_FALSE(seen.headers.has("x-secret"));
  // `add` replaces what the client sent.
  EXPECT_EQ(seen.headers.getAll("x-added"), std::vector<std::string>{"route"});
  EXPECT_EQ(seen.headers.get("x-kept"), "1");
  EXPECT_FALSE(r.headers.has("x-upstream-secret")) << r;
  EXPECT_EQ(r.headers.get("x-upstream-kept"), "k");
  EXPECT_EQ(r.headers.get("x-resp-added"), "route");
}

TEST(RoutingHeaders, HeadersFilterAppliesToTheListener) {
  ScriptedUpstream upstream(
      ScriptedUpstream::respondWith(200, "ok", {{"X-Internal", "i"}, {"X-Public", "p"}}));
  Remora remora;
  ASSERT_TRUE(remora.start(render(std::string(kPrelude) + R"(listeners:
  - name: edge
    address: "127.0.0.1:0"
    filters:
      - headers:
          request: {add: {x-from-filter: "yes"}, remove: [x-drop]}
          response: {add: {x-served-by: remora}, remove: [x-internal]}
    routes:
      - match: {prefix: /}
        cluster: backend
clusters:
  - name: backend
    endpoints: ["{{backend}}"]
)",
                                  {{"backend", upstream.address()}})));
  HttpResponse r = httpGet(remora.port("edge"), "/", {{"X-Drop", "1"}});
  ASSERT_EQ(r.status, 200) << r;
  ASSERT_EQ(upstream.requestCount(), 1u);
  HttpRequest seen = upstream.requests()[0];
  EXPECT_FALSE(seen.headers.has("x-drop"));
  EXPECT_EQ(seen.headers.get("x-from-filter"), "yes");
  EXPECT_FALSE(r.headers.has("x-internal")) << r;
  EXPECT_EQ(r.headers.get("x-public"), "p");
  EXPECT_EQ(r.headers.get("x-served-by"), "remora");
}

}  // namespace
}  // namespace remora::harness
