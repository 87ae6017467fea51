// Circuit breakers through the real binary: connections never above max_connections however many
// clients wait, overflow answered 503 with x-remora-overloaded at once, and each other limit.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

// An upstream that answers each request after `delay`. `most` is the most requests it held at
// once: each counts from its arrival until just before its answer is written, so remora cannot
// have seen that answer (and reused or replaced the connection) while it counts. Counting open
// connections instead races: a connection remora closed may not have been seen closed here yet
// when the one replacing it arrives.
struct SlowUpstream {
  explicit SlowUpstream(std::chrono::milliseconds delay, int status = 200)
      : upstream([this, delay, status](UpstreamConnection& connection) {
          ++open;
          while (connection.readRequest(deadlineIn(10s))) {
            const int now = ++held;
            int seen = most;
            while (now > seen && !most.compare_exchange_weak(seen, now)) {
            }
            std::this_thread::sleep_for(delay);
            --held;
            if (!connection.respond(status, "slow")) break;
          }
          --open;
        }) {}
  std::atomic<int> open{0};  // connections
  std::atomic<int> held{0};
  std::atomic<int> most{0};
  ScriptedUpstream upstream;
};

std::string clusterConfig(const std::string& upstream, const std::string& breaker,
                          int workers = 1) {
  return render(
      R"(admin: {address: "127.0.0.1:0"}
workers: {{workers}}
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: backend
        timeout: 30s
clusters:
  - name: backend
    endpoints: [{{upstream}}]
    circuit_breaker: {{breaker}}
)",
      {{"upstream", upstream}, {"breaker", breaker}, {"workers", std::to_string(workers)}});
}

struct Outcome {
  HttpResponse response;
  Clock::duration took;
};

// `n` clients at once, one request each.
std::vector<Outcome> burst(uint16_t port, int n) {
  std::vector<Outcome> outcomes(static_cast<size_t>(n));
  std::vector<std::thread> clients;
  std::atomic<bool> go{false};
  for (int i = 0; i < n; ++i) {
    clients.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      const auto start = Clock::now();
      outcomes[static_cast<size_t>(i)].response = httpGet(port, "/", {}, deadlineIn(30s));
      outcomes[static_cast<size_t>(i)].took = Clock::now() - start;
    });
  }
  go = true;
  for (auto& client : clients) client.join();
  return outcomes;
}

TEST(CircuitBreaker, ConnectionsStayAtTheLimitAndTheOverflowIsAnsweredAtOnce) {
  SlowUpstream slow(300ms);
  Remora remora;
  ASSERT_TRUE(remora.start(
      clusterConfig(slow.upstream.address(), "{max_connections: 4, max_pending_requests: 8}", 2)));
  const std::vector<Outcome> outcomes = burst(remora.port("edge"), 200);
  int served = 0;
  int overflowed = 0;
  std::vector<Clock::duration> overflow_times;
  for (const Outcome& outcome : outcomes) {
    if (outcome.response.status == 200) {
      ++served;
      continue;
    }
    ASSERT_EQ(outcome.response.status, 503) << outcome.response;
    EXPECT_EQ(outcome.response.headers.get("x-remora-overloaded"), "true") << outcome.response;
    overflow_times.push_back(outcome.took);
    ++overflowed;
  }
  EXPECT_LE(slow.most.load(), 4);
  // At least the four connections' and the eight waiting streams' requests.
  EXPECT_GE(served, 12);
  EXPECT_EQ(served + overflowed, 200);
  ASSERT_FALSE(overflow_times.empty());
  // Refused at once: far quicker than one upstream answer.
  std::nth_element(overflow_times.begin(), overflow_times.begin() + overflow_times.size() / 2,
                   overflow_times.end());
  EXPECT_LT(overflow_times[overflow_times.size() / 2], 300ms);
  const std::string metrics = remora.adminGet("/metrics").body;
  EXPECT_EQ(metricValue(metrics, "remora_upstream_overflow_total",
                        {{"cluster", "backend"}, {"resource", "pending_requests"}}),
            overflowed);
}

