// Tests of /explain's reasons: they agree with routeMatches and selectHost on many cases, and say
// what failed.
#include "admin/match_explanation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>

namespace remora::admin {
namespace {

using ::testing::ElementsAre;

using PathKind = config::RouteMatch::PathKind;

class MatchExplanationTest : public ::testing::Test {
 protected:
  // A compiled route over a config route kept alive by the fixture.
  const CompiledRoute& route(PathKind kind, const std::string& path,
                             std::vector<config::HeaderMatch> headers = {},
                             std::vector<std::string> methods = {}) {
    config::Route& written = configs_.emplace_back();
    written.match.path_kind = kind;
    written.match.path = path;
    written.match.headers = std::move(headers);
    written.match.methods = std::move(methods);
    CompiledRoute& compiled = compiled_.emplace_back();
    compiled.config = &written;
    if (kind == PathKind::Regex) compiled.regex = std::make_shared<const re2::RE2>(path);
    return compiled;
  }

  static RequestHeaders request(const std::string& path, const std::string& method = "GET",
                                const std::vector<HeaderField>& headers = {}) {
    RequestHeaders r;
    r.path = path;
    r.method = method;
    for (const auto& field : headers) r.headers.add(field.name, field.value);
    return r;
  }

  std::deque<config::Route> configs_;
  std::deque<CompiledRoute> compiled_;
};

TEST_F(MatchExplanationTest, AgreesWithRouteMatchesOnEveryCombination) {
  const std::vector<const CompiledRoute*> routes = {
      &route(PathKind::Prefix, "/"),
      &route(PathKind::Prefix, "/api"),
      &route(PathKind::Exact, "/api"),
      &route(PathKind::Regex, "/users/[0-9]+"),
      &route(PathKind::Regex, "/(a|b)/.*"),
      &route(PathKind::Prefix, "/", {{"x-canary", "always"}}),
      &route(PathKind::Prefix, "/api", {{"x-canary", "always"}, {"x-user", "7"}}, {"POST"}),
      &route(PathKind::Exact, "/", {}, {"GET", "HEAD"}),
      &route(PathKind::Regex, "/users/[0-9]+", {{"x-user", ""}}, {"DELETE"}),
  };
  const std::vector<std::string> paths = {
      "/",           "/api",       "/api/", "/apix", "/api?x=1", "/users/4", "/users/",
      "/users/42?q", "/users/4/x", "/a/",   "/b/c",  "/c/d",     "",         "/API"};
  const std::vector<std::string> methods = {"GET", "HEAD", "POST", "DELETE", "get"};
  const std::vector<std::vector<HeaderField>> header_sets = {
      {},
      {{"x-canary", "always"}},
      {{"x-canary", "never"}},
      {{"x-canary", "never"}, {"x-canary", "always"}},
      {{"x-canary", "Always"}},
      {{"x-canary", "always"}, {"x-user", "7"}},
      {{"x-user", ""}},
      {{"x-user", "7"}, {"x-user", "8"}},
  };
  int matched = 0;
  int checked = 0;
  for (const CompiledRoute* r : routes) {
    for (const auto& path : paths) {
      for (const auto& method : methods) {
        for (const auto& headers : header_sets) {
          const RequestHeaders req = request(path, method, headers);
          const bool matches = routeMatches(*r, req);
          const std::vector<std::string> reasons = routeMismatches(*r, req);
          EXPECT_EQ(reasons.empty(), matches)
              << "route " << r->config->match.path << " path " << path << " method " << method
              << " first reason " << (reasons.empty() ? "" : reasons[0]);
          matched += matches;
          ++checked;
        }
      }
    }
  }
  // Both verdicts occur often enough for the agreement to mean something.
  EXPECT_GT(matched, 100);
  EXPECT_GT(checked - matched, 1000);
}

TEST_F(MatchExplanationTest, SaysWhichPathRuleFailed) {
  EXPECT_THAT(routeMismatches(route(PathKind::Prefix, "/api"), request("/web?x=1")),
              ElementsAre("path '/web' does not start with prefix '/api'"));
  EXPECT_THAT(routeMismatches(route(PathKind::Exact, "/api"), request("/api/")),
              ElementsAre("path '/api/' is not exactly '/api'"));
  EXPECT_THAT(routeMismatches(route(PathKind::Regex, "/users/[0-9]+"), request("/users/x")),
              ElementsAre("path '/users/x' does not fully match regex '/users/[0-9]+'"));
}

TEST_F(MatchExplanationTest, SaysWhichHeaderWasMissingOrDifferentAndWhichMethod) {
  const CompiledRoute& r =
      route(PathKind::Prefix, "/", {{"x-canary", "always"}, {"x-user", "7"}}, {"GET", "HEAD"});
  EXPECT_THAT(routeMismatches(r, request("/", "POST", {{"x-canary", "never"}})),
              ElementsAre("method 'POST' is not one of 'GET', 'HEAD'",
                          "header 'x-canary' is 'never', not 'always'",
                          "header 'x-user' is missing (wanted '7')"));
  EXPECT_THAT(routeMismatches(r, request("/", "GET", {{"x-user", "1"}, {"x-user", "2"}})),
              ElementsAre("header 'x-canary' is missing (wanted 'always')",
                          "header 'x-user' is '1', '2', not '7'"));
  EXPECT_TRUE(
      routeMismatches(r, request("/x", "HEAD", {{"x-user", "7"}, {"x-canary", "always"}})).empty());
}

class MatchExplanationHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hosts_.resize(5);
    hosts_[0].name = "any";
    hosts_[0].domains = {"*"};
    hosts_[1].name = "api";
    hosts_[1].domains = {"api.example.com", "API.other.org"};
    hosts_[2].name = "example";
    hosts_[2].domains = {"*.example.com"};
    hosts_[3].name = "eu";
    hosts_[3].domains = {"*.eu.example.com", "*.com"};
    hosts_[4].name = "users";
    hosts_[4].domains = {"users.*", "users.service.*"};
    build();
  }
  void build() {
    std::vector<CompiledVirtualHost> compiled;
    for (const auto& host : hosts_) compiled.push_back({&host, {}});
    table_ = std::make_unique<RouteTable>(std::move(compiled));
  }
  HostSelection select(const std::string& authority) {
    return explainHostSelection(*table_, authority);
  }

