// remora's HTTP/1.1 upgrades: a WebSocket handshake passes through and the connection becomes a
// two-way byte tunnel that survives reloads and closes when either side closes.
#include <unistd.h>

#include <chrono>
#include <thread>

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
      - match: {path: /added-by-reload}
        direct_response: {status: 200, body: "{{marker}}"}
      - match: {prefix: /}
        cluster: ws
clusters:
  - name: ws
    endpoints: ["{{ws}}"]
)";

const char kSwitching[] =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

std::string upgradeRequest() {
  return formatRequest("GET", "/chat",
                       {{"Upgrade", "websocket"},
                        {"Connection", "Upgrade"},
                        {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                        {"Sec-WebSocket-Version", "13"}});
}

class WebSocket : public ::testing::Test {
 protected:
  void startRemora(const std::string& marker = "v1") {
    ASSERT_TRUE(remora_.start(render(kConfig, {{"marker", marker}, {"ws", upstream_.address()}})));
  }

  // Connects through remora and completes the handshake.
  void handshake(HttpClient& client) {
    ASSERT_TRUE(client.connect(remora_.port("edge")));
    ASSERT_TRUE(client.send(upgradeRequest()));
    HttpResponse head = client.readResponseHead(deadlineIn(2s));
    ASSERT_EQ(head.status, 101) << head;
    EXPECT_TRUE(equalsIgnoreCase(head.headers.get("upgrade").value_or(""), "websocket")) << head;
    EXPECT_TRUE(hasToken(head.headers.get("connection").value_or(""), "upgrade")) << head;
  }

  Event upstream_saw_close_;
  // Greets, then echoes every byte until the client side closes.
  ScriptedUpstream upstream_{[this](UpstreamConnection& c) {
    if (!c.readRequest()) return;
    if (!c.send(kSwitching) || !c.send("hello-from-upstream")) return;
    while (true) {
      std::string bytes = c.socket().readSome(deadlineIn(10s));
      if (bytes.empty()) break;
      if (!c.send(bytes)) break;
    }
    if (c.socket().status() != IoStatus::Timeout) upstream_saw_close_.set();
  }};
  Remora remora_;
};

TEST_F(WebSocket, UpgradeHeadersReachTheUpstream) {
  startRemora();
  HttpClient client;
  handshake(client);
  ASSERT_EQ(upstream_.requestCount(), 1u);
  HttpRequest seen = upstream_.requests()[0];
  EXPECT_TRUE(equalsIgnoreCase(seen.headers.get("upgrade").value_or(""), "websocket"));
  EXPECT_TRUE(hasToken(seen.headers.get("connection").value_or(""), "upgrade"));
  EXPECT_EQ(seen.headers.get("sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(seen.headers.get("sec-websocket-version"), "13");
}

TEST_F(WebSocket, BytesFlowBothWays) {
  startRemora();
  HttpClient client;
  handshake(client);
  EXPECT_TRUE(client.readUntil("hello-from-upstream", deadlineIn(2s))) << client.error();
  ASSERT_TRUE(client.send("ping-1"));
  EXPECT_EQ(client.socket().readExactly(6, deadlineIn(2s)), "ping-1");

  // A payload larger than socket buffers, sent while the echo is read back.
  std::string big(512 * 1024, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + (i / 4096) % 26);
  // The sender writes through its own descriptor: a Socket is used by one thread at a time.
  Socket writer(::dup(client.socket().fd()));
  std::thread sender([&] { writer.sendAll(big, deadlineIn(5s)); });
  std::optional<std::string> echoed = client.socket().readExactly(big.size(), deadlineIn(5s));
  sender.join();
  ASSERT_TRUE(echoed) << client.socket().error();
  EXPECT_TRUE(*echoed == big) << "the echoed payload differs";
}

TEST_F(WebSocket, ClientCloseReachesTheUpstream) {
  startRemora();
  HttpClient client;
  handshake(client);
  EXPECT_TRUE(client.readUntil("hello-from-upstream", deadlineIn(2s)));
  client.close();
  EXPECT_TRUE(upstream_saw_close_.wait(deadlineIn(2s)));
}

TEST(WebSocketClose, UpstreamCloseReachesTheClient) {
  ScriptedUpstream upstream([](UpstreamConnection& c) {
    if (!c.readRequest()) return;
    c.send(std::string(kSwitching) + "bye");
  });
  Remora remora;
  ASSERT_TRUE(remora.start(render(kConfig, {{"marker", "v1"}, {"ws", upstream.address()}})));
  HttpClient client(remora.port("edge"));
  ASSERT_TRUE(client.send(upgradeRequest()));
  HttpResponse head = client.readResponseHead(deadlineIn(2s));
  ASSERT_EQ(head.status, 101) << head;
  EXPECT_TRUE(client.readUntil("bye", deadlineIn(2s)));
  EXPECT_TRUE(client.waitClosed(deadlineIn(2s)));
}

TEST_F(WebSocket, TunnelSurvivesAReload) {
  startRemora("v1");
  HttpClient client;
  handshake(client);
  EXPECT_TRUE(client.readUntil("hello-from-upstream", deadlineIn(2s)));

  remora_.reload(render(kConfig, {{"marker", "v2"}, {"ws", upstream_.address()}}));
  uint16_t port = remora_.port("edge");
  ASSERT_TRUE(
      waitUntil([&] { return httpGet(port, "/added-by-reload").body == "v2"; }, deadlineIn(5s)));
  ASSERT_TRUE(client.send("after-reload"));
  EXPECT_EQ(client.socket().readExactly(12, deadlineIn(2s)), "after-reload");
}

}  // namespace
}  // namespace remora::harness
