// remora's basic proxying against real upstreams: methods, keep-alive, pipelining, streamed
// bodies, 100-continue, bodiless responses, forwarding headers and hop-by-hop header removal.
#include <chrono>

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
      - match: {prefix: /}
        cluster: backend
clusters:
  - name: backend
    endpoints: ["{{backend}}"]
)";

std::string configFor(const std::string& backend) {
  return render(kConfig, {{"backend", backend}});
}

// Commas with or without spaces are the same list: "a, b" == "a,b".
std::string withoutSpaces(std::string s) {
  std::erase(s, ' ');
  return s;
}

class ProxyToNginx : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(remora_.start(configFor(nginx_.address())));
    port_ = remora_.port("edge");
  }

  Nginx nginx_{Nginx::fixed("/hello", 200, "hello\n") + Nginx::fixed("/empty", 204, "") +
               Nginx::fixed("/not-modified", 304, "") + Nginx::echo("/echo") +
               Nginx::echoBody("/post")};
  Remora remora_;
  uint16_t port_ = 0;
};

TEST_F(ProxyToNginx, GetReachesNginx) {
  HttpResponse r = httpGet(port_, "/hello");
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.body, "hello\n");

  CommandResult curl = runCommand({"curl", "-sS", "-o", "-", "-w", "%{http_code}",
                                   "http://127.0.0.1:" + std::to_string(port_) + "/hello"},
                                  deadlineIn(10s));
  EXPECT_EQ(curl.exit_code, 0) << curl.err;
  EXPECT_EQ(curl.out, "hello\n200");
}

TEST_F(ProxyToNginx, PostBodyReachesNginx) {
  HttpResponse r = httpRequest(port_, "POST", "/post", {}, "name=remora");
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.body, "POST body=name=remora");

  CommandResult curl = runCommand({"curl", "-sS", "--data-binary", "from=curl",
                                   "http://127.0.0.1:" + std::to_string(port_) + "/post"},
                                  deadlineIn(10s));
  EXPECT_EQ(curl.exit_code, 0) << curl.err;
  EXPECT_EQ(curl.out, "POST body=from=curl");
}

TEST_F(ProxyToNginx, KeepAliveServesTwoRequestsOnOneConnection) {
  HttpClient client(port_);
  ASSERT_TRUE(client.connected()) << client.error();
  HttpResponse first = client.request("GET", "/echo/1");
  ASSERT_TRUE(first.ok()) << first;
  EXPECT_FALSE(hasToken(first.headers.get("connection").value_or(""), "close")) << first;
  HttpResponse second = client.request("GET", "/echo/2");
  ASSERT_TRUE(second.ok()) << second;
  EXPECT_EQ(Nginx::echoField(first.body, "uri"), "/echo/1");
  EXPECT_EQ(Nginx::echoField(second.body, "uri"), "/echo/2");
}

TEST_F(ProxyToNginx, UpstreamConnectionIsReused) {
  // Sequential requests find the pooled upstream connection idle: nginx sees one connection.
  HttpResponse first = httpGet(port_, "/echo/1");
  HttpResponse second = httpGet(port_, "/echo/2");
  ASSERT_TRUE(first.ok() && second.ok()) << first << second;
  EXPECT_EQ(Nginx::echoField(first.body, "connection"),
            Nginx::echoField(second.body, "connection"));
}

TEST_F(ProxyToNginx, PipelinedRequestsAreAnsweredInOrder) {
  HttpClient client(port_);
  ASSERT_TRUE(client.send(formatRequest("GET", "/echo/a") + formatRequest("GET", "/echo/b") +
                          formatRequest("GET", "/echo/c")));
  for (const char* uri : {"/echo/a", "/echo/b", "/echo/c"}) {
    HttpResponse r = client.readResponse();
    ASSERT_TRUE(r.ok()) << r;
    EXPECT_EQ(Nginx::echoField(r.body, "uri"), uri);
  }
}

