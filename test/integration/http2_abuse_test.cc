// HTTP/2 abuse defences of the real binary, driven frame by frame: rapid reset, CONTINUATION and
// SETTINGS floods, PING floods without reading, never-opened stream ids, header limits, listener
// protocols and the concurrent stream limit.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness/h2_frames.h"
#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;
using namespace h2;

// AddressSanitizer holds freed memory in quarantine, so a sanitized build's RSS only has to catch
// unbounded growth (as in hardening_test.cc).
#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kMaxRssKiB = 512 * 1024;
constexpr uint64_t kMaxRssGrowthKiB = 256 * 1024;
#else
constexpr uint64_t kMaxRssKiB = 64 * 1024;  // 64 MiB
// What a flood may add to the peak. Answering every PING of the flood below (about 34 MB of ACKs
// nobody reads) grows it by some 26 MB; with the defences it does not move.
constexpr uint64_t kMaxRssGrowthKiB = 16 * 1024;
#endif

std::chrono::milliseconds msSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// A field of /proc/<pid>/status in KiB (VmRSS, VmHWM); 0 when absent.
uint64_t procStatusKiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
  }
  return 0;
}

// /hold goes to an upstream that reads the request and never answers, so a stream there stays
// open until the client (or remora) ends it; everything else is answered by remora itself.
constexpr char kConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
{{extra}}    routes:
      - match: {prefix: /hold}
        cluster: hold
      - match: {prefix: /}
        direct_response: {status: 200, body: hello}
clusters:
  - name: hold
    endpoints: ["{{hold}}"]
)";

