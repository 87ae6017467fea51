// The harness's own tests: they run without remora, against nginx, curl, promtool and sh.
#include <gtest/gtest-spi.h>
#include <signal.h>

#include <chrono>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

TEST(HarnessSelfTest, TempDirHoldsFilesAndIsRemoved) {
  std::filesystem::path kept;
  {
    TempDir dir;
    kept = dir.path();
    writeFile(dir.file("a.txt"), "first");
    writeFile(dir.file("a.txt"), "second");  // replaces
    EXPECT_EQ(readFile(dir.file("a.txt")), "second");
    EXPECT_EQ(readFile(dir.file("missing")), "");
  }
  if (std::getenv("REMORA_KEEP_TEMP") == nullptr) {
    EXPECT_FALSE(std::filesystem::exists(kept));
  }
}

TEST(HarnessSelfTest, ProcessReportsExitCodesAndOutput) {
  TempDir dir;
  {
    Process p({"sh", "-c", "echo to-out; echo to-err >&2; exit 3"}, dir.path(), "p1");
    EXPECT_EQ(p.waitExit(deadlineIn(5s)), 3);
    EXPECT_EQ(p.out(), "to-out\n");
    EXPECT_EQ(p.err(), "to-err\n");
  }
  {
    // Output is readable while the child still runs; a signal ends it with 128 + signal.
    Process p({"sh", "-c", "echo started; exec sleep 30"}, dir.path(), "p2");
    EXPECT_TRUE(waitUntil([&] { return p.out() == "started\n"; }, deadlineIn(5s)));
    auto before = Clock::now();
    EXPECT_EQ(p.waitExit(deadlineIn(100ms)), std::nullopt);
    EXPECT_GE(Clock::now() - before, 90ms);
    EXPECT_TRUE(p.running());
    EXPECT_TRUE(p.signal(SIGTERM));
    EXPECT_EQ(p.waitExit(deadlineIn(5s)), 128 + SIGTERM);
    EXPECT_FALSE(p.running());
  }
  EXPECT_THROW(Process({"/nonexistent/program"}, dir.path(), "p3"), std::runtime_error);
}

TEST(HarnessSelfTest, ProcessDestructorKillsTheChild) {
  TempDir dir;
  pid_t pid;
  {
    Process p({"sleep", "30"}, dir.path(), "sleeper");
    pid = p.pid();
  }
  EXPECT_NE(::kill(pid, 0), 0);  // reaped: no such process
}

TEST(HarnessSelfTest, RunCommandFeedsStdinAndTimesOut) {
  CommandResult cat = runCommand({"cat"}, deadlineIn(5s), "piped\n");
  EXPECT_EQ(cat.exit_code, 0);
  EXPECT_EQ(cat.out, "piped\n");
  auto before = Clock::now();
  CommandResult slow = runCommand({"sleep", "10"}, deadlineIn(200ms));
  EXPECT_EQ(slow.exit_code, -1);
  EXPECT_LT(Clock::now() - before, 3s);
}

TEST(HarnessSelfTest, NginxServesThroughHttpClient) {
  Nginx nginx(Nginx::fixed("/hello", 200, "hello\n", {{"X-Test", "yes"}}) +
              Nginx::fixed("/empty", 204, "") + Nginx::echo("/echo") + Nginx::echoBody("/post"));

  HttpResponse hello = httpGet(nginx.port(), "/hello");
  ASSERT_TRUE(hello.ok()) << hello;
  EXPECT_EQ(hello.status, 200);
  EXPECT_EQ(hello.body, "hello\n");
  EXPECT_EQ(hello.headers.get("x-test"), "yes");

  HttpResponse echo = httpGet(nginx.port(), "/echo/x?y=1", {{"X-Forwarded-For", "10.1.2.3"}});
  ASSERT_TRUE(echo.ok()) << echo;
  EXPECT_EQ(Nginx::echoField(echo.body, "method"), "GET");
  EXPECT_EQ(Nginx::echoField(echo.body, "uri"), "/echo/x?y=1");
  EXPECT_EQ(Nginx::echoField(echo.body, "xff"), "10.1.2.3");
  EXPECT_EQ(Nginx::echoField(echo.body, "proto"), "");

  HttpResponse post = httpRequest(nginx.port(), "POST", "/post", {}, "name=remora");
  ASSERT_TRUE(post.ok()) << post << nginx.errorLog();
  EXPECT_EQ(post.body, "POST body=name=remora");

  // Keep-alive (the same nginx connection serial), HEAD and 204 without bodies, pipelining.
  HttpClient client(nginx.port());
  ASSERT_TRUE(client.connected()) << client.error();
  HttpResponse first = client.request("GET", "/echo/1");
  HttpResponse head = client.request("HEAD", "/hello");
  HttpResponse empty = client.request("GET", "/empty");
  HttpResponse second = client.request("GET", "/echo/2");
  ASSERT_TRUE(first.ok() && head.ok() && empty.ok() && second.ok()) << first << head << second;
  EXPECT_EQ(Nginx::echoField(first.body, "connection"),
            Nginx::echoField(second.body, "connection"));
  EXPECT_EQ(head.headers.get("content-length"), "6");
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(empty.status, 204);

  ASSERT_TRUE(client.send(formatRequest("GET", "/echo/a") + formatRequest("GET", "/echo/b") +
                          formatRequest("GET", "/echo/c", {{"Connection", "close"}})));
  for (const char* uri : {"/echo/a", "/echo/b", "/echo/c"}) {
    HttpResponse r = client.readResponse();
    ASSERT_TRUE(r.ok()) << r;
    EXPECT_EQ(Nginx::echoField(r.body, "uri"), uri);
  }
  EXPECT_TRUE(client.waitClosed(deadlineIn(2s)));
  client.close();  // nginx logs a request closed by it only after its lingering close ends
  EXPECT_TRUE(waitUntil([&] { return nginx.accessLog().find("/echo/c") != std::string::npos; },
                        deadlineIn(2s)));
}

