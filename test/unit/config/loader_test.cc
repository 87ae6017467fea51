// Tests for loading remora YAML configs: the smallest one, every default and every key, sizes,
// files, and what is not a config at all (loader_errors_test.cc: what is rejected inside one).
#include "config/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "load_helpers.h"

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// The smallest useful config from DESIGN.md.
constexpr const char* kSmallest = R"(admin: {address: 127.0.0.1:9901}
workers: 1
listeners:
  - name: edge
    address: 127.0.0.1:15001
    routes:
      - match: {prefix: /}
        cluster: backend
clusters:
  - name: backend
    endpoints: [127.0.0.1:8080]
)";

using testing::errorsOf;
using testing::loadOk;

TEST(LoaderTest, LoadsTheSmallestConfig) {
  std::shared_ptr<const Config> config = loadOk(kSmallest);
  EXPECT_EQ(config->source_path, "");
  EXPECT_EQ(config->admin.address.text(), "127.0.0.1:9901");
  EXPECT_EQ(config->workers, 1u);
  ASSERT_EQ(config->listeners.size(), 1u);
  const Listener& listener = config->listeners[0];
  EXPECT_EQ(listener.name, "edge");
  EXPECT_EQ(listener.address.host, "127.0.0.1");
  EXPECT_EQ(listener.address.port, 15001);
  ASSERT_EQ(listener.virtual_hosts.size(), 1u);
  EXPECT_EQ(listener.virtual_hosts[0].name, "edge");
  EXPECT_THAT(listener.virtual_hosts[0].domains, ElementsAre("*"));
  ASSERT_EQ(listener.virtual_hosts[0].routes.size(), 1u);
  const Route& route = listener.virtual_hosts[0].routes[0];
  EXPECT_EQ(route.match.path_kind, RouteMatch::PathKind::Prefix);
  EXPECT_EQ(route.match.path, "/");
  EXPECT_EQ(route.cluster, "backend");
  EXPECT_EQ(route.location.file, "t.yaml");
  EXPECT_EQ(route.location.line, 7);
  EXPECT_EQ(route.location.column, 9);
  ASSERT_EQ(config->clusters.size(), 1u);
  EXPECT_EQ(config->clusters[0].name, "backend");
  ASSERT_EQ(config->clusters[0].endpoints.size(), 1u);
  EXPECT_EQ(config->clusters[0].endpoints[0].address.text(), "127.0.0.1:8080");
  EXPECT_EQ(config->clusters[0].location.line, 10);
  EXPECT_EQ(config->clusters[0].location.column, 5);
}

TEST(LoaderTest, FillsEveryDefault) {
  std::shared_ptr<const Config> config = loadOk(R"(listeners:
  - name: edge
    address: 127.0.0.1:0
    routes:
      - cluster: backend
clusters:
  - name: backend
    endpoints: [127.0.0.1:8080]
)");
  EXPECT_EQ(config->admin.address.text(), "127.0.0.1:9901");
  EXPECT_EQ(config->workers, 0u);
  EXPECT_FALSE(config->registry.file.has_value());
  EXPECT_EQ(config->lifecycle.drain_delay, Duration{0});
  EXPECT_EQ(config->lifecycle.drain_timeout, Duration{30000});
  const Listener& listener = config->listeners.at(0);
  EXPECT_THAT(listener.filters, IsEmpty());
  EXPECT_EQ(listener.max_request_headers_bytes, 60u * 1024);
  EXPECT_EQ(listener.max_request_headers_count, 100u);
  EXPECT_EQ(listener.request_header_timeout, Duration{10000});
  EXPECT_EQ(listener.idle_timeout, Duration{60000});
  EXPECT_EQ(listener.max_connections, 100000u);
  const Route& route = listener.virtual_hosts.at(0).routes.at(0);
  EXPECT_EQ(route.match.path_kind, RouteMatch::PathKind::Prefix);
  EXPECT_EQ(route.match.path, "/");
  EXPECT_THAT(route.match.headers, IsEmpty());
  EXPECT_THAT(route.match.methods, IsEmpty());
  EXPECT_THAT(route.subset, IsEmpty());
  EXPECT_THAT(route.split, IsEmpty());
  EXPECT_FALSE(route.direct_response.has_value());
  EXPECT_EQ(route.timeout, Duration{15000});
  EXPECT_TRUE(route.request_headers.empty());
  EXPECT_TRUE(route.response_headers.empty());
  const Cluster& cluster = config->clusters.at(0);
  EXPECT_EQ(cluster.lb, LbPolicy::RoundRobin);
  EXPECT_EQ(cluster.connect_timeout, Duration{5000});
  EXPECT_EQ(cluster.idle_timeout, Duration{60000});
  EXPECT_EQ(cluster.max_idle_connections, 64u);
  EXPECT_EQ(cluster.max_response_headers_bytes, 60u * 1024);
  EXPECT_EQ(cluster.endpoints.at(0).weight, 1u);
  EXPECT_THAT(cluster.endpoints.at(0).meta, IsEmpty());
}

