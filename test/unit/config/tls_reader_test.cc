// Tests for reading the `tls:` blocks of listeners and clusters.
#include "config/tls_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/dump.h"
#include "config/loader.h"

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kConfig = R"(admin: {address: 127.0.0.1:9901}
listeners:
  - name: edge
    address: 127.0.0.1:15001
    tls: {listener}
    routes:
      - match: {prefix: /}
        cluster: backend
clusters:
  - name: backend
    endpoints: [127.0.0.1:8080]
    tls: {cluster}
)";

std::string config(const std::string& listener_tls, const std::string& cluster_tls) {
  std::string text = kConfig;
  text.replace(text.find("{listener}"), 10, listener_tls);
  text.replace(text.find("{cluster}"), 9, cluster_tls);
  return text;
}

std::vector<std::string> errorsOf(const std::string& yaml) {
  Result<std::shared_ptr<const Config>> result = loadConfigString(yaml, "t.yaml");
  std::vector<std::string> texts;
  for (const Error& error : result.errors()) texts.push_back(error.text());
  return texts;
}

TEST(TlsReaderTest, ReadsBothSidesAndDumpsPathsOnly) {
  Result<std::shared_ptr<const Config>> result =
      loadConfigString(config("{cert: /c.pem, key: /k.pem, ca: /ca.pem}",
                              "{ca: /up-ca.pem, cert: /cc.pem, key: /ck.pem, sni: users.internal}"),
                       "t.yaml");
  ASSERT_TRUE(result.ok()) << result.errors().front().text();
  const Config& loaded = **result;
  ASSERT_TRUE(loaded.listeners[0].tls.has_value());
  EXPECT_EQ(loaded.listeners[0].tls->cert, "/c.pem");
  EXPECT_EQ(loaded.listeners[0].tls->key, "/k.pem");
  EXPECT_EQ(loaded.listeners[0].tls->ca, "/ca.pem");
  EXPECT_EQ(loaded.listeners[0].tls->location.line, 5);
  EXPECT_EQ(loaded.listeners[0].tls->location.column, 5);
  ASSERT_TRUE(loaded.clusters[0].tls.has_value());
  EXPECT_EQ(loaded.clusters[0].tls->ca, "/up-ca.pem");
  EXPECT_EQ(loaded.clusters[0].tls->sni, "users.internal");
  EXPECT_EQ(loaded.clusters[0].tls->location.line, 12);

  nlohmann::json dump = toJson(loaded);
  EXPECT_EQ(dump["listeners"][0]["tls"]["cert"], "/c.pem");
  EXPECT_EQ(dump["listeners"][0]["tls"]["ca"], "/ca.pem");
  EXPECT_EQ(dump["clusters"][0]["tls"]["sni"], "users.internal");
  EXPECT_EQ(dump["clusters"][0]["tls"]["key"], "/ck.pem");
}

TEST(TlsReaderTest, WithoutTlsNothingIsSet) {
  std::string text = config("{cert: /c, key: /k}", "{ca: /ca}");
  text.erase(text.find("    tls: {cert"), std::string("    tls: {cert: /c, key: /k}\n").size());
  Result<std::shared_ptr<const Config>> result = loadConfigString(text, "t.yaml");
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE((*result)->listeners[0].tls.has_value());
  EXPECT_FALSE(toJson(**result)["listeners"][0].contains("tls"));
}

TEST(TlsReaderTest, UnknownAndMissingKeysAreErrorsWithTheirPlace) {
  EXPECT_THAT(errorsOf(config("{cert: /c, key: /k, password: x}", "{ca: /ca}")),
              ElementsAre(HasSubstr("t.yaml:5:30: unknown key 'password' in tls")));
  EXPECT_THAT(errorsOf(config("{cert: /c}", "{sni: x}")),
              ElementsAre(HasSubstr("t.yaml:5:10: tls is missing required key 'key'"),
                          HasSubstr("t.yaml:12:10: tls is missing required key 'ca'")));
  EXPECT_THAT(errorsOf(config("{cert: '', key: /k}", "{ca: /ca}")),
              ElementsAre(HasSubstr("t.yaml:5:17: cert must not be empty")));
  EXPECT_THAT(errorsOf(config("[a]", "{ca: /ca}")),
              ElementsAre(HasSubstr("t.yaml:5:10: tls must be a mapping, not a list")));
}

TEST(TlsReaderTest, ClusterCertAndKeyComeTogether) {
  EXPECT_THAT(errorsOf(config("{cert: /c, key: /k}", "{ca: /ca, cert: /cc}")),
              ElementsAre("t.yaml:12:5: tls: 'cert' needs 'key' too (a client certificate "
                          "comes with its key)"));
  EXPECT_THAT(errorsOf(config("{cert: /c, key: /k}", "{ca: /ca, key: /ck}")),
              ElementsAre(HasSubstr("t.yaml:12:5: tls: 'key' needs 'cert' too")));
}

}  // namespace
}  // namespace remora::config
