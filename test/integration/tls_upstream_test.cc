// TLS to upstreams: certificate names (and IP SANs), CAs, client certificates an upstream
// requires, and a cluster's missing CA file refused by `remora validate`.
#include <chrono>
#include <string>

#include "integration/harness/certs.h"
#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

constexpr char kTlsCluster[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: backend
clusters:
  - name: backend
    endpoints: ["{{backend}}"]
    tls: {{tls}}
)";

std::string clusterConfig(const std::string& backend, const std::string& tls) {
  return render(kTlsCluster, {{"backend", backend}, {"tls", tls}});
}

constexpr char kNginxBody[] =
    "    location = /hello { return 200 \"hello over tls, dn=$ssl_client_s_dn\\n\"; }\n";

TEST(TlsCluster, UpstreamOverTlsGets200) {
  Nginx nginx(kNginxBody, NginxTls{pki().server().cert, pki().server().key, ""});
  Remora remora;
  ASSERT_TRUE(
      remora.start(clusterConfig(nginx.address(), "{ca: \"" + pki().ca() + "\", sni: localhost}")));
  HttpResponse r = httpGet(remora.port("edge"), "/hello");
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.body, "hello over tls, dn=\n");
  // Reused from the pool on the next request.
  HttpClient client(remora.port("edge"));
  EXPECT_EQ(client.request("GET", "/hello").status, 200);
  EXPECT_EQ(client.request("GET", "/hello").status, 200);
}

TEST(TlsCluster, IpAddressAsSniIsCheckedAgainstTheIpSan) {
  Nginx nginx(kNginxBody, NginxTls{pki().server().cert, pki().server().key, ""});
  Remora remora;
  ASSERT_TRUE(remora.start(
      clusterConfig(nginx.address(), "{ca: \"" + pki().ca() + "\", sni: \"127.0.0.1\"}")));
  EXPECT_EQ(httpGet(remora.port("edge"), "/hello").status, 200);
}

TEST(TlsCluster, WrongCertificateNameIs502) {
  Nginx nginx(kNginxBody, NginxTls{pki().wrongName().cert, pki().wrongName().key, ""});
  Remora remora;
  ASSERT_TRUE(
      remora.start(clusterConfig(nginx.address(), "{ca: \"" + pki().ca() + "\", sni: localhost}")));
  HttpResponse r = httpGet(remora.port("edge"), "/hello");
  EXPECT_EQ(r.status, 502) << r;
  EXPECT_TRUE(waitUntil(
      [&] { return remora.logs().find("hostname mismatch") != std::string::npos; }, deadlineIn(3s)))
      << remora.logs();
}

TEST(TlsCluster, UpstreamSignedByAnotherCaIs502) {
  Nginx nginx(kNginxBody, NginxTls{pki().server().cert, pki().server().key, ""});
  Remora remora;
  ASSERT_TRUE(remora.start(
      clusterConfig(nginx.address(), "{ca: \"" + pki().otherCa() + "\", sni: localhost}")));
  HttpResponse r = httpGet(remora.port("edge"), "/hello");
  EXPECT_EQ(r.status, 502) << r;
  EXPECT_TRUE(waitUntil(
      [&] { return remora.logs().find("certificate verify failed") != std::string::npos; },
      deadlineIn(3s)))
      << remora.logs();
}

TEST(TlsCluster, ClientCertificateForAnUpstreamThatRequiresOne) {
  Nginx nginx(kNginxBody, NginxTls{pki().server().cert, pki().server().key, pki().ca()});
  Remora remora;
  ASSERT_TRUE(remora.start(clusterConfig(
      nginx.address(), "{ca: \"" + pki().ca() + "\", sni: localhost, cert: \"" +
                           pki().client().cert + "\", key: \"" + pki().client().key + "\"}")));
  HttpResponse r = httpGet(remora.port("edge"), "/hello");
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_NE(r.body.find("CN=client"), std::string::npos) << r.body;
}

TEST(TlsCluster, NoClientCertificateForAnUpstreamThatRequiresOne) {
  Nginx nginx(kNginxBody, NginxTls{pki().server().cert, pki().server().key, pki().ca()});
  Remora remora;
  ASSERT_TRUE(
      remora.start(clusterConfig(nginx.address(), "{ca: \"" + pki().ca() + "\", sni: localhost}")));
  // nginx finishes the handshake and answers 400 itself.
  HttpResponse r = httpGet(remora.port("edge"), "/hello");
  EXPECT_EQ(r.status, 400) << r;
}

TEST(TlsValidate, MissingCaFileOfACluster) {
  TempDir dir;
  const std::string path = dir.file("bad.yaml").string();
  writeFile(path, clusterConfig("127.0.0.1:1", "{ca: /nonexistent/ca.pem}"));
  CommandResult r = runCommand({remoraBinary(), "validate", path}, deadlineIn(10s));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(
      r.err.find(path + ":12:5: cluster 'backend': tls ca '/nonexistent/ca.pem': cannot open: No "
                        "such file or directory"),
      std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace remora::harness
