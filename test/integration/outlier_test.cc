// The cluster's defences with their defaults, through the real binary against real upstreams: a
// dead endpoint costs (almost) no request, is ejected within a second and comes back; ejection
// reasons and limits; a passing health check ends an ejection; panic.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

// Clients sending back to back on keep-alive connections, counting answers and failures.
class Load {
 public:
  Load(uint16_t port, int clients) {
    for (int i = 0; i < clients; ++i) {
      threads_.emplace_back([this, port] {
        HttpClient client;
        while (!stop_) {
          if (!client.connected() && !client.connect(port)) {
            ++failed_;
            continue;
          }
          const HttpResponse response = client.request("GET", "/");
          if (response.status == 200) {
            ++ok_;
            std::lock_guard<std::mutex> lock(mutex_);
            bodies_.insert(response.body);
          } else {
            ++failed_;
            std::lock_guard<std::mutex> lock(mutex_);
            failures_.push_back(response.status == 0 ? response.error
                                                     : std::to_string(response.status));
          }
          if (!response.ok() ||
              hasToken(response.headers.get("connection").value_or(""), "close")) {
            client.close();
          }
        }
      });
    }
  }
  ~Load() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  int ok() const { return ok_; }
  int failed() const { return failed_; }
  // Bodies seen since the last call.
  std::set<std::string> takeBodies() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(bodies_, {});
  }
  std::vector<std::string> failures() {
    std::lock_guard<std::mutex> lock(mutex_);
    return failures_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
  std::mutex mutex_;
  std::set<std::string> bodies_;
  std::vector<std::string> failures_;
  std::vector<std::thread> threads_;
};

std::string threeEndpoints(const std::vector<std::string>& upstreams, const std::string& extra) {
  return render(R"(admin: {address: "127.0.0.1:0"}
workers: 2
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: backend
clusters:
  - name: backend
    endpoints: [{{a}}, {{b}}, {{c}}]
{{extra}}
)",
                {{"a", upstreams[0]}, {"b", upstreams[1]}, {"c", upstreams[2]}, {"extra", extra}});
}

TEST(Defences, OneOfThreeEndpointsKilledUnderLoadCostsAlmostNothingAndComesBack) {
  Nginx n1(Nginx::fixed("/", 200, "n1"));
  Nginx n2(Nginx::fixed("/", 200, "n2"));
  Nginx n3(Nginx::fixed("/", 200, "n3"));
  Remora remora;
  // Defaults, but for a short ejection so that the return is seen in the test.
  ASSERT_TRUE(remora.start(threeEndpoints({n1.address(), n2.address(), n3.address()},
                                          "    outlier_detection: {base_ejection_time: 1s}")));
  Load load(remora.port("edge"), 8);
  ASSERT_TRUE(waitUntil([&] { return load.ok() > 300; }, deadlineIn(10s)));
  EXPECT_EQ(load.takeBodies(), (std::set<std::string>{"n1", "n2", "n3"}));

  n2.kill();
  const auto killed = Clock::now();
  ASSERT_TRUE(waitUntil([&] { return remora.endpoint("backend", n2.address())["ejected"] == true; },
                        deadlineIn(5s)))
      << remora.adminGet("/clusters").body;
  EXPECT_LT(Clock::now() - killed, 1s);
  const nlohmann::json ejected = remora.endpoint("backend", n2.address());
  EXPECT_EQ(ejected["in_rotation"], false);
  EXPECT_NE(ejected["ejection"].get<std::string>().find("local-origin"), std::string::npos)
      << ejected;
  const int before = load.ok();
  ASSERT_TRUE(waitUntil([&] { return load.ok() > before + 2000; }, deadlineIn(30s)));
  load.takeBodies();

  std::string error;
  ASSERT_TRUE(n2.restart(&error)) << error;
  ASSERT_TRUE(waitUntil([&] { return load.takeBodies().contains("n2"); }, deadlineIn(15s)))
      << remora.adminGet("/clusters").body;
  load.stop();
  const int total = load.ok() + load.failed();
  RecordProperty("requests", total);
  RecordProperty("failed", load.failed());
  EXPECT_LE(load.failed() * 1000, total)
      << load.failed() << " of " << total
      << " failed: " << ::testing::PrintToString(load.failures());
  const std::string metrics = remora.adminGet("/metrics").body;
  EXPECT_GE(metricValue(metrics, "remora_outlier_ejections_total",
                        {{"cluster", "backend"}, {"reason", "consecutive_local_origin_failure"}}),
            1);
  EXPECT_EQ(metricValue(metrics, "remora_outlier_ejected", {{"cluster", "backend"}}), 0);
}

TEST(Defences, AConnectFailureGoesToAnotherEndpointWithoutARetryPolicy) {
  std::atomic<int> health{200};
  ScriptedUpstream live(ScriptedUpstream::named("live", health));
  RefusingPort refusing;
  const std::string dead = refusing.address();
  Remora remora;
  ASSERT_TRUE(remora.start(render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: backend
clusters:
  - name: backend
    endpoints: [{{live}}, {{dead}}]
    outlier_detection: off
)",
                                  {{"live", live.address()}, {"dead", dead}})));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(httpGet(remora.port("edge"), "/").body, "live");
  EXPECT_GE(metricValue(remora.adminGet("/metrics").body, "remora_upstream_retries_total",
                        {{"cluster", "backend"}}),
            5);
}

