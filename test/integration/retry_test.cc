// Route retry policies against real sockets: which outcomes are tried again and on which
// endpoint, bodies replayed whole (also when they were still arriving), attempts, per-try and
// route timeouts, the body size limit, HTTP/2 clients, and the retry metric.
#include <chrono>
#include <string>
#include <vector>

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
      - match: {prefix: /flaky}
        cluster: flaky
        retry: {attempts: 2, on: [5xx], backoff: {base: 1ms}}
      - match: {prefix: /once}
        cluster: flaky
      - match: {prefix: /always}
        cluster: busy
        retry: {attempts: 2, on: [gateway-error], backoff: {base: 1ms}}
      - match: {prefix: /narrow}
        cluster: busy
        retry: {on: [connect-failure]}
      - match: {prefix: /small}
        cluster: busy
        retry: {on: [5xx], max_body_bytes: 1KiB, backoff: {base: 1ms}}
      - match: {prefix: /dead}
        cluster: half_dead
        retry: {}
      - match: {prefix: /slow}
        cluster: slow_then_fast
        timeout: 10s
        retry: {on: [reset], per_try_timeout: 200ms, backoff: {base: 1ms}}
      - match: {prefix: /bounded}
        cluster: silent
        timeout: 500ms
        retry: {attempts: 10, on: [reset], per_try_timeout: 200ms, backoff: {base: 1ms}}
      - match: {prefix: /early}
        cluster: early
        retry: {on: [5xx], backoff: {base: 1ms}}
      - match: {prefix: /burst}
        cluster: slow_busy
        retry: {on: [5xx], backoff: {base: 1ms}}
      - match: {prefix: /unbudgeted}
        cluster: unbudgeted
        retry: {on: [5xx], backoff: {base: 1ms}}
  - name: public
    address: "127.0.0.1:0"
    trusted: false
    routes:
      - match: {prefix: /always}
        cluster: busy
        retry: {attempts: 2, on: [gateway-error], backoff: {base: 1ms}}
clusters:
  - name: flaky
    endpoints: ["{{busy}}", "{{echo}}"]
  - name: busy
    endpoints: ["{{busy}}"]
  - name: half_dead
    endpoints: ["{{dead}}", "{{echo}}"]
  - name: slow_then_fast
    endpoints: ["{{silent}}", "{{echo}}"]
  - name: silent
    endpoints: ["{{silent}}"]
  - name: early
    endpoints: ["{{early}}"]
  - name: slow_busy
    endpoints: ["{{slow_busy}}"]
  - name: unbudgeted
    endpoints: ["{{busy}}"]
    retry_budget: {percent: 0, min_concurrency: 0}
)";

// A body whose content changes along its length, so a truncated or reordered copy differs.
std::string pattern(size_t size) {
  std::string out;
  out.reserve(size);
  for (size_t i = 0; out.size() < size; ++i) out += std::to_string(i) + ",";
  out.resize(size);
  return out;
}

class Retries : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(remora_.start(render(kConfig, {{"busy", busy_.address()},
                                               {"echo", echo_.address()},
                                               {"dead", dead_.address()},
                                               {"silent", silent_.address()},
                                               {"early", early_.address()},
                                               {"slow_busy", slow_busy_.address()}})));
    port_ = remora_.port("edge");
  }

  double metric(std::string_view name, const std::map<std::string, std::string>& labels) {
    return metricValue(remora_.adminGet("/metrics").body, name, labels);
  }

  RefusingPort dead_;
  ScriptedUpstream busy_{ScriptedUpstream::respondWith(503, "busy\n")};
  ScriptedUpstream echo_{ScriptedUpstream::echo()};
  ScriptedUpstream silent_{[](UpstreamConnection& c) {
    c.readRequest();
    c.waitClosed(deadlineIn(30s));  // never answers; ends when remora gives up or at teardown
  }};
  // Its first connection answers 503 as soon as it has the head, before the body has arrived;
  // the later ones echo.
  ScriptedUpstream early_{[](UpstreamConnection& c) {
    if (c.index() == 0) {
      if (c.readRequestHead()) c.respond(503, "early\n", {{"Connection", "close"}});
      return;
    }
    ScriptedUpstream::echo()(c);
  }};
  // Answers 503, but only once a whole burst of kBurst requests has arrived, so that they are
  // all in flight together when the failures come back.
  static constexpr size_t kBurst = 40;
  ScriptedUpstream slow_busy_{[this](UpstreamConnection& c) {
    while (c.readRequest(deadlineIn(10s))) {
      waitUntil([&] { return slow_busy_.requestCount() >= kBurst; }, deadlineIn(10s));
      if (!c.respond(503, "busy\n")) return;
    }
  }};
  Remora remora_;
  uint16_t port_ = 0;
};

