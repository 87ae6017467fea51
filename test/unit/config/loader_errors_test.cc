// Tests for what the config loader rejects: unknown and duplicate keys, wrong types, missing
// keys, bad values, names and references, each error at its place, all in one pass.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"
#include "load_helpers.h"

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using testing::errorsOf;
using ::testing::IsEmpty;
using ::testing::StartsWith;

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
                          "service, registry, lifecycle, config_source, listeners, clusters, "
                          "canaries)"));
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
    lb: fastest
    endpoints: [{address: 127.0.0.1:1, weight: 0}, {address: 127.0.0.1:2, weight: 1000001}]
  - name: registered
    service: users
)"),
              ElementsAre("t.yaml:2:5: cluster needs endpoints or service",
                          "t.yaml:3:5: cluster has both endpoints and service; use one",
                          "t.yaml:5:14: cluster uses service 'both' but no registry is "
                          "configured",
                          "t.yaml:7:9: unknown lb 'fastest' (known: round_robin, "
                          "least_request, least_connections, random, ring_hash, maglev, "
                          "peak_ewma)",
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

}  // namespace
}  // namespace remora::config
