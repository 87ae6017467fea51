// gRPC through remora, HTTP/2 to HTTP/2, between real grpcio peers (test/integration/grpc/peer.py):
// metadata both ways, both streaming shapes, statuses in trailers, 4 MiB messages, 50 at once,
// and a retry policy that names a gRPC status.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr char kConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /remora.test.Echo/Flaky, headers: {x-no-retry: "yes"}}
        cluster: grpc
        timeout: 30s
      - match: {prefix: /remora.test.Echo/Flaky}
        cluster: grpc
        timeout: 30s
        retry: {attempts: 3, on: [unavailable], backoff: {base: 10ms}}
      - match: {prefix: /}
        cluster: grpc
        timeout: 30s
clusters:
  - name: grpc
    protocol: http2
    endpoints: ["{{backend}}"]
)";

const std::string kPeer = std::string(REMORA_SOURCE_DIR) + "/test/integration/grpc/peer.py";

// `peer.py call --target TARGET ARGS...`: the call's outcome as the peer reports it, or the
// command's own failure (it exits non-zero only when it could not make the call at all).
struct GrpcCall {
  CommandResult run;
  json out;  // discarded when the output was not one JSON object

  // String fields of the answer, "" when absent: never throws, and a failed comparison prints
  // both strings.
  std::string text(const char* key) const { return stringAt(out, key); }
  std::string metadata(const char* which, const char* key) const {
    auto it = out.find(which);
    return it == out.end() ? "" : stringAt(*it, key);
  }

  static std::string stringAt(const json& object, const char* key) {
    auto it = object.find(key);  // end() when `object` is not an object
    return it != object.end() && it->is_string() ? it->get<std::string>() : "";
  }
  std::string describe() const {
    return "exit " + std::to_string(run.exit_code) + ": " + run.out + run.err;
  }
};

std::vector<std::string> peerArgv(std::string_view command, const std::string& target,
                                  const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"python3", kPeer, std::string(command), "--target", target};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

GrpcCall grpcCall(const std::string& target, const std::vector<std::string>& args) {
  GrpcCall call;
  call.run = runCommand(peerArgv("call", target, args), deadlineIn(60s));
  call.out = json::parse(call.run.out, nullptr, /*allow_exceptions=*/false);
  return call;
}

// True when the call ran and its answer parsed; otherwise says what the command printed.
::testing::AssertionResult completed(const GrpcCall& call) {
  if (call.run.exit_code != 0 || !call.out.is_object()) {
    return ::testing::AssertionFailure() << "peer.py call did not complete: " << call.describe();
  }
  return ::testing::AssertionSuccess();
}

std::vector<std::string> counting(int from, int to) {
  std::vector<std::string> numbers;
  for (int i = from; i < to; ++i) numbers.push_back(std::to_string(i));
  return numbers;
}

class GrpcThroughRemora : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Process>(
        std::vector<std::string>{"python3", kPeer, "serve", "--port", "0"}, dir_.path(),
        "grpc-server");
    // The server prints `listening 127.0.0.1:PORT` once bound; an early exit (grpcio missing)
    // ends the wait too, and is reported with its stderr.
    ASSERT_TRUE(waitUntil(
        [&] { return server_->out().find('\n') != std::string::npos || !server_->running(); },
        deadlineIn(30s)))
        << "the gRPC server printed no port line: " << server_->err();
    const std::string line = server_->out().substr(0, server_->out().find('\n'));
    ASSERT_TRUE(line.starts_with("listening ")) << line << server_->err();
    backend_ = line.substr(std::string_view("listening ").size());

    // Every method once straight at the server: a failure here is the peer's, not remora's.
    CommandResult direct = runCommand(peerArgv("check", backend_, {}), deadlineIn(60s));
    ASSERT_EQ(direct.exit_code, 0)
        << "the gRPC peer fails without remora: " << direct.out << direct.err << server_->err();

    ASSERT_TRUE(remora_.start(render(kConfig, {{"backend", backend_}})));
    target_ = "127.0.0.1:" + std::to_string(remora_.port("edge"));
  }

  void TearDown() override {
    if (HasFailure() && server_) std::cerr << "gRPC server stderr:\n" << server_->err() << "\n";
  }

  TempDir dir_;
  std::unique_ptr<Process> server_;
  std::string backend_;
  Remora remora_;
  std::string target_;  // remora's listener
};

TEST_F(GrpcThroughRemora, UnaryWithMetadataBothWays) {
  GrpcCall call = grpcCall(target_, {"--metadata", "x-test=from-client", "say", "hello", "grpc"});
  ASSERT_TRUE(completed(call));
  EXPECT_EQ(call.text("code"), "OK") << call.describe();
  EXPECT_EQ(call.out["messages"], json({"hello grpc"})) << call.describe();
  // The request's metadata reached the server, and its answer came back as response headers
  // and as trailers after the message.
  EXPECT_EQ(call.metadata("initial_metadata", "x-test"), "from-client") << call.describe();
  EXPECT_EQ(call.metadata("trailing_metadata", "x-test-trailer"), "from-client") << call.describe();
}

TEST_F(GrpcThroughRemora, ServerStreamingHundredMessages) {
  GrpcCall call = grpcCall(target_, {"count", "100"});
  ASSERT_TRUE(completed(call));
  EXPECT_EQ(call.text("code"), "OK") << call.describe();
  EXPECT_EQ(call.out["messages"], json(counting(0, 100))) << call.describe();
}

TEST_F(GrpcThroughRemora, ClientStreamingHundredMessages) {
  std::vector<std::string> args = {"sum"};
  for (const std::string& n : counting(1, 101)) args.push_back(n);
  GrpcCall call = grpcCall(target_, args);
  ASSERT_TRUE(completed(call));
  EXPECT_EQ(call.text("code"), "OK") << call.describe();
  EXPECT_EQ(call.out["messages"], json({"5050"})) << call.describe();
}

