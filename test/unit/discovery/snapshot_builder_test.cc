// Tests of snapshot building: what is compiled once per config, and routes' weights by health.
#include "discovery/snapshot_builder.h"

#include <gtest/gtest.h>

#include "config/loader.h"

namespace remora::discovery {
namespace {

constexpr char kConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
registry:
  file: {path: /nonexistent/endpoints.yaml}
listeners:
  - name: edge
    address: "127.0.0.1:0"
    virtual_hosts:
      - name: users
        domains: [users, "*.users"]
        routes:
          - match: {regex: "/users/[0-9]+"}
            cluster: users
          - match: {prefix: /}
            split:
              - {cluster: users, subset: {version: v1}, weight: 90}
              - {cluster: users, subset: {version: v2}, weight: 10}
clusters:
  - name: users
    service: users
)";

// kConfig with `cluster_extra` added to the cluster's settings.
std::shared_ptr<const LoadedConfig> load(const std::string& cluster_extra = "") {
  auto config = config::loadConfigString(std::string(kConfig) + cluster_extra, "test.yaml");
  if (!config.ok()) ADD_FAILURE() << config.errors()[0].text();
  auto loaded = prepareConfig(*config);
  if (!loaded.ok()) ADD_FAILURE() << loaded.errors()[0].text();
  return *loaded;
}

RegistryView view(const std::vector<std::string>& versions) {
  RegistryView view;
  for (size_t i = 0; i < versions.size(); ++i) {
    RegistryEndpoint entry;
    entry.endpoint.address = {"10.0.0." + std::to_string(i + 1), 80};
    entry.endpoint.meta = {{"version", versions[i]}};
    view.services["users"].push_back(entry);
  }
  return view;
}

const CompiledRoute& routeAt(const Snapshot& snapshot, size_t index) {
  return snapshot.listeners[0].routes->hosts()[0].routes[index];
}

TEST(SnapshotBuilderTest, RoutesCompileOncePerConfig) {
  auto loaded = load();
  auto first = buildSnapshot(loaded, view({"v1"}), nullptr, nullptr, 1);
  auto second = buildSnapshot(loaded, view({"v1", "v2"}), nullptr, nullptr, 2);
  ASSERT_NE(routeAt(*first, 0).regex, nullptr);
  EXPECT_EQ(routeAt(*first, 0).regex, routeAt(*second, 0).regex);
  EXPECT_EQ(routeAt(*first, 0).regex, loaded->routes[0]->hosts()[0].routes[0].regex);
  // The subsets routes select are known from the config: the whole cluster, v1, v2.
  ASSERT_EQ(loaded->subsets[0].size(), 3u);
  EXPECT_EQ(loaded->subsets[0][2].lb_key, "users|version=v2");
  RequestHeaders request;
  request.authority = "api.users:8080";
  request.path = "/users/42";
  EXPECT_EQ(second->listeners[0].routes->match(request), &routeAt(*second, 0));
}

TEST(SnapshotBuilderTest, ASplitTargetWithoutHealthyEndpointsGivesItsWeightAway) {
  auto loaded = load();
  auto only_v1 = buildSnapshot(loaded, view({"v1", "v1"}), nullptr, nullptr, 1);
  const CompiledRoute& split = routeAt(*only_v1, 1);
  ASSERT_EQ(split.targets.size(), 2u);
  EXPECT_EQ(split.targets[0].weight, 90u);
  EXPECT_EQ(split.targets[1].weight, 0u);
  EXPECT_EQ(only_v1->clusters[0].subsets[split.targets[0].subset].members.size(), 2u);

  auto both = buildSnapshot(loaded, view({"v1", "v2"}), nullptr, nullptr, 2);
  EXPECT_EQ(routeAt(*both, 1).targets[1].weight, 10u);
  // The config's own table keeps the weights as written.
  EXPECT_EQ(loaded->routes[0]->hosts()[0].routes[1].targets[1].weight, 10u);
}

TEST(SnapshotBuilderTest, EndpointsPointIntoTheViewAndShareTextsUntilTheSweep) {
  auto loaded = load();
  BuildMemory memory;
  EndpointInterner& interner = memory.interner;
  RegistryView registry = view({"v1", "v1", "v2"});
  registry.services["users"][1].healthy = false;
  registry.services["users"][1].health_reason = "critical";
  registry.services["users"][2].healthy = false;
  registry.services["users"][2].health_reason = "critical";
  auto shared_view = std::make_shared<const RegistryView>(registry);
  auto snapshot = buildSnapshot(loaded, shared_view, nullptr, nullptr, 1, &memory);
  const auto& endpoints = snapshot->clusters[0].endpoints;
  EXPECT_EQ(endpoints[0].meta.get(), &shared_view->services.at("users")[0].endpoint.meta);
  EXPECT_EQ(snapshot->registry, shared_view);
  EXPECT_EQ(*endpoints[1].health_reason, "registry: critical");
  EXPECT_EQ(endpoints[1].health_reason, endpoints[2].health_reason);
  EXPECT_TRUE(endpoints[0].health_reason->empty());
  EXPECT_EQ(endpoints[0].address.v4.sin_family, AF_INET);
  EXPECT_EQ(endpoints[0].address_length, sizeof(sockaddr_in));
  EXPECT_EQ(endpoints[0].key, "10.0.0.1:80");

  interner.sweep();
  EXPECT_EQ(interner.size(), 1u);  // the reason, still held by the snapshot
  snapshot.reset();
  interner.sweep();
  EXPECT_EQ(interner.size(), 0u);
}

TEST(SnapshotBuilderTest, AHealthChangeKeepsTheHashTablesAndANewEndpointRebuildsThem) {
  auto loaded = load("    lb: maglev\n");
  BuildMemory memory;
  auto first = buildSnapshot(loaded, std::make_shared<const RegistryView>(view({"v1", "v1", "v2"})),
                             nullptr, nullptr, 1, &memory);
  RegistryView one_down = view({"v1", "v1", "v2"});
  one_down.services["users"][1].healthy = false;
  auto second = buildSnapshot(loaded, std::make_shared<const RegistryView>(one_down), nullptr,
                              nullptr, 2, &memory);
  for (size_t s = 0; s < first->clusters[0].subsets.size(); ++s) {
    ASSERT_NE(first->clusters[0].subsets[s].hash_table, nullptr);
    EXPECT_EQ(second->clusters[0].subsets[s].hash_table, first->clusters[0].subsets[s].hash_table);
  }
  EXPECT_EQ(second->clusters[0].subsets[0].members.size(), 2u);
  auto third =
      buildSnapshot(loaded, std::make_shared<const RegistryView>(view({"v1", "v1", "v2", "v2"})),
                    nullptr, nullptr, 3, &memory);
  EXPECT_NE(third->clusters[0].subsets[0].hash_table, first->clusters[0].subsets[0].hash_table);
  // v1's endpoints are as they were.
  EXPECT_EQ(third->clusters[0].subsets[1].hash_table, first->clusters[0].subsets[1].hash_table);
}

TEST(SnapshotBuilderTest, ANewEndpointOfAWarmClusterRampsForTheWindow) {
  auto loaded = load("    slow_start: {window: 30s}\n");
  BuildMemory memory;
  auto cold = buildSnapshot(loaded, std::make_shared<const RegistryView>(view({"v1", "v1"})),
                            nullptr, nullptr, 1, &memory);
  EXPECT_EQ(cold->clusters[0].subsets[0].slow_start_until_us, 0);
  auto grown = buildSnapshot(loaded, std::make_shared<const RegistryView>(view({"v1", "v1", "v2"})),
                             nullptr, nullptr, 2, &memory);
  const ClusterInfo& cluster = grown->clusters[0];
  EXPECT_EQ(cluster.endpoints[0].slow_start_since_us, 0);
  const int64_t since = cluster.endpoints[2].slow_start_since_us;
  EXPECT_GT(since, 0);
  EXPECT_EQ(cluster.subsets[0].slow_start_until_us, since + 30'000'000);
  EXPECT_EQ(cluster.subsets[2].slow_start_until_us, since + 30'000'000);  // v2
  EXPECT_EQ(cluster.subsets[1].slow_start_until_us, 0);                   // v1: nobody ramps
}

}  // namespace
}  // namespace remora::discovery
