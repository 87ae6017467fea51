// Tests for reading a route's `mirror:` block: defaults, every key, each error, and the dump.
#include "config/mirror_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/dump.h"
#include "config/loader.h"

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One route to `backend` with `route_lines` added, and a `shadow` cluster beside it.
std::string config(const std::string& route_lines) {
  return "listeners:\n  - name: edge\n    address: 127.0.0.1:15001\n    routes:\n"
         "      - match: {prefix: /}\n        cluster: backend\n        " +
         route_lines +
         "\nclusters:\n  - name: backend\n    endpoints: [127.0.0.1:8080]\n"
         "  - name: shadow\n    endpoints: [127.0.0.1:8081]\n";
}

Result<std::shared_ptr<const Config>> load(const std::string& mirror) {
  return loadConfigString(config("mirror: " + mirror), "t.yaml");
}

std::vector<std::string> errorsOf(const std::string& mirror) {
  const Result<std::shared_ptr<const Config>> result = load(mirror);
  std::vector<std::string> texts;
  for (const Error& error : result.errors()) texts.push_back(error.text());
  return texts;
}

const Route& routeOf(const Result<std::shared_ptr<const Config>>& result) {
  return (*result)->listeners[0].virtual_hosts[0].routes[0];
}

TEST(MirrorReaderTest, ClusterAloneGetsTheDefaults) {
  auto result = load("{cluster: shadow}");
  ASSERT_TRUE(result.ok()) << result.errors().front().text();
  const Mirror& mirror = *routeOf(result).mirror;
  EXPECT_EQ(mirror.cluster, "shadow");
  EXPECT_TRUE(mirror.subset.empty());
  EXPECT_EQ(mirror.percent, 100);
  EXPECT_FALSE(mirror.compare);
  EXPECT_FALSE(mirror.compare_body);
  EXPECT_EQ(mirror.max_body_bytes, 64u * 1024);
  EXPECT_EQ(mirror.max_concurrent, 100u);
  EXPECT_FALSE(mirror.timeout.has_value());
  // No timeout of its own: the route's (15s by default).
  EXPECT_EQ(mirrorTimeout(routeOf(result)), Duration{15000});
}

TEST(MirrorReaderTest, RouteWithoutMirrorHasNone) {
  auto result = loadConfigString(config("timeout: 1s"), "t.yaml");
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(routeOf(result).mirror.has_value());
}

TEST(MirrorReaderTest, EveryKey) {
  auto result = load(
      "{cluster: shadow, subset: {version: v2}, percent: 12.5, compare: {body: true}, "
      "max_body_bytes: 1MiB, max_concurrent: 7, timeout: 300ms}");
  ASSERT_TRUE(result.ok()) << result.errors().front().text();
  const Mirror& mirror = *routeOf(result).mirror;
  EXPECT_EQ(mirror.subset, (Metadata{{"version", "v2"}}));
  EXPECT_EQ(mirror.percent, 12.5);
  EXPECT_TRUE(mirror.compare);
  EXPECT_TRUE(mirror.compare_body);
  EXPECT_EQ(mirror.max_body_bytes, 1024u * 1024);
  EXPECT_EQ(mirror.max_concurrent, 7u);
  EXPECT_EQ(mirrorTimeout(routeOf(result)), Duration{300});
}

TEST(MirrorReaderTest, CompareTrueComparesStatusOnly) {
  auto result = load("{cluster: shadow, compare: true}");
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(routeOf(result).mirror->compare);
  EXPECT_FALSE(routeOf(result).mirror->compare_body);
}

TEST(MirrorReaderTest, TimeoutFollowsTheRouteOrTheDefault) {
  auto route_timeout =
      loadConfigString(config("timeout: 2s\n        mirror: {cluster: shadow}"), "t.yaml");
  ASSERT_TRUE(route_timeout.ok());
  EXPECT_EQ(mirrorTimeout(routeOf(route_timeout)), Duration{2000});
  auto no_route_timeout =
      loadConfigString(config("timeout: 0s\n        mirror: {cluster: shadow}"), "t.yaml");
  ASSERT_TRUE(no_route_timeout.ok());
  EXPECT_EQ(mirrorTimeout(routeOf(no_route_timeout)), kDefaultMirrorTimeout);
}

