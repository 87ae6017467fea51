// Unit tests of the etcd instances: the views of the watched services, and when the next view
// differs from the last one taken.
#include "discovery/etcd/etcd_instances.h"

#include <gtest/gtest.h>

namespace remora::discovery::etcd {
namespace {

std::string instance(const std::string& address, const std::string& version = "v1") {
  return R"({"Addr":")" + address + R"(","Metadata":{"version":")" + version + R"("}})";
}

std::vector<std::string> ids(const RegistryView& view, const std::string& service) {
  std::vector<std::string> out;
  for (const auto& endpoint : view.services.at(service)) {
    out.push_back(endpoint.endpoint.meta.at("instance"));
  }
  return out;
}

TEST(EtcdInstancesTest, AViewHoldsTheWatchedServicesInKeyOrderWithTheirInstanceIds) {
  EtcdInstances instances("/services/");
  instances.watch({"users", "empty"});
  instances.replace({{"/services/users/b", instance("10.0.0.2:80"), 1},
                     {"/services/users/a", instance("10.0.0.1:80", "v2"), 1},
                     {"/services/users/bad", "not json", 1},
                     {"/services/orders/x", instance("10.0.0.3:80"), 1},
                     {"/services/no-slash", instance("10.0.0.4:80"), 1}});
  EXPECT_TRUE(instances.changed());
  RegistryView view = instances.takeView();
  EXPECT_EQ(view.services.size(), 2u);
  EXPECT_TRUE(view.services.at("empty").empty());
  ASSERT_EQ(ids(view, "users"), (std::vector<std::string>{"a", "b"}));
  const RegistryEndpoint& a = view.services.at("users")[0];
  EXPECT_EQ(a.endpoint.address.text(), "10.0.0.1:80");
  EXPECT_EQ(a.endpoint.meta, (config::Metadata{{"instance", "a"}, {"version", "v2"}}));
  EXPECT_EQ(a.endpoint.weight, 1u);
  EXPECT_TRUE(a.healthy);
  EXPECT_FALSE(instances.changed());
}

TEST(EtcdInstancesTest, OnlyAChangeOfAWatchedInstanceMakesANewView) {
  EtcdInstances instances("/services/");
  instances.watch({"users"});
  instances.replace({{"/services/users/a", instance("10.0.0.1:80"), 1}});
  instances.takeView();
  EXPECT_FALSE(instances.put("/services/users/a", instance("10.0.0.1:80")));
  EXPECT_FALSE(instances.put("/services/orders/a", instance("10.0.0.9:80")));
  EXPECT_FALSE(instances.erase("/services/users/never"));
  EXPECT_FALSE(instances.put("/services/users/bad", "{}"));
  EXPECT_FALSE(instances.changed());
  EXPECT_TRUE(instances.put("/services/users/a", instance("10.0.0.1:80", "v2")));
  EXPECT_TRUE(instances.changed());
  EXPECT_EQ(instances.takeView().services.at("users")[0].endpoint.meta.at("version"), "v2");
  // A value that no longer parses takes the instance out.
  EXPECT_TRUE(instances.put("/services/users/a", "garbage"));
  EXPECT_TRUE(instances.changed());
  EXPECT_TRUE(instances.takeView().services.at("users").empty());
  // Weight 0 drains.
  EXPECT_TRUE(
      instances.put("/services/users/d", R"({"Addr":"10.0.0.4:80","Metadata":{"weight":"0"}})"));
  const RegistryEndpoint drained = instances.takeView().services.at("users")[0];
  EXPECT_FALSE(drained.healthy);
  EXPECT_EQ(drained.health_reason, "drained (weight 0)");
}

TEST(EtcdInstancesTest, ChangesUndoneBeforeTheNextViewLeaveItAsItWas) {
  EtcdInstances instances("/services/");
  instances.watch({"users"});
  instances.replace({{"/services/users/a", instance("10.0.0.1:80"), 1}});
  instances.takeView();
  EXPECT_TRUE(instances.put("/services/users/b", instance("10.0.0.2:80")));
  EXPECT_TRUE(instances.put("/services/users/a", instance("10.0.0.5:80")));
  EXPECT_TRUE(instances.changed());
  EXPECT_TRUE(instances.erase("/services/users/b"));
  EXPECT_TRUE(instances.put("/services/users/a", instance("10.0.0.1:80")));
  EXPECT_FALSE(instances.changed());
}

TEST(EtcdInstancesTest, ARangeChangesTheViewOnlyWhenItReadsSomethingElse) {
  EtcdInstances instances("/services/");
  instances.watch({"users"});
  instances.replace({{"/services/users/a", instance("10.0.0.1:80"), 1}});
  instances.takeView();
  instances.replace({{"/services/users/a", instance("10.0.0.1:80"), 2},
                     {"/services/orders/a", instance("10.0.0.9:80"), 2}});
  EXPECT_FALSE(instances.changed());
  instances.replace({{"/services/users/a", instance("10.0.0.1:80", "v2"), 3}});
  EXPECT_TRUE(instances.changed());
  instances.takeView();
  // A change the range reads undone.
  EXPECT_TRUE(instances.put("/services/users/b", instance("10.0.0.2:80")));
  instances.replace({{"/services/users/a", instance("10.0.0.1:80", "v2"), 4}});
  EXPECT_FALSE(instances.changed());
  instances.replace({});
  EXPECT_TRUE(instances.changed());
  EXPECT_TRUE(instances.takeView().services.at("users").empty());
}

TEST(EtcdInstancesTest, ANewSetOfServicesIsANewViewOfWhatWasAlreadyRead) {
  EtcdInstances instances("/services/");
  instances.watch({"users"});
  instances.replace({{"/services/users/a", instance("10.0.0.1:80"), 1},
                     {"/services/orders/x", instance("10.0.0.9:80"), 1}});
  instances.takeView();
  instances.watch({"users"});
  EXPECT_FALSE(instances.changed());
  instances.watch({"users", "orders"});
  EXPECT_TRUE(instances.changed());
  EXPECT_EQ(ids(instances.takeView(), "orders"), std::vector<std::string>{"x"});
  EXPECT_FALSE(instances.changed());
}

}  // namespace
}  // namespace remora::discovery::etcd