TEST_F(ProxyToNginx, ExpectContinueGetsAnInterimResponseBeforeTheBody) {
  HttpClient client(port_);
  ASSERT_TRUE(client.send(
      formatRequest("POST", "/post", {{"Content-Length", "11"}, {"Expect", "100-continue"}})));
  // Whether remora answers 100 itself or relays nginx's, it comes before the body is sent.
  HttpResponse interim = client.readResponse(deadlineIn(2s));
  ASSERT_EQ(interim.status, 100) << interim;
  ASSERT_TRUE(client.send("name=remora"));
  HttpResponse final_response = client.readResponse();
  EXPECT_EQ(final_response.status, 200) << final_response;
  EXPECT_EQ(final_response.body, "POST body=name=remora");
}

TEST_F(ProxyToNginx, HeadResponseHasNoBody) {
  HttpClient client(port_);
  HttpResponse head = client.request("HEAD", "/hello");
  ASSERT_TRUE(head.ok()) << head;
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers.get("content-length"), "6");
  // Were any body bytes sent after the HEAD response, this response would not parse.
  HttpResponse get = client.request("GET", "/hello");
  EXPECT_EQ(get.status, 200) << get;
  EXPECT_EQ(get.body, "hello\n");
}

TEST_F(ProxyToNginx, NoContentAndNotModifiedHaveNoBody) {
  HttpClient client(port_);
  HttpResponse no_content = client.request("GET", "/empty");
  EXPECT_EQ(no_content.status, 204) << no_content;
  EXPECT_FALSE(no_content.headers.has("transfer-encoding")) << no_content;
  HttpResponse not_modified = client.request("GET", "/not-modified");
  EXPECT_EQ(not_modified.status, 304) << not_modified;
  EXPECT_FALSE(not_modified.headers.has("transfer-encoding")) << not_modified;
  HttpResponse get = client.request("GET", "/hello");
  EXPECT_EQ(get.status, 200) << get;
  EXPECT_EQ(get.body, "hello\n");
}

TEST_F(ProxyToNginx, ForwardingHeadersAreAdded) {
  HttpResponse plain = httpGet(port_, "/echo");
  ASSERT_TRUE(plain.ok()) << plain;
  EXPECT_EQ(Nginx::echoField(plain.body, "xff"), "127.0.0.1");
  EXPECT_EQ(Nginx::echoField(plain.body, "proto"), "http");
  std::string generated_id = Nginx::echoField(plain.body, "request_id").value_or("");
  EXPECT_FALSE(generated_id.empty()) << plain.body;

  HttpResponse another = httpGet(port_, "/echo");
  EXPECT_NE(Nginx::echoField(another.body, "request_id"), generated_id) << "ids must differ";

  HttpResponse forwarded =
      httpGet(port_, "/echo", {{"X-Forwarded-For", "10.0.0.1"}, {"X-Request-Id", "abc-123"}});
  ASSERT_TRUE(forwarded.ok()) << forwarded;
  EXPECT_EQ(withoutSpaces(Nginx::echoField(forwarded.body, "xff").value_or("")),
            "10.0.0.1,127.0.0.1");
  EXPECT_EQ(Nginx::echoField(forwarded.body, "request_id"), "abc-123");
}

TEST(ProxyHeaders, HopByHopHeadersAreRemovedBothWays) {
  ScriptedUpstream upstream(ScriptedUpstream::respondWith(200, "ok",
                                                          {{"Connection", "X-Resp-Hop"},
                                                           {"Keep-Alive", "timeout=5"},
                                                           {"X-Resp-Hop", "1"},
                                                           {"X-Resp-Kept", "1"}}));
  Remora remora;
  ASSERT_TRUE(remora.start(configFor(upstream.address())));
  HttpResponse r = httpGet(remora.port("edge"), "/",
                           {{"Connection", "keep-alive, X-Hop"},
                            {"Keep-Alive", "timeout=5"},
                            {"Proxy-Connection", "keep-alive"},
                            {"TE", "trailers"},
                            {"Trailer", "X-Checksum"},
                            {"Upgrade", "something"},  // no `upgrade` in Connection: not one
                            {"X-Hop", "secret"},
                            {"X-End-To-End", "kept"}});
  ASSERT_EQ(r.status, 200) << r;

  std::vector<HttpRequest> seen = upstream.requests();
  ASSERT_EQ(seen.size(), 1u);
  const HttpHeaders& sent = seen[0].headers;
  for (const char* name : {"keep-alive", "proxy-connection", "te", "trailer", "upgrade", "x-hop"}) {
    EXPECT_FALSE(sent.has(name)) << name << " reached the upstream";
  }
  EXPECT_FALSE(hasToken(sent.get("connection").value_or(""), "x-hop"));
  EXPECT_EQ(sent.get("x-end-to-end"), "kept");

  EXPECT_FALSE(r.headers.has("keep-alive")) << r;
  EXPECT_FALSE(r.headers.has("x-resp-hop")) << r;
  EXPECT_FALSE(hasToken(r.headers.get("connection").value_or(""), "x-resp-hop")) << r;
  EXPECT_EQ(r.headers.get("x-resp-kept"), "1");
}

