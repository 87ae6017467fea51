// Tests for HTTP/1 body framing: Content-Length and chunked rules for requests and responses, and
// the smuggling cases (conflicting or malformed framing headers).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http1_parse_helpers.h"
#include "proxy/http1_parser.h"

namespace remora::http1 {
namespace {

using testing::parseRequest;
using testing::requestStatus;
using testing::withField;

// Request framing from a list of extra field lines on an HTTP/1.1 (or 1.0) request.
struct FramingOutcome {
  bool ok = false;
  BodyFraming framing;
  int status = 0;
};

FramingOutcome requestFraming(std::string_view fields, int minor = 1) {
  std::string in =
      "POST / HTTP/1." + std::to_string(minor) + "\r\nHost: a\r\n" + std::string(fields) + "\r\n";
  RequestHead head;
  HeadResult r = parseRequest(in, head);
  EXPECT_EQ(r.status, HeadStatus::Complete) << r.error.reason;
  FramingOutcome out;
  ParseError error;
  out.ok = requestBodyFraming(head, out.framing, error);
  out.status = error.status;
  if (!out.ok) {
    EXPECT_FALSE(error.reason.empty());
  }
  return out;
}

int requestFramingError(std::string_view fields, int minor = 1) {
  FramingOutcome out = requestFraming(fields, minor);
  EXPECT_FALSE(out.ok) << fields;
  return out.status;
}

void expectRequestBody(std::string_view fields, BodyKind kind, uint64_t length = 0) {
  FramingOutcome out = requestFraming(fields);
  ASSERT_TRUE(out.ok) << fields;
  EXPECT_EQ(out.framing.kind, kind) << fields;
  EXPECT_EQ(out.framing.length, length) << fields;
}

TEST(Http1RequestFraming, NoBody) { expectRequestBody("", BodyKind::None); }

TEST(Http1RequestFraming, ContentLength) {
  expectRequestBody("Content-Length: 5\r\n", BodyKind::ContentLength, 5);
  expectRequestBody("Content-Length: 0\r\n", BodyKind::ContentLength, 0);
  expectRequestBody("Content-Length: 007\r\n", BodyKind::ContentLength, 7);
  expectRequestBody("Content-Length: 9223372036854775807\r\n", BodyKind::ContentLength,
                    9223372036854775807ull);
  expectRequestBody("Content-Length: 5, 5\r\n", BodyKind::ContentLength, 5);
  expectRequestBody("Content-Length: 5\r\nContent-Length: 5\r\n", BodyKind::ContentLength, 5);
  FramingOutcome out = requestFraming("Content-Length: 3\r\n", 0);
  ASSERT_TRUE(out.ok);
  EXPECT_EQ(out.framing.kind, BodyKind::ContentLength);
}

// The fields a request's Content-Length lines leave in its head once framed.
std::vector<std::string> contentLengthsAfterFraming(std::string_view fields) {
  RequestHead head;
  std::string in = "POST / HTTP/1.1\r\nHost: a\r\n" + std::string(fields) + "\r\n";
  EXPECT_EQ(parseRequest(in, head).status, HeadStatus::Complete);
  BodyFraming framing;
  ParseError error;
  EXPECT_TRUE(requestBodyFraming(head, framing, error)) << error.reason;
  std::vector<std::string> values;
  for (const HeaderField& f : head.headers) {
    if (f.name == "content-length") values.emplace_back(f.value);
  }
  return values;
}

TEST(Http1RequestFraming, RepeatedContentLengthIsPassedOnOnce) {
  using Values = std::vector<std::string>;
  EXPECT_EQ(contentLengthsAfterFraming("Content-Length: 5, 5\r\n"), Values{"5"});
  EXPECT_EQ(contentLengthsAfterFraming("Content-Length: 5\r\nX: y\r\nContent-Length: 05\r\n"),
            Values{"5"});
  EXPECT_EQ(contentLengthsAfterFraming("Content-Length: 007\r\n"), Values{"007"});
}

TEST(Http1RequestFraming, RejectsBadContentLength) {
  EXPECT_EQ(requestFramingError("Content-Length: 5\r\nContent-Length: 6\r\n"), 400);
  EXPECT_EQ(requestFramingError("Content-Length: 5, 6\r\n"), 400);
  EXPECT_EQ(requestFramingError("Content-Length: 5,\r\n"), 400);
  EXPECT_EQ(requestFramingError("Content-Length: ,5\r\n"), 400);
  EXPECT_EQ(requestFramingError("Content-Length: \r\n"), 400);
  EXPECT_EQ(requestFramingError("Content-Length: +5\r\n"), 400);
  EXPECT_EQ(requestFramingError("Content-Length: -5\r\n"), 400);
  EXPECT_EQ(requestFramingError("Content-Length: 0x5\r\n"), 400);
  EXPECT_EQ(requestFramingError("Content-Length: 5 5\r\n"), 400);
  EXPECT_EQ(requestFramingError("Content-Length: 5.0\r\n"), 400);
  EXPECT_EQ(requestFramingError("Content-Length: 9223372036854775808\r\n"), 400);
  EXPECT_EQ(requestFramingError("Content-Length: 18446744073709551621\r\n"), 400);
  EXPECT_EQ(requestFramingError("Content-Length: 99999999999999999999999999\r\n"), 400);
}

TEST(Http1RequestFraming, Chunked) {
  expectRequestBody("Transfer-Encoding: chunked\r\n", BodyKind::Chunked);
  expectRequestBody("Transfer-Encoding: CHUNKED\r\n", BodyKind::Chunked);
  expectRequestBody("Transfer-Encoding:  chunked  \r\n", BodyKind::Chunked);
  expectRequestBody("Transfer-Encoding: gzip, chunked\r\n", BodyKind::Chunked);
  expectRequestBody("Transfer-Encoding: gzip;level=1 , chunked\r\n", BodyKind::Chunked);
  expectRequestBody("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", BodyKind::Chunked);
}

TEST(Http1RequestFraming, RejectsSmugglingTransferEncodings) {
  EXPECT_EQ(requestFramingError("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), 400);
  EXPECT_EQ(requestFramingError("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), 400);
  EXPECT_EQ(requestFramingError("Transfer-Encoding: gzip\r\nContent-Length: 5\r\n"), 400);
  EXPECT_EQ(requestFramingError("Transfer-Encoding: xchunked\r\n"), 501);
  EXPECT_EQ(requestFramingError("Transfer-Encoding: chunkedx\r\n"), 501);
  EXPECT_EQ(requestFramingError("Transfer-Encoding: gzip\r\n"), 501);
  EXPECT_EQ(requestFramingError("Transfer-Encoding: identity\r\n"), 501);
  EXPECT_EQ(requestFramingError("Transfer-Encoding: chunked, gzip\r\n"), 400);
  EXPECT_EQ(requestFramingError("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"), 400);
  EXPECT_EQ(requestFramingError("Transfer-Encoding: chunked, chunked\r\n"), 400);
  EXPECT_EQ(requestFramingError("Transfer-Encoding: chunked;q=1\r\n"), 400);
  EXPECT_EQ(requestFramingError("Transfer-Encoding: ,chunked\r\n"), 400);
  EXPECT_EQ(requestFramingError("Transfer-Encoding: chunked,\r\n"), 400);
  EXPECT_EQ(requestFramingError("Transfer-Encoding: chu nked\r\n"), 400);
  EXPECT_EQ(requestFramingError("Transfer-Encoding: \"chunked\"\r\n"), 400);
  EXPECT_EQ(requestFramingError("Transfer-Encoding: \r\n"), 400);
  EXPECT_EQ(requestFramingError("Transfer-Encoding: chunked\r\n", 0), 400);
  // Variants the head parser refuses before framing is even considered.
  EXPECT_EQ(requestStatus(withField(" Transfer-Encoding: chunked")), 400);
  EXPECT_EQ(requestStatus(withField("Transfer-Encoding : chunked")), 400);
  EXPECT_EQ(requestStatus(withField("Transfer-Encoding: chunked\x0b")), 400);
  EXPECT_EQ(requestStatus(withField("Transfer-Encoding:\x0c"
                                    "chunked")),
            400);
  EXPECT_EQ(requestStatus(withField("Transfer-Encoding: x\n chunked")), 400);
}

FramingOutcome responseFraming(std::string_view head_text, std::string_view method = "GET") {
  ResponseHead head;
  HeadResult r = parseResponseHead(head_text, {}, head);
  EXPECT_EQ(r.status, HeadStatus::Complete) << r.error.reason;
  FramingOutcome out;
  ParseError error;
  out.ok = responseBodyFraming(head, method, out.framing, error);
  out.status = error.status;
  return out;
}

void expectResponseBody(std::string_view head_text, std::string_view method, BodyKind kind,
                        uint64_t length = 0) {
  FramingOutcome out = responseFraming(head_text, method);
  ASSERT_TRUE(out.ok) << head_text;
  EXPECT_EQ(out.framing.kind, kind) << head_text;
  EXPECT_EQ(out.framing.length, length) << head_text;
}

TEST(Http1ResponseFraming, NoBodyCases) {
  expectResponseBody("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD", BodyKind::None);
  expectResponseBody("HTTP/1.1 100 Continue\r\n\r\n", "POST", BodyKind::None);
  expectResponseBody("HTTP/1.1 101 Switching\r\nUpgrade: websocket\r\n\r\n", "GET", BodyKind::None);
  expectResponseBody("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n", "GET", BodyKind::None);
  expectResponseBody("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", "GET",
                     BodyKind::None);
  expectResponseBody("HTTP/1.1 200 Connection established\r\n\r\n", "CONNECT", BodyKind::None);
}

TEST(Http1ResponseFraming, BodyCases) {
  expectResponseBody("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET",
                     BodyKind::Chunked);
  expectResponseBody("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "GET",
                     BodyKind::Chunked);
  expectResponseBody("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n", "GET",
                     BodyKind::ContentLength, 42);
  expectResponseBody("HTTP/1.1 200 OK\r\nContent-Length: 42, 42\r\n\r\n", "GET",
                     BodyKind::ContentLength, 42);
  expectResponseBody("HTTP/1.1 407 Auth\r\nContent-Length: 4\r\n\r\n", "CONNECT",
                     BodyKind::ContentLength, 4);
  expectResponseBody("HTTP/1.1 200 OK\r\n\r\n", "GET", BodyKind::UntilClose);
  expectResponseBody("HTTP/1.0 200 OK\r\n\r\n", "GET", BodyKind::UntilClose);
  expectResponseBody("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "GET",
                     BodyKind::UntilClose);
  expectResponseBody("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "GET",
                     BodyKind::UntilClose);
  expectResponseBody("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET",
                     BodyKind::UntilClose);
  expectResponseBody("HTTP/1.1 500 Oops\r\nContent-Length: 1\r\n\r\n", "POST",
                     BodyKind::ContentLength, 1);
}

TEST(Http1ResponseFraming, Errors) {
  FramingOutcome out =
      responseFraming("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.status, 400);
  out = responseFraming("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.status, 400);
  out = responseFraming("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n");
  EXPECT_FALSE(out.ok);
  out = responseFraming("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n");
  EXPECT_FALSE(out.ok);
  out = responseFraming("HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\n\r\n");
  EXPECT_FALSE(out.ok);
  // Responses without a body still say a length; a bad one is as malformed there.
  out = responseFraming("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", "HEAD");
  EXPECT_FALSE(out.ok);
  out = responseFraming("HTTP/1.1 304 Not Modified\r\nContent-Length: x\r\n\r\n");
  EXPECT_FALSE(out.ok);
}

TEST(Http1ResponseFraming, RepeatedContentLengthIsPassedOnOnce) {
  ResponseHead head;
  ASSERT_EQ(parseResponseHead(
                "HTTP/1.1 200 OK\r\nContent-Length: 4, 4\r\nContent-Length: 4\r\n\r\n", {}, head)
                .status,
            HeadStatus::Complete);
  BodyFraming framing;
  ParseError error;
  ASSERT_TRUE(responseBodyFraming(head, "GET", framing, error)) << error.reason;
  EXPECT_EQ(framing.length, 4u);
  ASSERT_EQ(head.headers.size(), 1u);
  EXPECT_EQ(*head.headers.get("content-length"), "4");
}

}  // namespace
}  // namespace remora::http1
