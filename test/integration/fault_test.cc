// The fault filter in a real remora: a 10% abort within 1% over 10,000 requests, delays, gRPC
// aborts, faults chosen by a trusted client's headers (and ignored from an untrusted one), and
// max_active.
#include <chrono>
#include <future>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

// `edge` (loopback: trusted) and `public` (trusted: false) run `filter` before a direct 200.
constexpr char kConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 2
listeners:
  - name: edge
    address: "127.0.0.1:0"
    filters:
      - fault: {{filter}}
    routes:
      - match: {prefix: /}
        direct_response: {status: 200, body: "ok"}
  - name: public
    address: "127.0.0.1:0"
    trusted: false
    filters:
      - fault: {{filter}}
    routes:
      - match: {prefix: /}
        direct_response: {status: 200, body: "ok"}
)";

struct FaultFixture {
  Remora remora;
  ::testing::AssertionResult started{false};
  explicit FaultFixture(const std::string& filter) {
    started = remora.start(render(kConfig, {{"filter", filter}}));
  }
  double injected(const std::string& kind) {
    return metricValue(remora.adminGet("/metrics").body, "remora_faults_injected_total",
                       {{"listener", "edge"}, {"kind", kind}});
  }
};

TEST(Fault, TenPercentAbortedWithinOnePercentOverTenThousandRequests) {
  FaultFixture f("{abort: {status: 503, percent: 10}}");
  ASSERT_TRUE(f.started);
  HttpClient client(f.remora.port("edge"));
  int aborted = 0;
  for (int i = 0; i < 10000; ++i) {
    HttpResponse r = client.request("GET", "/", {{"host", "app"}});
    ASSERT_TRUE(r.status == 200 || r.status == 503) << r;
    if (r.status == 503) {
      ++aborted;
      EXPECT_EQ(r.body, "fault injected\n");
    }
  }
  EXPECT_NEAR(aborted, 1000, 100);
  EXPECT_EQ(f.injected("abort"), aborted);
}

TEST(Fault, ADelayHoldsTheRequestThenItGoesOn) {
  FaultFixture f("{delay: {duration: 300ms}}");
  ASSERT_TRUE(f.started);
  const auto start = Clock::now();
  HttpResponse r = httpGet(f.remora.port("edge"), "/");
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_GE(Clock::now() - start, 300ms);
  EXPECT_EQ(f.injected("delay"), 1);
}

TEST(Fault, AGrpcAbortIsATrailersOnlyReplyWithTheStatus) {
  FaultFixture f("{abort: {grpc_status: 14}}");
  ASSERT_TRUE(f.started);
  HttpResponse r = httpGet(f.remora.port("edge"), "/pkg.Service/Method");
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.headers.get("content-type"), "application/grpc");
  EXPECT_EQ(r.headers.get("grpc-status"), "14");
  EXPECT_EQ(r.body, "");
}

TEST(Fault, HeadersChooseFaultsOnATrustedListenerOnly) {
  FaultFixture f("{headers: true}");
  ASSERT_TRUE(f.started);
  const HeaderList abort = {{"host", "app"}, {"x-remora-fault-abort", "418"}};
  EXPECT_EQ(httpGet(f.remora.port("edge"), "/", abort).status, 418);
  EXPECT_EQ(httpGet(f.remora.port("edge"), "/", {{"host", "app"}}).status, 200);
  // A percentage of 0 asked for: never.
  const HeaderList never = {
      {"host", "app"}, {"x-remora-fault-abort", "418"}, {"x-remora-fault-abort-percent", "0"}};
  EXPECT_EQ(httpGet(f.remora.port("edge"), "/", never).status, 200);
  // From an untrusted client, remora's own headers are dropped before any filter sees them.
  EXPECT_EQ(httpGet(f.remora.port("public"), "/", abort).status, 200);
  const auto start = Clock::now();
  EXPECT_EQ(httpGet(f.remora.port("edge"), "/", {{"host", "app"}, {"x-remora-fault-delay", "200"}})
                .status,
            200);
  EXPECT_GE(Clock::now() - start, 200ms);
  // Past the cap of an hour the header is not honoured: no delay at all.
  const double delays = f.injected("delay");
  const auto past_cap = Clock::now();
  EXPECT_EQ(
      httpGet(f.remora.port("edge"), "/", {{"host", "app"}, {"x-remora-fault-delay", "3600001"}})
          .status,
      200);
  EXPECT_LT(Clock::now() - past_cap, 1s);
  EXPECT_EQ(f.injected("delay"), delays);
}

TEST(Fault, BeyondMaxActiveRequestsGoOnUntouched) {
  FaultFixture f("{delay: {duration: 2s}, max_active: 1}");
  ASSERT_TRUE(f.started);
  auto slow = std::async(std::launch::async, [&] { return httpGet(f.remora.port("edge"), "/"); });
  // The first one is held: the next finds max_active taken and is not delayed.
  ASSERT_TRUE(waitUntil([&] { return f.injected("delay") == 1; }, deadlineIn(5s)));
  const auto start = Clock::now();
  EXPECT_EQ(httpGet(f.remora.port("edge"), "/").status, 200);
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_EQ(slow.get().status, 200);
  EXPECT_EQ(f.injected("delay"), 1);
}

}  // namespace
}  // namespace remora::harness
