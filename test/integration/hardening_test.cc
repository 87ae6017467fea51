// Regressions of the hardening review: a test for each fixed bug, from smuggling to unsafe replays.
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

// AddressSanitizer holds freed memory in quarantine (256 MB by default), so a sanitized build's
// RSS only has to catch unbounded growth (as in backpressure_test.cc).
#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kMaxPeakRssKiB = 512 * 1024;
#else
constexpr uint64_t kMaxPeakRssKiB = 64 * 1024;  // 64 MB
#endif

std::chrono::milliseconds msSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// A field of /proc/<pid>/status in KiB (VmHWM: peak RSS); 0 when absent.
uint64_t procStatusKiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
  }
  return 0;
}

// One listener "edge" whose routes are `routes` (YAML list items, indented by six spaces),
// clusters `clusters` (list items indented by two), and extra listener keys `listener_extra`.
std::string config(const std::string& routes, const std::string& clusters = "",
                   const std::string& listener_extra = "") {
  return "admin: {address: \"127.0.0.1:0\"}\n"
         "workers: 1\n"
         "listeners:\n"
         "  - name: edge\n"
         "    address: \"127.0.0.1:0\"\n" +
         listener_extra + "    routes:\n" + routes + (clusters.empty() ? "" : "clusters:\n") +
         clusters;
}

std::string cluster(const std::string& name, const std::string& address,
                    const std::string& extra = "") {
  return "  - name: " + name + "\n    endpoints: [\"" + address + "\"]\n" + extra;
}

std::string describe(const std::vector<HttpRequest>& requests) {
  std::string out;
  for (const HttpRequest& r : requests) out += "\n  " + r.method + " " + r.target;
  return out.empty() ? " (none)" : out;
}

// --- 1. Upgrade requests with a chunked body ---

