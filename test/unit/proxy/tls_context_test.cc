// Tests for building TLS contexts from files: what goes wrong is reported precisely.
#include "proxy/tls_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace remora {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Two self-signed EC certificates with their keys, made once with the openssl command line.
class TlsContextTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/remora-tls-unit-XXXXXX";
    dir_ = new std::string(mkdtemp(pattern));
    for (const char* name : {"a", "b"}) {
      const std::string command =
          "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
          "-nodes -days 2 -subj /CN=" +
          std::string(name) + " -keyout " + path(std::string(name) + ".key") + " -out " +
          path(std::string(name) + ".pem") + " 2>/dev/null";
      ASSERT_EQ(std::system(command.c_str()), 0) << command;
    }
    write("garbage.pem", "this is not PEM\n");
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  static std::string path(const std::string& name) { return *dir_ + "/" + name; }
  static void write(const std::string& name, const std::string& content) {
    std::ofstream(path(name), std::ios::binary) << content;
  }

  static std::vector<std::string> serverErrors(const config::TlsServer& tls) {
    std::vector<std::string> texts;
    auto result = TlsServerContext::create(tls, "listener 'edge'", {"http/1.1"});
    for (const Error& error : result.errors()) texts.push_back(error.text());
    EXPECT_EQ(result.ok(), texts.empty());
    return texts;
  }

  static config::TlsServer server(const std::string& cert, const std::string& key,
                                  const std::string& ca = "") {
    return {path(cert), path(key), ca.empty() ? "" : path(ca), {"c.yaml", 7, 5}};
  }

  static std::string* dir_;
};

std::string* TlsContextTest::dir_ = nullptr;

TEST_F(TlsContextTest, GoodServerAndClientContexts) {
  auto server_context =
      TlsServerContext::create(server("a.pem", "a.key", "b.pem"), "listener 'x'", {"http/1.1"});
  ASSERT_TRUE(server_context.ok()) << server_context.errors().front().text();
  EXPECT_NE((*server_context)->get(), nullptr);
  EXPECT_EQ((*server_context)->files().size(), 3u);
  EXPECT_FALSE(tlsFilesChanged((*server_context)->files()));

  config::TlsClient client{path("b.pem"), path("a.pem"), path("a.key"), "a", {"c.yaml", 9, 5}};
  auto first = TlsClientContext::create(client, "cluster 'y'");
  auto second = TlsClientContext::create(client, "cluster 'y'");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ((*first)->sni(), "a");
  EXPECT_NE((*first)->id(), (*second)->id());
}

TEST_F(TlsContextTest, MissingFile) {
  EXPECT_THAT(serverErrors(server("none.pem", "a.key")),
              ElementsAre("c.yaml:7:5: listener 'edge': tls cert '" + path("none.pem") +
                          "': cannot open: No such file or directory"));
}

TEST_F(TlsContextTest, UnparsableCertificateAndKey) {
  EXPECT_THAT(
      serverErrors(server("garbage.pem", "garbage.pem")),
      ElementsAre(
          HasSubstr("tls cert '" + path("garbage.pem") + "': not a PEM certificate"),
          HasSubstr("tls key '" + path("garbage.pem") + "': not an unencrypted PEM private key")));
}

TEST_F(TlsContextTest, KeyOfAnotherCertificate) {
  EXPECT_THAT(serverErrors(server("a.pem", "b.key")),
              ElementsAre("c.yaml:7:5: listener 'edge': tls key '" + path("b.key") +
                          "': does not match cert '" + path("a.pem") + "' (key values mismatch)"));
}

TEST_F(TlsContextTest, CaWithoutCertificates) {
  EXPECT_THAT(serverErrors(server("a.pem", "a.key", "garbage.pem")),
              ElementsAre(HasSubstr("tls ca '" + path("garbage.pem") + "': no PEM certificate")));
  config::TlsClient client{path("a.key"), "", "", "", {"c.yaml", 9, 5}};
  auto result = TlsClientContext::create(client, "cluster 'y'");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.errors().front().text(),
              HasSubstr("c.yaml:9:5: cluster 'y': tls ca '" + path("a.key") + "': no PEM"));
}

TEST_F(TlsContextTest, ChangedFilesAreNoticed) {
  write("c.pem", "");
  std::filesystem::copy_file(path("a.pem"), path("c.pem"),
                             std::filesystem::copy_options::overwrite_existing);
  auto context = TlsServerContext::create(server("c.pem", "a.key"), "listener 'x'", {"http/1.1"});
  ASSERT_TRUE(context.ok());
  EXPECT_FALSE(tlsFilesChanged((*context)->files()));
  std::filesystem::copy_file(path("b.pem"), path("c.pem"),
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_TRUE(tlsFilesChanged((*context)->files()));
  std::filesystem::remove(path("c.pem"));
  EXPECT_TRUE(tlsFilesChanged((*context)->files()));
}

TEST(TlsErrorReasonTest, EmptyQueueGivesTheFallback) {
  EXPECT_EQ(tlsErrorReason("nothing"), "nothing");
}

}  // namespace
}  // namespace remora
