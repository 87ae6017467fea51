// Tests for `canaries:`: defaults, every key, and each error with its place.
#include "config/canary_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "load_helpers.h"

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using testing::errorsOf;
using ::testing::HasSubstr;
using testing::loadOk;

// A listener `edge` with a named route and a virtual-host listener `out`, both to `users`.
std::string withCanary(const std::string& canary_lines) {
  return R"(listeners:
  - name: edge
    address: 127.0.0.1:15001
    routes:
      - name: users
        match: {prefix: /}
        cluster: users
      - match: {prefix: /split}
        split: [{cluster: users, weight: 1}]
  - name: out
    address: 127.0.0.1:15002
    virtual_hosts:
      - name: api
        domains: ["*"]
        routes:
          - match: {prefix: /}
            cluster: users
clusters:
  - name: users
    endpoints: [127.0.0.1:8080]
  - name: other
    endpoints: [127.0.0.1:8081]
canaries:
)" + canary_lines;
}

TEST(CanaryReaderTest, DefaultsFollowDesign) {
  auto config = loadOk(withCanary(
      "  - {name: v2, route: users, cluster: users, baseline: {version: v1}, canary: {version: "
      "v2}}\n"));
  ASSERT_EQ(config->canaries.size(), 1u);
  const Canary& c = config->canaries[0];
  EXPECT_EQ(c.steps, (std::vector<uint32_t>{5, 25, 50, 100}));
  EXPECT_EQ(c.step_interval, Duration(60000));
  EXPECT_EQ(c.min_requests, 200u);
  EXPECT_EQ(c.sticky_by, Canary::StickyBy::None);
  EXPECT_DOUBLE_EQ(c.analysis.max_error_rate_increase, 0.01);
  EXPECT_DOUBLE_EQ(c.analysis.max_p99_ratio, 1.5);
  EXPECT_EQ(c.analysis.min_p99_increase, Duration(1));
  EXPECT_DOUBLE_EQ(c.analysis.confidence, 0.98);
  EXPECT_FALSE(c.analysis.max_error_rate);
  EXPECT_FALSE(c.deadline);
}