TEST_F(Retries, A503IsTriedAgainOnTheOtherEndpoint) {
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = httpGet(port_, "/flaky/" + std::to_string(i));
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_EQ(r.body, "GET /flaky/" + std::to_string(i) + "\n");
  }
  // Round robin sends about half the first tries to the busy endpoint; each was retried once.
  const size_t failed_tries = busy_.requestCount();
  EXPECT_GE(failed_tries, 1u);
  EXPECT_EQ(metric("remora_upstream_retries_total", {{"cluster", "flaky"}}), failed_tries);
  // Every try is an upstream request of its own.
  EXPECT_EQ(metric("remora_upstream_requests_total", {{"cluster", "flaky"}, {"code", "503"}}),
            failed_tries);
  EXPECT_EQ(metric("remora_upstream_requests_total", {{"cluster", "flaky"}, {"code", "200"}}), 20);
  EXPECT_EQ(metric("remora_downstream_requests_total", {{"code", "503"}}), 0);
}

TEST_F(Retries, WithoutAPolicyA503ReachesTheClient) {
  int unavailable = 0;
  for (int i = 0; i < 10; ++i) {
    HttpResponse r = httpGet(port_, "/once");
    ASSERT_TRUE(r.status == 200 || r.status == 503) << r;
    unavailable += r.status == 503;
  }
  EXPECT_EQ(unavailable, 5);
  EXPECT_EQ(metric("remora_upstream_retries_total", {{"cluster", "flaky"}}), 0);
}

TEST_F(Retries, PostBodiesAreReplayedWholeContentLengthAndChunked) {
  const std::string body = pattern(20000);
  for (int i = 0; i < 6; ++i) {
    HttpResponse sized = httpRequest(port_, "POST", "/flaky/sized", {}, body);
    ASSERT_EQ(sized.status, 200) << sized;
    EXPECT_EQ(sized.body, "POST /flaky/sized\n" + body);

    HttpClient client(port_);
    ASSERT_TRUE(client.send(
        formatRequest("POST", "/flaky/chunked", {{"Transfer-Encoding", "chunked"}}) +
        formatChunk(body.substr(0, 7000)) + formatChunk(body.substr(7000)) + formatChunk("")));
    HttpResponse chunked = client.readResponse();
    ASSERT_EQ(chunked.status, 200) << chunked;
    EXPECT_EQ(chunked.body, "POST /flaky/chunked\n" + body);
  }
  EXPECT_GE(busy_.requestCount(), 1u);
}

TEST_F(Retries, Http2ClientBodiesAreReplayedToo) {
  const std::string body = pattern(50000);
  const std::filesystem::path file = remora_.dir().file("body.bin");
  writeFile(file, body);
  for (int i = 0; i < 4; ++i) {
    CommandResult post =
        runCommand({"curl", "-sS", "--http2-prior-knowledge", "--data-binary", "@" + file.string(),
                    "-H", "content-type: application/octet-stream",
                    "http://127.0.0.1:" + std::to_string(port_) + "/flaky/h2"},
                   deadlineIn(20s));
    ASSERT_EQ(post.exit_code, 0) << post.err;
    EXPECT_EQ(post.out, "POST /flaky/h2\n" + body);
  }
  EXPECT_GE(busy_.requestCount(), 1u);
}

// The upstream answered before the body was all there: the next try gets what came so far, then
// the rest as it arrives.
TEST_F(Retries, EarlyAnswerWhileTheBodyIsStillArrivingReplaysItAndCarriesOn) {
  const std::string body = pattern(4000);
  HttpClient client(port_);
  ASSERT_TRUE(client.send(formatRequest("POST", "/early", {{"Content-Length", "4000"}}) +
                          body.substr(0, 1500)));
  // The second try has started (on the upstream's second connection) before the rest is sent.
  ASSERT_TRUE(waitUntil([&] { return early_.connectionCount() >= 2; }, deadlineIn(5s)));
  ASSERT_TRUE(client.send(body.substr(1500)));
  HttpResponse r = client.readResponse();
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.body, "POST /early\n" + body);
  EXPECT_EQ(metric("remora_upstream_retries_total", {{"cluster", "early"}}), 1);
}

TEST_F(Retries, AttemptsUsedUpGiveTheLastResponse) {
  HttpResponse r = httpGet(port_, "/always");
  EXPECT_EQ(r.status, 503) << r;
  EXPECT_EQ(r.body, "busy\n");
  EXPECT_EQ(busy_.requestCount(), 3u);  // the first try and two retries
  EXPECT_EQ(metric("remora_upstream_retries_total", {{"cluster", "busy"}}), 2);
}

// Each try says which it is, so the next hop knows a remora upstream of it is retrying.
TEST_F(Retries, EveryTryCarriesItsAttemptNumber) {
  HttpResponse r = httpGet(port_, "/always");
  EXPECT_EQ(r.status, 503) << r;
  std::vector<HttpRequest> tries = busy_.requests();
  ASSERT_EQ(tries.size(), 3u);
  for (size_t i = 0; i < tries.size(); ++i) {
    EXPECT_EQ(tries[i].headers.get("x-remora-attempt").value_or(""), std::to_string(i + 1));
  }
}

