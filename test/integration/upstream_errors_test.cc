// remora's answers when upstreams fail: refused connections, empty clusters, silence past the
// route timeout, broken or truncated responses.
#include <chrono>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

constexpr char kConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
registry:
  file: {path: "{{registry}}"}
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /dead}
        cluster: dead
      - match: {prefix: /missing}
        cluster: missing
      - match: {prefix: /silent}
        cluster: silent
        timeout: 200ms
      - match: {prefix: /truncated}
        cluster: truncated
      - match: {prefix: /garbage}
        cluster: garbage
      - match: {prefix: /hangup}
        cluster: hangup
      - match: {prefix: /huge-head}
        cluster: huge_head
      - match: {prefix: /alive}
        direct_response: {status: 200, body: alive}
clusters:
  - name: dead
    endpoints: ["{{dead}}"]
    connect_timeout: 1s
  - name: missing
    service: missing-service
  - name: silent
    endpoints: ["{{silent}}"]
  - name: truncated
    endpoints: ["{{truncated}}"]
  - name: garbage
    endpoints: ["{{garbage}}"]
  - name: hangup
    endpoints: ["{{hangup}}"]
  - name: huge_head
    endpoints: ["{{huge_head}}"]
)";

class UpstreamErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::path registry = remora_.dir().file("endpoints.yaml");
    writeFile(registry, "other-service:\n  - {address: \"127.0.0.1:1\"}\n");
    ASSERT_TRUE(remora_.start(render(kConfig, {{"registry", registry.string()},
                                               {"dead", dead_.address()},
                                               {"silent", silent_.address()},
                                               {"truncated", truncated_.address()},
                                               {"garbage", garbage_.address()},
                                               {"hangup", hangup_.address()},
                                               {"huge_head", huge_head_.address()}})));
    port_ = remora_.port("edge");
  }

  // remora survives whatever the upstream did.
  void expectStillServing() {
    HttpResponse r = httpGet(port_, "/alive");
    EXPECT_EQ(r.status, 200) << r;
  }

  RefusingPort dead_;
  ScriptedUpstream silent_{[](UpstreamConnection& c) {
    c.readRequest();
    c.waitClosed(deadlineIn(30s));  // never answers; ends when remora gives up or at teardown
  }};
  ScriptedUpstream truncated_{[](UpstreamConnection& c) {
    if (!c.readRequest()) return;
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
  }};
  ScriptedUpstream garbage_{[](UpstreamConnection& c) {
    if (!c.readRequest()) return;
    c.send("this is not http\r\n\r\n");
  }};
  ScriptedUpstream hangup_{[](UpstreamConnection& c) { c.readRequest(); }};
  ScriptedUpstream huge_head_{[](UpstreamConnection& c) {
    if (!c.readRequest()) return;
    c.send("HTTP/1.1 200 OK\r\nX-Huge: " + std::string(70 * 1024, 'h') +
           "\r\nContent-Length: 2\r\n\r\nok");
    c.waitClosed(deadlineIn(5s));
  }};
  Remora remora_;
  uint16_t port_ = 0;
};

TEST_F(UpstreamErrors, RefusedConnectionIs502) {
  auto before = Clock::now();
  HttpResponse r = httpGet(port_, "/dead");
  EXPECT_EQ(r.status, 502) << r;
  EXPECT_LT(Clock::now() - before, 2s);
  // The tries that never connected are timed from when they began, not from the epoch.
  const std::string metrics = remora_.adminGet("/metrics").body;
  const double seconds =
      metricValue(metrics, "remora_upstream_request_duration_seconds_sum", {{"cluster", "dead"}});
  EXPECT_GE(seconds, 0) << metrics;
  EXPECT_LT(seconds, 2) << metrics;
  expectStillServing();
}

TEST_F(UpstreamErrors, ServiceAbsentFromTheRegistryIs503) {
  HttpResponse r = httpGet(port_, "/missing");
  EXPECT_EQ(r.status, 503) << r;
  expectStillServing();
}

TEST_F(UpstreamErrors, RouteTimeoutIs504AndPrompt) {
  auto before = Clock::now();
  HttpResponse r = httpGet(port_, "/silent", {}, deadlineIn(5s));
  auto waited = Clock::now() - before;
  EXPECT_EQ(r.status, 504) << r;
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 1500ms);
  expectStillServing();
}

TEST_F(UpstreamErrors, TruncatedResponseClosesTheClientConnection) {
  HttpClient client(port_);
  auto before = Clock::now();
  HttpResponse r = client.request("GET", "/truncated", {}, {}, deadlineIn(5s));
  EXPECT_FALSE(r.timed_out) << "the client was left hanging: " << r;
  if (r.ok()) {
    // remora may notice before it forwards the head; then it is a plain bad-gateway reply.
    EXPECT_EQ(r.status, 502) << r;
  } else {
    // Otherwise the head went out and the only honest signal left is closing the connection.
    EXPECT_EQ(r.status, 200) << r;
    EXPECT_LT(r.body.size(), 100u);
    EXPECT_TRUE(client.waitClosed(deadlineIn(2s)));
  }
  EXPECT_LT(Clock::now() - before, 2s);
  expectStillServing();
}

TEST_F(UpstreamErrors, GarbageResponseIs502) {
  HttpResponse r = httpGet(port_, "/garbage");
  EXPECT_EQ(r.status, 502) << r;
  expectStillServing();
}

TEST_F(UpstreamErrors, CloseWithoutResponseIs502) {
  HttpResponse r = httpGet(port_, "/hangup");
  EXPECT_EQ(r.status, 502) << r;
  expectStillServing();
}

TEST_F(UpstreamErrors, OversizedResponseHeadIs502) {
  HttpResponse r = httpGet(port_, "/huge-head");
  EXPECT_EQ(r.status, 502) << r;
  expectStillServing();
}

}  // namespace
}  // namespace remora::harness