TEST(HarnessSelfTest, NginxServesThroughCurl) {
  Nginx nginx(Nginx::fixed("/hello", 200, "hello\n"));
  CommandResult curl = runCommand(
      {"curl", "-sS", "-o", "-", "-w", "%{http_code}", "http://" + nginx.address() + "/hello"},
      deadlineIn(10s));
  EXPECT_EQ(curl.exit_code, 0) << curl.err;
  EXPECT_EQ(curl.out, "hello\n200");
}

TEST(HarnessSelfTest, ScriptedUpstreamRoundTrip) {
  ScriptedUpstream upstream(ScriptedUpstream::respondWith(201, "made", {{"X-Up", "1"}}));
  HttpClient client(upstream.port());
  HttpResponse r1 = client.request("PUT", "/thing", {{"X-Req", "a"}}, "payload");
  HttpResponse r2 = client.request("GET", "/other");
  ASSERT_TRUE(r1.ok() && r2.ok()) << r1 << r2;
  EXPECT_EQ(r1.status, 201);
  EXPECT_EQ(r1.body, "made");
  EXPECT_EQ(r1.headers.get("x-up"), "1");
  EXPECT_EQ(upstream.connectionCount(), 1u);
  std::vector<HttpRequest> requests = upstream.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].target, "/thing");
  EXPECT_EQ(requests[0].headers.get("X-REQ"), "a");
  EXPECT_EQ(requests[0].body, "payload");
  EXPECT_EQ(requests[1].target, "/other");

  ScriptedUpstream echo(ScriptedUpstream::echo());
  HttpResponse e = httpRequest(echo.port(), "POST", "/e", {}, "body");
  EXPECT_EQ(e.body, "POST /e\nbody");
}

TEST(HarnessSelfTest, ScriptedUpstreamStreamsChunksInTurns) {
  Event first_chunk_seen;
  ScriptedUpstream upstream([&](UpstreamConnection& c) {
    ASSERT_TRUE(c.readRequestHead());
    std::string body;
    while (body.find("first") == std::string::npos) {
      std::optional<std::string> chunk = c.readChunk();
      ASSERT_TRUE(chunk && !chunk->empty()) << c.error();
      body += *chunk;
    }
    c.send(formatResponse(200, {}, {{"Transfer-Encoding", "chunked"}}) + formatChunk("up-1"));
    ASSERT_TRUE(first_chunk_seen.wait(deadlineIn(5s)));
    while (std::optional<std::string> chunk = c.readChunk()) {
      if (chunk->empty()) break;
      body += *chunk;
    }
    c.send(formatChunk(body) + formatChunk(""));
  });
  HttpClient client(upstream.port());
  ASSERT_TRUE(client.send(formatRequest("POST", "/", {{"Transfer-Encoding", "chunked"}}) +
                          formatChunk("first")));
  HttpResponse head = client.readResponseHead();
  ASSERT_TRUE(head.ok()) << head;
  EXPECT_EQ(client.readChunk(), "up-1");
  first_chunk_seen.set();
  ASSERT_TRUE(client.send(formatChunk("-second") + formatChunk("")));
  EXPECT_EQ(client.readChunk(), "first-second");
  EXPECT_EQ(client.readChunk(), "");
}

TEST(HarnessSelfTest, ScriptedUpstreamSilenceTimesOutAndDestructionUnblocks) {
  auto before = Clock::now();
  {
    ScriptedUpstream silent([](UpstreamConnection& c) {
      c.readRequest();
      c.waitClosed(deadlineIn(30s));  // until the client goes or the upstream is destroyed
    });
    HttpClient client(silent.port());
    client.send(formatRequest("GET", "/"));
    HttpResponse r = client.readResponse(deadlineIn(200ms));
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(r.timed_out);
    EXPECT_TRUE(waitUntil([&] { return silent.requestCount() == 1; }, deadlineIn(2s)));
  }
  EXPECT_LT(Clock::now() - before, 5s);
}

