// TLS listeners: HTTPS (with and without client certificates), certificate reload, validation,
// big bodies and resets through TLS on both sides (tls_upstream_test.cc: TLS to upstreams).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>

#include "integration/harness/certs.h"
#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

// A blocking TLS client on one connection, to look at what curl does not show: the certificate
// served, the ALPN result, and a keep-alive connection that lives across a reload.
class TlsClient {
 public:
  TlsClient(uint16_t port, const std::string& ca, const CertFiles* client_cert = nullptr) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_load_verify_locations(ctx_, ca.c_str(), nullptr);
    if (client_cert != nullptr) {
      SSL_CTX_use_certificate_chain_file(ctx_, client_cert->cert.c_str());
      SSL_CTX_use_PrivateKey_file(ctx_, client_cert->key.c_str(), SSL_FILETYPE_PEM);
    }
    // It speaks HTTP/1.1 only, so that is all it offers.
    static const unsigned char kAlpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx_, kAlpn, sizeof(kAlpn) - 1);
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval timeout{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      error_ = "connect failed";
      return;
    }
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), "127.0.0.1");
    if (SSL_connect(ssl_) != 1) {
      error_ = "handshake failed: " + errors();
      return;
    }
    connected_ = true;
  }
  ~TlsClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) close(fd_);
    SSL_CTX_free(ctx_);
  }

  bool connected() const { return connected_; }
  const std::string& error() const { return error_; }

  std::string alpn() const {
    const unsigned char* data = nullptr;
    unsigned int length = 0;
    SSL_get0_alpn_selected(ssl_, &data, &length);
    return data == nullptr ? "" : std::string(reinterpret_cast<const char*>(data), length);
  }

  std::string peerSerial() const {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (cert == nullptr) return "";
    BIGNUM* number = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
    char* hex = BN_bn2hex(number);
    std::string serial = hex;
    OPENSSL_free(hex);
    BN_free(number);
    X509_free(cert);
    return serial;
  }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      size_t n = 0;
      if (SSL_write_ex(ssl_, bytes.data(), bytes.size(), &n) != 1) return false;
      bytes.remove_prefix(n);
    }
    return true;
  }

  // A response framed by Content-Length (what remora's local replies and nginx send); status 0
  // when it did not come whole, with the bytes that did in `body`.
  HttpResponse get(const std::string& path) {
    HttpResponse response;
    if (!send("GET " + path + " HTTP/1.1\r\nhost: localhost\r\n\r\n")) {
      response.error = "send failed";
      return response;
    }
    return read();
  }

  HttpResponse read() {
    HttpResponse response;
    size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) {
        response.error = "no complete head: " + buffer_;
        return response;
      }
    }
    const std::string head = buffer_.substr(0, head_end);
    buffer_.erase(0, head_end + 4);
    size_t length = 0;
    size_t at = 0;
    while ((at = head.find("\r\n", at)) != std::string::npos) {
      at += 2;
      const size_t colon = head.find(':', at);
      if (colon == std::string::npos) break;
      if (equalsIgnoreCase(head.substr(at, colon - at), "content-length")) {
        length = std::stoul(head.substr(colon + 1));
      }
    }
    while (buffer_.size() < length && fill()) {
    }
    response.body = buffer_.substr(0, std::min(length, buffer_.size()));
    buffer_.erase(0, response.body.size());
    if (response.body.size() < length) {
      response.error = "body cut short";
      return response;
    }
    response.status = std::stoi(head.substr(9, 3));
    return response;
  }

 private:
  bool fill() {
    char chunk[16384];
    size_t n = 0;
    if (SSL_read_ex(ssl_, chunk, sizeof(chunk), &n) != 1) return false;
    buffer_.append(chunk, n);
    return true;
  }
  static std::string errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
      char text[256];
      ERR_error_string_n(e, text, sizeof(text));
      out += std::string(text) + " ";
    }
    return out;
  }

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
  std::string error_;
  std::string buffer_;
};

std::string url(uint16_t port, const std::string& path) {
  return "https://127.0.0.1:" + std::to_string(port) + path;
}