// A request that already went through a retrying remora is retried there, not again here.
TEST_F(Retries, OneRetryingHopARequestFromARetryingRemoraGoesOnce) {
  HttpResponse r = httpGet(port_, "/always", {{"x-remora-attempt", "2"}});
  EXPECT_EQ(r.status, 503) << r;
  ASSERT_EQ(busy_.requestCount(), 1u);
  EXPECT_EQ(busy_.requests()[0].headers.get("x-remora-attempt").value_or(""), "2");
}

TEST_F(Retries, AnUntrustedClientCannotSwitchRetriesOffNorSendRemorasHeaders) {
  HttpResponse r =
      httpGet(remora_.port("public"), "/always", {{"x-remora-attempt", "3"}, {"x-remora-x", "1"}});
  EXPECT_EQ(r.status, 503) << r;
  const std::vector<HttpRequest> tries = busy_.requests();
  ASSERT_EQ(tries.size(), 3u);
  for (size_t i = 0; i < tries.size(); ++i) {
    EXPECT_EQ(tries[i].headers.get("x-remora-attempt").value_or(""), std::to_string(i + 1));
    EXPECT_FALSE(tries[i].headers.has("x-remora-x"));
  }
}

TEST_F(Retries, ASpentRetryBudgetLetsTheFailureThroughAndIsCounted) {
  HttpResponse r = httpGet(port_, "/unbudgeted");
  EXPECT_EQ(r.status, 503) << r;
  EXPECT_EQ(busy_.requestCount(), 1u);
  EXPECT_EQ(metric("remora_upstream_retry_overflow_total", {{"cluster", "unbudgeted"}}), 1);
  EXPECT_EQ(metric("remora_upstream_retries_total", {{"cluster", "unbudgeted"}}), 0);
}

// The default budget (20% of the requests in flight, at least 3): a burst against an endpoint
// that always fails retries only a bounded number at once, and the rest fail fast.
TEST_F(Retries, TheDefaultBudgetBoundsRetriesInABurst) {
  constexpr int kClients = kBurst;
  std::vector<HttpClient> clients(kClients);
  for (HttpClient& client : clients) {
    ASSERT_TRUE(client.connect(port_));
    ASSERT_TRUE(client.send(formatRequest("GET", "/burst")));
  }
  int answered = 0;
  for (HttpClient& client : clients) answered += client.readResponse(deadlineIn(10s)).status == 503;
  EXPECT_EQ(answered, kClients);
  const double retries = metric("remora_upstream_retries_total", {{"cluster", "slow_busy"}});
  const double overflow =
      metric("remora_upstream_retry_overflow_total", {{"cluster", "slow_busy"}});
  EXPECT_GE(overflow, 1) << retries;
  // A request the budget let retry once may use all its attempts; the others never retried.
  EXPECT_EQ(retries, 2 * (kClients - overflow));
  // Without a budget every request would retry twice.
  EXPECT_LT(retries, 2 * kClients) << overflow;
}

TEST_F(Retries, AnOutcomeTheConditionsDoNotNameIsNotRetried) {
  HttpResponse r = httpGet(port_, "/narrow");
  EXPECT_EQ(r.status, 503) << r;
  EXPECT_EQ(busy_.requestCount(), 1u);
}

TEST_F(Retries, ABodyOverMaxBodyBytesGoesOnceASmallerOneIsRetried) {
  HttpResponse large = httpRequest(port_, "POST", "/small", {}, pattern(4096));
  EXPECT_EQ(large.status, 503) << large;
  EXPECT_EQ(busy_.requestCount(), 1u);
  HttpResponse small = httpRequest(port_, "POST", "/small", {}, pattern(100));
  EXPECT_EQ(small.status, 503) << small;
  EXPECT_EQ(busy_.requestCount(), 1u + 3u);
}

TEST_F(Retries, ARefusedConnectionIsRetriedByDefault) {
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = httpGet(port_, "/dead");
    ASSERT_EQ(r.status, 200) << r;
  }
  EXPECT_GE(metric("remora_upstream_retries_total", {{"cluster", "half_dead"}}), 1);
}

TEST_F(Retries, PerTryTimeoutMovesOnToTheNextEndpoint) {
  for (int i = 0; i < 4; ++i) {
    const auto before = Clock::now();
    HttpResponse r = httpGet(port_, "/slow", {}, deadlineIn(8s));
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_LT(Clock::now() - before, 5s);  // far less than the 10s route timeout
  }
  EXPECT_GE(silent_.requestCount(), 1u);
}

TEST_F(Retries, TheRouteTimeoutBoundsEveryTryTogether) {
  const auto before = Clock::now();
  HttpResponse r = httpGet(port_, "/bounded", {}, deadlineIn(8s));
  const auto waited = Clock::now() - before;
  EXPECT_EQ(r.status, 504) << r;
  EXPECT_GE(waited, 400ms);
  EXPECT_LT(waited, 3s);  // ten tries of 200ms would take over two seconds
  EXPECT_GE(silent_.connectionCount(), 2u);
}

}  // namespace
}  // namespace remora::harness
