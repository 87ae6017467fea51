// Tests for loading and validating remora YAML configs.
#include "config/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
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

std::shared_ptr<const Config> load(const std::string& yaml) {
  Result<std::shared_ptr<const Config>> result = loadConfigString(yaml, "t.yaml");
  for (const Error& error : result.errors()) ADD_FAILURE() << error.text();
  return result.ok() ? *result : std::make_shared<const Config>();
}

std::vector<std::string> errorsOf(const std::string& yaml) {
  Result<std::shared_ptr<const Config>> result = loadConfigString(yaml, "t.yaml");
  std::vector<std::string> texts;
  for (const Error& error : result.errors()) texts.push_back(error.text());
  EXPECT_EQ(result.ok(), texts.empty());
  return texts;
}

TEST(LoaderTest, LoadsTheSmallestConfig) {
  std::shared_ptr<const Config> config = load(kSmallest);
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
  std::shared_ptr<const Config> config = load(R"(listeners:
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
  std::shared_ptr<const Config> config = load(R"(admin: {address: "[::1]:9902"}
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
  std::shared_ptr<const Config> config = load(R"(listeners:
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

TEST(LoaderTest, UnknownKeysAreErrorsAtTheKey) {
  EXPECT_THAT(errorsOf(R"(listeners:
  - name: edge
    adress: 127.0.0.1:1
    address: 127.0.0.1:2
    routes: [{direct_response: {status: 200}}]
tracing: {sample: 1}
)"),
              ElementsAre(StartsWith("t.yaml:3:5: unknown key 'adress' in listener (known: name, "
                                     "address, filters, routes, virtual_hosts, "),
                          "t.yaml:6:1: unknown key 'tracing' in config (known: admin, workers, "
                          "service, registry, lifecycle, listeners, clusters, canaries)"));
}

TEST(LoaderTest, UnknownKeysInNestedMappings) {
  EXPECT_THAT(errorsOf(R"(admin: {adress: 127.0.0.1:1}
lifecycle: {drain: 1s}
registry: {zookeeper: {}}
listeners:
  - name: edge
    address: 127.0.0.1:1
    routes:
      - match: {prefx: /}
        direct_response: {status: 200, bdy: x}
        shadow: {cluster: c}
        request_headers: {set: {a: b}}
clusters:
  - name: c
    endpoints: [{address: 127.0.0.1:1, wieght: 2}]
    circuit_breakers: {}
)"),
              ElementsAre(StartsWith("t.yaml:1:9: unknown key 'adress' in admin"),
                          StartsWith("t.yaml:2:13: unknown key 'drain' in lifecycle"),
                          "t.yaml:3:11: registry needs exactly one of: consul, etcd, dns, file",
                          StartsWith("t.yaml:3:12: unknown key 'zookeeper' in registry"),
                          StartsWith("t.yaml:8:17: unknown key 'prefx' in match"),
                          StartsWith("t.yaml:9:40: unknown key 'bdy' in direct_response"),
                          StartsWith("t.yaml:10:9: unknown key 'shadow' in route"),
                          StartsWith("t.yaml:11:27: unknown key 'set' in request_headers"),
                          StartsWith("t.yaml:14:40: unknown key 'wieght' in endpoint"),
                          StartsWith("t.yaml:15:5: unknown key 'circuit_breakers' in cluster")));
}

TEST(LoaderTest, DuplicateKeysAreErrors) {
  EXPECT_THAT(errorsOf("workers: 1\nworkers: 2\n"),
              ElementsAre("t.yaml:2:1: duplicate key 'workers' in config (first at 1:1)"));
}

TEST(LoaderTest, WrongTypes) {
  EXPECT_THAT(errorsOf(R"(workers: many
listeners: {name: edge}
clusters:
  - name: [a]
    endpoints: 127.0.0.1:80
lifecycle: {drain_delay: [1s]}
)"),
              ElementsAre("t.yaml:1:10: workers must be an integer in 0..1024, not 'many'",
                          "t.yaml:2:12: listeners must be a list, not a mapping",
                          "t.yaml:4:11: name must be a string, not a list",
                          "t.yaml:5:16: endpoints must be a list, not a scalar",
                          "t.yaml:6:26: drain_delay must be a duration, not a list"));
}

TEST(LoaderTest, NullValuesPointAtTheirKey) {
  EXPECT_THAT(errorsOf("workers:\nlisteners:\n"),
              ElementsAre("t.yaml:1:1: workers must be an integer, not empty",
                          "t.yaml:2:1: listeners must be a list, not empty"));
}

TEST(LoaderTest, MissingRequiredKeys) {
  EXPECT_THAT(errorsOf(R"(listeners:
  - routes: [{direct_response: {status: 200}}]
  - name: b
    address: 127.0.0.1:1
    virtual_hosts:
      - routes: [{direct_response: {}}]
clusters:
  - endpoints: [127.0.0.1:1]
  - name: c
    endpoints: [{weight: 2}]
)"),
              ElementsAre("t.yaml:2:5: listener is missing required key 'name'",
                          "t.yaml:2:5: listener is missing required key 'address'",
                          "t.yaml:6:9: virtual host is missing required key 'name'",
                          "t.yaml:6:9: virtual host is missing required key 'domains'",
                          "t.yaml:6:36: direct_response is missing required key 'status'",
                          "t.yaml:8:5: cluster is missing required key 'name'",
                          "t.yaml:10:17: endpoint is missing required key 'address'"));
}

TEST(LoaderTest, BadDurationsAddressesAndSizes) {
  EXPECT_THAT(
      errorsOf(R"(admin: {address: localhost}
lifecycle: {drain_delay: -1s, drain_timeout: 5}
listeners:
  - name: edge
    address: "[::1]:99999"
    max_request_headers_bytes: 60KB
    max_request_headers_count: 0
    idle_timeout: 1.5ms
    routes: [{direct_response: {status: 200}, timeout: soon}]
)"),
      ElementsAre("t.yaml:1:18: address: bad address 'localhost': expected host:port",
                  "t.yaml:2:26: drain_delay: bad duration '-1s': must not be negative",
                  "t.yaml:2:46: drain_timeout: bad duration '5': missing unit (ms, s, m or h)",
                  "t.yaml:5:14: address: bad address '[::1]:99999': port must be 0..65535",
                  "t.yaml:6:32: max_request_headers_bytes: bad size '60KB': unknown unit 'KB' "
                  "(KiB, MiB or GiB)",
                  "t.yaml:7:32: max_request_headers_count must be in 1..4294967295, not 0",
                  "t.yaml:8:19: idle_timeout: bad duration '1.5ms': finer than a millisecond",
                  "t.yaml:9:56: timeout: bad duration 'soon': expected a number followed by "
                  "ms, s, m or h"));
}

TEST(LoaderTest, DuplicateNames) {
  EXPECT_THAT(errorsOf(R"(listeners:
  - name: edge
    address: 127.0.0.1:1
    virtual_hosts:
      - {name: a, domains: [a], routes: [{direct_response: {status: 200}}]}
      - {name: a, domains: [b], routes: [{direct_response: {status: 200}}]}
  - name: edge
    address: 127.0.0.1:2
    routes: [{direct_response: {status: 200}}]
clusters:
  - {name: c, endpoints: [127.0.0.1:1]}
  - {name: c, endpoints: [127.0.0.1:1]}
)"),
              ElementsAre("t.yaml:6:16: duplicate virtual host name 'a' (first at 5:16)",
                          "t.yaml:7:11: duplicate listener name 'edge' (first at 2:11)",
                          "t.yaml:12:12: duplicate cluster name 'c' (first at 11:12)"));
}

TEST(LoaderTest, VirtualHostNamesMayRepeatAcrossListeners) {
  EXPECT_THAT(errorsOf(R"(listeners:
  - name: a
    address: 127.0.0.1:1
    virtual_hosts: [{name: v, domains: [x], routes: [{direct_response: {status: 200}}]}]
  - name: b
    address: 127.0.0.1:2
    virtual_hosts: [{name: v, domains: [x], routes: [{direct_response: {status: 200}}]}]
)"),
              IsEmpty());
}

TEST(LoaderTest, DuplicateListenerAddressesExceptPortZero) {
  EXPECT_THAT(errorsOf(R"(listeners:
  - {name: a, address: 127.0.0.1:80, routes: [{direct_response: {status: 200}}]}
  - {name: b, address: 127.0.0.1:80, routes: [{direct_response: {status: 200}}]}
  - {name: c, address: 127.0.0.1:0, routes: [{direct_response: {status: 200}}]}
  - {name: d, address: 127.0.0.1:0, routes: [{direct_response: {status: 200}}]}
)"),
              ElementsAre("t.yaml:3:24: duplicate listener address '127.0.0.1:80' (first at "
                          "2:24)"));
}

TEST(LoaderTest, RoutesNamingUnknownClusters) {
  EXPECT_THAT(
      errorsOf(R"(listeners:
  - name: edge
    address: 127.0.0.1:1
    routes:
      - cluster: nope
      - split: [{cluster: known, weight: 1}, {cluster: gone, weight: 1}]
      - cluster: known
clusters:
  - {name: known, endpoints: [127.0.0.1:1]}
)"),
      ElementsAre("t.yaml:5:18: unknown cluster 'nope'", "t.yaml:6:56: unknown cluster 'gone'"));
}

TEST(LoaderTest, RoutesNeedExactlyOneAction) {
  EXPECT_THAT(
      errorsOf(R"(listeners:
  - name: edge
    address: 127.0.0.1:1
    routes:
      - match: {prefix: /}
      - cluster: c
        direct_response: {status: 200}
      - subset: {v: "1"}
        split: [{cluster: c, weight: 1}]
clusters: [{name: c, endpoints: [127.0.0.1:1]}]
)"),
      ElementsAre("t.yaml:5:9: route needs an action: cluster, split or direct_response",
                  "t.yaml:6:9: route has more than one action (cluster, direct_response); give "
                  "exactly one of cluster, split or direct_response",
                  "t.yaml:8:9: subset needs cluster (a split entry takes its own subset)"));
}

TEST(LoaderTest, SplitErrors) {
  EXPECT_THAT(errorsOf(R"(listeners:
  - name: edge
    address: 127.0.0.1:1
    routes:
      - split: []
      - split:
          - {cluster: c, weight: 0}
          - {cluster: c, weight: 0}
      - split: [{cluster: c}, {weight: 2000000, cluster: c}]
clusters: [{name: c, endpoints: [127.0.0.1:1]}]
)"),
              ElementsAre("t.yaml:5:16: split must not be empty",
                          "t.yaml:7:11: split weights sum to 0; at least one must be positive",
                          "t.yaml:9:17: split entry is missing required key 'weight'",
                          "t.yaml:9:40: weight must be in 0..1000000, not 2000000"));
}

TEST(LoaderTest, DirectResponseStatusRange) {
  EXPECT_THAT(errorsOf(R"(listeners:
  - name: edge
    address: 127.0.0.1:1
    routes:
      - direct_response: {status: 199}
      - direct_response: {status: 600}
      - direct_response: {status: 200}
      - direct_response: {status: 599, body: ""}
)"),
              ElementsAre("t.yaml:5:35: status must be in 200..599, not 199",
                          "t.yaml:6:35: status must be in 200..599, not 600"));
}

TEST(LoaderTest, MatchErrors) {
  EXPECT_THAT(errorsOf(R"(listeners:
  - name: edge
    address: 127.0.0.1:1
    routes:
      - match: {regex: "(unclosed"}
        direct_response: {status: 200}
      - match: {prefix: /a, path: /b}
        direct_response: {status: 200}
      - match: {prefix: api, headers: {"bad header": x}, method: "G T"}
        direct_response: {status: 200}
      - match: {method: GET, methods: []}
        direct_response: {status: 200}
)"),
              ElementsAre(StartsWith("t.yaml:5:24: invalid regex '(unclosed': missing )"),
                          "t.yaml:7:16: match takes only one of prefix, path or regex",
                          "t.yaml:9:25: prefix must start with '/'",
                          "t.yaml:9:40: 'bad header' is not a valid header name",
                          "t.yaml:9:66: 'G T' is not a valid method",
                          "t.yaml:11:16: match takes method or methods, not both",
                          "t.yaml:11:39: methods must not be empty"));
}

TEST(LoaderTest, ClusterErrors) {
  EXPECT_THAT(errorsOf(R"(clusters:
  - name: nothing
  - name: both
    endpoints: [127.0.0.1:1]
    service: both
  - name: weights
    lb: ring_hash
    endpoints: [{address: 127.0.0.1:1, weight: 0}, {address: 127.0.0.1:2, weight: 1000001}]
  - name: registered
    service: users
)"),
              ElementsAre("t.yaml:2:5: cluster needs endpoints or service",
                          "t.yaml:3:5: cluster has both endpoints and service; use one",
                          "t.yaml:5:14: cluster uses service 'both' but no registry is "
                          "configured",
                          "t.yaml:7:9: unknown lb 'ring_hash' (known: round_robin, "
                          "least_request, random)",
                          "t.yaml:8:48: weight must be in 1..1000000, not 0",
                          "t.yaml:8:83: weight must be in 1..1000000, not 1000001",
                          "t.yaml:10:14: cluster uses service 'users' but no registry is "
                          "configured"));
}

TEST(LoaderTest, ServiceClustersAreFineWithARegistry) {
  EXPECT_THAT(errorsOf(R"(registry: {file: {path: /tmp/e.yaml}}
clusters: [{name: users, service: users}]
)"),
              IsEmpty());
}

TEST(LoaderTest, WorkersLimit) {
  EXPECT_THAT(errorsOf("workers: 1024\n"), IsEmpty());
  EXPECT_THAT(errorsOf("workers: 1025\n"),
              ElementsAre("t.yaml:1:10: workers must be in 0..1024, not 1025"));
}

TEST(LoaderTest, ListenerNeedsRoutesOrVirtualHostsButNotBoth) {
  EXPECT_THAT(errorsOf(R"(listeners:
  - name: a
    address: 127.0.0.1:1
  - name: b
    address: 127.0.0.1:2
    routes: [{direct_response: {status: 200}}]
    virtual_hosts: [{name: v, domains: ["*"], routes: [{direct_response: {status: 200}}]}]
)"),
              ElementsAre("t.yaml:2:5: listener needs routes or virtual_hosts",
                          "t.yaml:4:5: listener has both routes and virtual_hosts; use one"));
}

TEST(LoaderTest, DomainErrors) {
  EXPECT_THAT(errorsOf(R"(listeners:
  - name: edge
    address: 127.0.0.1:1
    virtual_hosts:
      - name: a
        domains: [example.com, "*.example.com"]
        routes: [{direct_response: {status: 200}}]
      - name: b
        domains: [EXAMPLE.com, "a*b", ""]
        routes: [{direct_response: {status: 200}}]
      - name: c
        domains: []
        routes: [{direct_response: {status: 200}}]
)"),
              ElementsAre("t.yaml:9:19: domain 'example.com' already belongs to virtual host "
                          "'a' (at 6:19)",
                          "t.yaml:9:32: domain 'a*b': '*' may only be the whole domain, a "
                          "leading '*.' or a trailing '.*'",
                          "t.yaml:9:39: domain must not be empty",
                          "t.yaml:12:18: domains must not be empty"));
}

TEST(LoaderTest, FilterShapes) {
  EXPECT_THAT(errorsOf(R"(listeners:
  - name: edge
    address: 127.0.0.1:1
    routes: [{direct_response: {status: 200}}]
    filters:
      - access_log: {format: json}
      - rate_limit: 100
      - {a: {}, b: {}}
      - plain
)"),
              ElementsAre("t.yaml:7:21: config of filter 'rate_limit' must be a mapping or "
                          "empty, not a scalar",
                          StartsWith("t.yaml:8:9: each filter must be a mapping with one key"),
                          StartsWith("t.yaml:9:9: each filter must be a mapping with one key")));
}

TEST(LoaderTest, CollectsAllErrorsInOnePass) {
  std::vector<std::string> errors = errorsOf(R"(workers: 5000
listeners:
  - name: edge
    address: nowhere
    routes: [{cluster: missing}]
clusters:
  - name: c
    endpoints: [bad]
)");
  EXPECT_EQ(errors.size(), 4u);
}

class LoaderEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("REMORA_LOADER_IP", "10.1.2.3", 1);
    setenv("REMORA_LOADER_FORMAT", "text", 1);
    unsetenv("REMORA_LOADER_UNSET");
  }
  void TearDown() override {
    unsetenv("REMORA_LOADER_IP");
    unsetenv("REMORA_LOADER_FORMAT");
  }
};

TEST_F(LoaderEnvTest, ExpandsScalarsIncludingFilterConfigs) {
  std::shared_ptr<const Config> config = load(R"(admin: {address: "${REMORA_LOADER_IP}:9901"}
listeners:
  - name: ${REMORA_LOADER_UNSET:-edge}
    address: ${REMORA_LOADER_IP}:15001
    filters:
      - access_log: {format: "${REMORA_LOADER_FORMAT}", note: "cost $$5",
                     nested: [{deep: "${REMORA_LOADER_IP}"}]}
    routes: [{direct_response: {status: 200, body: "$${NOT_EXPANDED}"}}]
)");
  EXPECT_EQ(config->admin.address.text(), "10.1.2.3:9901");
  const Listener& listener = config->listeners.at(0);
  EXPECT_EQ(listener.name, "edge");
  EXPECT_EQ(listener.address.text(), "10.1.2.3:15001");
  const YAML::Node& filter = listener.filters.at(0).config;
  EXPECT_EQ(filter["format"].as<std::string>(), "text");
  EXPECT_EQ(filter["note"].as<std::string>(), "cost $5");
  EXPECT_EQ(filter["nested"][0]["deep"].as<std::string>(), "10.1.2.3");
  // The filter factory reports its own errors, so the expanded node must keep its place.
  EXPECT_EQ(filter["format"].Mark().line + 1, 6);
  EXPECT_EQ(filter["format"].Mark().column + 1, 30);
  EXPECT_EQ(listener.virtual_hosts.at(0).routes.at(0).direct_response->body, "${NOT_EXPANDED}");
}

TEST_F(LoaderEnvTest, UnsetVariablesAreErrorsAtTheScalar) {
  EXPECT_THAT(errorsOf(R"(listeners:
  - name: edge
    address: ${REMORA_LOADER_UNSET}:1
    filters:
      - access_log: {format: "${REMORA_LOADER_UNSET}"}
    routes: [{direct_response: {status: 200}}]
)"),
              ElementsAre(StartsWith("t.yaml:3:14: environment variable 'REMORA_LOADER_UNSET' "
                                     "is not set"),
                          StartsWith("t.yaml:5:30: environment variable 'REMORA_LOADER_UNSET' "
                                     "is not set")));
}

TEST_F(LoaderEnvTest, AnAliasedScalarIsExpandedOnce) {
  std::shared_ptr<const Config> config = load(R"(listeners:
  - name: &n "a$$b"
    address: 127.0.0.1:1
    routes: [{direct_response: {status: 200, body: *n}}]
)");
  EXPECT_EQ(config->listeners.at(0).name, "a$b");
  EXPECT_EQ(config->listeners.at(0).virtual_hosts.at(0).routes.at(0).direct_response->body, "a$b");
}

}  // namespace
}  // namespace remora::config
