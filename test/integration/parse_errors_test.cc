// remora's local replies to malformed or oversized requests: exact statuses, the connection
// closed afterwards, and nothing forwarded upstream.
#include <chrono>
#include <string>
#include <vector>

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

struct Malformed {
  std::string name;
  std::string request;
  int status;
  bool bad_head;  // a bad head is never forwarded; a bad body may follow a head already sent
};

void PrintTo(const Malformed& malformed, std::ostream* os) { *os << malformed.name; }

std::vector<Malformed> malformedRequests() {
  return {
      {"ContentLengthWithTransferEncoding",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       400, true},
      {"DifferingContentLengths",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400,
       true},
      {"BadChunkSize",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
       400, false},
      {"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost: a\r\nX-Foo : bar\r\n\r\n", 400, true},
      {"ObsoleteLineFolding", "GET / HTTP/1.1\r\nHost: a\r\nX-Foo: one\r\n  two\r\n\r\n", 400,
       true},
      {"MissingHost", "GET / HTTP/1.1\r\nX-Foo: bar\r\n\r\n", 400, true},
      {"GarbageRequestLine", "HELLO THERE\r\n\r\n", 400, true},
      {"UnknownTransferCoding",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b", 501, true},
      // 61 KiB against the default limit of 60 KiB.
      {"HeadersOverTheDefaultLimit", formatRequest("GET", "/", padding(61, 1024)), 431, true},
  };
}

class MalformedRequest : public ParseErrors, public ::testing::WithParamInterface<Malformed> {};

TEST_P(MalformedRequest, GetsItsStatusAndAClosedConnection) {
  HttpResponse r = exchange("edge", GetParam().request);
  EXPECT_EQ(r.status, GetParam().status) << r;
  expectClosed();
  if (GetParam().bad_head) {
    EXPECT_EQ(upstream_.requestCount(), 0u) << "forwarded upstream";
  }
}

INSTANTIATE_TEST_SUITE_P(Http1, MalformedRequest, ::testing::ValuesIn(malformedRequests()),
                         [](const ::testing::TestParamInfo<Malformed>& info) {
                           return info.param.name;
                         });

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
