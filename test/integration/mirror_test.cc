// Route mirrors against real sockets: the shadow sees its share of requests with a `-shadow`
// authority, a stalled shadow never slows the primary and copies beyond the mirror's concurrency
// are dropped, a body over the limit cuts the copy, compare counts differing answers (also when
// the copy outlives its primary), a copy's deadline, and HTTP/2 clients.
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
      - match: {prefix: /half}
        cluster: primary
        mirror: {cluster: shadow, percent: 50}
      - match: {prefix: /stall}
        cluster: primary
        mirror: {cluster: stalled, max_concurrent: 3, timeout: 30s}
      - match: {prefix: /big}
        cluster: primary
        mirror: {cluster: shadow, max_body_bytes: 1KiB}
      - match: {prefix: /failing}
        cluster: primary
        mirror: {cluster: failing, compare: true}
      - match: {prefix: /same}
        cluster: primary
        mirror: {cluster: shadow, compare: {body: true}}
      - match: {prefix: /status-only}
        cluster: primary
        mirror: {cluster: constant, compare: true}
      - match: {prefix: /body-too}
        cluster: primary
        mirror: {cluster: constant, compare: {body: true}}
      - match: {prefix: /firehose}
        cluster: primary
        mirror: {cluster: deaf, max_body_bytes: 48MiB}
      - match: {prefix: /late}
        cluster: primary
        mirror: {cluster: late, compare: true}
      - match: {prefix: /deadline}
        cluster: primary
        mirror: {cluster: stalled, max_concurrent: 1, timeout: 200ms}
clusters:
  - name: primary
    endpoints: ["{{primary}}"]
  - name: shadow
    endpoints: ["{{shadow}}"]
  - name: stalled
    endpoints: ["{{stalled}}"]
  - name: failing
    endpoints: ["{{failing}}"]
  - name: constant
    endpoints: ["{{constant}}"]
  - name: late
    endpoints: ["{{late}}"]
  - name: deaf
    endpoints: ["{{deaf}}"]
)";

std::string pattern(size_t size) {
  std::string out;
  out.reserve(size);
  for (size_t i = 0; out.size() < size; ++i) out += std::to_string(i) + ",";
  out.resize(size);
  return out;
}

class Mirrors : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(remora_.start(render(kConfig, {{"primary", primary_.address()},
                                               {"shadow", shadow_.address()},
                                               {"stalled", stalled_.address()},
                                               {"failing", failing_.address()},
                                               {"constant", constant_.address()},
                                               {"late", late_.address()},
                                               {"deaf", deaf_.address()}})));
    port_ = remora_.port("edge");
  }

  void TearDown() override { hang_up_.set(); }

  double mirrored(const std::string& cluster, const std::string& result) {
    return metricValue(remora_.adminGet("/metrics").body, "remora_mirror_requests_total",
                       {{"cluster", cluster}, {"result", result}});
  }

  // Polls until the mirror metric reaches `want`; the copies finish after their primaries.
  bool waitMirrored(const std::string& cluster, const std::string& result, double want) {
    return waitUntil([&] { return mirrored(cluster, result) >= want; }, deadlineIn(10s), 20ms);
  }

  ScriptedUpstream primary_{ScriptedUpstream::echo()};
  ScriptedUpstream shadow_{ScriptedUpstream::echo()};
  // Reads a copy's head, then its body (discarded) until remora or the test hangs up: never
  // answers.
  ScriptedUpstream stalled_{[](UpstreamConnection& c) {
    c.readRequestHead(deadlineIn(30s));
    c.waitClosed(deadlineIn(30s));
  }};
  ScriptedUpstream failing_{ScriptedUpstream::respondWith(500, "broken\n")};
  ScriptedUpstream constant_{ScriptedUpstream::respondWith(200, "constant\n")};
  // Reads a copy's head and then nothing at all until the test ends (waitClosed would read).
  Event hang_up_;
  ScriptedUpstream deaf_{[this](UpstreamConnection& c) {
    if (c.readRequestHead()) hang_up_.wait(deadlineIn(60s));
  }};
  // Answers 500, but only once the test says so: after the primary's exchange is over.
  Event answer_late_;
  ScriptedUpstream late_{[this](UpstreamConnection& c) {
    if (!c.readRequest()) return;
    answer_late_.wait(deadlineIn(10s));
    c.respond(500, "late\n");
  }};
  Remora remora_;
  uint16_t port_ = 0;
};