TEST(Hardening, UpgradeRequestWithChunkedBodyCannotSmuggleARequest) {
  ScriptedUpstream upstream(ScriptedUpstream::echo());
  Remora remora;
  ASSERT_TRUE(remora.start(config("      - match: {prefix: /public}\n        cluster: backend\n",
                                  cluster("backend", upstream.address()))));
  const uint16_t port = remora.port("edge");

  const std::string smuggled = "GET /admin HTTP/1.1\r\nHost: internal\r\n\r\n";
  HttpClient client(port);
  ASSERT_TRUE(
      client.send("POST /public/upload HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\n"
                  "Upgrade: websocket\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  formatChunk(smuggled) + formatChunk("")))
      << client.error();
  HttpResponse r = client.readResponse(deadlineIn(3s));
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.body, "POST /public/upload\n" + smuggled) << r;

  // A separate client gets its own answer, not one meant for a smuggled request.
  HttpResponse next = httpGet(port, "/public/x", {}, deadlineIn(3s));
  EXPECT_EQ(next.status, 200) << next;
  EXPECT_EQ(next.body, "GET /public/x\n") << next;

  // Nothing else reaches the upstream afterwards either.
  EXPECT_FALSE(waitUntil([&] { return upstream.requestCount() > 2; }, deadlineIn(300ms)));
  std::vector<HttpRequest> seen = upstream.requests();
  ASSERT_EQ(seen.size(), 2u) << "upstream saw:" << describe(seen);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/public/upload");
  std::optional<std::string> te = seen[0].headers.get("transfer-encoding");
  EXPECT_TRUE(te && hasToken(*te, "chunked")) << "transfer-encoding: " << te.value_or("(none)");
  EXPECT_EQ(seen[0].body, smuggled);
  EXPECT_EQ(seen[1].method, "GET");
  EXPECT_EQ(seen[1].target, "/public/x");
  for (const HttpRequest& request : seen) EXPECT_NE(request.target, "/admin");
}

// --- 2. Pipelining without reading ---

TEST(Hardening, PipeliningClientThatNeverReadsCannotGrowMemory) {
  Remora remora;
  const std::string body(4096, 'b');
  ASSERT_TRUE(
      remora.start(config("      - match: {prefix: /}\n        direct_response: {status: "
                          "200, body: \"" +
                          body + "\"}\n")));
  HttpClient client(remora.port("edge"));
  ASSERT_TRUE(client.connected()) << client.error();
  const int fd = client.socket().fd();  // non-blocking

  std::string batch;
  for (int i = 0; i < 100; ++i) batch += "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  uint64_t sent = 0;
  size_t offset = 0;
  bool blocked = false;
  const Deadline stop = deadlineIn(2s);
  while (Clock::now() < stop) {
    ssize_t n = ::send(fd, batch.data() + offset, batch.size() - offset, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<uint64_t>(n);
      offset = (offset + static_cast<size_t>(n)) % batch.size();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    ASSERT_TRUE(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        << "send: " << std::strerror(errno);
    pollfd pfd{fd, POLLOUT, 0};
    if (::poll(&pfd, 1, std::min(500, msLeft(stop))) == 0 && Clock::now() < stop) {
      blocked = true;  // 500 ms without room: remora stopped reading
      break;
    }
  }
  const uint64_t peak = procStatusKiB(remora.pid(), "VmHWM");
  std::cout << "[ measure  ] pipelined " << sent / 1024 << " KiB of requests without reading ("
            << (blocked ? "writes blocked" : "writes never blocked for 500 ms") << "); VmHWM "
            << peak << " KiB\n";
  EXPECT_GT(peak, 0u) << "no VmHWM in /proc/" << remora.pid() << "/status";
  EXPECT_LT(peak, kMaxPeakRssKiB) << "remora's peak RSS: " << peak << " KiB";
  EXPECT_TRUE(remora.running());

  // Reading now yields complete responses, in order.
  for (int i = 0; i < 100; ++i) {
    HttpResponse r = client.readResponse(deadlineIn(2s));
    ASSERT_EQ(r.status, 200) << "response " << i << ": " << r;
    ASSERT_TRUE(r.ok()) << "response " << i << ": " << r;
    ASSERT_EQ(r.body, body) << "response " << i;
  }
}

// --- 3. Half-close ---

constexpr char kEchoAndDirectRoutes[] =
    "      - match: {prefix: /direct}\n"
    "        direct_response: {status: 200, body: direct}\n"
    "      - match: {prefix: /}\n"
    "        cluster: backend\n";

// A response in one line: status, body, Connection field, and what went wrong.
std::string summary(const HttpResponse& r) {
  std::string body = r.body.substr(0, 16);
  for (char& c : body) c = c == '\n' ? '|' : c;
  std::string out = std::to_string(r.status) + " \"" + body + "\"";
  if (std::optional<std::string> connection = r.headers.get("connection")) {
    out += " connection: " + *connection;
  }
  if (!r.error.empty()) out += " (" + r.error + ")";
  return out;
}

// One exchange: /a and /b in one write, then SHUT_WR. "" when both responses came in order and
// then the close; otherwise a one-line account of what happened.
std::string pipelinedThenHalfClose(uint16_t port, bool direct) {
  const std::string a = direct ? "/direct/a" : "/a";
  const std::string b = direct ? "/direct/b" : "/b";
  const std::string want_a = direct ? "direct" : "GET /a\n";
  const std::string want_b = direct ? "direct" : "GET /b\n";
  HttpClient client(port);
  if (!client.send(formatRequest("GET", a) + formatRequest("GET", b))) {
    return "sending: " + client.error();
  }
  client.socket().shutdownWrite();
  HttpResponse first = client.readResponse(deadlineIn(2s));
  if (first.status != 200 || !first.ok() || first.body != want_a) {
    return "first: " + summary(first);
  }
  HttpResponse second = client.readResponse(deadlineIn(2s));
  if (second.status != 200 || !second.ok() || second.body != want_b) {
    return "first: " + summary(first) + "; second: " + summary(second);
  }
  if (!client.waitClosed(deadlineIn(2s))) return "both answered, then still open for 2 s";
  return "";
}

TEST(Hardening, HalfCloseAfterPipelinedRequestsAnswersBoth) {
  ScriptedUpstream upstream(ScriptedUpstream::echo());
  Remora remora;
  ASSERT_TRUE(remora.start(config(kEchoAndDirectRoutes, cluster("backend", upstream.address()))));
  const uint16_t port = remora.port("edge");
  constexpr int kRounds = 50;
  for (bool direct : {true, false}) {
    const char* kind = direct ? "direct_response" : "upstream";
    std::map<std::string, int> failures;  // what happened -> how many rounds
    int failed = 0;
    std::chrono::milliseconds slowest{0};
    for (int i = 0; i < kRounds; ++i) {
      auto before = Clock::now();
      std::string failure = pipelinedThenHalfClose(port, direct);
      slowest = std::max(slowest, msSince(before));
      if (failure.empty()) continue;
      ++failed;
      ++failures[failure];
    }
    std::string accounts;
    for (const auto& [what, count] : failures) {
      accounts += "\n  " + std::to_string(count) + "x " + what;
    }
    EXPECT_EQ(failed, 0) << kind << " routes: " << failed << " of " << kRounds
                         << " rounds failed:" << accounts;
    EXPECT_LT(slowest, 1s) << kind << " routes: slowest round " << slowest.count() << " ms";
    std::cout << "[ measure  ] " << kind << " routes: slowest of " << kRounds << " rounds "
              << slowest.count() << " ms\n";
  }
  // Every pipelined request reached the upstream, exactly once.
  size_t a = 0;
  size_t b = 0;
  for (const HttpRequest& request : upstream.requests()) {
    a += request.target == "/a";
    b += request.target == "/b";
  }
  EXPECT_EQ(a, static_cast<size_t>(kRounds));
  EXPECT_EQ(b, static_cast<size_t>(kRounds)) << "the upstream never saw most /b requests";
}

TEST(Hardening, HalfCloseStillReceivesALargeResponse) {
  constexpr size_t kBodyBytes = 8 << 20;  // 8 MiB
  ScriptedUpstream upstream([](UpstreamConnection& c) {
    if (!c.readRequest()) return;
    if (!c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kBodyBytes) + "\r\n\r\n"))
      return;
    const std::string piece(64 * 1024, 'z');
    for (size_t sent = 0; sent < kBodyBytes; sent += piece.size()) {
      if (!c.send(piece)) return;
    }
    c.waitClosed(deadlineIn(5s));
  });
  Remora remora;
  ASSERT_TRUE(remora.start(config("      - match: {prefix: /}\n        cluster: backend\n",
                                  cluster("backend", upstream.address()))));
  HttpClient client(remora.port("edge"));
  ASSERT_TRUE(client.send(formatRequest("GET", "/large"))) << client.error();
  client.socket().shutdownWrite();
  HttpResponse r = client.readResponse(deadlineIn(4s));
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.body.size(), kBodyBytes);
  EXPECT_EQ(r.body.find_first_not_of('z'), std::string::npos);
  EXPECT_TRUE(client.waitClosed(deadlineIn(2s))) << "no EOF after the response";
}

