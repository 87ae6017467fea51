// remora's local replies to malformed or oversized requests: exact statuses, the connection
// closed afterwards, and nothing forwarded upstream.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "integration/harness/h2_frames.h"
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
      {"DifferingContentLengthList",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,6\r\n\r\nhello!", 400, true},
      {"MissingHost", "GET / HTTP/1.1\r\nX-Foo: bar\r\n\r\n", 400, true},
      {"UserinfoInHost", "GET / HTTP/1.1\r\nHost: user:pw@a\r\n\r\n", 400, true},
      {"HostPortNotDigits", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400, true},
      {"HostUnclosedIpLiteral", "GET / HTTP/1.1\r\nHost: [::1:80\r\n\r\n", 400, true},
      {"UserinfoInAbsoluteTarget", "GET http://user@a/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
      {"BadPortInAbsoluteTarget", "GET http://a:8x/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
      {"TargetInNoForm", "GET x HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
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

// RFC 9110 8.6: one length said twice is still that length; the upstream gets it once.
TEST_F(ParseErrors, RepeatedIdenticalContentLengthIsForwardedOnce) {
  HttpResponse r = exchange("edge",
                            "POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n"
                            "Content-Length: 5\r\n\r\nhello");
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.body, "POST /cl\nhello");
  ASSERT_EQ(upstream_.requestCount(), 1u);
  EXPECT_EQ(upstream_.requests()[0].headers.getAll("content-length"),
            std::vector<std::string>{"5"});
}

// RFC 9112 3.2.2: the target's authority is the request's; an empty path is "/".
TEST_F(ParseErrors, AbsoluteFormTargetRoutesOnItsAuthority) {
  HttpResponse r = exchange("edge", "GET HTTP://b.example:81?q=1 HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.body, "GET /?q=1\n");
  ASSERT_EQ(upstream_.requestCount(), 1u);
  EXPECT_EQ(upstream_.requests()[0].headers.get("host"), "b.example:81");
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

// Upstream responses follow the same Content-Length rules: one length said twice reaches the
// client once, two different ones are a malformed response (502).
TEST(UpstreamContentLength, RepeatedIdenticalIsPassedOnOnceAndDifferingIs502) {
  ScriptedUpstream upstream([](UpstreamConnection& connection) {
    while (std::optional<HttpRequest> request = connection.readRequest()) {
      const std::string length = request->target == "/same"
                                     ? "Content-Length: 2, 2\r\nContent-Length: 2"
                                     : "Content-Length: 2, 3";
      if (!connection.send("HTTP/1.1 200 OK\r\n" + length + "\r\n\r\nhi")) return;
    }
  });
  Remora remora;
  ASSERT_TRUE(remora.start(render(kConfig, {{"backend", upstream.address()}})));
  HttpResponse same = httpGet(remora.port("edge"), "/same");
  EXPECT_EQ(same.status, 200) << same;
  EXPECT_EQ(same.body, "hi");
  EXPECT_EQ(same.headers.getAll("content-length"), std::vector<std::string>{"2"}) << same;
  HttpResponse differing = httpGet(remora.port("edge"), "/differing");
  EXPECT_EQ(differing.status, 502) << differing;
}

// The same rules for HTTP/2 clients: :authority and Host must name a host without userinfo (and
// the same one), else 400 on the stream; nghttp2 refuses a Content-Length list outright.
class Http2ParseErrors : public ParseErrors {
 protected:
  // The response HEADERS (or RST_STREAM) for a request whose header block is `block`.
  std::optional<h2::Frame> answer(const std::string& block, uint32_t stream = 1) {
    if (!client_h2_.socket().valid() && !client_h2_.connect(remora_.port("edge"))) {
      return std::nullopt;
    }
    if (!client_h2_.send(h2::headersFrame(stream, block, h2::kEndHeaders | h2::kEndStream))) {
      return std::nullopt;
    }
    return client_h2_.readUntil([&](const h2::Frame& f) {
      return (f.type == h2::kHeaders || f.type == h2::kRstStream) && f.stream == stream;
    });
  }
  // The response's status; -1 for RST_STREAM, 0 for nothing.
  int status(const std::string& block, uint32_t stream) {
    std::optional<h2::Frame> frame = answer(block, stream);
    if (!frame) return 0;
    return frame->type == h2::kHeaders ? frame->status() : -1;
  }

  h2::H2Client client_h2_;
};

// :method GET, :scheme http, :path /, then `fields` as literals.
std::string block(const HeaderList& fields) {
  std::string out = "\x82\x86\x84";
  for (const auto& [name, value] : fields) out += h2::hpackLiteral(name, value);
  return out;
}

TEST_F(Http2ParseErrors, AuthorityAndHostMustBeValidAndAgree) {
  uint32_t stream = 1;
  auto next = [&] { return stream += 2; };
  EXPECT_EQ(status(block({{":authority", "a.example:80"}}), stream), 200);
  EXPECT_EQ(status(block({{":authority", "[::1]:80"}, {"host", "[::1]:80"}}), next()), 200);
  EXPECT_EQ(status(block({{"host", "b.example"}}), next()), 200);
  EXPECT_EQ(status(block({{":authority", "user@a.example"}}), next()), 400);
  EXPECT_EQ(status(block({{":authority", "a.example:8x"}}), next()), 400);
  // nghttp2 refuses an empty :authority itself, with RST_STREAM (RFC 9113 8.1.1).
  EXPECT_EQ(status(block({{":authority", ""}}), next()), -1);
  EXPECT_EQ(status(block({{"host", "u:p@b.example"}}), next()), 400);
  EXPECT_EQ(status(block({{":authority", "a.example"}, {"host", "b.example"}}), next()), 400);
  EXPECT_EQ(upstream_.requestCount(), 3u) << "a malformed request was forwarded";
  ASSERT_GE(upstream_.requestCount(), 3u);
  EXPECT_EQ(upstream_.requests()[2].headers.get("host"), "b.example");
}

TEST_F(Http2ParseErrors, ContentLengthListResetsTheStream) {
  std::optional<h2::Frame> frame =
      answer(h2::requestBlock("/", "a", {{"content-length", "0, 0"}}, "POST"));
  ASSERT_TRUE(frame) << client_h2_.describeFrames();
  EXPECT_EQ(frame->type, h2::kRstStream) << describe(*frame);
  EXPECT_EQ(frame->errorCode(), h2::kProtocolError) << describe(*frame);
  EXPECT_EQ(upstream_.requestCount(), 0u);
}

}  // namespace
}  // namespace remora::harness
