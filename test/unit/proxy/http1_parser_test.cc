// Tests for the HTTP/1 head parser: request and response heads, their limits, token characters
// (http1_framing_test.cc: body framing and smuggling cases).
#include "proxy/http1_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http1_parse_helpers.h"

namespace remora::http1 {
namespace {

using namespace std::string_literals;

using testing::parseRequest;
using testing::requestStatus;
using testing::responseStatus;
using testing::withField;

TEST(Http1RequestHead, ParsesTypicalRequest) {
  std::string in =
      "GET /index.html?q=1 HTTP/1.1\r\n"
      "Host: example.com\r\n"
      "User-Agent:  curl/8.0 \t\r\n"
      "X-Empty:\r\n"
      "ACCEPT:*/*\r\n"
      "\r\n";
  RequestHead head;
  HeadResult r = parseRequest(in, head);
  ASSERT_EQ(r.status, HeadStatus::Complete) << r.error.reason;
  EXPECT_EQ(r.consumed, in.size());
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.target, "/index.html?q=1");
  EXPECT_EQ(head.minor_version, 1);
  ASSERT_EQ(head.headers.size(), 4u);
  EXPECT_EQ(*head.headers.get("host"), "example.com");
  EXPECT_EQ(*head.headers.get("user-agent"), "curl/8.0");
  EXPECT_EQ(*head.headers.get("x-empty"), "");
  EXPECT_EQ(*head.headers.get("accept"), "*/*");
}

TEST(Http1RequestHead, KeepsFieldOrderAndDuplicates) {
  RequestHead head;
  std::string in = "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\n\r\n";
  ASSERT_EQ(parseRequest(in, head).status, HeadStatus::Complete);
  std::vector<std::string> values;
  for (const HeaderField& field : head.headers) {
    if (field.name == "x-a") values.emplace_back(field.value);
  }
  EXPECT_EQ(values, (std::vector<std::string>{"1", "2"}));
}

TEST(Http1RequestHead, AcceptsOtherTargetForms) {
  EXPECT_EQ(requestStatus("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
  EXPECT_EQ(requestStatus("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n"), 0);
  EXPECT_EQ(requestStatus("GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
}

TEST(Http1RequestHead, Http10MayOmitHost) {
  RequestHead head;
  HeadResult r = parseRequest("GET / HTTP/1.0\r\n\r\n", head);
  ASSERT_EQ(r.status, HeadStatus::Complete);
  EXPECT_EQ(head.minor_version, 0);
  EXPECT_TRUE(head.headers.empty());
}

TEST(Http1RequestHead, HostRules) {
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nX: y\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\nHOST: b\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nhOsT: a\r\n\r\n"), 0);
}

// The reason a request head is rejected with, "" if it is not.
std::string requestError(std::string_view in) {
  RequestHead head;
  HeadResult r = parseRequest(in, head);
  return r.status == HeadStatus::Error ? r.error.reason : "";
}

std::string withHost(std::string_view host) {
  return "GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n";
}

TEST(Http1RequestHead, HostIsAnAuthorityWithoutUserinfo) {
  for (std::string_view host :
       {"example.com", "example.com:8080", "example.com:", "127.0.0.1:80", "[::1]", "[::1]:80",
        "[2001:db8::7]:443", "[::1]:", "[v1.fe:80]", "a%41b", "a-b_c~d.e", "a,b", ""}) {
    EXPECT_EQ(requestStatus(withHost(host)), 0) << host;
  }
  for (std::string_view host : {"user@example.com",
                                "user:pw@example.com",
                                "@example.com",
                                "example.com:8x",
                                "example.com:-1",
                                "a:1:2",
                                ":80",
                                "[::1",
                                "[zz]:80",
                                "[::1]x",
                                "[]",
                                "[v.x]",
                                "a%4",
                                "a%zz",
                                "a/b",
                                "a?b",
                                "a#b",
                                "a b",
                                "a\"b",
                                "a[b]"}) {
    EXPECT_EQ(requestStatus(withHost(host)), 400) << host;
  }
  EXPECT_EQ(requestError(withHost("user@example.com")), "userinfo in Host");
  EXPECT_EQ(requestError(withHost("example.com:http")), "invalid Host");
  // Checked on HTTP/1.0 too, where Host is optional.
  EXPECT_EQ(requestStatus("GET / HTTP/1.0\r\nHost: u@a\r\n\r\n"), 400);
}

TEST(Http1RequestHead, TargetFormsFollowTheirMethods) {
  EXPECT_EQ(requestStatus("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET a.example:80 HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET ftp://a/b HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET HTTP://a/b HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
  EXPECT_EQ(requestStatus("GET https://a:8443 HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
  EXPECT_EQ(requestStatus("GET http://a?q=1 HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
  EXPECT_EQ(requestStatus("GET http://[::1]:80/x HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
  EXPECT_EQ(requestError("GET http://user@a/b HTTP/1.1\r\nHost: a\r\n\r\n"),
            "userinfo in request target");
  EXPECT_EQ(requestError("GET http://u:p@a/b HTTP/1.1\r\nHost: a\r\n\r\n"),
            "userinfo in request target");
  EXPECT_EQ(requestError("GET http://a:8x/ HTTP/1.1\r\nHost: a\r\n\r\n"),
            "invalid authority in request target");
  EXPECT_EQ(requestError("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"),
            "invalid authority in request target");
  EXPECT_EQ(requestError("GET http://a#f/x HTTP/1.1\r\nHost: a\r\n\r\n"),
            "invalid authority in request target");
  // The start line is judged before the fields arrive.
  EXPECT_EQ(requestStatus("GET http://u@a/ HTTP/1.1\r\n"), 400);
}

TEST(Http1AbsoluteForm, SplitsHttpAndHttpsTargets) {
  AbsoluteForm parts;
  ASSERT_TRUE(splitAbsoluteForm("http://a.example:8080/p/q?x=1", parts));
  EXPECT_EQ(parts.authority, "a.example:8080");
  EXPECT_EQ(parts.path_and_query, "/p/q?x=1");
  ASSERT_TRUE(splitAbsoluteForm("HTTPS://a?x", parts));
  EXPECT_EQ(parts.authority, "a");
  EXPECT_EQ(parts.path_and_query, "?x");
  ASSERT_TRUE(splitAbsoluteForm("http://a", parts));
  EXPECT_EQ(parts.authority, "a");
  EXPECT_EQ(parts.path_and_query, "");
  EXPECT_FALSE(splitAbsoluteForm("/http://a/", parts));
  EXPECT_FALSE(splitAbsoluteForm("ws://a/", parts));
  EXPECT_FALSE(splitAbsoluteForm("http:/a/", parts));
}

TEST(Http1RequestHead, PipelinedRequestsStopAtFirstHead) {
  std::string first = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n";
  std::string second = "GET /b HTTP/1.1\r\nHost: a\r\n\r\n";
  RequestHead head;
  HeadResult r = parseRequest(first + second, head);
  ASSERT_EQ(r.status, HeadStatus::Complete);
  EXPECT_EQ(r.consumed, first.size());
  EXPECT_EQ(head.target, "/a");
  r = parseRequest(std::string_view(first + second).substr(r.consumed), head);
  ASSERT_EQ(r.status, HeadStatus::Complete);
  EXPECT_EQ(head.target, "/b");
}

TEST(Http1RequestHead, BodyIsNotConsumed) {
  std::string head_text = "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
  RequestHead head;
  HeadResult r = parseRequest(head_text + "hello", head);
  ASSERT_EQ(r.status, HeadStatus::Complete);
  EXPECT_EQ(r.consumed, head_text.size());
}

TEST(Http1RequestHead, ByteByByteNeedsMoreUntilComplete) {
  std::string in =
      "\r\nPOST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Type: text/plain\r\n"
      "Content-Length: 3\r\n\r\n";
  for (size_t n = 0; n < in.size(); ++n) {
    RequestHead head;
    HeadResult r = parseRequest(std::string_view(in).substr(0, n), head);
    ASSERT_EQ(r.status, HeadStatus::NeedMore) << "prefix " << n << ": " << r.error.reason;
  }
  RequestHead head;
  HeadResult r = parseRequest(in + "abc", head);
  ASSERT_EQ(r.status, HeadStatus::Complete);
  EXPECT_EQ(r.consumed, in.size());
  EXPECT_EQ(head.method, "POST");
  EXPECT_EQ(head.headers.size(), 3u);
}

TEST(Http1RequestHead, LeadingEmptyLinesAreBounded) {
  std::string req = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  RequestHead head;
  HeadResult r = parseRequest("\r\n\r\n" + req, head);
  ASSERT_EQ(r.status, HeadStatus::Complete);
  EXPECT_EQ(r.consumed, req.size() + 4);
  EXPECT_EQ(requestStatus("\r\n\r\n\r\n\r\n" + req), 0);
  EXPECT_EQ(requestStatus("\r\n\r\n\r\n\r\n\r\n" + req), 400);
  EXPECT_EQ(requestStatus("\r\n\r\n\r\n\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("\n" + req), 400);
  EXPECT_EQ(requestStatus("\r" + req), 400);
  EXPECT_EQ(requestStatus("\r\n"), -1);
}

TEST(Http1RequestHead, RejectsBadMethod) {
  EXPECT_EQ(requestStatus("G@T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus(" / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GE\0T / HTTP/1.1\r\nHost: a\r\n\r\n"s), 400);
}

TEST(Http1RequestHead, RejectsBadTarget) {
  EXPECT_EQ(requestStatus("GET  HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n"s), 400);
  EXPECT_EQ(requestStatus("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET /\r\n\r\n"), 400);  // HTTP/0.9
}

TEST(Http1RequestHead, VersionRules) {
  EXPECT_EQ(requestStatus("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
  EXPECT_EQ(requestStatus("GET / HTTP/3.0\r\nHost: a\r\n\r\n"), 505);
  EXPECT_EQ(requestStatus("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), 505);
  EXPECT_EQ(requestStatus("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 505);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/11.0\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / http/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/2\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\rHost: a\r\n\r\n"), 400);
}

TEST(Http1RequestHead, BadRequestLineFailsBeforeHeadIsComplete) {
  EXPECT_EQ(requestStatus("GET /\x01"), 400);
  EXPECT_EQ(requestStatus("\x16\x03\x01\x02"), 400);  // a TLS ClientHello
  EXPECT_EQ(requestStatus("G\0"s), 400);
  EXPECT_EQ(requestStatus("GET / HTTX"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1x"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\n"), 400);
  EXPECT_EQ(requestStatus("GET / HT"), -1);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r"), -1);
}

TEST(Http1RequestHead, BadFieldFailsBeforeHeadIsComplete) {
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHo st"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\0"s), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\n "), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\nHost"), -1);
}

TEST(Http1RequestHead, RejectsWhitespaceBeforeColon) {
  EXPECT_EQ(requestStatus(withField("Transfer-Encoding : chunked")), 400);
  EXPECT_EQ(requestStatus(withField("Content-Length\t: 5")), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400);
}

TEST(Http1RequestHead, RejectsBadFieldNames) {
  EXPECT_EQ(requestStatus(withField("X Foo: bar")), 400);
  EXPECT_EQ(requestStatus(withField(": bar")), 400);
  EXPECT_EQ(requestStatus(withField("X-Foo")), 400);
  EXPECT_EQ(requestStatus(withField("X(Foo): bar")), 400);
  EXPECT_EQ(requestStatus(withField("X\x80: bar")), 400);
}

TEST(Http1RequestHead, RejectsObsFold) {
  EXPECT_EQ(requestStatus(withField("X-Foo: a\r\n b")), 400);
  EXPECT_EQ(requestStatus(withField("X-Foo: a\r\n\tb")), 400);
  // Whitespace before the first field line would hide it from some parsers.
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\n Transfer-Encoding: chunked\r\n\r\n"), 400);
}

TEST(Http1RequestHead, RejectsControlCharactersInValues) {
  EXPECT_EQ(requestStatus(withField("X: a\0b"s)), 400);
  EXPECT_EQ(requestStatus(withField("X: a\x01")), 400);
  EXPECT_EQ(requestStatus(withField("X: a\x7f")), 400);
  EXPECT_EQ(requestStatus(withField("X: a\x0b")), 400);
  EXPECT_EQ(requestStatus(withField("X: a\rb")), 400);
  EXPECT_EQ(requestStatus(withField("X: a\tb")), 0);
  EXPECT_EQ(requestStatus(withField("X: caf\xc3\xa9")), 0);
}

TEST(Http1RequestHead, RequiresCrlfLineEndings) {
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\n\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\n\rX"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\rX: b\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\n\r"), -1);
}

TEST(Http1RequestHead, HeadSizeLimit) {
  Limits limits;
  limits.max_head_bytes = 64;
  std::string req = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
  req += std::string(64 - req.size() - 4, 'v') + "\r\n\r\n";
  ASSERT_EQ(req.size(), 64u);
  EXPECT_EQ(requestStatus(req, limits), 0);
  EXPECT_EQ(requestStatus(req + "GET", limits), 0);  // what follows the head does not count
  std::string longer = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(64, 'v') + "\r\n\r\n";
  EXPECT_EQ(requestStatus(longer, limits), 431);
  // No terminator yet: refused as soon as the buffer passes the limit.
  EXPECT_EQ(requestStatus(longer.substr(0, 64), limits), -1);
  EXPECT_EQ(requestStatus(longer.substr(0, 65), limits), 431);
  EXPECT_EQ(requestStatus("GET /" + std::string(100, 'a'), limits), 431);
}

TEST(Http1RequestHead, FieldCountLimit) {
  Limits limits;
  limits.max_headers = 3;
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", limits), 0);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits),
            431);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n", limits), 431);
}

TEST(Http1ResponseHead, ParsesStatusLine) {
  std::string in = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: x\r\n\r\nhi";
  ResponseHead head;
  HeadResult r = parseResponseHead(in, {}, head);
  ASSERT_EQ(r.status, HeadStatus::Complete) << r.error.reason;
  EXPECT_EQ(r.consumed, in.size() - 2);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.reason, "OK");
  EXPECT_EQ(head.minor_version, 1);
  EXPECT_EQ(*head.headers.get("content-length"), "2");
}

TEST(Http1ResponseHead, ReasonForms) {
  ResponseHead head;
  ASSERT_EQ(parseResponseHead("HTTP/1.0 404 Not Found Here\r\n\r\n", {}, head).status,
            HeadStatus::Complete);
  EXPECT_EQ(head.reason, "Not Found Here");
  EXPECT_EQ(head.minor_version, 0);
  ASSERT_EQ(parseResponseHead("HTTP/1.1 204 \r\n\r\n", {}, head).status, HeadStatus::Complete);
  EXPECT_EQ(head.reason, "");
  ASSERT_EQ(parseResponseHead("HTTP/1.1 204\r\n\r\n", {}, head).status, HeadStatus::Complete);
  EXPECT_EQ(head.status, 204);
  EXPECT_EQ(head.reason, "");
}

TEST(Http1ResponseHead, RejectsMalformedStatusLines) {
  EXPECT_EQ(responseStatus("HTTP/1.1 20 OK\r\n\r\n"), 400);
  EXPECT_EQ(responseStatus("HTTP/1.1 2000 OK\r\n\r\n"), 400);
  EXPECT_EQ(responseStatus("HTTP/1.1 200OK\r\n\r\n"), 400);
  EXPECT_EQ(responseStatus("HTTP/1.1 099 Low\r\n\r\n"), 400);
  EXPECT_EQ(responseStatus("HTTP/1.1  200 OK\r\n\r\n"), 400);
  EXPECT_EQ(responseStatus("HTTP/1.1 200 O\x01K\r\n\r\n"), 400);
  EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\n\r\n"), 400);
  EXPECT_EQ(responseStatus("HTTP/1.1 200\n\r\n"), 400);
  EXPECT_EQ(responseStatus("HTTP/2.0 200 OK\r\n\r\n"), 505);
  EXPECT_EQ(responseStatus("ICY 200 OK\r\n\r\n"), 400);
  EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\r\nX : y\r\n\r\n"), 400);
  EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n"), 400);
}

TEST(Http1ResponseHead, ByteByByteNeedsMoreUntilComplete) {
  std::string in = "HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n";
  for (size_t n = 0; n < in.size(); ++n) {
    EXPECT_EQ(responseStatus(std::string_view(in).substr(0, n)), -1) << "prefix " << n;
  }
  EXPECT_EQ(responseStatus(in), 0);
}

TEST(Http1ResponseHead, Limits) {
  Limits limits;
  limits.max_head_bytes = 32;
  limits.max_headers = 1;
  EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\r\nA: 1\r\n\r\n", limits), 0);
  EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n", limits), 431);
  EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\r\nA: " + std::string(40, 'x'), limits), 431);
}

TEST(Http1TokenChar, Classes) {
  for (unsigned char c : std::string_view("azAZ09!#$%&'*+-.^_`|~")) EXPECT_TRUE(isTokenChar(c));
  for (unsigned char c : std::string_view(" \t\"(),/:;<=>?@[\\]{}\x7f\x80\xff")) {
    EXPECT_FALSE(isTokenChar(c)) << int{c};
  }
  EXPECT_FALSE(isTokenChar(0));
}

}  // namespace
}  // namespace remora::http1
