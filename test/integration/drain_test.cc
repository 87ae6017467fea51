// The drain as keep-alive clients see it: told to leave (Connection: close, GOAWAY with a
// shutdown notice first) from the moment draining starts, no request lost under load, and a
// request already sent when the listener closes still answered.
#include <signal.h>

#include <chrono>

#include "integration/harness/h2_frames.h"
#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kNoticeLastStream = 0x7fffffff;

std::string directConfig(const std::string& drain_delay, int workers = 1) {
  return render(R"(admin: {address: "127.0.0.1:0"}
workers: {{workers}}
lifecycle: {drain_delay: {{drain_delay}}, drain_timeout: 5s}
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        direct_response: {status: 200, body: ok}
)",
                {{"drain_delay", drain_delay}, {"workers", std::to_string(workers)}});
}

bool saysClose(const HttpResponse& response) {
  auto connection = response.headers.get("connection");
  return connection && hasToken(*connection, "close");
}

// One request on `client` and its complete response: the :status, or 0.
int h2Get(h2::H2Client& client, uint32_t stream) {
  if (!client.send(h2::getRequest(stream, "/"))) return 0;
  int status = 0;
  auto end = client.readUntil([&](const h2::Frame& f) {
    if (f.stream == stream && f.type == h2::kHeaders && f.status() != 0) status = f.status();
    return f.stream == stream && (f.type == h2::kHeaders || f.type == h2::kData) &&
           f.has(h2::kEndStream);
  });
  return end ? status : 0;
}

TEST(Drain, KeepAliveClientsAreToldWhileTheListenerStillAccepts) {
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig("3s")));
  const uint16_t port = remora.port("edge");
  HttpClient http1(port);
  HttpResponse before = http1.request("GET", "/");
  ASSERT_EQ(before.status, 200) << before;
  EXPECT_FALSE(saysClose(before)) << before;
  h2::H2Client acking;  // acknowledges the PING that comes with the notice
  h2::H2Client silent;  // does not: the final GOAWAY comes after a timeout instead
  ASSERT_TRUE(acking.connect(port));
  ASSERT_TRUE(silent.connect(port));
  ASSERT_EQ(h2Get(acking, 1), 200) << acking.describeFrames();
  ASSERT_EQ(h2Get(silent, 1), 200) << silent.describeFrames();

  ASSERT_TRUE(remora.signal(SIGTERM));
  ASSERT_TRUE(waitUntil([&] { return remora.adminGet("/ready").status == 503; }, deadlineIn(2s)));

  // HTTP/1.1: the next response on the kept connection is its last.
  HttpResponse during = http1.request("GET", "/");
  EXPECT_EQ(during.status, 200) << during;
  EXPECT_TRUE(saysClose(during)) << during;
  EXPECT_TRUE(http1.waitClosed(deadlineIn(2s))) << "the connection outlived its last response";
  // ... and the listener still takes new connections, whose responses say the same.
  HttpResponse fresh = httpGet(port, "/");
  EXPECT_EQ(fresh.status, 200) << fresh;
  EXPECT_TRUE(saysClose(fresh)) << fresh;

  // HTTP/2: a shutdown notice; a stream opened before the client read it is still served, and
  // the final GOAWAY names it once the PING sent with the notice comes back.
  auto notice = acking.waitGoaway(deadlineIn(2s));
  ASSERT_TRUE(notice) << acking.describeFrames();
  EXPECT_EQ(notice->lastStreamId(), kNoticeLastStream);
  EXPECT_EQ(notice->errorCode(), h2::kNoError);
  ASSERT_TRUE(acking.send(h2::getRequest(3, "/")));
  auto ping = acking.readUntil([](const h2::Frame& f) { return f.type == h2::kPing; });
  ASSERT_TRUE(ping) << acking.describeFrames();
  ASSERT_TRUE(acking.send(h2::frame(h2::kPing, h2::kAck, 0, ping->payload)));
  auto final_goaway = acking.waitGoaway(deadlineIn(2s));
  ASSERT_TRUE(final_goaway) << acking.describeFrames();
  EXPECT_EQ(final_goaway->lastStreamId(), 3u);
  EXPECT_TRUE(acking.waitClosed(deadlineIn(2s)));
  bool stream3_answered = false;
  for (const auto& f : acking.frames()) {
    stream3_answered = stream3_answered || (f.stream == 3 && f.status() == 200);
  }
  EXPECT_TRUE(stream3_answered) << acking.describeFrames();

  // Without the acknowledgement, the final GOAWAY still comes (after about a second).
  auto silent_notice = silent.waitGoaway(deadlineIn(2s));
  ASSERT_TRUE(silent_notice) << silent.describeFrames();
  EXPECT_EQ(silent_notice->lastStreamId(), kNoticeLastStream);
  auto silent_final = silent.waitGoaway(deadlineIn(3s));
  ASSERT_TRUE(silent_final) << silent.describeFrames();
  EXPECT_EQ(silent_final->lastStreamId(), 1u);
  EXPECT_TRUE(silent.waitClosed(deadlineIn(2s)));

  EXPECT_EQ(remora.waitExit(deadlineIn(10s)), 0);
}

