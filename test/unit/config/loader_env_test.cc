// Tests for environment variables in remora YAML configs: expansion in every scalar (filter
// configs included), unset variables as errors at their place, aliases expanded once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "config/loader.h"
#include "load_helpers.h"

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using testing::errorsOf;
using testing::loadOk;
using ::testing::StartsWith;

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
  std::shared_ptr<const Config> config = loadOk(R"(admin: {address: "${REMORA_LOADER_IP}:9901"}
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
  std::shared_ptr<const Config> config = loadOk(R"(listeners:
  - name: &n "a$$b"
    address: 127.0.0.1:1
    routes: [{direct_response: {status: 200, body: *n}}]
)");
  EXPECT_EQ(config->listeners.at(0).name, "a$b");
  EXPECT_EQ(config->listeners.at(0).virtual_hosts.at(0).routes.at(0).direct_response->body, "a$b");
}

}  // namespace
}  // namespace remora::config