TEST(LoaderTest, ReadsEverySupportedKey) {
  std::shared_ptr<const Config> config = loadOk(R"(admin: {address: "[::1]:9902"}
workers: 4
registry: {file: {path: /etc/remora/endpoints.yaml}}
lifecycle: {drain_delay: 5s, drain_timeout: 1m}
listeners:
  - name: outbound
    address: 127.0.0.1:15001
    filters:
      - access_log: {format: json}
      - cors:
    max_request_headers_bytes: 16KiB
    max_request_headers_count: 50
    request_header_timeout: 2s
    idle_timeout: 30s
    max_connections: 10
    virtual_hosts:
      - name: users
        domains: [Users, users.service.consul, "*.users.internal"]
        routes:
          - match: {path: /exact, headers: {X-Canary: always}, method: get}
            cluster: users
            subset: {version: v2}
            timeout: 250ms
            request_headers: {add: {X-Via: remora}, remove: [X-Debug]}
            response_headers: {add: {Server: remora}}
          - match: {regex: "^/v[0-9]+/.*$", methods: [GET, post]}
            split:
              - {cluster: users, subset: {version: v1}, weight: 90}
              - {cluster: users, subset: {version: v2}, weight: 10}
          - direct_response: {status: 404, body: nothing here}
clusters:
  - name: users
    service: users
    lb: least_request
    connect_timeout: 1s
    idle_timeout: 10s
    max_idle_connections: 0
    max_response_headers_bytes: 1MiB
  - name: static
    lb: random
    endpoints:
      - 10.0.0.1:80
      - {address: "[fd00::2]:80", weight: 3, meta: {version: v2, zone: a}}
)");
  EXPECT_EQ(config->admin.address.host, "::1");
  EXPECT_EQ(config->workers, 4u);
  ASSERT_TRUE(config->registry.file.has_value());
  EXPECT_EQ(config->registry.file->path, "/etc/remora/endpoints.yaml");
  EXPECT_EQ(config->lifecycle.drain_delay, Duration{5000});
  EXPECT_EQ(config->lifecycle.drain_timeout, Duration{60000});

  const Listener& listener = config->listeners.at(0);
  ASSERT_EQ(listener.filters.size(), 2u);
  EXPECT_EQ(listener.filters[0].name, "access_log");
  EXPECT_EQ(listener.filters[0].config["format"].as<std::string>(), "json");
  EXPECT_EQ(listener.filters[0].location.line, 9);
  EXPECT_EQ(listener.filters[0].location.column, 9);
  EXPECT_EQ(listener.filters[1].name, "cors");
  EXPECT_TRUE(listener.filters[1].config.IsNull());
  EXPECT_EQ(listener.max_request_headers_bytes, 16u * 1024);
  EXPECT_EQ(listener.max_request_headers_count, 50u);
  EXPECT_EQ(listener.request_header_timeout, Duration{2000});
  EXPECT_EQ(listener.idle_timeout, Duration{30000});
  EXPECT_EQ(listener.max_connections, 10u);

  const VirtualHost& host = listener.virtual_hosts.at(0);
  EXPECT_EQ(host.name, "users");
  EXPECT_THAT(host.domains, ElementsAre("users", "users.service.consul", "*.users.internal"));
  ASSERT_EQ(host.routes.size(), 3u);
  const Route& canary = host.routes[0];
  EXPECT_EQ(canary.match.path_kind, RouteMatch::PathKind::Exact);
  EXPECT_EQ(canary.match.path, "/exact");
  ASSERT_EQ(canary.match.headers.size(), 1u);
  EXPECT_EQ(canary.match.headers[0].name, "x-canary");
  EXPECT_EQ(canary.match.headers[0].value, "always");
  EXPECT_THAT(canary.match.methods, ElementsAre("GET"));
  EXPECT_EQ(canary.cluster, "users");
  EXPECT_EQ(canary.subset, (Metadata{{"version", "v2"}}));
  EXPECT_EQ(canary.timeout, Duration{250});
  EXPECT_EQ(canary.request_headers.add,
            (std::vector<std::pair<std::string, std::string>>{{"x-via", "remora"}}));
  EXPECT_THAT(canary.request_headers.remove, ElementsAre("x-debug"));
  EXPECT_EQ(canary.response_headers.add,
            (std::vector<std::pair<std::string, std::string>>{{"server", "remora"}}));
  const Route& split = host.routes[1];
  EXPECT_EQ(split.match.path_kind, RouteMatch::PathKind::Regex);
  EXPECT_EQ(split.match.path, "^/v[0-9]+/.*$");
  EXPECT_THAT(split.match.methods, ElementsAre("GET", "POST"));
  ASSERT_EQ(split.split.size(), 2u);
  EXPECT_EQ(split.split[0].cluster, "users");
  EXPECT_EQ(split.split[0].subset, (Metadata{{"version", "v1"}}));
  EXPECT_EQ(split.split[0].weight, 90u);
  EXPECT_EQ(split.split[1].weight, 10u);
  const Route& direct = host.routes[2];
  ASSERT_TRUE(direct.direct_response.has_value());
  EXPECT_EQ(direct.direct_response->status, 404);
  EXPECT_EQ(direct.direct_response->body, "nothing here");

  const Cluster& users = config->clusters.at(0);
  EXPECT_EQ(users.service, "users");
  EXPECT_THAT(users.endpoints, IsEmpty());
  EXPECT_EQ(users.lb, LbPolicy::LeastRequest);
  EXPECT_EQ(users.connect_timeout, Duration{1000});
  EXPECT_EQ(users.idle_timeout, Duration{10000});
  EXPECT_EQ(users.max_idle_connections, 0u);
  EXPECT_EQ(users.max_response_headers_bytes, 1024u * 1024);
  const Cluster& fixed = config->clusters.at(1);
  EXPECT_EQ(fixed.lb, LbPolicy::Random);
  ASSERT_EQ(fixed.endpoints.size(), 2u);
  EXPECT_EQ(fixed.endpoints[0].address.text(), "10.0.0.1:80");
  EXPECT_EQ(fixed.endpoints[1].address.host, "fd00::2");
  EXPECT_EQ(fixed.endpoints[1].weight, 3u);
  EXPECT_EQ(fixed.endpoints[1].meta, (Metadata{{"version", "v2"}, {"zone", "a"}}));
}

