// Tests for the `registry:`, `service:` and `health_check:` blocks: defaults, keys, and errors.
#include "config/registry_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/dump.h"
#include "config/loader.h"

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A cluster fed by the registry, plus whatever top-level `extra` and `cluster_line` add.
std::string config(const std::string& extra, const std::string& cluster_line = "") {
  std::string text = extra +
                     "\nlisteners:\n  - name: edge\n    address: 127.0.0.1:15001\n    routes:\n"
                     "      - match: {prefix: /}\n        cluster: users\n"
                     "clusters:\n  - name: users\n    service: users\n";
  if (!cluster_line.empty()) text += "    " + cluster_line + "\n";
  return text;
}

Result<std::shared_ptr<const Config>> load(const std::string& extra,
                                           const std::string& cluster_line = "") {
  return loadConfigString(config(extra, cluster_line), "t.yaml");
}

std::vector<std::string> errorsOf(const std::string& extra, const std::string& cluster_line = "") {
  std::vector<std::string> texts;
  const Result<std::shared_ptr<const Config>> result = load(extra, cluster_line);
  for (const Error& error : result.errors()) texts.push_back(error.text());
  return texts;
}

TEST(RegistryReaderTest, ConsulDefaultsFollowTheAgentOnLoopback) {
  auto result = load("registry: {consul: }");
  ASSERT_TRUE(result) << result.errors()[0].text();
  const ConsulRegistry& consul = *(*result)->registry.consul;
  EXPECT_EQ(consul.address, "http://127.0.0.1:8500");
  EXPECT_EQ(consul.wait, Duration(300000));
  EXPECT_EQ(consul.check, ConsulRegistry::Check::Ttl);
  EXPECT_EQ(consul.deregister_critical_after, Duration(60000));
  EXPECT_STREQ((*result)->registry.kind(), "consul");
}

TEST(RegistryReaderTest, ConsulKeys) {
  auto result = load(
      "registry: {consul: {address: 'https://agent:8501/', token: t, datacenter: dc2, stale: true, "
      "wait: 30s, ca: /ca.pem, check: http, deregister_critical_after: 5m}}");
  ASSERT_TRUE(result) << result.errors()[0].text();
  const ConsulRegistry& consul = *(*result)->registry.consul;
  EXPECT_EQ(consul.address, "https://agent:8501");
  EXPECT_EQ(consul.token, "t");
  EXPECT_EQ(consul.datacenter, "dc2");
  EXPECT_TRUE(consul.stale);
  EXPECT_EQ(consul.wait, Duration(30000));
  EXPECT_EQ(consul.check, ConsulRegistry::Check::Http);
  EXPECT_EQ(consul.deregister_critical_after, Duration(300000));
  // The token never shows in /config_dump.
  EXPECT_EQ(toJson(**result)["registry"]["consul"]["token"], "<redacted>");
}

TEST(RegistryReaderTest, ConsulErrors) {
  EXPECT_THAT(errorsOf("registry: {consul: {address: 127.0.0.1:8500}}"),
              ElementsAre(HasSubstr("address must be an http:// or https:// URL")));
  EXPECT_THAT(errorsOf("registry: {consul: {wait: 11m}}"),
              ElementsAre(HasSubstr("wait must be between 1s and 10m")));
  EXPECT_THAT(errorsOf("registry: {consul: {deregister_critical_after: 30s}}"),
              ElementsAre(HasSubstr("at least 1m")));
  EXPECT_THAT(errorsOf("registry: {consul: {check: grpc}}"),
              ElementsAre(HasSubstr("unknown check 'grpc' (known: ttl, http)")));
  EXPECT_THAT(errorsOf("registry: {consul: {address: 'https://a:8501'}}"),
              ElementsAre(HasSubstr("an https:// address needs 'ca'")));
  EXPECT_THAT(errorsOf("registry: {consul: {stale: maybe}}"),
              ElementsAre(HasSubstr("stale must be true or false")));
}

