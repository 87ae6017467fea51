// HTTP/2 to upstreams (cluster `protocol: http2`): nginx's h2c and h2 listeners, and remora itself
// as an HTTP/2 upstream, with streams multiplexed on one connection, bodies both ways, resets.
#include <cstring>
#include <fstream>

#include "integration/harness/certs.h"
#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

constexpr char kConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: backend
        timeout: 60s
clusters:
  - name: backend
    protocol: http2
    endpoints: ["{{backend}}"]
{{tls}})";

std::string configFor(const std::string& backend, const std::string& tls = "") {
  return render(kConfig, {{"backend", backend}, {"tls", tls}});
}

std::string url(uint16_t port, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
}

CommandResult curl(std::vector<std::string> args) {
  std::vector<std::string> argv = {"curl", "-sS"};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, deadlineIn(60s));
}

const std::string kNginxBody =
    Nginx::echo("/echo") + "    location = /proto { return 200 \"$server_protocol\\n\"; }\n";

TEST(Http2Upstream, H2cToNginxFromHttp1AndHttp2Clients) {
  Nginx nginx(kNginxBody, std::nullopt, /*http2=*/true);
  Remora remora;
  ASSERT_TRUE(remora.start(configFor(nginx.address())));
  const uint16_t port = remora.port("edge");
  CommandResult h1 = curl({url(port, "/proto")});
  EXPECT_EQ(h1.out, "HTTP/2.0\n") << h1.err;
  CommandResult h2 = curl({"--http2-prior-knowledge", url(port, "/proto")});
  EXPECT_EQ(h2.out, "HTTP/2.0\n") << h2.err;

  CommandResult echo = curl({url(port, "/echo/a?b=1")});
  ASSERT_EQ(echo.exit_code, 0) << echo.err;
  EXPECT_EQ(Nginx::echoField(echo.out, "uri"), "/echo/a?b=1") << echo.out;
  EXPECT_EQ(Nginx::echoField(echo.out, "host"), "127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(Nginx::echoField(echo.out, "xff"), "127.0.0.1");
}

TEST(Http2Upstream, StreamsOfManyClientsShareOneConnection) {
  Nginx nginx(kNginxBody, std::nullopt, /*http2=*/true);
  Remora remora;
  ASSERT_TRUE(remora.start(configFor(nginx.address())));
  const uint16_t port = remora.port("edge");
  CommandResult load = runCommand(
      {"h2load", "-n", "2000", "-c", "8", "-m", "10", url(port, "/proto")}, deadlineIn(60s));
  ASSERT_EQ(load.exit_code, 0) << load.out << load.err;
  EXPECT_NE(load.out.find("2000 succeeded, 0 failed, 0 errored"), std::string::npos) << load.out;
  // Separate client connections, one upstream connection (one worker, under nginx's stream limit).
  CommandResult first = curl({url(port, "/echo")});
  CommandResult second = curl({"--http2-prior-knowledge", url(port, "/echo")});
  ASSERT_TRUE(Nginx::echoField(first.out, "connection").has_value()) << first.out;
  EXPECT_EQ(Nginx::echoField(first.out, "connection"), Nginx::echoField(second.out, "connection"));
}

TEST(Http2Upstream, MoreConnectionsWhenTheUpstreamLimitsStreams) {
  // nginx takes 8 streams per connection; 40 at once must neither fail nor wait for each other
  // on one connection (streams it refuses go again elsewhere).
  Nginx nginx(kNginxBody + "    http2_max_concurrent_streams 8;\n", std::nullopt, /*http2=*/true);
  Remora remora;
  ASSERT_TRUE(remora.start(configFor(nginx.address())));
  CommandResult load = runCommand(
      {"h2load", "-n", "2000", "-c", "4", "-m", "10", url(remora.port("edge"), "/proto")},
      deadlineIn(60s));
  ASSERT_EQ(load.exit_code, 0) << load.out << load.err;
  EXPECT_NE(load.out.find("2000 succeeded, 0 failed, 0 errored"), std::string::npos) << load.out;
  EXPECT_NE(load.out.find("status codes: 2000 2xx"), std::string::npos) << load.out;
}

// A file of `bytes` bytes whose content changes along its length.
void writePatternFile(const std::filesystem::path& path, size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  std::string block(64 * 1024, '\0');
  for (size_t written = 0; written < bytes; written += block.size()) {
    for (size_t i = 0; i + 8 <= block.size(); i += 8) {
      const uint64_t value = written + i;
      std::memcpy(block.data() + i, &value, 8);
    }
    out.write(block.data(), static_cast<std::streamsize>(std::min(block.size(), bytes - written)));
  }
}

TEST(Http2Upstream, LargeBodiesBothWays) {
  TempDir files;
  std::filesystem::create_directories(files.file("files"));
  constexpr size_t kBytes = 24 * 1024 * 1024;
  writePatternFile(files.file("files") / "down.bin", kBytes);
  Nginx nginx("    location /files/ { root " + files.path().string() +
                  "; dav_methods PUT; create_full_put_path on; client_max_body_size 0; }\n",
              std::nullopt, /*http2=*/true);
  Remora remora;
  ASSERT_TRUE(remora.start(configFor(nginx.address())));
  const uint16_t port = remora.port("edge");

  const std::string downloaded = files.file("downloaded.bin").string();
  CommandResult down = curl({"-o", downloaded, "-w", "%{http_code}", url(port, "/files/down.bin")});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(down.out, "200");
  EXPECT_EQ(
      runCommand({"cmp", downloaded, (files.file("files") / "down.bin").string()}, deadlineIn(30s))
          .exit_code,
      0);

  for (const char* client : {"--http1.1", "--http2-prior-knowledge"}) {
    const std::string name = std::string("/files/up") + (client[6] == '2' ? "2" : "1") + ".bin";
    CommandResult up = curl({client, "-T", (files.file("files") / "down.bin").string(), "-w",
                             "%{http_code}", url(port, name)});
    ASSERT_EQ(up.exit_code, 0) << up.err;
    EXPECT_EQ(up.out, "201") << client;
    EXPECT_EQ(runCommand({"cmp", (files.file("files") / "down.bin").string(),
                          files.path().string() + name},
                         deadlineIn(30s))
                  .exit_code,
              0)
        << client;
  }
}

TEST(Http2Upstream, H2OverTlsNegotiatedByAlpn) {
  TestPki pki;
  Nginx nginx(kNginxBody, NginxTls{pki.server().cert, pki.server().key, ""}, /*http2=*/true);
  Remora remora;
  ASSERT_TRUE(remora.start(
      configFor(nginx.address(), "    tls: {ca: \"" + pki.ca() + "\", sni: localhost}\n")));
  CommandResult r = curl({url(remora.port("edge"), "/proto")});
  EXPECT_EQ(r.out, "HTTP/2.0\n") << r.err << remora.logs();
}

TEST(Http2Upstream, UpstreamWithoutHttp2Gives502) {
  Nginx nginx(kNginxBody);  // HTTP/1.1 only: it answers the preface with a 400
  Remora remora;
  ASSERT_TRUE(remora.start(configFor(nginx.address())));
  CommandResult r = curl({"-w", "%{http_code}", "-o", "/dev/null", url(remora.port("edge"), "/")});
  EXPECT_EQ(r.out, "502") << r.err;
}

TEST(Http2Upstream, DeadEndpointGives502) {
  RefusingPort dead;
  Remora remora;
  ASSERT_TRUE(remora.start(configFor(dead.address())));
  CommandResult r = curl({"-w", "%{http_code}", "-o", "/dev/null", url(remora.port("edge"), "/")});
  EXPECT_EQ(r.out, "502") << r.err;
}

// remora as the HTTP/2 upstream of remora: the inner one's upstream cuts a response short, the
// inner one resets the stream, and the outer one passes the failure on (a cut HTTP/1.1 body).
TEST(Http2Upstream, ResetStreamFromTheUpstreamCutsTheResponse) {
  ScriptedUpstream origin([](UpstreamConnection& connection) {
    if (!connection.readRequest()) return;
    connection.send("HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\nonly the start");
    connection.close();
  });
  Remora inner;
  ASSERT_TRUE(inner.start(render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: h2
    address: "127.0.0.1:0"
    protocol: http2
    routes:
      - match: {prefix: /}
        cluster: origin
clusters:
  - name: origin
    endpoints: ["{{origin}}"]
)",
                                 {{"origin", origin.address()}})));
  Remora outer;
  ASSERT_TRUE(outer.start(configFor("127.0.0.1:" + std::to_string(inner.port("h2")))));
  CommandResult h1 = curl({url(outer.port("edge"), "/cut")});
  EXPECT_EQ(h1.exit_code, 18) << h1.err;  // "transfer closed with outstanding read data"
  CommandResult h2 = curl({"--http2-prior-knowledge", url(outer.port("edge"), "/cut")});
  EXPECT_EQ(h2.exit_code, 92) << h2.err;  // the stream was reset
}

}  // namespace
}  // namespace remora::harness
