// Unit tests of the filter manager with a fake codec, fake filters and a fake router: the order
// of hooks, Stop and resume on every hook, held bodies and their bound, local replies, completion.
#include "proxy/stream.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <functional>
#include <string>
#include <vector>

namespace remora {
namespace {

// What the stream asked of the client side.
class FakeCodec : public DownstreamCodec {
 public:
  void encodeHeaders(ResponseHeaders& headers, bool end_stream) override {
    log.push_back("headers " + std::to_string(headers.status) + (end_stream ? " end" : ""));
  }
  void encodeData(Buffer& data, bool end_stream) override {
    log.push_back("data " + data.toString() + (end_stream ? " end" : ""));
  }
  void encodeTrailers(HeaderMap&) override { log.push_back("trailers"); }
  void encodeContinue() override { log.push_back("100-continue"); }
  void readDisable(bool disable) override { read_disabled = disable; }
  void resetStream() override { log.push_back("reset"); }

  std::vector<std::string> log;
  bool read_disabled = false;
};

using Log = std::vector<std::string>;

// A filter that records its hooks and stops where it is told to.
class RecordingFilter : public filters::Filter {
 public:
  RecordingFilter(std::string name, Log& log, filters::StreamContext& context)
      : name_(std::move(name)), log_(log), context_(context) {}

  filters::Next onRequestHeaders(RequestHeaders& headers, bool) override {
    seen_request = headers;
    return hook("request-headers", stop_request_headers);
  }
  filters::Next onRequestBody(Buffer& data, bool end) override {
    return hook("request-body " + data.toString() + (end ? " end" : ""), stop_request_body);
  }
  filters::Next onRequestTrailers(HeaderMap&) override {
    return hook("request-trailers", stop_request_trailers);
  }
  filters::Next onResponseHeaders(ResponseHeaders& headers, bool) override {
    return hook("response-headers " + std::to_string(headers.status), stop_response_headers);
  }
  filters::Next onResponseBody(Buffer& data, bool end) override {
    return hook("response-body " + data.toString() + (end ? " end" : ""), stop_response_body);
  }
  void onComplete(const filters::StreamInfo& info) override {
    log_.push_back(name_ + ": complete " + std::to_string(info.status) + " " + info.local_reason);
  }

  filters::StreamContext& context() { return context_; }
  RequestHeaders seen_request;
  bool stop_request_headers = false;
  bool stop_request_body = false;
  bool stop_request_trailers = false;
  bool stop_response_headers = false;
  bool stop_response_body = false;
  std::function<void()> on_request_headers;

 private:
  filters::Next hook(const std::string& what, bool& stop) {
    log_.push_back(name_ + ": " + what);
    if (what == "request-headers" && on_request_headers) on_request_headers();
    if (!stop) return filters::Next::Continue;
    stop = false;  // once
    return filters::Next::Stop;
  }

  std::string name_;
  Log& log_;
  filters::StreamContext& context_;
};

// Builds RecordingFilters that stop where `stops` says, and keeps a pointer to the last.
class RecordingFactory : public filters::FilterFactory {
 public:
  RecordingFactory(std::string name, Log& log) : name_(std::move(name)), log_(log) {}
  std::unique_ptr<filters::Filter> create(filters::StreamContext& context) const override {
    auto filter = std::make_unique<RecordingFilter>(name_, log_, context);
    filter->stop_request_headers = stops.stop_request_headers;
    filter->stop_request_body = stops.stop_request_body;
    filter->stop_request_trailers = stops.stop_request_trailers;
    filter->stop_response_headers = stops.stop_response_headers;
    filter->stop_response_body = stops.stop_response_body;
    filter->on_request_headers = stops.on_request_headers;
    last = filter.get();
    return filter;
  }
  mutable RecordingFilter* last = nullptr;
  struct Stops {
    bool stop_request_headers = false;
    bool stop_request_body = false;
    bool stop_request_trailers = false;
    bool stop_response_headers = false;
    bool stop_response_body = false;
    std::function<void()> on_request_headers;
  } stops;

 private:
  std::string name_;
  Log& log_;
};

class FakeHost : public StreamHost {
 public:
  explicit FakeHost(Log& log) : router_factory("router", log) {}
  ~FakeHost() override {
    sweeper_.reset();
    event_base_free(base_);
  }
  event_base* base() override { return base_; }
  void deferDelete(std::unique_ptr<Deferrable> object) override {
    deferred.push_back(std::move(object));
  }
  stats::WorkerStats& stats() override { return stats_; }
  IdleSweeper& idleSweeper() override { return *sweeper_; }
  std::unique_ptr<filters::Filter> makeRouter(filters::StreamContext& context) override {
    return router_factory.create(context);
  }

  RecordingFactory router_factory;
  std::vector<std::unique_ptr<Deferrable>> deferred;

