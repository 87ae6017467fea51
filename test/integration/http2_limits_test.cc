// HTTP/2 header limits beyond the request head: an HTTP/2 upstream's response head and trailers
// (the cluster's max_response_headers_bytes, 100 fields; and a Content-Length list) and a
// client's request trailers (the listener's max_request_headers_bytes and _count), each driven
// by a scripted HTTP/2 peer.
#include <chrono>
#include <optional>
#include <string>

#include "integration/harness/h2_frames.h"
#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;
using namespace h2;

// `count` fields "x-field-<i>: v".
HeaderList manyFields(int count) {
  HeaderList fields;
  for (int i = 0; i < count; ++i) fields.emplace_back("x-field-" + std::to_string(i), "v");
  return fields;
}

std::string literalBlock(const HeaderList& fields) {
  std::string block;
  for (const auto& [name, value] : fields) block += hpackLiteral(name, value);
  return block;
}

// An h2c upstream that answers every request with `:status 200` and `fields`, the body "ok",
// and `trailers` when there are any.
ScriptedUpstream::Handler h2Upstream(HeaderList fields, HeaderList trailers = {}) {
  return [fields = std::move(fields), trailers = std::move(trailers)](UpstreamConnection& c) {
    Socket& socket = c.socket();
    if (!socket.readExactly(kClientPreface.size(), deadlineIn(5s))) return;
    if (!socket.sendAll(settingsFrame({}), deadlineIn(5s))) return;
    while (std::optional<Frame> frame = readRawFrame(socket, deadlineIn(30s))) {
      std::string out;
      if (frame->type == kSettings && !frame->has(kAck)) out = settingsAckFrame();
      // Requests through remora here are GETs: their HEADERS end the stream.
      if (frame->type == kHeaders && frame->has(kEndStream)) {
        const std::string head = "\x88" + literalBlock(fields);  // static index 8: :status 200
        out = headersFrame(frame->stream, head, kEndHeaders) +
              dataFrame(frame->stream, "ok", trailers.empty());
        if (!trailers.empty()) {
          out += headersFrame(frame->stream, literalBlock(trailers), kEndHeaders | kEndStream);
        }
      }
      if (!out.empty() && !socket.sendAll(out, deadlineIn(5s))) return;
    }
  };
}

constexpr char kUpstreamConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /big}
        cluster: big
      - match: {prefix: /many}
        cluster: many
      - match: {prefix: /trailers}
        cluster: trailers
      - match: {prefix: /length-list}
        cluster: length_list
      - match: {prefix: /}
        cluster: fine
clusters:
  - name: big
    protocol: http2
    max_response_headers_bytes: 8KiB
    endpoints: ["{{big}}"]
  - name: many
    protocol: http2
    max_response_headers_bytes: 8KiB
    endpoints: ["{{many}}"]
  - name: trailers
    protocol: http2
    max_response_headers_bytes: 8KiB
    endpoints: ["{{trailers}}"]
  - name: length_list
    protocol: http2
    endpoints: ["{{length_list}}"]
  - name: fine
    protocol: http2
    max_response_headers_bytes: 8KiB
    endpoints: ["{{fine}}"]
)";

class Http2UpstreamLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(remora_.start(render(kUpstreamConfig, {{"big", big_.address()},
                                                       {"many", many_.address()},
                                                       {"trailers", trailers_.address()},
                                                       {"length_list", length_list_.address()},
                                                       {"fine", fine_.address()}})));
    port_ = remora_.port("edge");
  }

  // 10,000 bytes in one field, 150 small fields: each over one of the limits alone.
  ScriptedUpstream big_{h2Upstream({{"x-big", std::string(10000, 'b')}})};
  ScriptedUpstream many_{h2Upstream(manyFields(150))};
  ScriptedUpstream trailers_{h2Upstream({}, manyFields(150))};
  ScriptedUpstream length_list_{h2Upstream({{"content-length", "2, 2"}})};
  // 90 fields and some 3.5 KiB (RFC 9113 6.5.2 counting), under both.
  ScriptedUpstream fine_{h2Upstream(manyFields(90))};
  Remora remora_;
  uint16_t port_ = 0;
};

TEST_F(Http2UpstreamLimits, ResponseHeadWithinTheLimitsIsRelayed) {
  HttpResponse r = httpGet(port_, "/fine");
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(r.headers.get("x-field-89"), "v") << r;
}

TEST_F(Http2UpstreamLimits, ResponseHeadOverTheClusterBytesIs502) {
  HttpResponse r = httpGet(port_, "/big");
  EXPECT_EQ(r.status, 502) << r;
  // Only that stream was given up: the connection to the upstream carries the next request.
  HttpResponse again = httpGet(port_, "/big");
  EXPECT_EQ(again.status, 502) << again;
  EXPECT_EQ(big_.connectionCount(), 1u);
  EXPECT_EQ(httpGet(port_, "/fine").status, 200);
}

TEST_F(Http2UpstreamLimits, ResponseHeadWithOver100FieldsIs502) {
  HttpResponse r = httpGet(port_, "/many");
  EXPECT_EQ(r.status, 502) << r;
  HttpResponse metrics = remora_.adminGet("/metrics");
  EXPECT_EQ(metricValue(metrics.body, "remora_upstream_requests_total",
                        {{"cluster", "many"}, {"code", "502"}}),
            1)
      << metrics.body;
}

