// The main thread's HTTP client (discovery/http_client) against real sockets: answers, streamed
// bodies, refused connections, timeouts, oversized bodies and cancellation.
#include "discovery/http_client.h"

#include <event2/event.h>

#include <chrono>
#include <memory>
#include <optional>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

class HttpClientTest : public ::testing::Test {
 protected:
  HttpClientTest()
      : base_(event_base_new()), client_(std::make_unique<discovery::HttpClient>(base_)) {}
  ~HttpClientTest() override {
    client_.reset();
    event_base_free(base_);
  }

  // Runs the loop until `done` holds or `limit` passes.
  bool runUntil(const std::function<bool()>& done, Clock::duration limit = 5s) {
    const auto deadline = Clock::now() + limit;
    while (!done() && Clock::now() < deadline)
      event_base_loop(base_, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    return done();
  }

  std::optional<discovery::HttpResponse> fetch(discovery::HttpRequest request) {
    std::optional<discovery::HttpResponse> result;
    call_ = client_->fetch(std::move(request),
                           [&](discovery::HttpResponse response) { result = std::move(response); });
    runUntil([&] { return result.has_value(); });
    return result;
  }

  event_base* base_;
  std::unique_ptr<discovery::HttpClient> client_;
  std::unique_ptr<discovery::HttpCall> call_;
};

TEST_F(HttpClientTest, SendsTheRequestAndCollectsTheAnswer) {
  ScriptedUpstream upstream(ScriptedUpstream::echo());
  discovery::HttpRequest request;
  request.method = "PUT";
  request.url = "http://" + upstream.address() + "/v1/agent?x=1";
  request.headers.emplace_back("X-Consul-Token", "t");
  request.body = "payload";
  auto response = fetch(std::move(request));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200) << response->error;
  EXPECT_EQ(response->body, "PUT /v1/agent?x=1\npayload");
  ASSERT_EQ(upstream.requests().size(), 1u);
  EXPECT_EQ(upstream.requests()[0].headers.get("x-consul-token"), "t");
  EXPECT_EQ(upstream.requests()[0].headers.get("host"), upstream.address());
}

TEST_F(HttpClientTest, StreamsABodyAsItArrives) {
  Event first_seen;
  ScriptedUpstream upstream([&](UpstreamConnection& c) {
    if (!c.readRequest()) return;
    c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nline1\n\r\n");
    first_seen.wait(deadlineIn(5s));
    c.send("6\r\nline2\n\r\n0\r\n\r\n");
  });
  std::string streamed;
  std::optional<discovery::HttpResponse> result;
  discovery::HttpRequest request;
  request.url = "http://" + upstream.address() + "/watch";
  request.timeout = 0ms;
  request.on_body_data = [&](std::string_view chunk) {
    streamed += chunk;
    if (streamed == "line1\n") first_seen.set();
  };
  call_ = client_->fetch(std::move(request),
                         [&](discovery::HttpResponse response) { result = std::move(response); });
  ASSERT_TRUE(runUntil([&] { return result.has_value(); }));
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(streamed, "line1\nline2\n");
  EXPECT_EQ(result->body, "");
}

TEST_F(HttpClientTest, ReportsARefusedConnection) {
  RefusingPort dead;
  discovery::HttpRequest request;
  request.url = "http://" + dead.address() + "/";
  auto response = fetch(std::move(request));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 0);
  EXPECT_FALSE(response->error.empty());
}

// A name that does not resolve fails on a later turn, never inside fetch(): callers keep the
// call only once fetch() has returned it.
TEST_F(HttpClientTest, AnUnresolvableNameFailsLaterNotInsideFetch) {
  discovery::HttpRequest request;
  request.url = "http://no-such-host.invalid:8500/v1/health/service/users";
  request.timeout = 3000ms;
  std::optional<discovery::HttpResponse> result;
  call_ = client_->fetch(std::move(request),
                         [&](discovery::HttpResponse response) { result = std::move(response); });
  EXPECT_FALSE(result.has_value());
  ASSERT_TRUE(runUntil([&] { return result.has_value(); }));
  EXPECT_EQ(result->status, 0);
  EXPECT_FALSE(result->error.empty());
}

TEST_F(HttpClientTest, GivesUpAtItsTimeout) {
  ScriptedUpstream silent([](UpstreamConnection& c) {
    c.readRequest();
    c.waitClosed(deadlineIn(5s));
  });
  discovery::HttpRequest request;
  request.url = "http://" + silent.address() + "/";
  request.timeout = 200ms;
  const auto start = Clock::now();
  auto response = fetch(std::move(request));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 0);
  EXPECT_EQ(response->error, "timed out after 200ms");
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST_F(HttpClientTest, RefusesABodyOverItsLimit) {
  ScriptedUpstream upstream(ScriptedUpstream::respondWith(200, std::string(4096, 'x')));
  discovery::HttpRequest request;
  request.url = "http://" + upstream.address() + "/";
  request.max_body_bytes = 1024;
  auto response = fetch(std::move(request));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 0);
  EXPECT_EQ(response->error, "response too large");
}

TEST_F(HttpClientTest, RejectsABadUrlOnTheNextTurn) {
  discovery::HttpRequest request;
  request.url = "ftp://example/";
  bool called_inline = true;
  std::optional<discovery::HttpResponse> result;
  call_ = client_->fetch(std::move(request),
                         [&](discovery::HttpResponse response) { result = std::move(response); });
  called_inline = result.has_value();
  ASSERT_TRUE(runUntil([&] { return result.has_value(); }));
  EXPECT_FALSE(called_inline);
  EXPECT_NE(result->error.find("bad URL"), std::string::npos);
}

TEST_F(HttpClientTest, ADestroyedCallNeverCallsBack) {
  Event arrived;
  Event release;
  ScriptedUpstream upstream([&](UpstreamConnection& c) {
    if (!c.readRequest()) return;
    arrived.set();
    release.wait(deadlineIn(5s));
    c.respond(200, "late");
  });
  bool called = false;
  discovery::HttpRequest request;
  request.url = "http://" + upstream.address() + "/";
  call_ = client_->fetch(std::move(request), [&](discovery::HttpResponse) { called = true; });
  ASSERT_TRUE(runUntil([&] { return arrived.isSet(); }));
  call_.reset();
  release.set();
  // The connection goes on a later turn; nothing reaches the callback.
  ASSERT_TRUE(upstream.requests().size() == 1);
  runUntil([&] { return called; }, 300ms);
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace remora::harness
