// remora's admin listener: readiness and its manual override, /clusters and /config_dump JSON,
// and /metrics counting traffic in a form promtool accepts.
#include <chrono>
#include <nlohmann/json.hpp>

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
      - match: {prefix: /hello}
        cluster: backend
clusters:
  - name: backend
    endpoints: ["{{backend}}"]
)";

// Whether `needle` appears in any key, string or number of the document (the exact shape of
// /clusters and /config_dump is remora's to choose; their content is not).
bool mentions(const nlohmann::json& j, const std::string& needle) {
  switch (j.type()) {
    case nlohmann::json::value_t::object:
      for (const auto& [key, value] : j.items()) {
        if (key.find(needle) != std::string::npos || mentions(value, needle)) return true;
      }
      return false;
    case nlohmann::json::value_t::array:
      for (const auto& value : j) {
        if (mentions(value, needle)) return true;
      }
      return false;
    case nlohmann::json::value_t::string:
      return j.get<std::string>().find(needle) != std::string::npos;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return j.dump() == needle;
    default:
      return false;
  }
}

class Admin : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(remora_.start(render(kConfig, {{"backend", nginx_.address()}})));
  }

  int readyStatus() { return remora_.adminGet("/ready").status; }

  Nginx nginx_{Nginx::fixed("/hello", 200, "hello\n")};
  Remora remora_;
};

TEST_F(Admin, ReadyWhenServing) {
  HttpResponse r = remora_.adminGet("/ready");
  EXPECT_EQ(r.status, 200) << r;
}

TEST_F(Admin, HealthcheckFailAndOkToggleReadiness) {
  HttpResponse fail = remora_.adminPost("/healthcheck/fail");
  EXPECT_EQ(fail.status, 200) << fail;
  EXPECT_TRUE(waitUntil([&] { return readyStatus() == 503; }, deadlineIn(2s)));
  HttpResponse ok = remora_.adminPost("/healthcheck/ok");
  EXPECT_EQ(ok.status, 200) << ok;
  EXPECT_TRUE(waitUntil([&] { return readyStatus() == 200; }, deadlineIn(2s)));
}

TEST_F(Admin, ClustersIsJsonWithEveryEndpoint) {
  HttpResponse r = remora_.adminGet("/clusters");
  ASSERT_EQ(r.status, 200) << r;
  nlohmann::json clusters = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(clusters.is_discarded()) << "not JSON: " << r.body;
  EXPECT_TRUE(mentions(clusters, "backend")) << r.body;
  EXPECT_TRUE(mentions(clusters, std::to_string(nginx_.port()))) << r.body;
}

TEST_F(Admin, ConfigDumpIsJsonOfTheEffectiveConfig) {
  HttpResponse r = remora_.adminGet("/config_dump");
  ASSERT_EQ(r.status, 200) << r;
  nlohmann::json dump = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(dump.is_discarded()) << "not JSON: " << r.body;
  EXPECT_TRUE(mentions(dump, "edge")) << r.body;
  EXPECT_TRUE(mentions(dump, "backend")) << r.body;
  EXPECT_TRUE(mentions(dump, "/hello")) << r.body;
}

TEST_F(Admin, MetricsCountTraffic) {
  auto scrape = [&] { return remora_.adminGet("/metrics"); };
  HttpResponse before = scrape();
  ASSERT_EQ(before.status, 200) << before;
  EXPECT_EQ(before.headers.get("content-type").value_or("").rfind("text/plain", 0), 0u) << before;

  uint16_t port = remora_.port("edge");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(httpGet(port, "/hello").status, 200);
  EXPECT_EQ(httpGet(port, "/no-route").status, 404);

  auto delta = [&](const std::string& text, std::string_view name,
                   const std::map<std::string, std::string>& labels) {
    return metricValue(text, name, labels) - metricValue(before.body, name, labels);
  };
  // Workers report in batches: poll until the 404 (the last request) shows up.
  std::string after;
  EXPECT_TRUE(waitUntil(
      [&] {
        after = scrape().body;
        return delta(after, "remora_downstream_requests_total",
                     {{"listener", "edge"}, {"code", "404"}}) >= 1;
      },
      deadlineIn(3s)))
      << after;
  EXPECT_EQ(
      delta(after, "remora_downstream_requests_total", {{"listener", "edge"}, {"code", "200"}}), 3)
      << after;
  EXPECT_EQ(
      delta(after, "remora_downstream_requests_total", {{"listener", "edge"}, {"code", "404"}}), 1)
      << after;
  EXPECT_EQ(
      delta(after, "remora_upstream_requests_total", {{"cluster", "backend"}, {"code", "200"}}), 3)
      << after;
  EXPECT_GE(delta(after, "remora_downstream_request_duration_seconds_count", {}), 4) << after;
  EXPECT_EQ(
      delta(after, "remora_upstream_request_duration_seconds_count", {{"cluster", "backend"}}), 3)
      << after;
  EXPECT_NE(after.find("remora_downstream_request_duration_seconds_bucket"), std::string::npos);
}

TEST_F(Admin, MetricsPassPromtool) {
  httpGet(remora_.port("edge"), "/hello");
  httpGet(remora_.port("edge"), "/no-route");
  HttpResponse metrics = remora_.adminGet("/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics;
  CommandResult promtool =
      runCommand({"promtool", "check", "metrics"}, deadlineIn(10s), metrics.body);
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out << promtool.err << "\n" << metrics.body;
}

}  // namespace
}  // namespace remora::harness