// What an HTTP/1.1 upstream may say (one length twice) is malformed on HTTP/2: nghttp2 resets
// the stream (RFC 9113 8.1.1), and the client gets a 502.
TEST_F(Http2UpstreamLimits, ResponseWithAContentLengthListIs502) {
  HttpResponse r = httpGet(port_, "/length-list");
  EXPECT_EQ(r.status, 502) << r;
}

TEST_F(Http2UpstreamLimits, ResponseTrailersOverTheLimitsCutTheResponse) {
  HttpResponse r = httpGet(port_, "/trailers");
  EXPECT_EQ(r.status, 200) << r;
  // The head went out before the trailers came: the chunked body ends without its last chunk.
  EXPECT_FALSE(r.error.empty()) << r;
}

constexpr char kDownstreamConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    max_request_headers_bytes: 1KiB
    max_request_headers_count: 10
    routes:
      - match: {prefix: /early}
        cluster: early
      - match: {prefix: /}
        cluster: echo
clusters:
  - name: echo
    endpoints: ["{{echo}}"]
  - name: early
    endpoints: ["{{early}}"]
)";

class Http2RequestTrailerLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(remora_.start(
        render(kDownstreamConfig, {{"echo", echo_.address()}, {"early", early_.address()}})));
    ASSERT_TRUE(client_.connect(remora_.port("edge"))) << client_.error();
  }

  // A POST to `path` on `stream` with a body and then `trailers`; the first HEADERS or
  // RST_STREAM that comes back on the stream.
  std::optional<Frame> postWithTrailers(uint32_t stream, const std::string& path,
                                        const HeaderList& trailers) {
    const bool sent =
        client_.send(headersFrame(stream, requestBlock(path, "a", {}, "POST"), kEndHeaders) +
                     dataFrame(stream, "abc", false) +
                     headersFrame(stream, literalBlock(trailers), kEndHeaders | kEndStream));
    if (!sent) return std::nullopt;
    return answer(stream);
  }

  std::optional<Frame> answer(uint32_t stream) {
    return client_.readUntil([&](const Frame& f) {
      return (f.type == kHeaders || f.type == kRstStream) && f.stream == stream;
    });
  }

  ScriptedUpstream echo_{ScriptedUpstream::echo()};
  // Answers with a head and the start of a body as soon as the request head is in.
  ScriptedUpstream early_{[](UpstreamConnection& c) {
    if (!c.readRequestHead()) return;
    c.send("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n");
    c.waitClosed();
  }};
  Remora remora_;
  H2Client client_;
};

TEST_F(Http2RequestTrailerLimits, TrailersWithinTheLimitsPass) {
  std::optional<Frame> r = postWithTrailers(1, "/echo", manyFields(10));
  ASSERT_TRUE(r) << client_.describeFrames();
  EXPECT_EQ(r->status(), 200) << client_.describeFrames();
}

TEST_F(Http2RequestTrailerLimits, TooManyTrailersGet431) {
  std::optional<Frame> r = postWithTrailers(1, "/echo", manyFields(11));
  ASSERT_TRUE(r) << client_.describeFrames();
  EXPECT_EQ(r->status(), 431) << client_.describeFrames();
  // Only that stream ended: the connection serves the next request.
  r = postWithTrailers(3, "/echo", manyFields(2));
  ASSERT_TRUE(r) << client_.describeFrames();
  EXPECT_EQ(r->status(), 200) << client_.describeFrames();
}

TEST_F(Http2RequestTrailerLimits, TooLargeTrailersGet431) {
  std::optional<Frame> r = postWithTrailers(1, "/echo", {{"x-big", std::string(2000, 'b')}});
  ASSERT_TRUE(r) << client_.describeFrames();
  EXPECT_EQ(r->status(), 431) << client_.describeFrames();
}

TEST_F(Http2RequestTrailerLimits, TooManyTrailersAfterTheResponseStartedResetTheStream) {
  ASSERT_TRUE(client_.send(headersFrame(1, requestBlock("/early", "a", {}, "POST"), kEndHeaders)));
  std::optional<Frame> head = answer(1);
  ASSERT_TRUE(head) << client_.describeFrames();
  ASSERT_EQ(head->status(), 200) << client_.describeFrames();
  ASSERT_TRUE(
      client_.send(headersFrame(1, literalBlock(manyFields(11)), kEndHeaders | kEndStream)));
  std::optional<Frame> reset =
      client_.readUntil([](const Frame& f) { return f.type == kRstStream && f.stream == 1; });
  ASSERT_TRUE(reset) << client_.describeFrames();
  EXPECT_EQ(reset->errorCode(), kEnhanceYourCalm) << describe(*reset);
  std::optional<Frame> next = postWithTrailers(3, "/echo", manyFields(1));
  ASSERT_TRUE(next) << client_.describeFrames();
  EXPECT_EQ(next->status(), 200) << client_.describeFrames();
}

}  // namespace
}  // namespace remora::harness