TEST(Defences, GatewayErrorsEjectAndAtMostTheAllowedShareIsOut) {
  std::atomic<int> health{200};
  ScriptedUpstream good(ScriptedUpstream::named("good", health));
  ScriptedUpstream bad1(ScriptedUpstream::respondWith(503, "bad"));
  ScriptedUpstream bad2(ScriptedUpstream::respondWith(502, "bad"));
  Remora remora;
  ASSERT_TRUE(remora.start(
      threeEndpoints({good.address(), bad1.address(), bad2.address()},
                     "    outlier_detection: {base_ejection_time: 5m, max_ejection_percent: 34}")));
  const uint16_t port = remora.port("edge");
  ASSERT_TRUE(waitUntil(
      [&] {
        httpGet(port, "/");
        return metricValue(remora.adminGet("/metrics").body, "remora_outlier_ejected",
                           {{"cluster", "backend"}}) == 1;
      },
      deadlineIn(10s)));
  // One of three may be out (34%): the other failing one stays in rotation.
  for (int i = 0; i < 30; ++i) httpGet(port, "/");
  EXPECT_EQ(metricValue(remora.adminGet("/metrics").body, "remora_outlier_ejected",
                        {{"cluster", "backend"}}),
            1);
  EXPECT_EQ(metricValue(remora.adminGet("/metrics").body, "remora_outlier_ejections_total",
                        {{"cluster", "backend"}, {"reason", "consecutive_gateway_failure"}}),
            1);
}

TEST(Defences, APassingHealthCheckEndsAnEjection) {
  std::atomic<int> health{200};
  // Answers 502 on / for a while, 200 on /health all along.
  std::atomic<bool> failing{true};
  ScriptedUpstream flaky([&](UpstreamConnection& c) {
    while (auto request = c.readRequest(deadlineIn(30s))) {
      const bool ok = request->target == "/health" ? c.respond(200, "health")
                                                   : c.respond(failing ? 502 : 200, "flaky");
      if (!ok) return;
    }
  });
  ScriptedUpstream steady(ScriptedUpstream::named("steady", health));
  Remora remora;
  ASSERT_TRUE(remora.start(render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: backend
clusters:
  - name: backend
    endpoints: [{{flaky}}, {{steady}}]
    health_check: {path: /health, interval: 300ms, timeout: 200ms}
    outlier_detection: {base_ejection_time: 5m}
)",
                                  {{"flaky", flaky.address()}, {"steady", steady.address()}})));
  const uint16_t port = remora.port("edge");
  ASSERT_TRUE(waitUntil(
      [&] {
        httpGet(port, "/");
        return remora.endpoint("backend", flaky.address())["ejected"] == true;
      },
      deadlineIn(10s)));
  failing = false;
  // A five minutes ejection, ended by the next check that passes.
  ASSERT_TRUE(
      waitUntil([&] { return remora.endpoint("backend", flaky.address())["in_rotation"] == true; },
                deadlineIn(5s)))
      << remora.adminGet("/clusters").body;
}

TEST(Defences, PanicBalancesOverEveryEndpointWhenTooFewAreHealthy) {
  std::atomic<int> up{200};
  std::atomic<int> down{503};
  ScriptedUpstream a(ScriptedUpstream::named("a", up));
  ScriptedUpstream b(ScriptedUpstream::named("b", down));
  ScriptedUpstream c(ScriptedUpstream::named("c", down));
  Remora remora;
  ASSERT_TRUE(remora.start(
      threeEndpoints({a.address(), b.address(), c.address()},
                     "    health_check: {path: /health, interval: 200ms, timeout: 200ms}")));
  ASSERT_TRUE(waitUntil([&] { return remora.cluster("backend")["panic"] == true; }, deadlineIn(5s)))
      << remora.adminGet("/clusters").body;
  EXPECT_EQ(metricValue(remora.adminGet("/metrics").body, "remora_cluster_panic",
                        {{"cluster", "backend"}}),
            1);
  std::set<std::string> seen;
  for (int i = 0; i < 30; ++i) seen.insert(httpGet(remora.port("edge"), "/").body);
  EXPECT_EQ(seen, (std::set<std::string>{"a", "b", "c"}));
  EXPECT_NE(remora.logs().find("cluster backend: panic"), std::string::npos);

  // The two recover: out of panic.
  down = 200;
  ASSERT_TRUE(
      waitUntil([&] { return remora.cluster("backend")["panic"] == false; }, deadlineIn(5s)));
  EXPECT_EQ(metricValue(remora.adminGet("/metrics").body, "remora_cluster_panic",
                        {{"cluster", "backend"}}),
            0);
}

}  // namespace
}  // namespace remora::harness