TEST(LoaderTest, SizesAcceptIntegersAndSuffixes) {
  std::shared_ptr<const Config> config = loadOk(R"(listeners:
  - name: edge
    address: 127.0.0.1:0
    max_request_headers_bytes: 8192
    routes: [{direct_response: {status: 200}}]
clusters:
  - {name: c, endpoints: [127.0.0.1:1], max_response_headers_bytes: 2MiB}
)");
  EXPECT_EQ(config->listeners.at(0).max_request_headers_bytes, 8192u);
  EXPECT_EQ(config->clusters.at(0).max_response_headers_bytes, 2u * 1024 * 1024);
  EXPECT_THAT(errorsOf(R"(clusters:
  - {name: c, endpoints: [127.0.0.1:1], max_response_headers_bytes: 0}
  - {name: d, endpoints: [127.0.0.1:1], max_response_headers_bytes: 2GiB}
)"),
              ElementsAre("t.yaml:2:69: max_response_headers_bytes must be in 1..1073741824 "
                          "bytes, not 0",
                          "t.yaml:3:69: max_response_headers_bytes must be in 1..1073741824 "
                          "bytes, not 2147483648"));
}

TEST(LoaderTest, LoadsFromAFileAndRecordsItsPath) {
  std::string path = ::testing::TempDir() + "/remora_loader_test.yaml";
  std::ofstream(path) << kSmallest;
  Result<std::shared_ptr<const Config>> result = loadConfigFile(path);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ((*result)->source_path, path);
  EXPECT_EQ((*result)->listeners.at(0).virtual_hosts.at(0).routes.at(0).location.file, path);

  std::ofstream(path) << "workers: -1\n";
  result = loadConfigFile(path);
  ASSERT_EQ(result.errors().size(), 1u);
  EXPECT_THAT(result.errors()[0].text(), StartsWith(path + ":1:10: workers must be"));
}

TEST(LoaderTest, ReportsAMissingFile) {
  Result<std::shared_ptr<const Config>> result = loadConfigFile("/nonexistent/remora.yaml");
  ASSERT_EQ(result.errors().size(), 1u);
  EXPECT_THAT(result.errors()[0].text(), StartsWith("/nonexistent/remora.yaml: cannot open"));
}

TEST(LoaderTest, ReportsYamlSyntaxErrorsWithTheirPlace) {
  EXPECT_THAT(errorsOf("workers: 1\nlisteners: [\n"), ElementsAre(StartsWith("t.yaml:3:1: ")));
  EXPECT_THAT(errorsOf("a: b\n c: d\n"), ElementsAre(StartsWith("t.yaml:2:3: ")));
}

TEST(LoaderTest, RejectsAnEmptyOrNonMappingDocument) {
  EXPECT_THAT(errorsOf(""), ElementsAre("t.yaml:1:1: the document is empty"));
  EXPECT_THAT(errorsOf("# only a comment\n"), ElementsAre("t.yaml:1:1: the document is empty"));
  EXPECT_THAT(errorsOf("- a\n"), ElementsAre("t.yaml:1:1: config must be a mapping, not a list"));
}

}  // namespace
}  // namespace remora::config