TEST(CircuitBreaker, MaxRequestsOverflowsAtOnceAndTheGaugeShowsTheBreakerOpen) {
  SlowUpstream slow(1500ms);
  Remora remora;
  ASSERT_TRUE(remora.start(clusterConfig(slow.upstream.address(), "{max_requests: 1}")));
  const uint16_t port = remora.port("edge");
  std::thread first([&] { EXPECT_EQ(httpGet(port, "/", {}, deadlineIn(10s)).status, 200); });
  ASSERT_TRUE(waitUntil([&] { return slow.open.load() == 1; }, deadlineIn(5s)));
  ASSERT_TRUE(waitUntil(
      [&] {
        return metricValue(remora.adminGet("/metrics").body, "remora_circuit_breaker_open",
                           {{"cluster", "backend"}, {"resource", "requests"}}) == 1;
      },
      deadlineIn(5s)));
  const HttpResponse second = httpGet(port, "/");
  EXPECT_EQ(second.status, 503);
  EXPECT_EQ(second.headers.get("x-remora-overloaded"), "true");
  first.join();
  EXPECT_EQ(metricValue(remora.adminGet("/metrics").body, "remora_upstream_overflow_total",
                        {{"cluster", "backend"}, {"resource", "requests"}}),
            1);
}

TEST(CircuitBreaker, AStreamThatWaitsLongerThanThePendingTimeoutIsAnswered503) {
  SlowUpstream slow(1500ms);
  Remora remora;
  ASSERT_TRUE(remora.start(
      clusterConfig(slow.upstream.address(), "{max_connections: 1, pending_timeout: 200ms}")));
  const uint16_t port = remora.port("edge");
  std::thread first([&] { EXPECT_EQ(httpGet(port, "/", {}, deadlineIn(10s)).status, 200); });
  ASSERT_TRUE(waitUntil([&] { return slow.open.load() == 1; }, deadlineIn(5s)));
  const auto start = Clock::now();
  const HttpResponse second = httpGet(port, "/");
  const auto took = Clock::now() - start;
  EXPECT_EQ(second.status, 503);
  EXPECT_EQ(second.headers.get("x-remora-overloaded"), "true");
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 1400ms);
  first.join();
}

TEST(CircuitBreaker, ConnectionsPerEndpointAreLimitedAndTheRestWait) {
  SlowUpstream slow(200ms);
  Remora remora;
  ASSERT_TRUE(
      remora.start(clusterConfig(slow.upstream.address(), "{max_connections_per_endpoint: 1}", 2)));
  const std::vector<Outcome> outcomes = burst(remora.port("edge"), 4);
  for (const Outcome& outcome : outcomes) EXPECT_EQ(outcome.response.status, 200);
  EXPECT_EQ(slow.most.load(), 1);
}

TEST(CircuitBreaker, ConcurrentRetriesAreLimited) {
  SlowUpstream failing(400ms, 503);
  Remora remora;
  ASSERT_TRUE(remora.start(render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: backend
        retry: {attempts: 1, on: [5xx], backoff: {base: 1ms, max: 2ms}}
clusters:
  - name: backend
    endpoints: [{{upstream}}]
    circuit_breaker: {max_retries: 1}
    retry_budget: {percent: 100, min_concurrency: 100}
    outlier_detection: off
)",
                                  {{"upstream", failing.upstream.address()}})));
  const std::vector<Outcome> outcomes = burst(remora.port("edge"), 3);
  for (const Outcome& outcome : outcomes) EXPECT_EQ(outcome.response.status, 503);
  const std::string metrics = remora.adminGet("/metrics").body;
  EXPECT_GE(metricValue(metrics, "remora_upstream_overflow_total",
                        {{"cluster", "backend"}, {"resource", "retries"}}),
            1);
  EXPECT_LE(metricValue(metrics, "remora_upstream_retries_total", {{"cluster", "backend"}}), 2);
}

TEST(CircuitBreaker, OffMeansNoLimit) {
  SlowUpstream slow(300ms);
  Remora remora;
  ASSERT_TRUE(remora.start(clusterConfig(slow.upstream.address(), "off")));
  const std::vector<Outcome> outcomes = burst(remora.port("edge"), 40);
  for (const Outcome& outcome : outcomes) EXPECT_EQ(outcome.response.status, 200);
  // Held together, not one after another as a limit would have them (40 x 300 ms would still
  // end within the clients' deadline).
  EXPECT_GT(slow.most.load(), 4);
}

}  // namespace
}  // namespace remora::harness
