// Tests for `config_source:` and for loading a bootstrap file with its key's value: what comes
// from where, and each error with its place (the key's errors named by the key).
#include "config/config_source_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/dump.h"
#include "load_helpers.h"

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using testing::errorsOf;
using testing::loadOk;

constexpr char kBootstrap[] = R"(registry:
  consul: {address: "http://127.0.0.1:8500"}
config_source:
  consul: {key: remora/orders}
  cache: /var/cache/remora/orders.yaml
)";

constexpr char kValue[] = R"(listeners:
  - name: edge
    address: 127.0.0.1:0
    routes: [{cluster: users}]
clusters:
  - name: users
    service: users
)";

std::vector<std::string> errorTexts(const Result<std::shared_ptr<const Config>>& result) {
  std::vector<std::string> texts;
  for (const Error& error : result.errors()) texts.push_back(error.text());
  return texts;
}

TEST(ConfigSourceReaderTest, TheBootstrapNamesTheKeyAndItsCache) {
  auto config = loadOk(kBootstrap);
  ASSERT_TRUE(config->config_source.has_value());
  EXPECT_EQ(config->config_source->store, ConfigSource::Store::Consul);
  EXPECT_EQ(config->config_source->key, "remora/orders");
  EXPECT_EQ(config->config_source->cache, "/var/cache/remora/orders.yaml");
  EXPECT_EQ(config->config_source->name(), "consul key remora/orders");
  EXPECT_TRUE(config->listeners.empty());
  EXPECT_EQ(toJson(*config)["config_source"]["consul"]["key"], "remora/orders");
}

TEST(ConfigSourceReaderTest, TheValueBringsListenersClustersAndCanariesCheckedWithTheFile) {
  auto result = loadConfigWithSource(kBootstrap, "boot.yaml", {kValue, "consul key remora/orders"});
  ASSERT_TRUE(result.ok()) << errorTexts(result)[0];
  const Config& config = **result;
  ASSERT_EQ(config.listeners.size(), 1u);
  EXPECT_EQ(config.listeners[0].name, "edge");
  ASSERT_EQ(config.clusters.size(), 1u);
  // The value's cluster names a service: the file's registry serves it.
  EXPECT_EQ(config.clusters[0].service, "users");
  EXPECT_EQ(config.source_path, "boot.yaml");
}

TEST(ConfigSourceReaderTest, TheValuesErrorsNameTheKeyAndBootstrapKeysStayInTheFile) {
  auto result = loadConfigWithSource(kBootstrap, "boot.yaml",
                                     {"admin: {address: 127.0.0.1:1}\nlisteners:\n"
                                      "  - name: edge\n    address: nowhere\n",
                                      "consul key remora/orders"});
  EXPECT_THAT(errorTexts(result),
              ElementsAre("consul key remora/orders:1:1: unknown key 'admin' in config_source "
                          "value (known: listeners, clusters, canaries)",
                          "consul key remora/orders:3:5: listener needs routes or virtual_hosts",
                          "consul key remora/orders:4:14: address: bad address 'nowhere': "
                          "expected host:port"));
}

TEST(ConfigSourceReaderTest, TheInstanceKeyReplacesBlocksByNameAndAddsTheRest) {
  const std::string bootstrap = R"(registry:
  consul: {address: "http://127.0.0.1:8500"}
config_source:
  consul: {key: remora/orders, instance_key: remora/orders/instances/a}
)";
  auto result = loadConfigWithSource(bootstrap, "boot.yaml", {kValue, "consul key remora/orders"},
                                     SourceText{R"(clusters:
  - name: users
    endpoints: [127.0.0.1:9000]
  - name: extra
    endpoints: [127.0.0.1:9001]
)",
                                                "consul key remora/orders/instances/a"});
  ASSERT_TRUE(result.ok()) << errorTexts(result)[0];
  const Config& config = **result;
  ASSERT_EQ(config.clusters.size(), 2u);
  EXPECT_EQ(config.clusters[0].name, "users");
  EXPECT_TRUE(config.clusters[0].service.empty());  // the instance's static endpoints
  EXPECT_EQ(config.clusters[1].name, "extra");
  EXPECT_EQ(config.listeners.size(), 1u);  // the service key's, untouched
  EXPECT_THAT(config.config_source->instance_merge,
              ElementsAre("clusters/users: replaced", "clusters/extra: added"));
  // Its errors are named by the instance key.
  auto bad = loadConfigWithSource(
      bootstrap, "boot.yaml", {kValue, "consul key remora/orders"},
      SourceText{"clusters: [{name: users}]\n", "consul key remora/orders/instances/a"});
  EXPECT_THAT(errorTexts(bad), ElementsAre("consul key remora/orders/instances/a:1:12: cluster "
                                           "needs endpoints or service"));
}

TEST(ConfigSourceReaderTest, BadSourcesAreErrorsWithTheirPlace) {
  EXPECT_THAT(errorsOf("config_source: {consul: {key: /remora/orders}}\n"
                       "registry: {consul: {}}\n"),
              ElementsAre("t.yaml:1:31: a consul key has no leading '/': '/remora/orders'"));
  EXPECT_THAT(errorsOf("config_source: {cache: /tmp/x}\n"),
              ElementsAre("t.yaml:1:16: config_source takes exactly one of consul, etcd"));
  EXPECT_EQ(loadOk("config_source: {etcd: {key: /remora/orders}}\nregistry: {etcd: {}}\n")
                ->config_source->name(),
            "etcd key /remora/orders");
  EXPECT_THAT(errorsOf("config_source: {etcd: {key: /remora/orders}}\n"
                       "registry: {consul: {}}\n"),
              ElementsAre("t.yaml:1:16: config_source etcd needs registry: etcd (its address, "
                          "token and TLS reach the key)"));
  EXPECT_THAT(errorsOf("config_source: {consul: {key: a, instance_key: a}}\n"
                       "registry: {consul: {}}\n"),
              ElementsAre("t.yaml:1:25: instance_key must differ from key"));
  EXPECT_THAT(errorsOf("config_source: {consul: {}}\nregistry: {consul: {}}\n"),
              ElementsAre("t.yaml:1:25: consul is missing required key 'key'"));
  EXPECT_THAT(errorsOf("config_source: {consul: {key: remora/orders}}\n"),
              ElementsAre("t.yaml:1:16: config_source consul needs registry: consul (its "
                          "address, token and TLS reach the key)"));
  EXPECT_THAT(errorsOf(std::string(kBootstrap) + "listeners: []\n"),
              ElementsAre("t.yaml:6:1: listeners come from consul key remora/orders "
                          "(config_source), not from this file"));
}

}  // namespace
}  // namespace remora::config
