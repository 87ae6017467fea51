// Limits the filter manager enforces on one stream: the stream idle timeout (a silent upstream,
// a stalled client, the route's override) and the body held while the chain is stopped.
#include <gtest/gtest.h>

#include <thread>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

std::string config(const std::string& upstream, const std::string& listener_extra,
                   const std::string& route_extra, const std::string& cluster_extra = "") {
  return render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
{{listener}}
    routes:
      - match: {prefix: /}
        cluster: backend
        timeout: 0s
{{route}}
clusters:
  - name: backend
    endpoints: [{{upstream}}]
{{cluster}}
)",
                {{"upstream", upstream},
                 {"listener", listener_extra},
                 {"route", route_extra},
                 {"cluster", cluster_extra}});
}

TEST(StreamIdleTimeout, ASilentUpstreamIsAnswered504AndItsConnectionReleased) {
  std::atomic<bool> closed{false};
  ScriptedUpstream silent([&](UpstreamConnection& c) {
    if (c.readRequest()) closed = c.waitClosed(deadlineIn(10s));
  });
  Remora remora;
  ASSERT_TRUE(remora.start(config(silent.address(), "    stream_idle_timeout: 300ms", "")));
  const auto start = Clock::now();
  const HttpResponse response = httpGet(remora.port("edge"), "/", {}, deadlineIn(10s));
  EXPECT_EQ(response.status, 504);
  EXPECT_GE(Clock::now() - start, 250ms);
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_TRUE(waitUntil([&] { return closed.load(); }, deadlineIn(5s)));
}

TEST(StreamIdleTimeout, AClientThatStopsSendingItsBodyIsAnswered408) {
  ScriptedUpstream upstream(ScriptedUpstream::echo());
  Remora remora;
  ASSERT_TRUE(remora.start(config(upstream.address(), "    stream_idle_timeout: 300ms", "")));
  HttpClient client(remora.port("edge"));
  ASSERT_TRUE(client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  const HttpResponse response = client.readResponse(deadlineIn(5s));
  EXPECT_EQ(response.status, 408) << response;
}

TEST(StreamIdleTimeout, TheRoutesValueOverridesTheListeners) {
  ScriptedUpstream silent([](UpstreamConnection& c) {
    if (c.readRequest()) c.waitClosed(deadlineIn(10s));
  });
  Remora remora;
  ASSERT_TRUE(remora.start(config(silent.address(), "    stream_idle_timeout: 30s",
                                  "        stream_idle_timeout: 200ms")));
  const auto start = Clock::now();
  EXPECT_EQ(httpGet(remora.port("edge"), "/", {}, deadlineIn(10s)).status, 504);
  EXPECT_LT(Clock::now() - start, 3s);
}

TEST(StreamIdleTimeout, ProgressKeepsAStreamAlive) {
  // A slow stream that trickles its body every 100ms outlives a 300ms idle timeout.
  ScriptedUpstream trickle([](UpstreamConnection& c) {
    if (!c.readRequest()) return;
    c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 8; ++i) {
      std::this_thread::sleep_for(100ms);
      if (!c.send(formatChunk("x"))) return;
    }
    c.send(formatChunk(""));
  });
  Remora remora;
  ASSERT_TRUE(remora.start(config(trickle.address(), "    stream_idle_timeout: 300ms", "")));
  const HttpResponse response = httpGet(remora.port("edge"), "/", {}, deadlineIn(10s));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "xxxxxxxx");
}

TEST(HeldBody, ABodyLargerThanTheListenerLetsBeHeldIsAnswered413) {
  // One connection, busy: the second request waits for it, its body held meanwhile.
  ScriptedUpstream slow([](UpstreamConnection& c) {
    while (c.readRequest(deadlineIn(10s))) {
      std::this_thread::sleep_for(1s);
      if (!c.respond(200, "slow")) return;
    }
  });
  Remora remora;
  ASSERT_TRUE(remora.start(config(slow.address(), "    max_buffered_body_bytes: 1KiB", "",
                                  "    circuit_breaker: {max_connections: 1}")));
  const uint16_t port = remora.port("edge");
  std::thread first([&] { EXPECT_EQ(httpGet(port, "/", {}, deadlineIn(10s)).status, 200); });
  ASSERT_TRUE(waitUntil([&] { return slow.requestCount() == 1; }, deadlineIn(5s)));
  const HttpResponse second =
      httpRequest(port, "POST", "/", {}, std::string(4096, 'b'), deadlineIn(10s));
  EXPECT_EQ(second.status, 413) << second;
  first.join();
}

}  // namespace
}  // namespace remora::harness