// curl's body followed by the status code.
CommandResult curl(std::vector<std::string> args) {
  std::vector<std::string> argv{"curl", "-sS", "-o", "-", "-w", "%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, deadlineIn(30s));
}

constexpr char kDirectListener[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    request_header_timeout: {{header_timeout}}
    protocol: {{protocol}}
    tls: {{tls}}
    routes:
      - match: {prefix: /}
        direct_response: {status: 200, body: "secure\n"}
)";

std::string directConfig(const std::string& tls, const std::string& header_timeout = "10s",
                         const std::string& protocol = "auto") {
  return render(kDirectListener,
                {{"tls", tls}, {"header_timeout", header_timeout}, {"protocol", protocol}});
}

TEST(TlsListener, CurlOverHttpsGets200WithHttp11Negotiated) {
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig(serverTlsYaml(pki().server()))));
  const uint16_t port = remora.port("edge");
  CommandResult r = curl({"--cacert", pki().ca(), url(port, "/")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "secure\n200");

  TlsClient client(port, pki().ca());
  ASSERT_TRUE(client.connected()) << client.error();
  EXPECT_EQ(client.alpn(), "http/1.1");
  HttpResponse response = client.get("/");
  EXPECT_EQ(response.status, 200) << response.error;
  EXPECT_EQ(response.body, "secure\n");
  // Keep-alive over TLS.
  EXPECT_EQ(client.get("/again").status, 200);
}

TEST(TlsListener, AlpnChoosesHttp2ForClientsThatOfferIt) {
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig(serverTlsYaml(pki().server()))));
  const uint16_t port = remora.port("edge");
  CommandResult h2 = curl(
      {"--cacert", pki().ca(), "--http2", "-w", "%{http_code} %{http_version}", url(port, "/")});
  EXPECT_EQ(h2.exit_code, 0) << h2.err;
  EXPECT_EQ(h2.out, "secure\n200 2");
  CommandResult h1 = curl(
      {"--cacert", pki().ca(), "--http1.1", "-w", "%{http_code} %{http_version}", url(port, "/")});
  EXPECT_EQ(h1.exit_code, 0) << h1.err;
  EXPECT_EQ(h1.out, "secure\n200 1.1");
}

TEST(TlsListener, H2specPassesOverTlsAndH2loadCompletesEveryRequest) {
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig(serverTlsYaml(pki().server()))));
  const uint16_t port = remora.port("edge");
  CommandResult spec = runCommand({REMORA_H2SPEC, "-t", "-k", "-h", "127.0.0.1", "-p",
                                   std::to_string(port), "-P", "/", "-o", "2"},
                                  deadlineIn(300s));
  EXPECT_EQ(spec.exit_code, 0) << spec.out;
  EXPECT_NE(spec.out.find("145 tests, 145 passed, 0 skipped, 0 failed"), std::string::npos)
      << spec.out;
  CommandResult load =
      runCommand({"h2load", "-n", "2000", "-c", "4", "-m", "10", url(port, "/")}, deadlineIn(60s));
  ASSERT_EQ(load.exit_code, 0) << load.out << load.err;
  EXPECT_NE(load.out.find("2000 succeeded, 0 failed, 0 errored"), std::string::npos) << load.out;
  EXPECT_NE(load.out.find("Application protocol: h2"), std::string::npos) << load.out;
}

TEST(TlsListener, Http1ListenerNegotiatesHttp11EvenWhenH2IsOffered) {
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig(serverTlsYaml(pki().server()), "10s", "http1")));
  CommandResult r = curl({"--cacert", pki().ca(), "--http2", "-w", "%{http_code} %{http_version}",
                          url(remora.port("edge"), "/")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "secure\n200 1.1");
}

TEST(TlsListener, PlaintextClientGetsNoResponse) {
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig(serverTlsYaml(pki().server()))));
  HttpResponse r = httpGet(remora.port("edge"), "/");
  EXPECT_EQ(r.status, 0) << r;
}

TEST(TlsListener, Tls11ClientIsRefused) {
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig(serverTlsYaml(pki().server()))));
  const std::string target = "127.0.0.1:" + std::to_string(remora.port("edge"));
  // SECLEVEL=0 lets the client itself offer TLS 1.1, so the refusal is the server's.
  CommandResult r = runCommand({"openssl", "s_client", "-connect", target, "-tls1_1", "-cipher",
                                "DEFAULT@SECLEVEL=0", "-CAfile", pki().ca()},
                               deadlineIn(10s));
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("protocol version"), std::string::npos) << r.out << r.err;

  CommandResult ok = runCommand({"openssl", "s_client", "-connect", target, "-tls1_2", "-CAfile",
                                 pki().ca(), "-verify_return_error"},
                                deadlineIn(10s));
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
}

TEST(TlsListener, HandshakeNeverStartedIsClosedByTheHeaderTimeout) {
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig(serverTlsYaml(pki().server()), "300ms")));
  Socket socket = Socket::connectTo(remora.port("edge"), deadlineIn(2s));
  ASSERT_TRUE(socket.valid()) << socket.error();
  EXPECT_TRUE(socket.waitClosed(deadlineIn(5s)));
}