TEST(Hardening, HalfCloseWithAnIncompleteBodyClosesPromptly) {
  ScriptedUpstream upstream([](UpstreamConnection& c) {
    if (!c.readRequestHead()) return;
    c.waitClosed(deadlineIn(5s));
  });
  Remora remora;
  ASSERT_TRUE(remora.start(config("      - match: {prefix: /}\n        cluster: backend\n",
                                  cluster("backend", upstream.address()))));
  HttpClient client(remora.port("edge"));
  ASSERT_TRUE(client.send(formatRequest("POST", "/upload", {{"Content-Length", "100"}}) +
                          std::string(10, 'x')))
      << client.error();
  auto before = Clock::now();
  client.socket().shutdownWrite();
  EXPECT_TRUE(client.waitClosed(deadlineIn(2s))) << "the connection hangs";
  auto waited = msSince(before);
  EXPECT_LT(waited, 1s);
  std::cout << "[ measure  ] closed " << waited.count()
            << " ms after the half-close of an incomplete body\n";
}

// --- 4. Request body progress timeout ---

TEST(Hardening, StalledRequestBodyIs408AndReleasesTheUpstream) {
  Event head_arrived;
  std::atomic<bool> upstream_closed{false};
  ScriptedUpstream upstream([&](UpstreamConnection& c) {
    if (!c.readRequestHead()) return;
    head_arrived.set();
    upstream_closed = c.waitClosed(deadlineIn(5s));
  });
  Remora remora;
  ASSERT_TRUE(
      remora.start(config("      - match: {prefix: /}\n        cluster: backend\n",
                          cluster("backend", upstream.address()), "    idle_timeout: 300ms\n")));
  HttpClient client(remora.port("edge"));
  ASSERT_TRUE(client.send(formatRequest("POST", "/upload", {{"Content-Length", "100"}}) +
                          std::string(10, 'x')))
      << client.error();
  auto before = Clock::now();
  HttpResponse r = client.readResponse(deadlineIn(3s));
  auto waited = msSince(before);
  // The upstream never answered, so no response was started: remora answers itself.
  EXPECT_EQ(r.status, 408) << r;
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(waited, 2s);
  EXPECT_TRUE(client.waitClosed(deadlineIn(2s))) << "the client connection stayed open";
  EXPECT_TRUE(head_arrived.isSet());
  EXPECT_TRUE(waitUntil([&] { return upstream_closed.load(); }, deadlineIn(2s)))
      << "the upstream connection was not released";
  std::cout << "[ measure  ] 408 after " << waited.count() << " ms of request body silence\n";
}