TEST(HarnessSelfTest, ScriptedUpstreamCloseMidBodyIsAnErrorNotATimeout) {
  ScriptedUpstream truncating([](UpstreamConnection& c) {
    c.readRequest();
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
  });
  HttpClient client(truncating.port());
  HttpResponse r = client.request("GET", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.timed_out);
  EXPECT_TRUE(client.waitClosed(deadlineIn(1s)));
}

TEST(HarnessSelfTest, ConnectToAClosedPortFails) {
  RefusingPort closed;
  HttpResponse r = httpGet(closed.port(), "/");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("refused"), std::string::npos) << r.error;
}

TEST(HarnessSelfTest, RemoraStartParsesListeningLines) {
  TempDir bin;
  std::filesystem::path fake = bin.file("fake-remora");
  writeFile(fake,
            "#!/bin/sh\n"
            "echo 'I1 12:00 listener edge listening on 127.0.0.1:40001' >&2\n"
            "echo 'I1 12:00 listener [::1]-side listening on [::1]:40002' >&2\n"
            "echo 'I1 12:00 admin listening on 127.0.0.1:40003' >&2\n"
            "exec sleep 30\n");
  std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
  Remora remora(fake.string());
  ASSERT_TRUE(remora.start("listeners:\n  - name: edge\n  - name: other\n"));
  EXPECT_EQ(remora.port("edge"), 40001);
  EXPECT_EQ(remora.port("[::1]-side"), 40002);
  EXPECT_EQ(remora.adminPort(), 40003);
  EXPECT_EQ(readFile(remora.configPath()), "listeners:\n  - name: edge\n  - name: other\n");

  Remora failing("false");
  ::testing::AssertionResult started = failing.start("listeners: []\n", 5s);
  EXPECT_FALSE(started);
  EXPECT_NE(std::string(started.message()).find("exited early with status 1"), std::string::npos)
      << started.message();
}

// Under ThreadSanitizer a race in remora must fail the test that saw it, even when remora is
// killed at teardown and its exit status is never looked at.
TEST(HarnessSelfTest, AThreadSanitizerReportInRemorasStderrFailsTheTest) {
  TempDir bin;
  std::filesystem::path fake = bin.file("fake-remora");
  writeFile(fake,
            "#!/bin/sh\n"
            "echo '==7==WARNING: ThreadSanitizer: data race (pid=7)' >&2\n"
            "echo 'I1 12:00 admin listening on 127.0.0.1:40003' >&2\n"
            "exec sleep 30\n");
  std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
  EXPECT_NONFATAL_FAILURE(
      {
        Remora remora(fake.string());
        EXPECT_TRUE(remora.start("listeners: []\n"));
      },
      "WARNING: ThreadSanitizer: data race");
}

TEST(HarnessSelfTest, RenderAndMetricValue) {
  EXPECT_EQ(render("a {{x}} b {{y}} {{unknown}} ${ENV}", {{"x", "1"}, {"y", "2"}}),
            "a 1 b 2 {{unknown}} ${ENV}");
  std::string text =
      "# HELP remora_downstream_requests_total Requests.\n"
      "# TYPE remora_downstream_requests_total counter\n"
      "remora_downstream_requests_total{listener=\"edge\",code=\"200\"} 3\n"
      "remora_downstream_requests_total{listener=\"edge\",code=\"404\"} 1\n"
      "remora_downstream_requests_total{listener=\"in\\\"x\",code=\"200\"} 5\n"
      "# HELP remora_x_seconds A summary.\n"
      "# TYPE remora_x_seconds summary\n"
      "remora_x_seconds_count 7\n"
      "remora_x_seconds_sum 0.25 1700000000000\n";
  EXPECT_EQ(metricValue(text, "remora_downstream_requests_total"), 9);
  EXPECT_EQ(metricValue(text, "remora_downstream_requests_total", {{"code", "200"}}), 8);
  EXPECT_EQ(metricValue(text, "remora_downstream_requests_total",
                        {{"listener", "edge"}, {"code", "404"}}),
            1);
  EXPECT_EQ(metricValue(text, "remora_downstream_requests_total", {{"listener", "in\"x"}}), 5);
  EXPECT_EQ(metricValue(text, "remora_x_seconds_count"), 7);
  EXPECT_EQ(metricValue(text, "remora_x_seconds_sum"), 0.25);
  EXPECT_EQ(metricValue(text, "remora_missing"), 0);

  // promtool reads the exposition from stdin and is silent when it is clean.
  CommandResult promtool = runCommand({"promtool", "check", "metrics"}, deadlineIn(10s), text);
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out << promtool.err;
}

}  // namespace
}  // namespace remora::harness