TEST(TlsListener, MutualTlsRequiresAClientCertificateFromTheCa) {
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig(serverTlsYaml(pki().server(), pki().ca()))));
  const uint16_t port = remora.port("edge");

  CommandResult none = curl({"--cacert", pki().ca(), url(port, "/")});
  EXPECT_NE(none.exit_code, 0) << none.out;
  EXPECT_EQ(none.out.find("secure"), std::string::npos) << none.out;

  CommandResult other = curl({"--cacert", pki().ca(), "--cert", pki().otherClient().cert, "--key",
                              pki().otherClient().key, url(port, "/")});
  EXPECT_NE(other.exit_code, 0) << other.out;
  EXPECT_EQ(other.out.find("secure"), std::string::npos) << other.out;

  CommandResult good = curl({"--cacert", pki().ca(), "--cert", pki().client().cert, "--key",
                             pki().client().key, url(port, "/")});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(good.out, "secure\n200");
}

TEST(TlsReload, NewCertificateForNewHandshakesWhileAKeepAliveConnectionLivesOn) {
  TempDir dir;
  const std::string cert = dir.file("tls.crt").string();
  const std::string key = dir.file("tls.key").string();
  std::filesystem::copy_file(pki().server().cert, cert);
  std::filesystem::copy_file(pki().server().key, key);
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig("{cert: \"" + cert + "\", key: \"" + key + "\"}")));
  const uint16_t port = remora.port("edge");

  TlsClient kept(port, pki().ca());
  ASSERT_TRUE(kept.connected()) << kept.error();
  EXPECT_EQ(kept.peerSerial(), pki().server().serial);
  EXPECT_EQ(kept.get("/").status, 200);

  // The key first, then the certificate: halfway the pair does not match and that reload is
  // rejected; the second change brings them together.
  CertFiles renewed = pki().issue("renewed", {"IP:127.0.0.1"});
  writeFile(key, readFile(renewed.key));
  writeFile(cert, readFile(renewed.cert));
  EXPECT_TRUE(waitUntil(
      [&] {
        TlsClient probe(port, pki().ca());
        return probe.connected() && probe.peerSerial() == renewed.serial;
      },
      deadlineIn(5s)))
      << remora.logs();
  HttpResponse r = kept.get("/still");
  EXPECT_EQ(r.status, 200) << r.error;

  // SIGHUP with the same config text and files changes nothing.
  remora.reload(readFile(remora.configPath()));
  EXPECT_TRUE(waitUntil(
      [&] { return remora.logs().find("(SIGHUP): configuration unchanged") != std::string::npos; },
      deadlineIn(3s)));
}

// How Kubernetes updates a mounted secret: the files are links through `..data`, which is
// switched to a new directory by renaming a new link over it.
TEST(TlsReload, SecretVolumeSwapIsPickedUp) {
  TempDir dir;
  namespace fs = std::filesystem;
  auto version = [&](const std::string& name, const CertFiles& files) {
    fs::create_directory(dir.file(name));
    fs::copy_file(files.cert, dir.file(name) / "tls.crt");
    fs::copy_file(files.key, dir.file(name) / "tls.key");
  };
  version("..v1", pki().server());
  fs::create_directory_symlink("..v1", dir.file("..data"));
  fs::create_symlink("..data/tls.crt", dir.file("tls.crt"));
  fs::create_symlink("..data/tls.key", dir.file("tls.key"));
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig("{cert: \"" + dir.file("tls.crt").string() + "\", key: \"" +
                                        dir.file("tls.key").string() + "\"}")));
  const uint16_t port = remora.port("edge");
  TlsClient kept(port, pki().ca());
  ASSERT_TRUE(kept.connected()) << kept.error();
  EXPECT_EQ(kept.peerSerial(), pki().server().serial);

  CertFiles renewed = pki().issue("renewed-secret", {"IP:127.0.0.1"});
  version("..v2", renewed);
  fs::create_directory_symlink("..v2", dir.file("..data_tmp"));
  fs::rename(dir.file("..data_tmp"), dir.file("..data"));
  EXPECT_TRUE(waitUntil(
      [&] {
        TlsClient probe(port, pki().ca());
        return probe.connected() && probe.peerSerial() == renewed.serial;
      },
      deadlineIn(5s)))
      << remora.logs();
  EXPECT_EQ(kept.get("/").status, 200);
}