// The status travels in grpc-status/grpc-message: in trailers after response headers, or in the
// single HEADERS frame of a trailers-only response. The client must see exactly what the server
// chose, not a status remora or the gRPC library made up (a failed connection would also be
// UNAVAILABLE, but never with these details).
TEST_F(GrpcThroughRemora, StatusAndDetailsPassThrough) {
  for (const std::string status : {"UNAVAILABLE", "NOT_FOUND"}) {
    GrpcCall call = grpcCall(target_, {"fail", status});
    ASSERT_TRUE(completed(call));
    EXPECT_EQ(call.text("code"), status) << call.describe();
    EXPECT_EQ(call.text("details"), "asked to fail") << call.describe();
    EXPECT_EQ(call.metadata("initial_metadata", "x-fail"), status) << call.describe();

    GrpcCall only = grpcCall(target_, {"fail", status, "--trailers-only"});
    ASSERT_TRUE(completed(only));
    EXPECT_EQ(only.text("code"), status) << only.describe();
    EXPECT_EQ(only.text("details"), "asked to fail") << only.describe();
  }
  // grpc-status is counted per cluster, whether it came in trailers or alone in the headers.
  const std::string metrics = remora_.adminGet("/metrics").body;
  EXPECT_EQ(metricValue(metrics, "remora_upstream_grpc_responses_total",
                        {{"cluster", "grpc"}, {"grpc_status", "14"}}),
            2)
      << metrics;
  EXPECT_EQ(metricValue(metrics, "remora_upstream_grpc_responses_total",
                        {{"cluster", "grpc"}, {"grpc_status", "5"}}),
            2)
      << metrics;
}

// A server that answers UNAVAILABLE twice: a route whose retry policy names `unavailable` turns
// that into a successful call, and the client never sees the failures.
TEST_F(GrpcThroughRemora, UnavailableIsRetriedByAPolicyThatNamesIt) {
  GrpcCall call = grpcCall(target_, {"flaky", "twice", "2"});
  ASSERT_TRUE(completed(call));
  EXPECT_EQ(call.text("code"), "OK") << call.describe();
  EXPECT_EQ(call.out["messages"], json({"attempt 3"})) << call.describe();
  const std::string metrics = remora_.adminGet("/metrics").body;
  EXPECT_EQ(metricValue(metrics, "remora_upstream_retries_total", {{"cluster", "grpc"}}), 2)
      << metrics;
}

// More failures than attempts: the last try's status reaches the client as the server sent it.
TEST_F(GrpcThroughRemora, UnavailableBeyondTheAttemptsReachesTheClient) {
  GrpcCall call = grpcCall(target_, {"flaky", "always", "100"});
  ASSERT_TRUE(completed(call));
  EXPECT_EQ(call.text("code"), "UNAVAILABLE") << call.describe();
  // The first try and three retries.
  EXPECT_EQ(call.text("details"), "flaky attempt 4") << call.describe();
}

// Without a policy naming it, a gRPC status is the server's answer, passed on once.
TEST_F(GrpcThroughRemora, UnavailableIsNotRetriedWithoutAPolicy) {
  GrpcCall call = grpcCall(target_, {"--metadata", "x-no-retry=yes", "flaky", "once", "1"});
  ASSERT_TRUE(completed(call));
  EXPECT_EQ(call.text("code"), "UNAVAILABLE") << call.describe();
  EXPECT_EQ(call.text("details"), "flaky attempt 1") << call.describe();
  GrpcCall again = grpcCall(target_, {"--metadata", "x-no-retry=yes", "flaky", "once", "1"});
  ASSERT_TRUE(completed(again));
  EXPECT_EQ(again.text("code"), "OK") << again.describe();
}

TEST_F(GrpcThroughRemora, FourMiBMessageBothWays) {
  constexpr int kBytes = 4 * 1024 * 1024;
  GrpcCall call = grpcCall(target_, {"say", "--size", std::to_string(kBytes)});
  ASSERT_TRUE(completed(call));
  EXPECT_EQ(call.text("code"), "OK") << call.describe();
  EXPECT_EQ(call.out["sizes"], json({kBytes})) << call.describe();
  // The peer compares the echo with what it sent, byte for byte.
  EXPECT_EQ(call.out["echo_ok"], true) << call.describe();
}

TEST_F(GrpcThroughRemora, FiftyConcurrentCallsOnOneConnection) {
  GrpcCall call = grpcCall(target_, {"concurrent", "--calls", "50"});
  ASSERT_TRUE(completed(call));
  EXPECT_EQ(call.out["ok"], 50) << call.describe();
  EXPECT_EQ(call.out["mismatched"], 0) << call.describe();
}

TEST_F(GrpcThroughRemora, FiftyConcurrentCallsFromFiveClients) {
  // Five clients at once, each with ten calls in flight: five downstream connections sharing
  // the upstream side.
  std::vector<std::unique_ptr<Process>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(
        std::make_unique<Process>(peerArgv("call", target_, {"concurrent", "--calls", "10"}),
                                  dir_.path(), "client-" + std::to_string(i)));
  }
  const Deadline deadline = deadlineIn(60s);
  for (std::unique_ptr<Process>& client : clients) {
    std::optional<int> exit = client->waitExit(deadline);
    ASSERT_EQ(exit.value_or(-1), 0) << client->out() << client->err();
    json out = json::parse(client->out(), nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(out.is_object()) << client->out();
    EXPECT_EQ(out["ok"], 10) << client->out();
    EXPECT_EQ(out["mismatched"], 0) << client->out();
  }
}

}  // namespace
}  // namespace remora::harness