TEST_F(Mirrors, TheShadowSeesItsShareWithAShadowAuthority) {
  constexpr int kRequests = 400;
  HttpClient client(port_);
  for (int i = 0; i < kRequests; ++i) {
    const std::string path = "/half/" + std::to_string(i);
    HttpResponse r = client.request("GET", path);
    ASSERT_EQ(r.status, 200) << r;
    ASSERT_EQ(r.body, "GET " + path + "\n");
  }
  EXPECT_EQ(primary_.requestCount(), static_cast<size_t>(kRequests));
  const double sent = mirrored("shadow", "sent");
  ASSERT_TRUE(waitMirrored("shadow", "completed", sent)) << mirrored("shadow", "completed");
  // Binomial(400, 0.5): a standard deviation of 10; five of them either side.
  EXPECT_GE(sent, 150);
  EXPECT_LE(sent, 250);
  const std::vector<HttpRequest> copies = shadow_.requests();
  EXPECT_EQ(copies.size(), static_cast<size_t>(sent));
  for (const HttpRequest& copy : copies) {
    EXPECT_EQ(copy.headers.get("host").value_or(""), "localhost-shadow");
    EXPECT_TRUE(copy.target.starts_with("/half/")) << copy.target;
  }
  EXPECT_EQ(mirrored("shadow", "overflow"), 0);
  // Copies are counted in the shadow cluster's own request metrics too.
  EXPECT_EQ(metricValue(remora_.adminGet("/metrics").body, "remora_upstream_requests_total",
                        {{"cluster", "shadow"}, {"code", "200"}}),
            sent);

  const nlohmann::json dump = nlohmann::json::parse(remora_.adminGet("/config_dump").body);
  const nlohmann::json& mirror =
      dump["config"]["listeners"][0]["virtual_hosts"][0]["routes"][0]["mirror"];
  EXPECT_EQ(mirror["cluster"], "shadow");
  EXPECT_EQ(mirror["percent"], 50.0);

  const nlohmann::json explained =
      nlohmann::json::parse(remora_.adminGet("/explain?listener=edge&path=/half/x").body);
  EXPECT_EQ(explained["mirror"]["cluster"], "shadow") << explained;
  EXPECT_EQ(explained["mirror"]["endpoints_in_rotation"], 1);
}

TEST_F(Mirrors, AStalledShadowNeverSlowsThePrimaryAndExtraCopiesOverflow) {
  constexpr int kRequests = 20;
  const std::string body = pattern(32 * 1024);
  HttpClient client(port_);
  const auto start = Clock::now();
  for (int i = 0; i < kRequests; ++i) {
    const auto sent_at = Clock::now();
    HttpResponse r = client.request("POST", "/stall/" + std::to_string(i), {}, body);
    ASSERT_EQ(r.status, 200) << r;
    ASSERT_EQ(r.body, "POST /stall/" + std::to_string(i) + "\n" + body);
    // The shadow holds its copy for 30s; the primary answers as if it were not there.
    EXPECT_LT(Clock::now() - sent_at, 2s) << "request " << i;
  }
  EXPECT_LT(Clock::now() - start, 10s);
  // Three copies wait on the stalled shadow; every later one was dropped, not queued.
  EXPECT_EQ(mirrored("stalled", "sent"), 3);
  EXPECT_EQ(mirrored("stalled", "overflow"), kRequests - 3);
  EXPECT_TRUE(waitUntil([&] { return stalled_.connectionCount() == 3; }, deadlineIn(5s)));
  EXPECT_EQ(mirrored("stalled", "completed"), 0);
}

TEST_F(Mirrors, ABodyOverTheLimitCutsTheCopy) {
  const std::string big = pattern(4096);
  HttpResponse r = httpRequest(port_, "POST", "/big/large", {}, big);
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.body, "POST /big/large\n" + big);
  ASSERT_TRUE(waitMirrored("shadow", "truncated", 1));

  // A body within the limit goes whole.
  const std::string small = pattern(500);
  r = httpRequest(port_, "POST", "/big/small", {}, small);
  ASSERT_EQ(r.status, 200) << r;
  ASSERT_TRUE(waitMirrored("shadow", "completed", 1));
  EXPECT_EQ(mirrored("shadow", "truncated"), 1);
  bool seen_small = false;
  for (const HttpRequest& copy : shadow_.requests()) {
    EXPECT_NE(copy.target, "/big/large") << "a cut copy arrived whole";
    if (copy.target == "/big/small") {
      seen_small = true;
      EXPECT_EQ(copy.body, small);
    }
  }
  EXPECT_TRUE(seen_small);
}

