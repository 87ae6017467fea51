// Unit tests of the path index of routes: it answers as trying each route in turn would, for
// thousands of routes, and still when the regex set does not fit its memory.
#include "proxy/route_index.h"

#include <gtest/gtest.h>

#include <random>

#include "proxy/route_table.h"

namespace remora {
namespace {

using PathKind = config::RouteMatch::PathKind;

config::Route route(PathKind kind, std::string path) {
  config::Route r;
  r.match.path_kind = kind;
  r.match.path = std::move(path);
  return r;
}

// Compiles `configs` as compileRoutes does (only what matching reads).
std::vector<CompiledRoute> compile(const std::vector<config::Route>& configs) {
  std::vector<CompiledRoute> routes;
  for (const auto& config : configs) {
    CompiledRoute compiled;
    compiled.config = &config;
    if (config.match.path_kind == PathKind::Regex) {
      compiled.regex = std::make_shared<const re2::RE2>(config.match.path);
    }
    routes.push_back(std::move(compiled));
  }
  return routes;
}

RequestHeaders request(std::string path, std::string method = "GET") {
  RequestHeaders r;
  r.path = std::move(path);
  r.method = std::move(method);
  return r;
}

int64_t linearFirst(const std::vector<CompiledRoute>& routes, const RequestHeaders& request) {
  for (size_t i = 0; i < routes.size(); ++i) {
    if (routeMatches(routes[i], request)) return static_cast<int64_t>(i);
  }
  return -1;
}

int64_t indexedFirst(const RouteIndex& index, const std::vector<CompiledRoute>& routes,
                     const RequestHeaders& request) {
  return index.firstMatch(routes, pathWithoutQuery(request.path), request);
}

TEST(RouteIndexTest, ConfigOrderDecidesAcrossKinds) {
  const std::vector<config::Route> configs = {
      route(PathKind::Regex, "/users/[0-9]+"), route(PathKind::Prefix, "/users/1"),
      route(PathKind::Exact, "/users/abc"),    route(PathKind::Prefix, "/users"),
      route(PathKind::Regex, "/users/.*"),     route(PathKind::Prefix, ""),
  };
  const auto routes = compile(configs);
  const RouteIndex index(routes);
  EXPECT_FALSE(index.regexSetBuilt());  // two regexes are tried in turn
  EXPECT_EQ(indexedFirst(index, routes, request("/users/12")), 0);
  EXPECT_EQ(indexedFirst(index, routes, request("/users/1x")), 1);
  EXPECT_EQ(indexedFirst(index, routes, request("/users/abc")), 2);
  EXPECT_EQ(indexedFirst(index, routes, request("/users/abcd")), 3);
  EXPECT_EQ(indexedFirst(index, routes, request("/other")), 5);
  EXPECT_EQ(indexedFirst(index, routes, request("")), 5);
}

TEST(RouteIndexTest, MethodsAndHeadersPassOverAnEarlierPathMatch) {
  std::vector<config::Route> configs = {
      route(PathKind::Prefix, "/api"), route(PathKind::Regex, "/api/.*"),
      route(PathKind::Exact, "/api/x"), route(PathKind::Prefix, "/")};
  configs[0].match.methods = {"POST"};
  configs[1].match.headers = {{"x-canary", "always"}};
  const auto routes = compile(configs);
  const RouteIndex index(routes);
  EXPECT_EQ(indexedFirst(index, routes, request("/api/x", "POST")), 0);
  RequestHeaders canary = request("/api/x");
  canary.headers.add("x-canary", "always");
  EXPECT_EQ(indexedFirst(index, routes, canary), 1);
  EXPECT_EQ(indexedFirst(index, routes, request("/api/x")), 2);
  EXPECT_EQ(indexedFirst(index, routes, request("/api/y")), 3);
}

TEST(RouteIndexTest, NoRouteMatches) {
  const auto configs =
      std::vector<config::Route>{route(PathKind::Exact, "/a"), route(PathKind::Regex, "/b+")};
  const auto routes = compile(configs);
  const RouteIndex index(routes);
  EXPECT_EQ(indexedFirst(index, routes, request("/ab")), -1);
  EXPECT_EQ(indexedFirst(index, routes, request("/")), -1);
}

// Random tables over a small alphabet, so that prefixes, exact paths and regexes overlap often.
class RandomTables {
 public:
  explicit RandomTables(uint32_t seed) : random_(seed) {}