// --- 5. Large response heads ---

TEST(Hardening, ResponseHeadOver256KiBWithinTheLimitIsRelayed) {
  constexpr int kBigHeaders = 60;   // 60 x 10 KiB: 600 KiB, well past 256 KiB
  constexpr int kHugeHeaders = 11;  // 11 x 100 KiB: 1.1 MiB
  ScriptedUpstream upstream([&](UpstreamConnection& c) {
    while (std::optional<HttpRequest> request = c.readRequest()) {
      const bool huge = request->target == "/huge";
      HeaderList headers;
      for (int i = 0; i < (huge ? kHugeHeaders : kBigHeaders); ++i) {
        headers.emplace_back(
            "X-Big-" + std::to_string(i),
            std::string(huge ? 100 * 1024 : 10 * 1024, static_cast<char>('a' + i % 26)));
      }
      if (!c.respond(200, "ok", headers)) return;
    }
  });
  Remora remora;
  ASSERT_TRUE(remora.start(
      config("      - match: {prefix: /}\n        cluster: backend\n",
             cluster("backend", upstream.address(), "    max_response_headers_bytes: 1MiB\n"))));
  const uint16_t port = remora.port("edge");

  auto before = Clock::now();
  HttpResponse big = httpGet(port, "/big", {}, deadlineIn(3s));
  EXPECT_EQ(big.status, 200) << big.error << (big.timed_out ? " (timed out: stalled)" : "");
  EXPECT_TRUE(big.ok()) << big.error;
  EXPECT_EQ(big.body, "ok");
  int intact = 0;  // headers that arrived whole
  for (int i = 0; i < kBigHeaders; ++i) {
    intact += big.headers.get("x-big-" + std::to_string(i)) ==
              std::string(10 * 1024, static_cast<char>('a' + i % 26));
  }
  EXPECT_EQ(intact, kBigHeaders);
  EXPECT_LT(msSince(before), 2s);

  HttpResponse huge = httpGet(port, "/huge", {}, deadlineIn(3s));
  EXPECT_EQ(huge.status, 502) << huge.error << (huge.timed_out ? " (timed out)" : "");
}

