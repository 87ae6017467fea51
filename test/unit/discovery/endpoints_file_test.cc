// Tests for the file registry's endpoints format.
#include "discovery/file/endpoints_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace remora::discovery {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::StartsWith;

std::vector<std::string> errorsOf(const std::string& yaml) {
  Result<EndpointsFile> result = parseEndpointsFile(yaml, "e.yaml");
  std::vector<std::string> texts;
  for (const Error& error : result.errors()) texts.push_back(error.text());
  EXPECT_EQ(result.ok(), texts.empty());
  return texts;
}

TEST(EndpointsFileTest, ParsesEveryForm) {
  Result<EndpointsFile> result = parseEndpointsFile(R"(users:
  - 10.0.0.1:8080
  - {address: 10.0.0.2:8080, weight: 5, meta: {version: v2}}
  - {address: "[fd00::3]:8080", health: unhealthy}
  - {address: 10.0.0.4:8080, health: draining}
  - {address: 10.0.0.5:8080, health: healthy}
orders: []
idle:
)",
                                                    "e.yaml");
  ASSERT_TRUE(result.ok()) << result.errors().at(0).text();
  const EndpointsFile& file = *result;
  ASSERT_EQ(file.size(), 3u);
  EXPECT_THAT(file.at("orders"), IsEmpty());
  EXPECT_THAT(file.at("idle"), IsEmpty());
  const std::vector<FileEndpoint>& users = file.at("users");
  ASSERT_EQ(users.size(), 5u);
  EXPECT_EQ(users[0].endpoint.address.text(), "10.0.0.1:8080");
  EXPECT_EQ(users[0].endpoint.weight, 1u);
  EXPECT_EQ(users[0].health, FileEndpoint::Health::Healthy);
  EXPECT_EQ(users[1].endpoint.weight, 5u);
  EXPECT_EQ(users[1].endpoint.meta, (config::Metadata{{"version", "v2"}}));
  EXPECT_EQ(users[1].health, FileEndpoint::Health::Healthy);
  EXPECT_EQ(users[2].endpoint.address.host, "fd00::3");
  EXPECT_EQ(users[2].health, FileEndpoint::Health::Unhealthy);
  EXPECT_EQ(users[3].health, FileEndpoint::Health::Draining);
  EXPECT_EQ(users[4].health, FileEndpoint::Health::Healthy);
}

TEST(EndpointsFileTest, EmptyMappingMeansNoServices) {
  Result<EndpointsFile> result = parseEndpointsFile("{}\n", "e.yaml");
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(*result, IsEmpty());
}

TEST(EndpointsFileTest, AnEmptyDocumentIsAnError) {
  EXPECT_THAT(errorsOf(""), ElementsAre("e.yaml:1:1: the document is empty"));
}

TEST(EndpointsFileTest, ReportsEveryErrorWithItsPlace) {
  EXPECT_THAT(errorsOf(R"(users:
  - nowhere
  - {address: 10.0.0.2:8080, weight: 0}
  - {address: 10.0.0.3:8080, health: sick, zone: a}
  - {weight: 2}
orders: 10.0.0.1:80
)"),
              ElementsAre("e.yaml:2:5: endpoint: bad address 'nowhere': expected host:port",
                          "e.yaml:3:38: weight must be in 1..1000000, not 0",
                          "e.yaml:4:38: unknown health 'sick' (known: healthy, unhealthy, "
                          "draining)",
                          "e.yaml:4:44: unknown key 'zone' in endpoint (known: address, weight, "
                          "meta, health)",
                          "e.yaml:5:5: endpoint is missing required key 'address'",
                          "e.yaml:6:9: orders must be a list, not a scalar"));
}

TEST(EndpointsFileTest, RejectsNonMappingsAndSyntaxErrors) {
  EXPECT_THAT(errorsOf("- a\n"),
              ElementsAre("e.yaml:1:1: endpoints file must be a mapping, not a list"));
  EXPECT_THAT(errorsOf("users: [\n"), ElementsAre(StartsWith("e.yaml:2:1: ")));
}

TEST(EndpointsFileTest, DoesNotExpandEnvironmentVariables) {
  EXPECT_THAT(errorsOf("users: ['${REMORA_NOT_SET}:80']\n"),
              ElementsAre(StartsWith("e.yaml:1:9: endpoint: bad address '${REMORA_NOT_SET}:80'")));
}

}  // namespace
}  // namespace remora::discovery