// `curl --http2-prior-knowledge` for `path`: "<status> <http version>", e.g. "200 2".
CommandResult curlH2(uint16_t port, const std::string& path,
                     const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {"curl",      "-sS", "--http2-prior-knowledge",      "-o",
                                   "/dev/null", "-w",  "%{http_code} %{http_version}", "--max-time",
                                   "3"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("http://127.0.0.1:" + std::to_string(port) + path);
  return runCommand(argv, deadlineIn(5s));
}

class Http2Abuse : public ::testing::Test {
 protected:
  // `extra`: listener keys, each line indented by four spaces.
  void start(const std::string& extra = "") {
    ASSERT_TRUE(remora_.start(render(kConfig, {{"extra", extra}, {"hold", hold_.address()}})));
    port_ = remora_.port("edge");
  }

  // A fresh HTTP/2 connection is served: the abuse did not hurt remora.
  void expectHealthy() {
    CommandResult curl = curlH2(port_, "/");
    EXPECT_EQ(curl.exit_code, 0) << curl.err;
    EXPECT_EQ(curl.out, "200 2") << curl.err;
    EXPECT_TRUE(remora_.running());
  }

  ScriptedUpstream hold_{[](UpstreamConnection& c) {
    while (c.readRequest(deadlineIn(30s))) {
    }
  }};
  Remora remora_;
  uint16_t port_ = 0;
};

// --- 1. Rapid reset (CVE-2023-44487) ---

TEST_F(Http2Abuse, RapidResetGetsEnhanceYourCalm) {
  start();
  H2Client client;
  ASSERT_TRUE(client.connect(port_)) << client.error();
  std::string burst;
  for (uint32_t i = 0; i < 300; ++i) {
    const uint32_t id = 1 + 2 * i;
    burst += getRequest(id, "/hold") + rstStreamFrame(id, kCancel);
  }
  client.send(burst);  // may fail part way once remora has closed: the GOAWAY tells
  std::optional<Frame> goaway = client.waitGoaway(deadlineIn(3s));
  ASSERT_TRUE(goaway) << client.error() << client.describeFrames();
  EXPECT_EQ(goaway->errorCode(), kEnhanceYourCalm) << describe(*goaway);
  EXPECT_TRUE(client.waitClosed(deadlineIn(3s))) << client.describeFrames();
  expectHealthy();
}

// --- 2. Browsers cancel some streams; that alone is no attack ---

TEST_F(Http2Abuse, SomeCancelledStreamsAreTolerated) {
  start();
  H2Client client;
  ASSERT_TRUE(client.connect(port_)) << client.error();
  // The cancels come first, so at that point every stream opened was cancelled: only the floor
  // of the premature-reset rule keeps this client.
  std::string frames;
  std::vector<uint32_t> answered;
  for (uint32_t i = 0; i < 50; ++i) {
    const uint32_t id = 1 + 2 * i;
    if (i < 10) {
      frames += getRequest(id, "/hold") + rstStreamFrame(id, kCancel);
    } else {
      frames += getRequest(id, "/");
      answered.push_back(id);
    }
  }
  ASSERT_TRUE(client.send(frames)) << client.error();
  size_t responses = 0;
  std::optional<Frame> last = client.readUntil(
      [&](const Frame& f) {
        if (f.type == kGoaway) return true;
        if (f.type == kHeaders && f.status() == 200) ++responses;
        return responses == answered.size();
      },
      deadlineIn(3s));
  ASSERT_TRUE(last) << client.error() << client.describeFrames();
  EXPECT_NE(last->type, kGoaway) << describe(*last);
  EXPECT_EQ(responses, answered.size());
  std::string missing;
  for (uint32_t id : answered) {
    bool found = false;
    for (const Frame& f : client.frames()) found |= f.stream == id && f.status() == 200;
    if (!found) missing += " " + std::to_string(id);
  }
  EXPECT_EQ(missing, "") << "streams without a 200" << client.describeFrames();
  // Still the same live connection.
  ASSERT_TRUE(client.send(pingFrame(42)));
  std::optional<Frame> pong = client.readUntil(
      [](const Frame& f) { return f.type == kGoaway || (f.type == kPing && f.has(kAck)); });
  ASSERT_TRUE(pong) << client.describeFrames();
  EXPECT_EQ(pong->type, kPing) << describe(*pong);
}

// --- 3. CONTINUATION flood (CVE-2024-27316 and kin) ---

TEST_F(Http2Abuse, ContinuationFloodClosesTheConnection) {
  start();
  H2Client client;
  // A SETTINGS ACK amid the open header block would be a protocol error of its own.
  client.setAutoAckSettings(false);
  ASSERT_TRUE(client.connect(port_)) << client.error();
  // Every fragment is a valid field, so only the number of frames is wrong.
  std::string flood = headersFrame(1, requestBlock("/"), kEndStream);
  for (int i = 0; i < 50; ++i) {
    flood += continuationFrame(1, hpackLiteral("x-filler", std::to_string(i)), 0);
  }
  client.send(flood);
  ASSERT_TRUE(client.waitClosed(deadlineIn(3s))) << client.describeFrames();
  bool goaway = false;
  for (const Frame& f : client.frames()) goaway |= f.type == kGoaway;
  std::cout << "[ observed ] CONTINUATION flood: connection closed "
            << (goaway ? "after a GOAWAY" : "without a GOAWAY") << "\n";
  for (const Frame& f : client.frames()) EXPECT_NE(f.type, kHeaders) << describe(f);
  expectHealthy();
}

// --- 4. SETTINGS with too many entries (CVE-2020-11080) ---

TEST_F(Http2Abuse, SettingsWithTooManyEntriesGetsGoaway) {
  start();
  H2Client client;
  ASSERT_TRUE(client.connect(port_)) << client.error();
  Settings settings(100, {kHeaderTableSize, 4096});
  ASSERT_TRUE(client.send(settingsFrame(settings))) << client.error();
  std::optional<Frame> goaway = client.waitGoaway(deadlineIn(3s));
  ASSERT_TRUE(goaway) << client.error() << client.describeFrames();
  EXPECT_EQ(goaway->errorCode(), kEnhanceYourCalm) << describe(*goaway);
  EXPECT_TRUE(client.waitClosed(deadlineIn(3s))) << client.describeFrames();
  expectHealthy();
}

// --- 5. PING flood from a client that reads nothing ---

TEST_F(Http2Abuse, PingFloodWithoutReadingKeepsMemoryBounded) {
  start();
  const uint64_t rss_before = procStatusKiB(remora_.pid(), "VmHWM");
  H2Client flooder;
  ASSERT_TRUE(flooder.connect(port_)) << flooder.error();
  // 2M PINGs, 34 MB: far more than the kernel's socket buffers (a few MB on loopback) hold, so
  // remora has to take them.
  constexpr size_t kBatches = 2000;
  std::string batch;
  for (uint64_t i = 0; i < 1000; ++i) batch += pingFrame(i);

  std::atomic<size_t> sent{0};
  std::atomic<bool> flooding{true};
  // How the flood ended, for the log: once nghttp2 finds too many ACKs queued, remora closes the
  // session and discards what still arrives while it lingers, so every write may succeed; with
  // only the output watermark, remora stops reading and the writes stall.
  enum class End { AllSent, Stalled, Closed } end = End::AllSent;
  std::thread flood([&] {
    // As fast as the socket takes them; a batch that does not go out within 500 ms means remora
    // stopped reading.
    const Deadline until = deadlineIn(3s);
    while (sent < kBatches && Clock::now() < until) {
      if (flooder.socket().sendAll(batch, std::min(until, deadlineIn(500ms)))) {
        ++sent;
        continue;
      }
      end = flooder.socket().status() == IoStatus::Timeout ? End::Stalled : End::Closed;
      break;
    }
    flooding = false;
  });
  // Another client meanwhile: every request is answered, and promptly.
  std::vector<std::string> failures;
  std::chrono::milliseconds slowest{0};
  int requests = 0;
  do {
    const Clock::time_point before = Clock::now();
    HttpResponse r = httpGet(port_, "/", {}, deadlineIn(2s));
    slowest = std::max(slowest, msSince(before));
    ++requests;
    if (r.status != 200) failures.push_back(r.error.empty() ? std::to_string(r.status) : r.error);
  } while (flooding);
  flood.join();

  const uint64_t rss = procStatusKiB(remora_.pid(), "VmRSS");
  const uint64_t peak = procStatusKiB(remora_.pid(), "VmHWM");
  std::cout << "[ measure  ] PING flood: " << sent * 1000 << " PINGs sent, then "
            << (end == End::AllSent   ? "all taken"
                : end == End::Stalled ? "remora stopped reading"
                                      : "remora closed the connection")
            << "; RSS " << rss << " KiB, peak " << rss_before << " -> " << peak << " KiB; "
            << requests << " requests meanwhile, slowest " << slowest.count() << " ms\n";
  const bool flooder_closed = flooder.waitClosed(deadlineIn(3s));
  size_t acks = 0;
  for (const Frame& f : flooder.frames()) acks += f.type == kPing && f.has(kAck);
  std::cout << "[ observed ] flooder connection " << (flooder_closed ? "closed" : "open") << ", "
            << acks << " PING ACKs read back; last frame: "
            << (flooder.frames().empty() ? "none" : describe(flooder.frames().back())) << "\n";
  EXPECT_GT(rss, 0u);
  EXPECT_LT(rss, kMaxRssKiB);
  EXPECT_LT(peak, kMaxRssKiB);
  EXPECT_LT(peak - std::min(peak, rss_before), kMaxRssGrowthKiB) << "peak before: " << rss_before;
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  EXPECT_LT(slowest, 1000ms);
  // And afterwards.
  const Clock::time_point before = Clock::now();
  expectHealthy();
  EXPECT_LT(msSince(before), 1000ms);
}

// --- 6. HEADERS on a lower stream id that was never opened ---

TEST_F(Http2Abuse, HeadersOnLowerNeverOpenedStreamGetsProtocolError) {
  start();
  H2Client client;
  ASSERT_TRUE(client.connect(port_)) << client.error();
  ASSERT_TRUE(client.send(getRequest(5, "/")));
  std::optional<Frame> response =
      client.readUntil([](const Frame& f) { return f.type == kHeaders && f.stream == 5; });
  ASSERT_TRUE(response) << client.describeFrames();
  EXPECT_EQ(response->status(), 200);
  // Opening 5 closed the idle streams 1 and 3 (RFC 9113 5.1.1).
  ASSERT_TRUE(client.send(getRequest(3, "/")));
  std::optional<Frame> goaway = client.waitGoaway(deadlineIn(3s));
  ASSERT_TRUE(goaway) << client.describeFrames();
  EXPECT_EQ(goaway->errorCode(), kProtocolError) << describe(*goaway);
  EXPECT_EQ(goaway->lastStreamId(), 5u) << describe(*goaway);
  for (const Frame& f : client.frames()) EXPECT_NE(f.stream, 3u) << describe(f);
  EXPECT_TRUE(client.waitClosed(deadlineIn(3s))) << client.describeFrames();
}

// --- 7. Request head limits on HTTP/2 ---

TEST_F(Http2Abuse, TooManyRequestFieldsGet431) {
  start("    max_request_headers_count: 5\n");
  // curl adds user-agent and accept: 2 + 1 fields pass, 2 + 10 do not.
  CommandResult few = curlH2(port_, "/", {"-H", "x-one: 1"});
  EXPECT_EQ(few.out, "200 2") << few.err;
  std::vector<std::string> many;
  for (int i = 0; i < 10; ++i) {
    many.push_back("-H");
    many.push_back("x-field-" + std::to_string(i) + ": " + std::to_string(i));
  }
  CommandResult curl = curlH2(port_, "/", many);
  EXPECT_EQ(curl.exit_code, 0) << curl.err;
  EXPECT_EQ(curl.out, "431 2") << curl.err;

  // The same from the frame client, without curl's own fields.
  H2Client client;
  ASSERT_TRUE(client.connect(port_)) << client.error();
  HeaderList fields;
  for (int i = 0; i < 10; ++i) fields.emplace_back("x-field-" + std::to_string(i), "v");
  ASSERT_TRUE(client.send(getRequest(1, "/", fields)));
  std::optional<Frame> response =
      client.readUntil([](const Frame& f) { return f.type == kHeaders && f.stream == 1; });
  ASSERT_TRUE(response) << client.describeFrames();
  EXPECT_EQ(response->status(), 431) << describe(*response);
}

TEST_F(Http2Abuse, TooLargeRequestHeadGets431) {
  start("    max_request_headers_bytes: 1KiB\n");
  CommandResult small = curlH2(port_, "/", {"-H", "x-small: " + std::string(100, 'a')});
  EXPECT_EQ(small.out, "200 2") << small.err;
  CommandResult curl = curlH2(port_, "/", {"-H", "x-big: " + std::string(4096, 'a')});
  EXPECT_EQ(curl.exit_code, 0) << curl.err;
  EXPECT_EQ(curl.out, "431 2") << curl.err;

  H2Client client;
  ASSERT_TRUE(client.connect(port_)) << client.error();
  ASSERT_TRUE(client.send(getRequest(1, "/", {{"x-big", std::string(4096, 'b')}})));
  std::optional<Frame> response =
      client.readUntil([](const Frame& f) { return f.type == kHeaders && f.stream == 1; });
  ASSERT_TRUE(response) << client.describeFrames();
  EXPECT_EQ(response->status(), 431) << describe(*response);
  // Only that stream was refused: the connection serves the next request.
  ASSERT_TRUE(client.send(getRequest(3, "/")));
  response = client.readUntil([](const Frame& f) { return f.type == kHeaders && f.stream == 3; });
  ASSERT_TRUE(response) << client.describeFrames();
  EXPECT_EQ(response->status(), 200) << describe(*response);
}

// --- 8. Listener protocols ---

TEST_F(Http2Abuse, Http2OnlyListenerGivesHttp1NoAnswer) {
  start("    protocol: http2\n");
  Socket socket = Socket::connectTo(port_, deadlineIn(2s));
  ASSERT_TRUE(socket.valid()) << socket.error();
  ASSERT_TRUE(socket.sendAll(formatRequest("GET", "/"), deadlineIn(2s)));
  const std::string reply = socket.readToEof(deadlineIn(3s));
  EXPECT_EQ(socket.status(), IoStatus::Eof) << "connection still open: " << socket.error();
  EXPECT_EQ(reply.find("HTTP/1"), std::string::npos) << reply;
  CommandResult curl =
      runCommand({"curl", "-sS", "--http1.1", "-o", "/dev/null", "-w", "%{http_code}", "--max-time",
                  "3", "http://127.0.0.1:" + std::to_string(port_) + "/"},
                 deadlineIn(5s));
  EXPECT_NE(curl.exit_code, 0);
  EXPECT_EQ(curl.out, "000") << curl.err;
  expectHealthy();
}

TEST_F(Http2Abuse, Http1OnlyListenerAnswersThePrefaceAsHttp1) {
  start("    protocol: http1\n");
  Socket socket = Socket::connectTo(port_, deadlineIn(2s));
  ASSERT_TRUE(socket.valid()) << socket.error();
  ASSERT_TRUE(socket.sendAll(std::string(kClientPreface) + settingsFrame({}), deadlineIn(2s)));
  HttpResponse response = readResponse(socket, deadlineIn(3s));
  EXPECT_GE(response.status, 400) << response;
  EXPECT_LT(response.status, 600) << response;
  EXPECT_EQ(response.version, "HTTP/1.1") << response;
  std::cout << "[ observed ] h2c preface on an http1 listener: " << response.status << " "
            << response.reason << "\n";
}

// --- 9. The concurrent stream limit ---

TEST_F(Http2Abuse, StreamBeyondMaxConcurrentStreamsIsRefused) {
  start("    http2: {max_concurrent_streams: 2}\n");
  H2Client client;
  // Until the client acknowledges the SETTINGS, nghttp2 refuses streams over the new limit one by
  // one; after the ACK it ends the connection (the test below).
  client.setAutoAckSettings(false);
  ASSERT_TRUE(client.connect(port_)) << client.error();
  std::optional<Frame> settings =
      client.readUntil([](const Frame& f) { return f.type == kSettings && !f.has(kAck); });
  ASSERT_TRUE(settings) << client.describeFrames();
  EXPECT_EQ(settings->setting(kMaxConcurrentStreams), 2u) << describe(*settings);
  ASSERT_TRUE(client.send(getRequest(1, "/hold") + getRequest(3, "/hold")));
  ASSERT_TRUE(waitUntil([&] { return hold_.requestCount() >= 2; }, deadlineIn(3s)));
  ASSERT_TRUE(client.send(getRequest(5, "/hold")));
  std::optional<Frame> reply =
      client.readUntil([](const Frame& f) { return f.stream == 5 || f.type == kGoaway; });
  ASSERT_TRUE(reply) << client.describeFrames();
  EXPECT_EQ(reply->type, kRstStream) << describe(*reply);
  EXPECT_EQ(reply->errorCode(), kRefusedStream) << describe(*reply);
  // The held streams and the connection live on.
  ASSERT_TRUE(client.send(pingFrame(7)));
  std::optional<Frame> pong = client.readUntil(
      [](const Frame& f) { return f.type == kGoaway || (f.type == kPing && f.has(kAck)); });
  ASSERT_TRUE(pong) << client.describeFrames();
  EXPECT_EQ(pong->type, kPing) << describe(*pong);
  EXPECT_EQ(hold_.requestCount(), 2u);
}

TEST_F(Http2Abuse, StreamBeyondAcknowledgedMaxConcurrentStreamsEndsTheConnection) {
  start("    http2: {max_concurrent_streams: 2}\n");
  H2Client client;
  ASSERT_TRUE(client.connect(port_)) << client.error();
  // The reader acknowledges remora's SETTINGS; a PING answered after it proves remora has the ACK.
  ASSERT_TRUE(client.send(pingFrame(1)));
  ASSERT_TRUE(client.readUntil([](const Frame& f) { return f.type == kPing && f.has(kAck); }))
      << client.describeFrames();
  ASSERT_TRUE(client.send(getRequest(1, "/hold") + getRequest(3, "/hold")));
  ASSERT_TRUE(waitUntil([&] { return hold_.requestCount() >= 2; }, deadlineIn(3s)));
  ASSERT_TRUE(client.send(getRequest(5, "/hold")));
  std::optional<Frame> reply =
      client.readUntil([](const Frame& f) { return f.stream == 5 || f.type == kGoaway; });
  ASSERT_TRUE(reply) << client.describeFrames();
  // nghttp2 makes this a connection error, which RFC 9113 5.4.1 allows for any stream error: the
  // client ignored a limit it had acknowledged, and its held streams end with the connection.
  EXPECT_EQ(reply->type, kGoaway) << describe(*reply);
  EXPECT_EQ(reply->errorCode(), kProtocolError) << describe(*reply);
  EXPECT_EQ(reply->lastStreamId(), 3u) << describe(*reply);
  EXPECT_TRUE(client.waitClosed(deadlineIn(3s))) << client.describeFrames();
  EXPECT_EQ(hold_.requestCount(), 2u);
}

// A request body that stops coming is answered 408 after the listener's idle_timeout, and the
// stream is reset so it does not stay open waiting for it (as a stalled HTTP/1.1 body is).
TEST(Http2BodyTimeout, StalledRequestBodyGets408AndTheStreamEnds) {
  ScriptedUpstream upstream([](UpstreamConnection& connection) {
    if (!connection.readRequestHead()) return;
    connection.waitClosed(deadlineIn(20s));
  });
  Remora remora;
  ASSERT_TRUE(remora.start(render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    idle_timeout: 1s
    routes:
      - match: {prefix: /again}
        direct_response: {status: 200, body: "again\n"}
      - match: {prefix: /}
        cluster: backend
clusters:
  - name: backend
    endpoints: ["{{backend}}"]
)",
                                  {{"backend", upstream.address()}})));
  H2Client client;
  ASSERT_TRUE(client.connect(remora.port("edge"))) << client.error();
  ASSERT_TRUE(
      client.send(headersFrame(1, requestBlock("/upload", "localhost", {}, "POST"), kEndHeaders)));
  ASSERT_TRUE(client.send(dataFrame(1, "the start of a body that never ends", false)));
  std::optional<Frame> response = client.readUntil(
      [](const Frame& f) { return f.type == kHeaders && f.stream == 1; }, deadlineIn(10s));
  ASSERT_TRUE(response.has_value()) << client.describeFrames();
  EXPECT_EQ(response->status(), 408) << client.describeFrames();
  std::optional<Frame> reset = client.readUntil(
      [](const Frame& f) { return f.type == kRstStream && f.stream == 1; }, deadlineIn(10s));
  ASSERT_TRUE(reset.has_value()) << client.describeFrames();
  EXPECT_EQ(reset->errorCode(), kNoError);
  // The connection itself is fine.
  ASSERT_TRUE(client.send(getRequest(3, "/again")));
  EXPECT_TRUE(client
                  .readUntil([](const Frame& f) { return f.type == kHeaders && f.stream == 3; },
                             deadlineIn(10s))
                  .has_value())
      << client.describeFrames();
}

}  // namespace
}  // namespace remora::harness