 private:
  event_base* base_ = event_base_new();
  stats::WorkerStats stats_;
  std::unique_ptr<IdleSweeper> sweeper_ = std::make_unique<IdleSweeper>(base_);
};

class StreamTest : public ::testing::Test {
 protected:
  StreamTest() : host(log), first("first", log), second("second", log) {
    listener_config.name = "edge";
    route_config.cluster = "backend";
    host_config.name = "edge";
    host_config.domains = {"*"};
    CompiledRoute route;
    route.config = &route_config;
    std::vector<CompiledVirtualHost> hosts;
    hosts.push_back({&host_config, {}});
    hosts.back().routes.push_back(std::move(route));
    listener.config = &listener_config;
    listener.routes = std::make_unique<RouteTable>(std::move(hosts));
    factories = {std::shared_ptr<const filters::FilterFactory>(&first, [](auto*) {}),
                 std::shared_ptr<const filters::FilterFactory>(&second, [](auto*) {})};
    listener.filters = &factories;
    snapshot = std::make_shared<Snapshot>();
  }

  std::unique_ptr<Stream> start(bool end_stream) {
    auto stream = std::make_unique<Stream>(host, codec, snapshot, listener,
                                           StreamOrigin{"edge", "10.1.1.1:5000", "HTTP/1.1"});
    RequestHeaders request;
    request.method = "POST";
    request.authority = "example";
    request.path = "/x";
    stream->decodeHeaders(std::move(request), end_stream, false, false);
    return stream;
  }

  RecordingFilter& router() { return *host.router_factory.last; }

  static void body(Stream& stream, const std::string& text, bool end) {
    Buffer data;
    data.add(text);
    stream.decodeData(data, end);
  }

  void respond(bool with_body) {
    ResponseHeaders response;
    response.status = 200;
    router().context().encodeHeaders(response, !with_body);
    if (with_body) {
      Buffer data;
      data.add("ok");
      router().context().encodeData(data, true);
    }
  }