TEST(MirrorReaderTest, UnknownClusterIsReportedWhereItIsNamed) {
  EXPECT_THAT(errorsOf("{cluster: nowhere}"),
              ElementsAre(HasSubstr("t.yaml:7:27: unknown cluster 'nowhere'")));
}

TEST(MirrorReaderTest, ClusterIsRequired) {
  EXPECT_THAT(errorsOf("{percent: 10}"), ElementsAre(HasSubstr("cluster")));
}

TEST(MirrorReaderTest, PercentOutsideItsRange) {
  EXPECT_THAT(errorsOf("{cluster: shadow, percent: 101}"),
              ElementsAre(HasSubstr("percent must be in 0..100, not 101")));
  EXPECT_THAT(errorsOf("{cluster: shadow, percent: -1}"),
              ElementsAre(HasSubstr("percent must be in 0..100")));
  EXPECT_THAT(errorsOf("{cluster: shadow, percent: half}"),
              ElementsAre(HasSubstr("percent must be a number")));
}

TEST(MirrorReaderTest, BadCompare) {
  EXPECT_THAT(errorsOf("{cluster: shadow, compare: maybe}"), ElementsAre(HasSubstr("compare")));
  EXPECT_THAT(errorsOf("{cluster: shadow, compare: {headers: true}}"),
              ElementsAre(HasSubstr("headers")));
}

TEST(MirrorReaderTest, BadLimits) {
  EXPECT_THAT(errorsOf("{cluster: shadow, max_concurrent: 0}"),
              ElementsAre(HasSubstr("max_concurrent")));
  EXPECT_THAT(errorsOf("{cluster: shadow, max_body_bytes: 1GiB}"),
              ElementsAre(HasSubstr("max_body_bytes")));
  EXPECT_THAT(errorsOf("{cluster: shadow, timeout: 0s}"),
              ElementsAre(HasSubstr("mirror timeout must be more than 0")));
}

TEST(MirrorReaderTest, UnknownKey) {
  EXPECT_THAT(errorsOf("{cluster: shadow, retries: 2}"), ElementsAre(HasSubstr("retries")));
}

TEST(MirrorReaderTest, DirectResponseHasNothingToMirror) {
  auto result = loadConfigString(
      "listeners:\n  - name: edge\n    address: 127.0.0.1:15001\n    routes:\n"
      "      - match: {prefix: /}\n        direct_response: {status: 200}\n"
      "        mirror: {cluster: shadow}\n"
      "clusters:\n  - name: shadow\n    endpoints: [127.0.0.1:8081]\n",
      "t.yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.errors().front().text(), HasSubstr("mirror needs an upstream"));
}

TEST(MirrorReaderTest, DumpShowsTheMirror) {
  auto result = load("{cluster: shadow, subset: {version: v2}, percent: 50, compare: true}");
  ASSERT_TRUE(result.ok());
  const nlohmann::json dump = toJson(**result);
  const nlohmann::json& mirror = dump["listeners"][0]["virtual_hosts"][0]["routes"][0]["mirror"];
  EXPECT_EQ(mirror["cluster"], "shadow");
  EXPECT_EQ(mirror["subset"]["version"], "v2");
  EXPECT_EQ(mirror["percent"], 50.0);
  EXPECT_EQ(mirror["compare"], true);
  EXPECT_EQ(mirror["max_body_bytes"], 64 * 1024);
  EXPECT_EQ(mirror["max_concurrent"], 100);
  EXPECT_EQ(mirror["timeout"], "15s");
}

}  // namespace
}  // namespace remora::config