// Clients that follow what they are told lose nothing: they move to new connections while the
// listener still accepts, and stop (as their balancer would) before it closes.
TEST(Drain, SigtermUnderKeepAliveLoadFailsNoRequest) {
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig("2s", 2)));
  KeepAliveLoad load(remora.port("edge"), /*http1=*/3, /*http2=*/2,
                     /*requests_after_leaving=*/20);
  ASSERT_TRUE(waitUntil([&] { return load.ok() > 300; }, deadlineIn(10s))) << load.failures();
  const int before = load.ok();
  ASSERT_TRUE(remora.signal(SIGTERM));
  EXPECT_TRUE(waitUntil([&] { return load.allStopped(); }, deadlineIn(10s)));
  load.stop();
  EXPECT_EQ(load.failed(), 0) << load.failures();
  EXPECT_EQ(load.clientsTold(), 5) << "every client is told to leave";
  EXPECT_GE(load.ok(), before + 5 * 20);
  EXPECT_EQ(remora.waitExit(deadlineIn(10s)), 0) << remora.logs();
  std::cout << "[ measure  ] drain under load: " << load.ok() << " requests ok, "
            << load.timesTold() << " times told to leave, " << load.retried()
            << " HTTP/2 requests sent again after a GOAWAY\n";
}

TEST(Drain, APipelinedRequestAlreadySentWhenTheListenerClosesIsAnswered) {
  Event slow_arrived;
  Event release;
  ScriptedUpstream upstream([&](UpstreamConnection& c) {
    while (auto request = c.readRequest()) {
      if (request->target == "/slow") {
        slow_arrived.set();
        release.wait(deadlineIn(5s));
      }
      c.respond(200, request->target);
    }
  });
  Remora remora;
  ASSERT_TRUE(remora.start(render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
lifecycle: {drain_delay: 0s, drain_timeout: 5s}
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: app
clusters:
  - name: app
    endpoints: ["{{app}}"]
)",
                                  {{"app", upstream.address()}})));
  const uint16_t port = remora.port("edge");
  HttpClient client(port);
  ASSERT_TRUE(client.send(formatRequest("GET", "/slow") + formatRequest("GET", "/next")));
  ASSERT_TRUE(slow_arrived.wait(deadlineIn(2s)));

  ASSERT_TRUE(remora.signal(SIGTERM));
  ASSERT_TRUE(waitUntil(
      [&] {
        HttpClient probe;
        return !probe.connect(port, deadlineIn(50ms));
      },
      deadlineIn(2s)))
      << "the listener still accepts";
  release.set();
  HttpResponse first = client.readResponse(deadlineIn(3s));
  EXPECT_EQ(first.status, 200) << first;
  EXPECT_EQ(first.body, "/slow");
  EXPECT_FALSE(saysClose(first)) << "the next request is already there: " << first;
  HttpResponse second = client.readResponse(deadlineIn(3s));
  EXPECT_EQ(second.status, 200) << second;
  EXPECT_EQ(second.body, "/next");
  EXPECT_TRUE(saysClose(second)) << second;
  EXPECT_TRUE(client.waitClosed(deadlineIn(2s)));
  EXPECT_EQ(remora.waitExit(deadlineIn(5s)), 0);
}

}  // namespace
}  // namespace remora::harness