  Log log;
  FakeHost host;
  FakeCodec codec;
  RecordingFactory first;
  RecordingFactory second;
  config::Listener listener_config;
  config::VirtualHost host_config;
  config::Route route_config;
  ListenerInfo listener;
  std::vector<std::shared_ptr<const filters::FilterFactory>> factories;
  std::shared_ptr<const Snapshot> snapshot;
};

TEST_F(StreamTest, RequestHooksRunInOrderAndResponseHooksInReverse) {
  auto stream = start(false);
  body(*stream, "abc", true);
  respond(true);
  EXPECT_EQ(log, (Log{"first: request-headers", "second: request-headers",
                      "router: request-headers", "first: request-body abc end",
                      "second: request-body abc end", "router: request-body abc end",
                      "second: response-headers 200", "first: response-headers 200",
                      "second: response-body ok end", "first: response-body ok end",
                      "first: complete 200 ", "second: complete 200 ", "router: complete 200 "}));
  EXPECT_EQ(codec.log, (Log{"headers 200", "data ok end"}));
  EXPECT_TRUE(stream->responseComplete());
}

TEST_F(StreamTest, TheRouteIsMatchedBeforeTheChainAndFiltersSeeIt) {
  const CompiledRoute* seen = nullptr;
  auto stream = start(true);
  seen = first.last->context().route();
  ASSERT_NE(seen, nullptr);
  EXPECT_EQ(seen->config, &route_config);
}

TEST_F(StreamTest, AStopOnHeadersHoldsTheBodyUntilResumed) {
  first.stops.stop_request_headers = true;
  auto stream = start(false);
  body(*stream, "ab", false);
  body(*stream, "cd", true);
  EXPECT_EQ(log, (Log{"first: request-headers"}));
  first.last->context().resume();
  EXPECT_EQ(log, (Log{"first: request-headers", "second: request-headers",
                      "router: request-headers", "first: request-body abcd end",
                      "second: request-body abcd end", "router: request-body abcd end"}));
}

TEST_F(StreamTest, AStopOnABodyChunkContinuesAfterThatFilterThenTheRestFromTheFirst) {
  second.stops.stop_request_body = true;
  auto stream = start(false);
  body(*stream, "ab", false);
  body(*stream, "cd", true);
  log.erase(log.begin(), log.begin() + 3);  // the headers
  EXPECT_EQ(log, (Log{"first: request-body ab", "second: request-body ab"}));
  second.last->context().resume();
  EXPECT_EQ(log, (Log{"first: request-body ab", "second: request-body ab",
                      "router: request-body ab", "first: request-body cd end",
                      "second: request-body cd end", "router: request-body cd end"}));
}

TEST_F(StreamTest, AStopOnTrailersHoldsThemUntilResumed) {
  first.stops.stop_request_trailers = true;
  auto stream = start(false);
  body(*stream, "ab", false);
  stream->decodeTrailers(HeaderMap{});
  EXPECT_EQ(log.back(), "first: request-trailers");
  first.last->context().resume();
  EXPECT_EQ(log.back(), "router: request-trailers");
  EXPECT_TRUE(stream->requestComplete());
}

TEST_F(StreamTest, AHeldBodyPausesReadingAboveTheWatermarkAndResumesWhenPassedOn) {
  first.stops.stop_request_headers = true;
  auto stream = start(false);
  body(*stream, std::string(kHighWatermark + 1, 'x'), false);
  EXPECT_TRUE(codec.read_disabled);
  first.last->context().resume();
  EXPECT_FALSE(codec.read_disabled);
}

TEST_F(StreamTest, AHeldBodyBeyondTheLimitIsAnswered413AndTheRouterNeverSeesIt) {
  first.stops.stop_request_headers = true;
  auto stream = start(false);
  body(*stream, std::string(1024 * 1024 + 1, 'x'), false);
  ASSERT_FALSE(codec.log.empty());
  EXPECT_EQ(codec.log[0], "headers 413");
  for (const std::string& line : log) EXPECT_EQ(line.find("router: request"), std::string::npos);
  EXPECT_EQ(log.back(), "router: complete 413 request_body_too_large");
}

TEST_F(StreamTest, AStopOnResponseHeadersHoldsTheResponseUntilResumed) {
  first.stops.stop_response_headers = true;
  auto stream = start(true);
  respond(true);
  EXPECT_TRUE(codec.log.empty());
  first.last->context().resume();
  EXPECT_EQ(codec.log, (Log{"headers 200", "data ok end"}));
  EXPECT_EQ(log.back(), "router: complete 200 ");
}

TEST_F(StreamTest, AStopOnAResponseChunkHoldsItAndWhatFollows) {
  second.stops.stop_response_body = true;
  auto stream = start(true);
  ResponseHeaders response;
  router().context().encodeHeaders(response, false);
  Buffer a;
  a.add("a");
  router().context().encodeData(a, false);
  Buffer b;
  b.add("b");
  router().context().encodeData(b, true);
  EXPECT_EQ(codec.log, (Log{"headers 200"}));
  second.last->context().resume();
  EXPECT_EQ(codec.log, (Log{"headers 200", "data a", "data b end"}));
}

TEST_F(StreamTest, ALocalReplySkipsTheRestOfTheRequestChainAndPassesTheResponseHooks) {
  first.stops.on_request_headers = [this] {
    filters::LocalReply reply(429, "slow down\n", "rate_limited");
    reply.headers.emplace_back("retry-after", "1");
    first.last->context().sendLocalReply(reply);
  };
  auto stream = start(false);
  body(*stream, "ignored", true);
  EXPECT_EQ(log, (Log{"first: request-headers", "second: response-headers 429",
                      "first: response-headers 429", "second: response-body slow down\n end",
                      "first: response-body slow down\n end", "first: complete 429 rate_limited",
                      "second: complete 429 rate_limited", "router: complete 429 rate_limited"}));
  EXPECT_EQ(codec.log, (Log{"headers 429", "data slow down\n end"}));
}

TEST_F(StreamTest, TheRoutersResponseIsIgnoredOnceALocalReplyTookOver) {
  auto stream = start(true);
  router().context().sendLocalReply(503, "no\n");
  const Log before = codec.log;
  respond(true);
  EXPECT_EQ(codec.log, before);
}

TEST_F(StreamTest, ALocalReplyAfterTheResponseStartedResetsTheStream) {
  auto stream = start(true);
  ResponseHeaders response;
  router().context().encodeHeaders(response, false);
  router().context().sendLocalReply({502, "", "upstream_reset"});
  EXPECT_EQ(codec.log, (Log{"headers 200", "reset"}));
  EXPECT_EQ(log.back(), "router: complete 200 upstream_reset");
}

TEST_F(StreamTest, EveryFilterCompletesOnceWhenTheClientGoesAway) {
  auto stream = start(false);
  stream->onDownstreamGone();
  stream->onDownstreamGone();
  body(*stream, "late", true);
  EXPECT_EQ(log, (Log{"first: request-headers", "second: request-headers",
                      "router: request-headers", "first: complete 499 downstream_disconnect",
                      "second: complete 499 downstream_disconnect",
                      "router: complete 499 downstream_disconnect"}));
}

TEST_F(StreamTest, TheRequestIsDecoratedBeforeTheFirstFilter) {
  auto stream = start(true);
  const HeaderMap& headers = first.last->seen_request.headers;
  ASSERT_TRUE(headers.get("x-forwarded-for"));
  EXPECT_EQ(*headers.get("x-forwarded-for"), "10.1.1.1");
  EXPECT_EQ(*headers.get("x-forwarded-proto"), "http");
  ASSERT_TRUE(headers.get("x-request-id"));
  EXPECT_EQ(first.last->context().info().request_id, *headers.get("x-request-id"));
  EXPECT_EQ(first.last->context().info().request_id.size(), 36u);
  // A version 4 UUID (RFC 9562): 8-4-4-4-12 lowercase hex, version 4, variant 10.
  EXPECT_TRUE(RE2::FullMatch(first.last->context().info().request_id,
                             "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"))
      << first.last->context().info().request_id;
}

}  // namespace
}  // namespace remora