TEST(RegistryReaderTest, EtcdDefaultsAndKeys) {
  auto defaults = load("registry: {etcd: {}}");
  ASSERT_TRUE(defaults);
  EXPECT_THAT((*defaults)->registry.etcd->endpoints, ElementsAre("http://127.0.0.1:2379"));
  EXPECT_EQ((*defaults)->registry.etcd->prefix, "/services/");
  EXPECT_EQ((*defaults)->registry.etcd->lease_ttl, Duration(10000));

  auto result = load(
      "registry: {etcd: {endpoints: ['http://a:2379', 'http://b:2379'], prefix: /reg, "
      "lease_ttl: 5s}}");
  ASSERT_TRUE(result) << result.errors()[0].text();
  EXPECT_THAT((*result)->registry.etcd->endpoints, ElementsAre("http://a:2379", "http://b:2379"));
  // `users` must not match `users-admin`: the prefix always ends in '/'.
  EXPECT_EQ((*result)->registry.etcd->prefix, "/reg/");

  auto tls = load(
      "registry: {etcd: {endpoints: ['https://a:2379'], ca: /ca.pem, cert: /c.pem, key: /k.pem, "
      "tls_server_name: etcd.internal}}");
  ASSERT_TRUE(tls) << tls.errors()[0].text();
  const RegistryTls& settings = (*tls)->registry.etcd->tls;
  EXPECT_EQ(settings.ca, "/ca.pem");
  EXPECT_EQ(settings.cert, "/c.pem");
  EXPECT_EQ(settings.key, "/k.pem");
  EXPECT_EQ(settings.server_name, "etcd.internal");
  EXPECT_EQ(toJson(**tls)["registry"]["etcd"]["tls_server_name"], "etcd.internal");
}

TEST(RegistryReaderTest, EtcdErrors) {
  EXPECT_THAT(errorsOf("registry: {etcd: {endpoints: []}}"),
              ElementsAre(HasSubstr("endpoints must not be empty")));
  EXPECT_THAT(errorsOf("registry: {etcd: {lease_ttl: 1s}}"),
              ElementsAre(HasSubstr("lease_ttl must be at least 2s")));
  EXPECT_THAT(errorsOf("registry: {etcd: {username: root}}"),
              ElementsAre(HasSubstr("username and password come together")));
  EXPECT_THAT(errorsOf("registry: {etcd: {endpoints: [a:2379]}}"),
              ElementsAre(HasSubstr("etcd endpoint must be an http:// or https:// URL")));
  EXPECT_THAT(errorsOf("registry: {etcd: {endpoints: ['http://a:2379', 'https://b:2379']}}"),
              ElementsAre(HasSubstr("registry etcd: an https:// address needs 'ca'")));
  EXPECT_THAT(errorsOf("registry: {etcd: {ca: /ca.pem, cert: /c.pem}}"),
              ElementsAre(HasSubstr("registry etcd: cert and key come together")));
}

TEST(RegistryReaderTest, DnsKeys) {
  auto result = load(
      "registry: {dns: {servers: ['127.0.0.1:8600'], domain: .service.consul., "
      "min_ttl: 2s, timeout: 500ms}}");
  ASSERT_TRUE(result) << result.errors()[0].text();
  const DnsRegistry& dns = *(*result)->registry.dns;
  ASSERT_EQ(dns.servers.size(), 1u);
  EXPECT_EQ(dns.servers[0].text(), "127.0.0.1:8600");
  EXPECT_EQ(dns.domain, "service.consul");
  EXPECT_EQ(dns.min_ttl, Duration(2000));
  EXPECT_THAT(errorsOf("registry: {dns: {timeout: 0s}}"),
              ElementsAre(HasSubstr("timeout must be more than 0")));
}

TEST(RegistryReaderTest, ExactlyOneProvider) {
  EXPECT_THAT(errorsOf("registry: {etcd: {}, dns: {}}"),
              ElementsAre("t.yaml:1:11: registry needs exactly one of: consul, etcd, dns, file"));
  EXPECT_THAT(errorsOf("registry: {}"),
              ElementsAre(HasSubstr("registry needs exactly one of"),
                          HasSubstr("cluster uses service 'users' but no registry is configured")));
}