  std::vector<config::VirtualHost> hosts_;
  std::unique_ptr<RouteTable> table_;
};

TEST_F(MatchExplanationHostTest, NamesTheRuleAndTheDomainThatDecided) {
  HostSelection exact = select("api.other.org:8080");
  EXPECT_EQ(exact.rule, "exact");
  EXPECT_EQ(exact.domain, "api.other.org");
  EXPECT_EQ(exact.host->config->name, "api");
  HostSelection suffix = select("a.eu.example.com");
  EXPECT_EQ(suffix.rule, "suffix");
  EXPECT_EQ(suffix.domain, "*.eu.example.com");
  EXPECT_NE(suffix.why.find("longest suffix"), std::string::npos) << suffix.why;
  EXPECT_EQ(select("x.example.com").domain, "*.example.com");
  EXPECT_EQ(select("shop.com").domain, "*.com");
  HostSelection prefix = select("users.service.consul");
  EXPECT_EQ(prefix.rule, "prefix");
  EXPECT_EQ(prefix.domain, "users.service.*");
  HostSelection any = select("other");
  EXPECT_EQ(any.rule, "*");
  EXPECT_EQ(select("").rule, "*");
}

TEST_F(MatchExplanationHostTest, NoneListsTheDomainsTried) {
  hosts_.erase(hosts_.begin());
  build();
  HostSelection none = select("Other:80");
  EXPECT_EQ(none.rule, "none");
  EXPECT_EQ(none.host, nullptr);
  EXPECT_EQ(none.why,
            "no virtual host has a domain matching 'other' and none has '*'; domains: "
            "'api.example.com', 'API.other.org', '*.example.com', '*.eu.example.com', '*.com', "
            "'users.*', 'users.service.*'");
}

TEST_F(MatchExplanationHostTest, TheExplainedDomainSelectsTheSameHostOnItsOwn) {
  // For many authorities: the host is selectHost's, the explained domain is one of its own, and
  // a table of only that domain selects it for that authority.
  for (const std::string authority :
       {"api.example.com", "API.EXAMPLE.COM:1", "a.example.com", "b.eu.example.com", "x.com",
        "users.a", "users.service.b", "users.", "example.com", "[::1]:80", "", "nothing"}) {
    const CompiledVirtualHost* selected = table_->selectHost(authority);
    ASSERT_NE(selected, nullptr) << authority;
    const HostSelection why = select(authority);
    EXPECT_EQ(why.host, selected) << authority;
    config::VirtualHost alone{"alone", {why.domain}, {}};
    RouteTable single(std::vector<CompiledVirtualHost>{{&alone, {}}});
    EXPECT_NE(single.selectHost(authority), nullptr) << authority << ": " << why.domain;
    const auto& domains = selected->config->domains;
    EXPECT_TRUE(std::any_of(domains.begin(), domains.end(), [&](const std::string& domain) {
      return toLower(domain) == why.domain;
    })) << authority;
  }
}

}  // namespace
}  // namespace remora::admin
