// remora with `registry: dns` through the real binary against a real dnsmasq: SRV targets by
// priority and weight, a changed answer followed after its TTL, and a dead DNS server that
// changes nothing.
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "integration/harness/harness.h"
#include "unit/discovery/dns/dnsmasq.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

constexpr char kConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
registry:
  dns: {servers: ["127.0.0.1:{{dns_port}}"], domain: test.local, min_ttl: 200ms}
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: users
clusters:
  - name: users
    service: users
)";

std::vector<std::string> srvRecords(const std::vector<std::pair<uint16_t, int>>& port_priority) {
  std::vector<std::string> records = {"--local-ttl=1", "--host-record=u.test.local,127.0.0.1"};
  for (const auto& [port, priority] : port_priority) {
    records.push_back("--srv-host=_users._tcp.test.local,u.test.local," + std::to_string(port) +
                      "," + std::to_string(priority) + ",10");
  }
  return records;
}

std::set<std::string> bodiesSeen(uint16_t port, int count) {
  std::set<std::string> bodies;
  for (int i = 0; i < count; ++i) {
    HttpResponse response = httpGet(port, "/");
    bodies.insert(std::to_string(response.status) + " " + response.body);
  }
  return bodies;
}

TEST(DnsSrv, RoutesToTheLowestPriorityFollowsChangesAndOutlivesTheServer) {
  ScriptedUpstream a(ScriptedUpstream::respondWith(200, "a"));
  ScriptedUpstream b(ScriptedUpstream::respondWith(200, "b"));
  ScriptedUpstream backup(ScriptedUpstream::respondWith(200, "backup"));
  dnstest::Dnsmasq dns;
  ASSERT_EQ(dns.start(srvRecords({{a.port(), 1}, {b.port(), 1}, {backup.port(), 2}})), "");
  Remora remora;
  ASSERT_TRUE(remora.start(render(kConfig, {{"dns_port", std::to_string(dns.port())}})));
  const uint16_t port = remora.port("edge");
  ASSERT_TRUE(waitUntil(
      [&] {
        return bodiesSeen(port, 6) == std::set<std::string>{"200 a", "200 b"};
      },
      deadlineIn(5s)))
      << remora.logs();
  // The backup priority is known and shown, but out of rotation while priority 1 has targets.
  bool backup_listed = false;
  const nlohmann::json clusters = nlohmann::json::parse(remora.adminGet("/clusters").body);
  for (const auto& endpoint : clusters["clusters"][0]["endpoints"]) {
    if (endpoint["address"] != backup.address()) continue;
    backup_listed = true;
    EXPECT_EQ(endpoint["healthy"], false);
    EXPECT_EQ(endpoint["reason"], "registry: dns: backup (priority 2)");
  }
  EXPECT_TRUE(backup_listed) << remora.adminGet("/clusters").body;

  // Priority 1 is gone from the answer: after its TTL the backup takes over.
  ASSERT_EQ(dns.restart(srvRecords({{backup.port(), 2}})), "");
  ASSERT_TRUE(waitUntil([&] { return bodiesSeen(port, 4) == std::set<std::string>{"200 backup"}; },
                        deadlineIn(5s)))
      << remora.logs();

  // A dead DNS server is a registry failure, not an empty answer: traffic keeps flowing.
  dns.stop();
  ASSERT_TRUE(waitUntil(
      [&] {
        return metricValue(remora.adminGet("/metrics").body, "remora_registry_errors_total",
                           {{"registry", "dns"}}) > 0;
      },
      deadlineIn(10s)))
      << remora.logs();
  EXPECT_EQ(bodiesSeen(port, 10), std::set<std::string>{"200 backup"});
}

// A static endpoint written as a name follows the name's A records, and keeps its last
// addresses when the DNS server goes away.
TEST(DnsStaticHost, ANameIsResolvedAgainWhenItsTtlRunsOut) {
  ScriptedUpstream api(ScriptedUpstream::respondWith(200, "api"));
  dnstest::Dnsmasq dns;
  // First nothing listens where the name points.
  ASSERT_EQ(dns.start({"--local-ttl=1", "--host-record=api.test.local,127.0.0.2"}), "");
  Remora remora;
  ASSERT_TRUE(remora.start(
      render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
registry:
  dns: {servers: ["127.0.0.1:{{dns_port}}"], min_ttl: 200ms}
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: api
clusters:
  - name: api
    endpoints: ["api.test.local:{{port}}"]
)",
             {{"dns_port", std::to_string(dns.port())}, {"port", std::to_string(api.port())}})));
  const uint16_t port = remora.port("edge");
  auto endpoints = [&] {
    return nlohmann::json::parse(remora.adminGet("/clusters").body)["clusters"][0]["endpoints"];
  };
  ASSERT_TRUE(waitUntil(
      [&] { return endpoints()[0]["address"] == "127.0.0.2:" + std::to_string(api.port()); },
      deadlineIn(5s)))
      << remora.adminGet("/clusters").body;
  EXPECT_EQ(endpoints()[0]["meta"]["hostname"], "api.test.local");

  ASSERT_EQ(dns.restart({"--local-ttl=1", "--host-record=api.test.local,127.0.0.1"}), "");
  ASSERT_TRUE(waitUntil([&] { return httpGet(port, "/").body == "api"; }, deadlineIn(5s)))
      << remora.logs();
  dns.stop();
  ASSERT_TRUE(waitUntil(
      [&] { return remora.logs().find("keeping the last addresses") != std::string::npos; },
      deadlineIn(10s)))
      << remora.logs();
  EXPECT_EQ(httpGet(port, "/").body, "api");
}

}  // namespace
}  // namespace remora::harness
