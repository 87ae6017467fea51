// The read-only probe listener (admin.probe_address): the kubelet's and Prometheus' paths work
// there, the controls do not (remora keeps running), and they still work on the full admin;
// /healthz on both.
#include <chrono>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

constexpr char kConfig[] = R"(admin: {address: "127.0.0.1:0", probe_address: "127.0.0.1:0"}
workers: 2
lifecycle: {drain_delay: 30s}
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        direct_response: {status: 200, body: "hi\n"}
)";

class AdminProbe : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(remora_.start(kConfig));
    ASSERT_NE(remora_.probePort(), 0) << remora_.logs();
    ASSERT_NE(remora_.probePort(), remora_.adminPort());
  }

  HttpResponse probe(std::string_view method, std::string_view path) {
    return httpRequest(remora_.probePort(), method, path, {{"Content-Length", "0"}});
  }

  Remora remora_;
};

TEST_F(AdminProbe, ServesReadinessLivenessAndMetrics) {
  HttpResponse ready = probe("GET", "/ready");
  EXPECT_EQ(ready.status, 200) << ready;
  HttpResponse healthz = probe("GET", "/healthz");
  EXPECT_EQ(healthz.status, 200) << healthz;
  EXPECT_EQ(healthz.body, "ALIVE\n");
  HttpResponse metrics = probe("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200) << metrics;
  EXPECT_EQ(metrics.headers.get("content-type").value_or("").rfind("text/plain", 0), 0u);
  EXPECT_NE(metrics.body.find("remora_lifecycle_state"), std::string::npos) << metrics.body;
  // HEAD: the same head, no body.
  HttpClient client(remora_.probePort());
  ASSERT_TRUE(client.send(formatRequest("HEAD", "/metrics")));
  HttpResponse head = client.readResponse(deadlineIn(5s), /*head_request=*/true);
  EXPECT_EQ(head.status, 200) << head;
  EXPECT_TRUE(head.body.empty());
  EXPECT_GT(std::stoul(head.headers.get("content-length").value_or("0")), 0u) << head;
  // Nothing else is there, GET or not.
  for (const char* path : {"/", "/clusters", "/config_dump", "/explain?listener=edge"}) {
    EXPECT_EQ(probe("GET", path).status, 404) << path;
  }
}

TEST_F(AdminProbe, RefusesTheControlsWhichStillWorkOnTheFullAdmin) {
  for (const char* path : {"/quitquitquit", "/drain", "/healthcheck/fail"}) {
    HttpResponse refused = probe("POST", path);
    EXPECT_EQ(refused.status, 404) << path << "\n" << refused;
  }
  HttpResponse wrong_method = probe("POST", "/ready");
  EXPECT_EQ(wrong_method.status, 405) << wrong_method;
  EXPECT_EQ(wrong_method.headers.get("allow"), "GET, HEAD") << wrong_method;
  EXPECT_EQ(probe("DELETE", "/metrics").status, 405);

  // Nothing happened: not quitting, not draining, not failed.
  EXPECT_TRUE(remora_.running());
  EXPECT_EQ(remora_.adminGet("/ready").status, 200);
  EXPECT_EQ(probe("GET", "/ready").status, 200);
  EXPECT_EQ(httpGet(remora_.port("edge"), "/").status, 200);

  HttpResponse quit = remora_.adminPost("/quitquitquit");
  EXPECT_EQ(quit.status, 200) << quit;
  EXPECT_EQ(remora_.waitExit(deadlineIn(10s)), 0) << remora_.logs();
}

TEST_F(AdminProbe, HealthzStaysUpWhileReadinessFailsDuringADrain) {
  ASSERT_EQ(remora_.adminPost("/drain").status, 200);
  EXPECT_TRUE(waitUntil([&] { return probe("GET", "/ready").status == 503; }, deadlineIn(5s)));
  EXPECT_EQ(probe("GET", "/healthz").status, 200);
  EXPECT_EQ(remora_.adminGet("/healthz").status, 200);
}

}  // namespace
}  // namespace remora::harness