// --- 6. CONNECT ---

TEST(Hardening, ConnectIs501AndCloses) {
  ScriptedUpstream upstream(ScriptedUpstream::echo());
  Remora remora;
  ASSERT_TRUE(remora.start(config("      - match: {prefix: /}\n        cluster: backend\n",
                                  cluster("backend", upstream.address()))));
  HttpClient client(remora.port("edge"));
  ASSERT_TRUE(client.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"))
      << client.error();
  HttpResponse r = client.readResponse(deadlineIn(2s));
  EXPECT_EQ(r.status, 501) << r;
  EXPECT_TRUE(client.waitClosed(deadlineIn(2s))) << "the connection stayed open";
  // A request on another connection is served: remora did nothing with the CONNECT meanwhile.
  EXPECT_EQ(httpGet(remora.port("edge"), "/after").status, 200);
  std::vector<HttpRequest> seen = upstream.requests();
  ASSERT_EQ(seen.size(), 1u) << "upstream saw:" << describe(seen);
  EXPECT_EQ(seen[0].target, "/after");
  EXPECT_EQ(upstream.connectionCount(), 1u);
}

// --- 7. Repeated Connection fields ---

TEST(Hardening, EveryConnectionFieldCounts) {
  // Answers every request with keep-alive in the first Connection field, close in the second,
  // and keeps the connection open: only remora's reading decides whether it is reused.
  ScriptedUpstream closing([](UpstreamConnection& c) {
    while (c.readRequest(deadlineIn(5s))) {
      if (!c.send("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\n"
                  "Content-Length: 2\r\n\r\nok")) {
        return;
      }
    }
  });
  // Names a hop-by-hop field only in its second Connection field.
  ScriptedUpstream naming([](UpstreamConnection& c) {
    while (c.readRequest(deadlineIn(5s))) {
      if (!c.send("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: x-resp-secret\r\n"
                  "X-Resp-Secret: s3cret\r\nContent-Length: 2\r\n\r\nok")) {
        return;
      }
    }
  });
  ScriptedUpstream echo(ScriptedUpstream::echo());
  Remora remora;
  ASSERT_TRUE(remora.start(
      config("      - match: {prefix: /closing}\n        cluster: closing\n"
             "      - match: {prefix: /naming}\n        cluster: naming\n"
             "      - match: {prefix: /direct}\n"
             "        direct_response: {status: 200, body: direct}\n"
             "      - match: {prefix: /}\n        cluster: echo\n",
             cluster("closing", closing.address()) + cluster("naming", naming.address()) +
                 cluster("echo", echo.address()))));
  const uint16_t port = remora.port("edge");

  // Upstream side: "close" in the second field means the connection is not reused.
  EXPECT_EQ(httpGet(port, "/closing/1").status, 200);
  EXPECT_EQ(httpGet(port, "/closing/2").status, 200);
  EXPECT_EQ(closing.requestCount(), 2u);
  EXPECT_EQ(closing.connectionCount(), 2u) << "a connection the upstream closed was reused";

  // Client side: "close" in the second field closes the connection after the response.
  {
    HttpClient client(port);
    ASSERT_TRUE(
        client.send("GET /direct HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n"
                    "Connection: close\r\n\r\n"))
        << client.error();
    HttpResponse r = client.readResponse(deadlineIn(2s));
    EXPECT_EQ(r.status, 200) << r;
    std::optional<std::string> connection = r.headers.get("connection");
    EXPECT_TRUE(connection && hasToken(*connection, "close")) << r;
    EXPECT_TRUE(client.waitClosed(deadlineIn(2s))) << "the connection stayed open";
  }

  // A field named only in the second Connection field is hop-by-hop: not forwarded.
  {
    HttpClient client(port);
    ASSERT_TRUE(
        client.send("GET /hop HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n"
                    "Connection: x-secret\r\nX-Secret: s3cret\r\n\r\n"))
        << client.error();
    HttpResponse r = client.readResponse(deadlineIn(2s));
    EXPECT_EQ(r.status, 200) << r;
    std::vector<HttpRequest> seen = echo.requests();
    ASSERT_EQ(seen.size(), 1u) << "upstream saw:" << describe(seen);
    EXPECT_FALSE(seen[0].headers.has("x-secret")) << "x-secret was forwarded";
  }
  HttpResponse r = httpGet(port, "/naming");
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_FALSE(r.headers.has("x-resp-secret")) << r;
}

// --- 8. Dot-segments ---

TEST(Hardening, DotSegmentsAreRemovedBeforeRouting) {
  ScriptedUpstream upstream(ScriptedUpstream::echo());
  Remora remora;
  ASSERT_TRUE(remora.start(config("      - match: {prefix: /public}\n        cluster: backend\n",
                                  cluster("backend", upstream.address()))));
  const uint16_t port = remora.port("edge");

  HttpResponse up = httpGet(port, "/public/../admin");
  EXPECT_EQ(up.status, 404) << up;
  HttpResponse encoded = httpGet(port, "/public/%2e%2e/admin");
  EXPECT_EQ(encoded.status, 404) << encoded;
  HttpResponse inside = httpGet(port, "/public/./a/../b");
  EXPECT_EQ(inside.status, 200) << inside;
  EXPECT_EQ(inside.body, "GET /public/b\n") << inside;

  std::vector<HttpRequest> seen = upstream.requests();
  ASSERT_EQ(seen.size(), 1u) << "upstream saw:" << describe(seen);
  EXPECT_EQ(seen[0].target, "/public/b");
}

// --- 9. No replay of a non-idempotent request ---

TEST(Hardening, PostIsNotReplayedOnAReusedConnectionThatCloses) {
  // Every connection answers its first request, then reads a second one and closes without
  // answering it: what an upstream closing an idle keep-alive connection looks like, except
  // that here it did get (and may have acted on) the request.
  ScriptedUpstream upstream([](UpstreamConnection& c) {
    std::optional<HttpRequest> first = c.readRequest();
    if (!first) return;
    if (!c.respond(200, "first " + first->method + " " + first->target)) return;
    c.readRequest();
  });
  Remora remora;
  ASSERT_TRUE(remora.start(config("      - match: {prefix: /}\n        cluster: backend\n",
                                  cluster("backend", upstream.address()))));
  const uint16_t port = remora.port("edge");
  auto count = [&](const std::string& method, const std::string& target) {
    size_t n = 0;
    for (const HttpRequest& r : upstream.requests()) n += r.method == method && r.target == target;
    return n;
  };

  // POST: sent once on the pooled connection, which closes: 502, never replayed.
  ASSERT_EQ(httpGet(port, "/warm").status, 200);
  HttpResponse post = httpRequest(port, "POST", "/act", {{"Content-Length", "0"}});
  EXPECT_EQ(post.status, 502) << post;
  EXPECT_EQ(upstream.connectionCount(), 1u) << "the POST did not go on the pooled connection";
  EXPECT_EQ(count("POST", "/act"), 1u) << "upstream saw:" << describe(upstream.requests());

  // GET in the same situation: retried once on a fresh connection.
  ASSERT_EQ(httpGet(port, "/warm-again").status, 200);
  const size_t connections = upstream.connectionCount();
  HttpResponse get = httpGet(port, "/read");
  EXPECT_EQ(get.status, 200) << get;
  EXPECT_EQ(get.body, "first GET /read") << get;
  EXPECT_EQ(upstream.connectionCount(), connections + 1);
  EXPECT_EQ(count("GET", "/read"), 2u) << "upstream saw:" << describe(upstream.requests());
  EXPECT_EQ(count("POST", "/act"), 1u);
}

}  // namespace
}  // namespace remora::harness