TEST(ProxyStreaming, ChunkedUploadIsStreamed) {
  Event first_part_arrived;
  ScriptedUpstream upstream([&](UpstreamConnection& c) {
    std::optional<HttpRequest> head = c.readRequestHead();
    if (!head) return;
    std::string te = head->headers.get("transfer-encoding").value_or("");
    EXPECT_TRUE(hasToken(te, "chunked")) << "a body of unknown length must stay chunked";
    std::string body;
    while (std::optional<std::string> chunk = c.readChunk()) {
      if (chunk->empty()) {
        c.respond(200, body);
        return;
      }
      body += *chunk;
      if (body.find("first-part") != std::string::npos) first_part_arrived.set();
    }
    ADD_FAILURE() << "upstream: " << c.error();
  });
  Remora remora;
  ASSERT_TRUE(remora.start(configFor(upstream.address())));
  HttpClient client(remora.port("edge"));
  ASSERT_TRUE(client.send(formatRequest("POST", "/upload", {{"Transfer-Encoding", "chunked"}}) +
                          formatChunk("first-part")));
  // The rest of the body is not sent yet: the upstream sees the first part only if remora
  // streams it rather than buffering the whole body.
  EXPECT_TRUE(first_part_arrived.wait(deadlineIn(2s))) << "remora held the first chunk back";
  ASSERT_TRUE(client.send(formatChunk("second-part") + formatChunk("")));
  HttpResponse r = client.readResponse();
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.body, "first-partsecond-part");
}

TEST(ProxyStreaming, ChunkedDownloadIsStreamed) {
  Event client_has_first_part;
  ScriptedUpstream upstream([&](UpstreamConnection& c) {
    if (!c.readRequest()) return;
    c.send(formatResponse(200, {}, {{"Transfer-Encoding", "chunked"}}) + formatChunk("first-part"));
    // The rest only once the client has the first part: a buffering proxy never gets it.
    if (!client_has_first_part.wait(deadlineIn(3s))) return;
    c.send(formatChunk("second-part") + formatChunk(""));
  });
  Remora remora;
  ASSERT_TRUE(remora.start(configFor(upstream.address())));
  HttpClient client(remora.port("edge"));
  ASSERT_TRUE(client.send(formatRequest("GET", "/download")));
  HttpResponse head = client.readResponseHead(deadlineIn(2s));
  ASSERT_EQ(head.status, 200) << head;
  EXPECT_TRUE(hasToken(head.headers.get("transfer-encoding").value_or(""), "chunked")) << head;
  std::string body;
  while (body.find("first-part") == std::string::npos) {
    std::optional<std::string> chunk = client.readChunk(deadlineIn(2s));
    ASSERT_TRUE(chunk && !chunk->empty()) << "remora held the first chunk back: " << client.error();
    body += *chunk;
  }
  client_has_first_part.set();
  while (std::optional<std::string> chunk = client.readChunk(deadlineIn(2s))) {
    if (chunk->empty()) break;
    body += *chunk;
  }
  EXPECT_EQ(body, "first-partsecond-part");
}

}  // namespace
}  // namespace remora::harness