// The copy's body is within its limit, but the shadow does not read it: once the kernel's
// buffers and remora's watermark are full the copy is cut, while the primary's body flows on.
TEST_F(Mirrors, AShadowThatCannotKeepUpLosesItsCopyNotThePrimary) {
  const std::string body = pattern(24 << 20);
  HttpResponse r = httpRequest(port_, "POST", "/firehose", {}, body, deadlineIn(60s));
  ASSERT_EQ(r.status, 200) << r.status << " " << r.error;
  EXPECT_EQ(r.body.size(), body.size() + std::string("POST /firehose\n").size());
  ASSERT_TRUE(waitMirrored("deaf", "slow", 1)) << remora_.adminGet("/metrics").body;
  EXPECT_EQ(mirrored("deaf", "truncated"), 0);
}

TEST_F(Mirrors, CompareCountsAShadowAnswering500WhereThePrimaryAnswered200) {
  constexpr int kRequests = 10;
  for (int i = 0; i < kRequests; ++i) {
    HttpResponse r = httpGet(port_, "/failing/" + std::to_string(i));
    ASSERT_EQ(r.status, 200) << r;
  }
  ASSERT_TRUE(waitMirrored("failing", "differ", kRequests)) << mirrored("failing", "differ");
  EXPECT_EQ(mirrored("failing", "match"), 0);
  EXPECT_EQ(mirrored("failing", "completed"), kRequests);
}

TEST_F(Mirrors, CompareWithBodyTellsSameAnswersFromOtherBodies) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(httpRequest(port_, "POST", "/same", {}, "payload").status, 200);
    ASSERT_EQ(httpGet(port_, "/status-only").status, 200);
    ASSERT_EQ(httpGet(port_, "/body-too").status, 200);
  }
  // Both echo the same request: the same body. The constant shadow answers 200 with another
  // body: a match by status class, a difference once bodies are compared.
  ASSERT_TRUE(waitMirrored("shadow", "match", 5));
  ASSERT_TRUE(waitMirrored("constant", "match", 5));
  ASSERT_TRUE(waitMirrored("constant", "differ", 5));
  EXPECT_EQ(mirrored("shadow", "differ"), 0);
  EXPECT_EQ(mirrored("constant", "match"), 5);
  EXPECT_EQ(mirrored("constant", "differ"), 5);
}

TEST_F(Mirrors, ACopyOutlivesItsPrimaryAndIsStillCompared) {
  HttpResponse r = httpGet(port_, "/late");
  ASSERT_EQ(r.status, 200) << r;
  ASSERT_TRUE(waitUntil([&] { return late_.requestCount() == 1; }, deadlineIn(5s)));
  EXPECT_EQ(mirrored("late", "completed"), 0);
  answer_late_.set();
  ASSERT_TRUE(waitMirrored("late", "differ", 1));
  EXPECT_EQ(mirrored("late", "completed"), 1);
  EXPECT_EQ(mirrored("late", "match"), 0);
}

TEST_F(Mirrors, ACopyPastItsTimeoutIsCountedAndFreesItsPlace) {
  ASSERT_EQ(httpGet(port_, "/deadline/1").status, 200);
  ASSERT_TRUE(waitMirrored("stalled", "timeout", 1));
  // max_concurrent is 1: the next copy goes only because the timed-out one left.
  ASSERT_EQ(httpGet(port_, "/deadline/2").status, 200);
  EXPECT_EQ(mirrored("stalled", "sent"), 2);
  EXPECT_EQ(mirrored("stalled", "overflow"), 0);
  ASSERT_TRUE(waitMirrored("stalled", "timeout", 2));
}

TEST_F(Mirrors, Http2ClientsAreMirroredWithTheirBodies) {
  const std::string body = pattern(20000);
  const std::filesystem::path file = remora_.dir().file("body.bin");
  writeFile(file, body);
  for (int i = 0; i < 3; ++i) {
    CommandResult post =
        runCommand({"curl", "-sS", "--http2-prior-knowledge", "--data-binary", "@" + file.string(),
                    "http://127.0.0.1:" + std::to_string(port_) + "/same/h2"},
                   deadlineIn(20s));
    ASSERT_EQ(post.exit_code, 0) << post.err;
    EXPECT_EQ(post.out, "POST /same/h2\n" + body);
  }
  ASSERT_TRUE(waitMirrored("shadow", "match", 3)) << mirrored("shadow", "match");
  EXPECT_EQ(mirrored("shadow", "differ"), 0);
  const std::vector<HttpRequest> copies = shadow_.requests();
  ASSERT_EQ(copies.size(), 3u);
  for (const HttpRequest& copy : copies) {
    EXPECT_EQ(copy.body, body);
    EXPECT_TRUE(copy.headers.get("host").value_or("").ends_with("-shadow:" + std::to_string(port_)))
        << copy.headers.get("host").value_or("");
  }
}

}  // namespace
}  // namespace remora::harness