  std::vector<config::Route> table(size_t size) {
    std::vector<config::Route> configs;
    for (size_t i = 0; i < size; ++i) {
      const auto kind = static_cast<PathKind>(pick(3));
      config::Route r = route(kind, kind == PathKind::Regex ? regex() : path());
      if (pick(6) == 0) r.match.methods = {"POST"};
      if (pick(6) == 0) r.match.headers = {{"x-v", "1"}};
      configs.push_back(std::move(r));
    }
    return configs;
  }
  RequestHeaders request() {
    RequestHeaders r =
        remora::request(path() + (pick(4) == 0 ? "?q=/a" : ""), pick(3) == 0 ? "POST" : "GET");
    if (pick(3) == 0) r.headers.add("x-v", "1");
    return r;
  }

 private:
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(random_); }
  std::string path() {
    static const char* const kSegments[] = {"/a", "/b", "/ab", "/", "/a1", "/12", "/a/b"};
    std::string p;
    for (size_t n = pick(4); n > 0; --n) p += kSegments[pick(std::size(kSegments))];
    return p;
  }
  std::string regex() {
    static const char* const kRegexes[] = {"/a[0-9]+", "(/a|/b)+", "/.*", "/ab?/.*", "[/a-z]*1",
                                           "/[0-9]+",  "/a(/b)*",  "",    "/b.*"};
    return path() + kRegexes[pick(std::size(kRegexes))];
  }
  std::mt19937 random_;
};

TEST(RouteIndexTest, AgreesWithTryingEachRouteOnRandomTables) {
  RandomTables random(20261207);
  for (int table = 0; table < 200; ++table) {
    const auto configs = random.table(1 + table % 40);
    const auto routes = compile(configs);
    const RouteIndex index(routes);
    for (int i = 0; i < 100; ++i) {
      const RequestHeaders r = random.request();
      ASSERT_EQ(indexedFirst(index, routes, r), linearFirst(routes, r))
          << "table " << table << ", path " << r.path << ", method " << r.method;
    }
  }
}

TEST(RouteIndexTest, AgreesWhenTheRegexSetOutgrowsItsMemory) {
  RandomTables random(7);
  // A DFA that needs 2^16 states: the set runs out of its memory on long texts, or cannot be
  // compiled at all; either way each regex is tried in turn.
  std::vector<config::Route> configs = random.table(30);
  configs.insert(configs.begin() + 10, route(PathKind::Regex, "[ab/]*a[ab/]{16}"));
  const auto routes = compile(configs);
  const RouteIndex index(routes, int64_t{64} << 10);
  std::string long_path(400, 'a');
  for (size_t i = 0; i < long_path.size(); i += 3) long_path[i] = 'b';
  ASSERT_EQ(indexedFirst(index, routes, request(long_path)),
            linearFirst(routes, request(long_path)));
  for (int i = 0; i < 2000; ++i) {
    const RequestHeaders r = random.request();
    ASSERT_EQ(indexedFirst(index, routes, r), linearFirst(routes, r)) << r.path;
  }
}

TEST(RouteIndexTest, TwoThousandRoutesKeepFirstMatchOrder) {
  std::vector<config::Route> configs;
  for (int i = 0; i < 2000; ++i) {
    const std::string service = "/service" + std::to_string(i);
    switch (i % 3) {
      case 0:
        configs.push_back(route(PathKind::Prefix, service + "/"));
        break;
      case 1:
        configs.push_back(route(PathKind::Exact, service + "/health"));
        break;
      default:
        configs.push_back(route(PathKind::Regex, service + "/v[0-9]+/items/[0-9]+"));
        break;
    }
  }
  configs.push_back(route(PathKind::Regex, "/service[0-9]+/.*"));
  const auto routes = compile(configs);
  const RouteIndex index(routes);
  EXPECT_TRUE(index.regexSetBuilt());
  EXPECT_EQ(indexedFirst(index, routes, request("/service0/x")), 0);
  EXPECT_EQ(indexedFirst(index, routes, request("/service1999/health")), 1999);
  EXPECT_EQ(indexedFirst(index, routes, request("/service1997/v2/items/7?x=1")), 1997);
  EXPECT_EQ(indexedFirst(index, routes, request("/service1997/v2/items/x")), 2000);
  EXPECT_EQ(indexedFirst(index, routes, request("/service1998/anything")), 1998);
  EXPECT_EQ(indexedFirst(index, routes, request("/service1996/anything")), 2000);
  EXPECT_EQ(indexedFirst(index, routes, request("/elsewhere")), -1);
}

}  // namespace
}  // namespace remora