TEST(CanaryReaderTest, ReadsEveryKey) {
  auto config = loadOk(withCanary(R"(  - name: v2
    route: out/api/0
    cluster: users
    baseline: {version: v1}
    canary: {version: v2, zone: a}
    steps: [10, 40]
    step_interval: 30s
    min_requests: 50
    sticky: {cookie: sid}
    analysis: {max_error_rate_increase: 0.02, max_p99_ratio: 2, confidence: 0.99,
               max_error_rate: 0.05, max_p99: 300ms, min_p99_increase: 5ms}
    deadline: 10m
    on_deadline: pause
)"));
  ASSERT_EQ(config->canaries.size(), 1u);
  const Canary& c = config->canaries[0];
  EXPECT_EQ(c.steps, (std::vector<uint32_t>{10, 40}));
  EXPECT_EQ(c.canary.at("zone"), "a");
  EXPECT_EQ(c.sticky_by, Canary::StickyBy::Cookie);
  EXPECT_EQ(c.sticky_name, "sid");
  EXPECT_DOUBLE_EQ(c.analysis.max_p99_ratio, 2);
  EXPECT_EQ(*c.analysis.max_p99, Duration(300));
  EXPECT_EQ(c.analysis.min_p99_increase, Duration(5));
  EXPECT_DOUBLE_EQ(*c.analysis.max_error_rate, 0.05);
  EXPECT_EQ(*c.deadline, Duration(600000));
  EXPECT_EQ(c.on_deadline, Canary::OnDeadline::Pause);
  std::string why;
  auto place = findRoute(*config, "edge/0", why);
  ASSERT_TRUE(place) << why;
  EXPECT_EQ(place->route, 0u);
  EXPECT_FALSE(findRoute(*config, "out/0", why));
  EXPECT_THAT(why, HasSubstr("has virtual hosts"));
}

TEST(CanaryReaderTest, BadValuesAreErrorsWithTheirPlace) {
  EXPECT_THAT(errorsOf(withCanary(R"(  - name: v2
    route: users
    cluster: users
    baseline: {version: v1}
    canary: {version: v1}
    steps: [50, 20]
    analysis: {confidence: 1.5, max_p99_ratio: fast}
    sticky: {header: a, cookie: b}
    step_interval: 1m
    deadline: 10s
    on_deadline: later
)")),
              ElementsAre(HasSubstr("t.yaml:28:13: canary selects the same endpoints as baseline"),
                          HasSubstr("t.yaml:29:17: steps must increase: 20 after 50"),
                          HasSubstr("t.yaml:30:28: confidence must be in 0.5..0.9999, not 1.5"),
                          HasSubstr("t.yaml:30:48: max_p99_ratio must be a number in 1..1000"),
                          HasSubstr("t.yaml:31:13: sticky takes exactly one of header or cookie"),
                          HasSubstr("t.yaml:33:15: deadline must not be less than step_interval"),
                          HasSubstr("t.yaml:34:18: on_deadline must be abort or pause")));
}

TEST(CanaryReaderTest, WebhooksDefaultToBothGatesAndReadEveryKey) {
  auto config = loadOk(withCanary(R"(  - name: v2
    route: users
    cluster: users
    baseline: {version: v1}
    canary: {version: v2}
    webhooks:
      - url: http://127.0.0.1:9000/approve
      - {url: "https://gate.example/ok", on: [promote], timeout: 2s, retries: 0}
)"));
  ASSERT_EQ(config->canaries.size(), 1u);
  const auto& hooks = config->canaries[0].webhooks;
  ASSERT_EQ(hooks.size(), 2u);
  EXPECT_EQ(hooks[0].url, "http://127.0.0.1:9000/approve");
  EXPECT_TRUE(hooks[0].on_step);
  EXPECT_TRUE(hooks[0].on_promote);
  EXPECT_EQ(hooks[0].timeout, Duration(5000));
  EXPECT_EQ(hooks[0].retries, 2u);
  EXPECT_FALSE(hooks[1].on_step);
  EXPECT_TRUE(hooks[1].on_promote);
  EXPECT_EQ(hooks[1].timeout, Duration(2000));
  EXPECT_EQ(hooks[1].retries, 0u);
}

TEST(CanaryReaderTest, BadWebhooksAreErrorsWithTheirPlace) {
  EXPECT_THAT(errorsOf(withCanary(R"(  - name: v2
    route: users
    cluster: users
    baseline: {version: v1}
    canary: {version: v2}
    webhooks:
      - url: ftp://gate/
      - {url: http://gate/, on: [step, rollback]}
      - {url: http://gate/, on: []}
      - {on: [step]}
      - {url: http://gate/, retries: 11, timeout: 0s}
)")),
              ElementsAre(HasSubstr("t.yaml:30:14: a webhook's url must be an http:// or "
                                    "https:// URL, not 'ftp://gate/'"),
                          HasSubstr("t.yaml:31:40: a webhook's on lists step or promote, not "
                                    "'rollback'"),
                          HasSubstr("t.yaml:32:33: on must list step, promote or both"),
                          HasSubstr("t.yaml:33:9: webhook is missing required key 'url'"),
                          HasSubstr("t.yaml:34:38: retries must be in 0..10, not 11"),
                          HasSubstr("t.yaml:34:51: timeout must be more than 0")));
}

TEST(CanaryReaderTest, ShadowIsTrueOrMirrorSettingsAndTargetsTheCanarySubset) {
  auto config =
      loadOk(withCanary(R"(  - {name: a, route: users, cluster: users, baseline: {version: v1},
     canary: {version: v2}, shadow: true}
  - {name: b, route: out/api/0, cluster: users, baseline: {version: v1},
     canary: {version: v3}, shadow: {percent: 25, max_concurrent: 10, timeout: 2s}}
)"));
  ASSERT_EQ(config->canaries.size(), 2u);
  const auto& a = config->canaries[0].shadow;
  ASSERT_TRUE(a);
  EXPECT_EQ(a->cluster, "users");
  EXPECT_EQ(a->subset.at("version"), "v2");
  EXPECT_DOUBLE_EQ(a->percent, 100);
  EXPECT_EQ(a->max_concurrent, 100u);
  const auto& b = config->canaries[1].shadow;
  ASSERT_TRUE(b);
  EXPECT_DOUBLE_EQ(b->percent, 25);
  EXPECT_EQ(b->max_concurrent, 10u);
  EXPECT_EQ(*b->timeout, Duration(2000));
  EXPECT_EQ(b->subset.at("version"), "v3");
  EXPECT_FALSE(loadOk(withCanary("  - {name: c, route: users, cluster: users, baseline: {v: "
                                 "1}, canary: {v: 2}, shadow: false}\n"))
                   ->canaries[0]
                   .shadow);
}

TEST(CanaryReaderTest, BadShadowsAreErrors) {
  EXPECT_THAT(errorsOf(withCanary(R"(  - {name: a, route: users, cluster: users, baseline: {v: 1},
     canary: {v: 2}, shadow: {percent: 0}}
  - {name: b, route: out/api/0, cluster: users, baseline: {v: 1}, canary: {v: 2},
     shadow: {cluster: other}}
)")),
              ElementsAre(HasSubstr("t.yaml:25:40: a canary's shadow percent must be more than 0"),
                          HasSubstr("t.yaml:27:15: unknown key 'cluster' in shadow")));
  const std::string mirrored = R"(listeners:
  - name: edge
    address: 127.0.0.1:15001
    routes:
      - name: users
        match: {prefix: /}
        cluster: users
        mirror: {cluster: users}
clusters:
  - name: users
    endpoints: [127.0.0.1:8080]
canaries:
  - {name: a, route: users, cluster: users, baseline: {v: 1}, canary: {v: 2}, shadow: true}
)";
  EXPECT_THAT(errorsOf(mirrored),
              ElementsAre(HasSubstr("canary 'a': route 'users' has a mirror: a canary in shadow "
                                    "mode mirrors its route to the canary itself")));
}

TEST(CanaryReaderTest, RoutesAndClustersAreChecked) {
  EXPECT_THAT(
      errorsOf(withCanary(
          R"(  - {name: a, route: nowhere, cluster: users, baseline: {v: 1}, canary: {v: 2}}
  - {name: b, route: edge/7, cluster: users, baseline: {v: 1}, canary: {v: 2}}
  - {name: c, route: users, cluster: other, baseline: {v: 1}, canary: {v: 2}}
  - {name: d, route: edge/1, cluster: users, baseline: {v: 1}, canary: {v: 2}}
  - {name: e, route: users, cluster: users, baseline: {v: 1}, canary: {v: 2}}
  - {name: f, route: edge/0, cluster: users, baseline: {v: 1}, canary: {v: 2}}
  - {name: f, route: out/api/0, cluster: nope, baseline: {v: 1}, canary: {}}
  - {name: g}
)")),
      ElementsAre(
          HasSubstr("t.yaml:24:5: canary 'a': route 'nowhere': no route is named 'nowhere'"),
          HasSubstr("t.yaml:25:5: canary 'b': route 'edge/7': route index '7' is not in 0..1"),
          HasSubstr("t.yaml:26:5: canary 'c': route 'users' must send to `cluster: other`"),
          HasSubstr("t.yaml:27:5: canary 'd': route 'edge/1' must send to `cluster: users`"),
          HasSubstr("t.yaml:28:5: canary 'e': route 'users' already has a canary"),
          HasSubstr("t.yaml:29:5: canary 'f': route 'edge/0' already has a canary"),
          HasSubstr("t.yaml:30:5: duplicate canary 'f' (first at 29:5)"),
          HasSubstr("t.yaml:30:5: unknown cluster 'nope'"),
          HasSubstr("t.yaml:30:5: canary 'f': route 'out/api/0' must send to `cluster: nope`"),
          HasSubstr("t.yaml:30:74: canary must select endpoints by metadata"),
          HasSubstr("t.yaml:31:5: canary is missing required key 'route'"),
          HasSubstr("t.yaml:31:5: canary is missing required key 'cluster'"),
          HasSubstr("t.yaml:31:5: canary is missing required key 'baseline'"),
          HasSubstr("t.yaml:31:5: canary is missing required key 'canary'")));
}

// `fleet:` opts a canary out of deciding through the registry; asking for it without a registry
// that has a KV store is an error.
TEST(CanaryReaderTest, FleetIsUnsetByDefaultAndNeedsAKvRegistryWhenAskedFor) {
  const std::string canary =
      "  - {name: v2, route: users, cluster: users, baseline: {version: v1}, canary: {version: "
      "v2}%s}\n";
  auto with = [&](const std::string& extra) {
    std::string text = canary;
    text.replace(text.find("%s"), 2, extra);
    return withCanary(text);
  };
  EXPECT_FALSE(loadOk(with(""))->canaries[0].fleet);
  EXPECT_EQ(loadOk(with(", fleet: false"))->canaries[0].fleet, false);
  EXPECT_EQ(
      loadOk("registry: {etcd: {endpoints: [\"http://127.0.0.1:2379\"]}}\n" + with(", fleet: true"))
          ->canaries[0]
          .fleet,
      true);
  EXPECT_THAT(errorsOf(with(", fleet: true")),
              ElementsAre(HasSubstr("canary 'v2': fleet: true needs an etcd or consul registry")));
  EXPECT_THAT(errorsOf(with(", fleet: often")), ElementsAre(HasSubstr("fleet")));
}

}  // namespace
}  // namespace remora::config
