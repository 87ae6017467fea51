// Tests for route keys: name, filters and the stream idle timeout override.
#include "config/route_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "load_helpers.h"

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using testing::errorsOf;
using ::testing::IsEmpty;
using testing::loadOk;
using ::testing::StartsWith;

// One listener whose routes, from line 5 on, are `routes`.
std::string routes(const std::string& routes) {
  return "listeners:\n  - name: edge\n    address: 127.0.0.1:0\n    routes:\n" + routes;
}

TEST(RouteReaderTest, DefaultsWhenAbsent) {
  std::shared_ptr<const Config> config = loadOk(routes("      - direct_response: {status: 200}\n"));
  const Route& route = config->listeners.at(0).virtual_hosts.at(0).routes.at(0);
  EXPECT_EQ(route.name, "");
  EXPECT_THAT(route.filters, IsEmpty());
  EXPECT_FALSE(route.stream_idle_timeout.has_value());
}

TEST(RouteReaderTest, ReadsEveryKey) {
  std::shared_ptr<const Config> config = loadOk(routes(R"(      - name: api
        match: {prefix: /api}
        direct_response: {status: 200}
        filters:
          - rate_limit: {requests_per_second: 5}
          - access_log:
        stream_idle_timeout: 30s
      - name: stream
        direct_response: {status: 200}
        stream_idle_timeout: 0s
)"));
  const std::vector<Route>& list = config->listeners.at(0).virtual_hosts.at(0).routes;
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "api");
  ASSERT_EQ(list[0].filters.size(), 2u);
  EXPECT_EQ(list[0].filters[0].name, "rate_limit");
  EXPECT_EQ(list[0].filters[0].config["requests_per_second"].as<int>(), 5);
  EXPECT_EQ(list[0].filters[0].location.line, 9);
  EXPECT_EQ(list[0].filters[0].location.column, 13);
  EXPECT_EQ(list[0].filters[1].name, "access_log");
  EXPECT_TRUE(list[0].filters[1].config.IsNull());
  EXPECT_EQ(list[0].stream_idle_timeout, Duration{30000});
  EXPECT_EQ(list[1].name, "stream");
  EXPECT_EQ(list[1].stream_idle_timeout, Duration{0});
}

TEST(RouteReaderTest, FiltersHaveTheListenersShape) {
  EXPECT_THAT(errorsOf(routes(R"(      - direct_response: {status: 200}
        filters:
          - rate_limit: 100
          - {a: {}, b: {}}
      - direct_response: {status: 200}
        filters: {rate_limit: {}}
)")),
              ElementsAre("t.yaml:7:25: config of filter 'rate_limit' must be a mapping or "
                          "empty, not a scalar",
                          StartsWith("t.yaml:8:13: each filter must be a mapping with one key"),
                          "t.yaml:10:18: filters must be a list, not a mapping"));
}

TEST(RouteReaderTest, NamesAreUniqueWithinAListener) {
  EXPECT_THAT(errorsOf(R"(listeners:
  - name: a
    address: 127.0.0.1:1
    virtual_hosts:
      - name: x
        domains: [x]
        routes: [{name: r, direct_response: {status: 200}}]
      - name: y
        domains: [y]
        routes: [{name: r, direct_response: {status: 200}}]
  - name: b
    address: 127.0.0.1:2
    routes: [{name: r, direct_response: {status: 200}}]
)"),
              ElementsAre("t.yaml:10:25: duplicate route name 'r' (first at 7:25)"));
}

TEST(RouteReaderTest, Errors) {
  EXPECT_THAT(errorsOf(routes(R"(      - name: ""
        direct_response: {status: 200}
      - name: a/b
        direct_response: {status: 200}
      - name: [a]
        direct_response: {status: 200}
        stream_idle_timeout: -1s
)")),
              ElementsAre("t.yaml:5:15: route name must not be empty",
                          "t.yaml:7:15: route name must not contain '/'",
                          "t.yaml:9:15: route name must be a string, not a list",
                          "t.yaml:11:30: stream_idle_timeout: bad duration '-1s': must not be "
                          "negative"));
}

}  // namespace
}  // namespace remora::config
