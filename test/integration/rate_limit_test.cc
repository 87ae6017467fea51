// The rate_limit filter in a real remora: a limit held across two workers under four times its
// rate, the 429's headers and the metric, shadow mode, and one bucket per key on a route.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

constexpr char kConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 2
listeners:
  - name: edge
    address: "127.0.0.1:0"
    filters:
{{listener_filters}}
    routes:
      - match: {prefix: /keyed}
        cluster: app
        filters:
          - rate_limit: {requests_per_second: 0.001, burst: 3, key: {header: x-api-key}}
      - match: {prefix: /}
        cluster: app
clusters:
  - name: app
    endpoints: ["{{app}}"]
)";

struct RateLimitFixture {
  ScriptedUpstream app{ScriptedUpstream::respondWith(200, "ok")};
  Remora remora;
  ::testing::AssertionResult started{false};

  explicit RateLimitFixture(const std::string& listener_filter) {
    started = remora.start(
        render(kConfig, {{"listener_filters", listener_filter}, {"app", app.address()}}));
  }

  double rateLimited(const std::string& mode) {
    return metricValue(remora.adminGet("/metrics").body, "remora_rate_limited_total",
                       {{"listener", "edge"}, {"mode", mode}});
  }
};

TEST(RateLimit, AHundredASecondUnderFourHundredOfferedForTenSecondsAcrossTwoWorkers) {
  RateLimitFixture f("      - rate_limit: {requests_per_second: 100, burst: 10}\n");
  ASSERT_TRUE(f.started);
  // Eight clients on connections of their own (spread over both workers), 50 requests a second
  // each, paced: 400 a second offered.
  constexpr int kClients = 8;
  constexpr auto kRun = 10s;
  std::atomic<int> admitted{0};
  std::atomic<int> limited{0};
  std::atomic<int> other{0};
  HttpResponse sample_429;
  std::atomic<bool> sampled{false};
  std::vector<std::thread> clients;
  const auto start = Clock::now();
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      HttpClient client(f.remora.port("edge"));
      auto next = start + std::chrono::microseconds(c * 2500);
      while (next < start + kRun) {
        std::this_thread::sleep_until(next);
        next += 20ms;
        HttpResponse r = client.request("GET", "/", {{"host", "app"}});
        if (r.status == 200) {
          ++admitted;
        } else if (r.status == 429) {
          ++limited;
          if (!sampled.exchange(true)) sample_429 = r;
        } else {
          ++other;
          client.connect(f.remora.port("edge"));
        }
      }
    });
  }
  for (auto& client : clients) client.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  // The limit's share of the run, plus the burst at the start.
  const double expected = 100 * elapsed + 10;
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(limited.load(), 2000);
  EXPECT_NEAR(admitted.load(), expected, expected * 0.05)
      << admitted << " admitted, " << limited << " limited in " << elapsed << " s";
  ASSERT_TRUE(sampled.load());
  EXPECT_EQ(sample_429.body, "rate limited\n");
  EXPECT_EQ(sample_429.headers.get("retry-after"), "1");
  EXPECT_EQ(sample_429.headers.get("ratelimit-limit"), "10");
  EXPECT_EQ(sample_429.headers.get("ratelimit-remaining"), "0");
  EXPECT_TRUE(sample_429.headers.get("ratelimit-reset").has_value());
  EXPECT_EQ(f.rateLimited("enforced"), limited.load());
  // Every refused request was answered by remora: none reached the upstream.
  EXPECT_EQ(static_cast<int>(f.app.requestCount()), admitted.load());
}

TEST(RateLimit, ShadowModeAdmitsEveryRequestAndCountsWhatItWouldHaveRefused) {
  RateLimitFixture f("      - rate_limit: {requests_per_second: 1, burst: 5, shadow: true}\n");
  ASSERT_TRUE(f.started);
  HttpClient client(f.remora.port("edge"));
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(client.request("GET", "/", {{"host", "app"}}).status, 200);
  }
  EXPECT_GE(f.rateLimited("shadow"), 40);
  EXPECT_EQ(f.rateLimited("enforced"), 0);
}

TEST(RateLimit, ARouteKeyedByHeaderGivesEachKeyItsOwnBucket) {
  RateLimitFixture f("      - headers: {}\n");
  ASSERT_TRUE(f.started);
  HttpClient client(f.remora.port("edge"));
  auto status = [&](const char* key) {
    HeaderList headers = {{"host", "app"}};
    if (key != nullptr) headers.push_back({"x-api-key", key});
    return client.request("GET", "/keyed", headers).status;
  };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(status("alice"), 200);
  EXPECT_EQ(status("alice"), 429);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(status("bob"), 200);
  EXPECT_EQ(status("bob"), 429);
  // Without the header, requests share a bucket of their own: leaving it out is no way around.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(status(nullptr), 200);
  EXPECT_EQ(status(nullptr), 429);
  // The route's limit leaves the others alone.
  EXPECT_EQ(client.request("GET", "/", {{"host", "app"}}).status, 200);
}

}  // namespace
}  // namespace remora::harness
