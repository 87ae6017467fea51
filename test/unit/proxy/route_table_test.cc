// Unit tests of virtual host selection and route matching.
#include "proxy/route_table.h"

#include <gtest/gtest.h>

namespace remora {
namespace {

config::Route prefixRoute(const std::string& prefix) {
  config::Route route;
  route.match.path = prefix;
  return route;
}

class RouteTableTest : public ::testing::Test {
 protected:
  // Keeps the config objects alive for the compiled table, which points at them.
  RouteTable build() {
    std::vector<CompiledVirtualHost> compiled;
    for (const auto& host : hosts_) {
      CompiledVirtualHost c;
      c.config = &host;
      for (const auto& route : host.routes) {
        CompiledRoute r;
        r.config = &route;
        if (route.match.path_kind == config::RouteMatch::PathKind::Regex) {
          r.regex = std::make_unique<re2::RE2>(route.match.path);
        }
        c.routes.push_back(std::move(r));
      }
      compiled.push_back(std::move(c));
    }
    return RouteTable(std::move(compiled));
  }
  RequestHeaders request(const std::string& host, const std::string& path,
                         const std::string& method = "GET") {
    RequestHeaders r;
    r.authority = host;
    r.path = path;
    r.method = method;
    return r;
  }
  std::vector<config::VirtualHost> hosts_;
};

TEST_F(RouteTableTest, SelectsExactThenLongestSuffixThenPrefixThenAny) {
  hosts_.resize(5);
  hosts_[0].domains = {"*"};
  hosts_[1].domains = {"api.example.com"};
  hosts_[2].domains = {"*.example.com"};
  hosts_[3].domains = {"*.eu.example.com"};
  hosts_[4].domains = {"users.*"};
  RouteTable table = build();
  EXPECT_EQ(table.selectHost("API.example.com:8080")->config, &hosts_[1]);
  EXPECT_EQ(table.selectHost("api.example.com")->config, &hosts_[1]);
  EXPECT_EQ(table.selectHost("x.example.com")->config, &hosts_[2]);
  EXPECT_EQ(table.selectHost("x.eu.example.com")->config, &hosts_[3]);
  EXPECT_EQ(table.selectHost("users.service.consul")->config, &hosts_[4]);
  EXPECT_EQ(table.selectHost("other")->config, &hosts_[0]);
  EXPECT_EQ(table.selectHost("example.com")->config, &hosts_[0]);
}

TEST_F(RouteTableTest, NoCatchAllMeansNoHost) {
  hosts_.resize(1);
  hosts_[0].domains = {"a"};
  hosts_[0].routes.push_back(prefixRoute("/"));
  RouteTable table = build();
  EXPECT_EQ(table.selectHost("b"), nullptr);
  EXPECT_EQ(table.match(request("b", "/")), nullptr);
  EXPECT_NE(table.match(request("a:80", "/")), nullptr);
}

TEST_F(RouteTableTest, FirstMatchingRouteWinsByPathMethodAndHeaders) {
  hosts_.resize(1);
  hosts_[0].domains = {"*"};
  config::Route exact = prefixRoute("/health");
  exact.match.path_kind = config::RouteMatch::PathKind::Exact;
  config::Route regex = prefixRoute("/users/[0-9]+");
  regex.match.path_kind = config::RouteMatch::PathKind::Regex;
  config::Route post = prefixRoute("/api");
  post.match.methods = {"POST"};
  config::Route canary = prefixRoute("/api");
  canary.match.headers = {{"x-canary", "always"}};
  config::Route fallback = prefixRoute("/");
  hosts_[0].routes = {exact, regex, post, canary, fallback};
  RouteTable table = build();
  const auto& routes = hosts_[0].routes;
  EXPECT_EQ(table.match(request("h", "/health?x=1"))->config, &routes[0]);
  EXPECT_EQ(table.match(request("h", "/healthz"))->config, &routes[4]);
  EXPECT_EQ(table.match(request("h", "/users/42"))->config, &routes[1]);
  EXPECT_EQ(table.match(request("h", "/users/42/x"))->config, &routes[4]);
  EXPECT_EQ(table.match(request("h", "/api/x", "POST"))->config, &routes[2]);
  RequestHeaders with_header = request("h", "/api/x");
  with_header.headers.add("x-canary", "always");
  EXPECT_EQ(table.match(with_header)->config, &routes[3]);
  EXPECT_EQ(table.match(request("h", "/api/x"))->config, &routes[4]);
}

}  // namespace
}  // namespace remora
