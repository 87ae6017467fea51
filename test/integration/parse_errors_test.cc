// remora's local replies to malformed or oversized requests: exact statuses, the connection
// closed afterwards, and nothing forwarded upstream.
#include <chrono>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

// `edge` keeps every default; `strict` has small limits and a short header timeout.
constexpr char kConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: backend
  - name: strict
    address: "127.0.0.1:0"
    max_request_headers_bytes: 1KiB
    max_request_headers_count: 10
    request_header_timeout: 200ms
    routes:
      - match: {prefix: /}
        cluster: backend
clusters:
  - name: backend
    endpoints: ["{{backend}}"]
)";

// `count` headers "X-Pad-<i>: aaa..." of about `bytes_each` bytes per line.
HeaderList padding(size_t count, size_t bytes_each) {
  HeaderList headers;
  for (size_t i = 0; i < count; ++i) {
    std::string name = "X-Pad-" + std::to_string(i);
    size_t overhead = name.size() + 4;  // ": " and CRLF
    headers.emplace_back(name, std::string(bytes_each > overhead ? bytes_each - overhead : 1, 'a'));
  }
  return headers;
}

class ParseErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(remora_.start(render(kConfig, {{"backend", upstream_.address()}})));
  }

  // Sends `bytes` on a new connection and returns remora's reply. The send may fail part way
  // when remora answers and closes before reading everything; the reply is what counts.
  HttpResponse exchange(const std::string& listener, std::string_view bytes) {
    client_ = HttpClient(remora_.port(listener));
    client_.send(bytes);
    return client_.readResponse(deadlineIn(3s));
  }

  // After a malformed request the stream is unusable: remora must close the connection.
  void expectClosed() { EXPECT_TRUE(client_.waitClosed(deadlineIn(2s))) << "connection left open"; }

  ScriptedUpstream upstream_{ScriptedUpstream::echo()};
  Remora remora_;
  HttpClient client_;
};

TEST_F(ParseErrors, ContentLengthWithTransferEncodingIs400) {
  HttpResponse r = exchange("edge",
                            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(r.status, 400) << r;
  expectClosed();
  EXPECT_EQ(upstream_.requestCount(), 0u);
}

TEST_F(ParseErrors, DifferingContentLengthsAre400) {
  HttpResponse r = exchange("edge",
                            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                            "Content-Length: 6\r\n\r\nhello!");
  EXPECT_EQ(r.status, 400) << r;
  expectClosed();
  EXPECT_EQ(upstream_.requestCount(), 0u);
}

TEST_F(ParseErrors, BadChunkSizeIs400) {
  // The head is fine and may already be on its way upstream; the body is not.
  HttpResponse r = exchange("edge",
                            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "zz\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(r.status, 400) << r;
  expectClosed();
}

TEST_F(ParseErrors, SpaceBeforeColonIs400) {
  HttpResponse r = exchange("edge", "GET / HTTP/1.1\r\nHost: a\r\nX-Foo : bar\r\n\r\n");
  EXPECT_EQ(r.status, 400) << r;
  expectClosed();
  EXPECT_EQ(upstream_.requestCount(), 0u);
}

TEST_F(ParseErrors, ObsoleteLineFoldingIs400) {
  HttpResponse r = exchange("edge", "GET / HTTP/1.1\r\nHost: a\r\nX-Foo: one\r\n  two\r\n\r\n");
  EXPECT_EQ(r.status, 400) << r;
  expectClosed();
  EXPECT_EQ(upstream_.requestCount(), 0u);
}

TEST_F(ParseErrors, MissingHostIs400) {
  HttpResponse r = exchange("edge", "GET / HTTP/1.1\r\nX-Foo: bar\r\n\r\n");
  EXPECT_EQ(r.status, 400) << r;
  expectClosed();
  EXPECT_EQ(upstream_.requestCount(), 0u);
}

TEST_F(ParseErrors, GarbageRequestLineIs400) {
  HttpResponse r = exchange("edge", "HELLO THERE\r\n\r\n");
  EXPECT_EQ(r.status, 400) << r;
  expectClosed();
  EXPECT_EQ(upstream_.requestCount(), 0u);
}

TEST_F(ParseErrors, UnknownTransferCodingIs501) {
  HttpResponse r = exchange("edge",
                            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"
                            "\x1f\x8b");
  EXPECT_EQ(r.status, 501) << r;
  expectClosed();
  EXPECT_EQ(upstream_.requestCount(), 0u);
}

TEST_F(ParseErrors, HeadersOverTheDefaultLimitAre431) {
  HeaderList headers = padding(61, 1024);  // 61 KiB against the default 60 KiB
  HttpResponse r = exchange("edge", formatRequest("GET", "/", headers));
  EXPECT_EQ(r.status, 431) << r;
  expectClosed();
  EXPECT_EQ(upstream_.requestCount(), 0u);
}

TEST_F(ParseErrors, HeadersUnderTheDefaultLimitPass) {
  HeaderList headers = padding(50, 1024);
  HttpResponse r = httpGet(remora_.port("edge"), "/", headers);
  EXPECT_EQ(r.status, 200) << r;
  ASSERT_EQ(upstream_.requestCount(), 1u);
  EXPECT_EQ(upstream_.requests()[0].headers.get("x-pad-49"), headers[49].second);
}

TEST_F(ParseErrors, ConfiguredHeaderBytesLimitGives431) {
  HttpResponse small = httpGet(remora_.port("strict"), "/", padding(1, 400));
  EXPECT_EQ(small.status, 200) << small;
  HttpResponse r = exchange("strict", formatRequest("GET", "/", padding(2, 1024)));
  EXPECT_EQ(r.status, 431) << r;
  expectClosed();
  EXPECT_EQ(upstream_.requestCount(), 1u);  // just the small one
}

TEST_F(ParseErrors, ConfiguredHeaderCountLimitGives431) {
  HttpResponse few = httpGet(remora_.port("strict"), "/", padding(5, 20));
  EXPECT_EQ(few.status, 200) << few;
  HttpResponse r = exchange("strict", formatRequest("GET", "/", padding(20, 20)));
  EXPECT_EQ(r.status, 431) << r;
  expectClosed();
  EXPECT_EQ(upstream_.requestCount(), 1u);  // just the one with few headers
}

TEST_F(ParseErrors, PartialHeadTimesOutWith408) {
  auto sent = Clock::now();
  HttpResponse r = exchange("strict", "GET / HTTP/1.1\r\nHost: a\r\n");
  auto waited = Clock::now() - sent;
  EXPECT_EQ(r.status, 408) << r;
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 2s);
  expectClosed();
  EXPECT_EQ(upstream_.requestCount(), 0u);
}

}  // namespace
}  // namespace remora::harness