TEST(ServiceReaderTest, DefaultsFollowTheName) {
  auto result = load("service: {name: orders, port: 15006}\nregistry: {etcd: {}}");
  ASSERT_TRUE(result) << result.errors()[0].text();
  const Service& service = *(*result)->service;
  EXPECT_EQ(service.id, "orders");
  EXPECT_EQ(service.address, "127.0.0.1");
  EXPECT_EQ(service.weight_passing, 1u);
  EXPECT_FALSE(service.app.has_value());
}

TEST(ServiceReaderTest, EveryKey) {
  auto result = load(
      "service:\n  name: orders\n  id: orders-7\n  address: 10.0.0.7\n  port: 15006\n"
      "  tags: [http, blue]\n  meta: {version: v2}\n  weights: {passing: 10, warning: 1}\n"
      "  app: 127.0.0.1:8080\n  health: {path: /healthz, interval: 2s, timeout: 500ms, "
      "healthy_threshold: 1, unhealthy_threshold: 4}\nregistry: {etcd: {}}");
  ASSERT_TRUE(result) << result.errors()[0].text();
  const Service& service = *(*result)->service;
  EXPECT_EQ(service.id, "orders-7");
  EXPECT_EQ(service.address, "10.0.0.7");
  EXPECT_THAT(service.tags, ElementsAre("http", "blue"));
  EXPECT_EQ(service.meta.at("version"), "v2");
  EXPECT_EQ(service.weight_passing, 10u);
  EXPECT_EQ(service.weight_warning, 1u);
  EXPECT_EQ(service.app->text(), "127.0.0.1:8080");
  EXPECT_EQ(service.health.path, "/healthz");
  EXPECT_EQ(service.health.interval, Duration(2000));
  EXPECT_EQ(service.health.unhealthy_threshold, 4u);
  EXPECT_EQ(toJson(**result)["service"]["health"]["timeout"], "500ms");
}

TEST(ServiceReaderTest, Errors) {
  EXPECT_THAT(errorsOf("service: {name: orders}\nregistry: {etcd: {}}"),
              ElementsAre(HasSubstr("service is missing required key 'port'")));
  EXPECT_THAT(errorsOf("service: {name: a/b, port: 1}\nregistry: {etcd: {}}"),
              ElementsAre(HasSubstr("service name must not contain '/'")));
  EXPECT_THAT(errorsOf("service: {name: a, port: 1, health: {}}\nregistry: {etcd: {}}"),
              ElementsAre(HasSubstr("service health needs 'app'")));
  EXPECT_THAT(errorsOf("service: {name: a, port: 1, weights: {passing: 0}}\nregistry: {etcd: {}}"),
              ElementsAre(HasSubstr("passing")));
}

TEST(HealthCheckReaderTest, ClusterHealthCheck) {
  auto result = load("registry: {etcd: {}}", "health_check: {path: /ping, interval: 1s}");
  ASSERT_TRUE(result) << result.errors()[0].text();
  const HealthCheck& check = *(*result)->clusters[0].health_check;
  EXPECT_EQ(check.path, "/ping");
  EXPECT_EQ(check.interval, Duration(1000));
  EXPECT_EQ(check.timeout, Duration(1000));
  EXPECT_EQ(check.healthy_threshold, 2u);
  EXPECT_EQ(check.unhealthy_threshold, 3u);
  EXPECT_THAT(errorsOf("registry: {etcd: {}}", "health_check: {path: ping}"),
              ElementsAre(HasSubstr("must start with '/'")));
  EXPECT_THAT(errorsOf("registry: {etcd: {}}", "health_check: {interval: 1s, timeout: 2s}"),
              ElementsAre(HasSubstr("timeout must not exceed its interval")));
  EXPECT_THAT(errorsOf("registry: {etcd: {}}", "health_check: {healthy_threshold: 0}"),
              ElementsAre(HasSubstr("healthy_threshold")));
  EXPECT_THAT(errorsOf("registry: {etcd: {}}", "protocol: http2\n    health_check: {}"),
              ElementsAre(HasSubstr("health_check is plain HTTP/1.1")));
  EXPECT_THAT(errorsOf("registry: {etcd: {}}"), IsEmpty());
}

}  // namespace
}  // namespace remora::config