TEST(TlsReload, BrokenCertificateOnReloadKeepsTheOldOne) {
  TempDir dir;
  const std::string cert = dir.file("tls.crt").string();
  const std::string key = dir.file("tls.key").string();
  std::filesystem::copy_file(pki().server().cert, cert);
  std::filesystem::copy_file(pki().server().key, key);
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig("{cert: \"" + cert + "\", key: \"" + key + "\"}")));
  writeFile(cert, "not a certificate\n");
  EXPECT_TRUE(
      waitUntil([&] { return remora.logs().find("not a PEM certificate") != std::string::npos; },
                deadlineIn(5s)))
      << remora.logs();
  TlsClient probe(remora.port("edge"), pki().ca());
  ASSERT_TRUE(probe.connected()) << probe.error();
  EXPECT_EQ(probe.peerSerial(), pki().server().serial);
}

TEST(TlsValidate, KeyThatDoesNotMatchTheCertificate) {
  TempDir dir;
  const std::string path = dir.file("bad.yaml").string();
  writeFile(path, directConfig(serverTlsYaml({pki().server().cert, pki().client().key, ""})));
  CommandResult r = runCommand({remoraBinary(), "validate", path}, deadlineIn(10s));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  // The `tls:` key of the listener: line 7, column 5.
  EXPECT_NE(r.err.find(path + ":8:5: listener 'edge': tls key '" + pki().client().key +
                       "': does not match cert '" + pki().server().cert + "'"),
            std::string::npos)
      << r.err;

  // At startup too.
  Remora remora;
  EXPECT_FALSE(
      remora.start(directConfig(serverTlsYaml({pki().server().cert, pki().client().key, ""})), 5s));
  EXPECT_EQ(remora.waitExit(deadlineIn(5s)), 1);
}

std::string randomBytes(size_t n) {
  std::mt19937_64 random(42);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(random());
  return out;
}

TEST(TlsLargeBody, SeveralMiBUpAndDownThroughTlsOnBothSides) {
  TempDir files;
  std::filesystem::create_directory(files.file("up"));
  const std::string big = randomBytes(12 * 1024 * 1024 + 12345);
  writeFile(files.file("big.bin"), big);
  Nginx nginx(
      "    client_max_body_size 100m;\n"
      "    location /files/ { alias " +
          files.path().string() +
          "/; }\n"
          "    location /up/ { alias " +
          files.path().string() + "/up/; dav_methods PUT; }\n",
      NginxTls{pki().server().cert, pki().server().key, ""});
  Remora remora;
  ASSERT_TRUE(remora.start(render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    tls: {{listener_tls}}
    routes:
      - match: {prefix: /}
        cluster: backend
clusters:
  - name: backend
    endpoints: ["{{backend}}"]
    tls: {ca: "{{ca}}", sni: localhost}
)",
                                  {{"listener_tls", serverTlsYaml(pki().server())},
                                   {"backend", nginx.address()},
                                   {"ca", pki().ca()}})));
  const uint16_t port = remora.port("edge");

  const std::string downloaded = files.file("down.bin").string();
  CommandResult down =
      runCommand({"curl", "-sS", "--cacert", pki().ca(), "-o", downloaded, "-w", "%{http_code}",
                  "--limit-rate", "20M", url(port, "/files/big.bin")},
                 deadlineIn(60s));
  EXPECT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(down.out, "200");
  EXPECT_TRUE(readFile(downloaded) == big) << "downloaded body differs";

  CommandResult up =
      runCommand({"curl", "-sS", "--cacert", pki().ca(), "-o", "/dev/null", "-w", "%{http_code}",
                  "-T", files.file("big.bin").string(), url(port, "/up/copy.bin")},
                 deadlineIn(60s));
  EXPECT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(up.out, "201");
  EXPECT_TRUE(readFile(files.file("up/copy.bin")) == big) << "uploaded body differs";
}

TEST(TlsReset, UpstreamClosingMidBodyCutsTheTlsResponseShort) {
  ScriptedUpstream upstream([](UpstreamConnection& connection) {
    if (!connection.readRequest()) return;
    connection.send("HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n" +
                    std::string(300000, 'x'));
    connection.close();
  });
  Remora remora;
  ASSERT_TRUE(remora.start(
      render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    tls: {{tls}}
    routes:
      - match: {prefix: /}
        cluster: backend
clusters:
  - name: backend
    endpoints: ["{{backend}}"]
)",
             {{"tls", serverTlsYaml(pki().server())}, {"backend", upstream.address()}})));
  TlsClient client(remora.port("edge"), pki().ca());
  ASSERT_TRUE(client.connected()) << client.error();
  HttpResponse r = client.get("/");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "body cut short");
  EXPECT_EQ(r.body.size(), 300000u);
}

}  // namespace
}  // namespace remora::harness
