// The admin's web page (GET /): served from the binary with its headers, only on the full admin,
// and rendered by a real browser (headless Chromium) against a running remora with a healthy and an
// ejected endpoint, and against one with two canaries (one decided through etcd, one aborted by
// hand); the screenshots are kept under the build tree.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <utility>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

// `users` has a healthy endpoint and one answering 502, which outlier detection ejects (and keeps
// out: 5 minutes); `orders` has one healthy endpoint.
constexpr char kConfig[] =
    R"(admin: {address: "127.0.0.1:0", probe_address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /users}
        cluster: users
      - match: {prefix: /orders}
        cluster: orders
clusters:
  - name: users
    endpoints: ["{{good}}", "{{bad}}"]
    outlier_detection: {base_ejection_time: 5m}
  - name: orders
    endpoints: ["{{orders}}"]
)";

// From the opening tag that holds `attribute` (e.g. `data-endpoint="127.0.0.1:80"`) to the first
// `</tag>` after it: the whole element for the page's rows, the head of a cluster's card; "" when
// the DOM has none.
std::string elementWith(const std::string& dom, const std::string& tag,
                        const std::string& attribute) {
  const size_t at = dom.find(attribute);
  if (at == std::string::npos) return "";
  const size_t open = dom.rfind("<" + tag, at);
  const size_t close = dom.find("</" + tag + ">", at);
  if (open == std::string::npos || close == std::string::npos) return "";
  return dom.substr(open, close + tag.size() + 3 - open);
}

std::string artifactPath(const std::string& name) {
  std::filesystem::create_directories(REMORA_ARTIFACT_DIR);
  return (std::filesystem::path(REMORA_ARTIFACT_DIR) / name).string();
}

class WebPage : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(remora_.start(render(
        kConfig,
        {{"good", good_.address()}, {"bad", bad_.address()}, {"orders", orders_.address()}})));
  }

  std::string pageUrl() const {
    return "http://127.0.0.1:" + std::to_string(remora_.adminPort()) + "/";
  }

  // Sends /users requests until the 502 endpoint is ejected (5 consecutive gateway errors).
  ::testing::AssertionResult ejectBadEndpoint() {
    const uint16_t port = remora_.port("edge");
    const bool ejected = waitUntil(
        [&] {
          httpGet(port, "/users");
          return remora_.endpoint("users", bad_.address())["ejected"] == true;
        },
        deadlineIn(10s));
    if (ejected) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << remora_.adminGet("/clusters").body;
  }

  std::atomic<int> health_{200};
  ScriptedUpstream good_{ScriptedUpstream::named("good", health_)};
  ScriptedUpstream bad_{ScriptedUpstream::respondWith(502, "bad gateway")};
  ScriptedUpstream orders_{ScriptedUpstream::named("orders", health_)};
  Remora remora_;
};

TEST_F(WebPage, ServedFromTheBinaryWithAStrictPolicyOnTheFullAdminOnly) {
  HttpResponse page = remora_.adminGet("/");
  ASSERT_EQ(page.status, 200) << page;
  EXPECT_EQ(page.headers.get("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(page.headers.get("cache-control"), "no-cache");
  const std::string policy = page.headers.get("content-security-policy").value_or("");
  EXPECT_NE(policy.find("script-src 'self'"), std::string::npos) << policy;
  EXPECT_EQ(policy.find("unsafe-eval"), std::string::npos) << policy;
  EXPECT_EQ(policy.find("script-src 'self' 'unsafe-inline'"), std::string::npos) << policy;
  // Byte for byte the files in the repository: the build embeds them, nothing else.
  EXPECT_EQ(page.body, readFile(std::filesystem::path(REMORA_SOURCE_DIR) / "admin/web/index.html"));
  HttpResponse script = remora_.adminGet("/app.js");
  ASSERT_EQ(script.status, 200) << script;
  EXPECT_EQ(script.headers.get("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(script.body, readFile(std::filesystem::path(REMORA_SOURCE_DIR) / "admin/web/app.js"));
  // The plain list of paths moved to /help.
  EXPECT_NE(remora_.adminGet("/help").body.find("POST /quitquitquit"), std::string::npos);

  EXPECT_EQ(httpGet(remora_.probePort(), "/").status, 404);
  EXPECT_EQ(httpGet(remora_.probePort(), "/app.js").status, 404);
}

TEST_F(WebPage, ChromiumRendersClustersAndEndpointStates) {
  const std::string chromium_binary = HeadlessChromium::find();
  // Not a skip: CI installs Debian's chromium (.ci/test-packages), and a page nobody renders is not
  // tested.
  ASSERT_FALSE(chromium_binary.empty()) << "chromium is not installed (Debian package `chromium`; "
                                           ".ci/install-test-deps installs it)";
  ASSERT_TRUE(ejectBadEndpoint());
  const nlohmann::json ejected = remora_.endpoint("users", bad_.address());
  ASSERT_NE(ejected["ejection"].get<std::string>().find("consecutive gateway errors"),
            std::string::npos)
      << ejected;
  for (int i = 0; i < 5; ++i) httpGet(remora_.port("edge"), "/orders");

  HeadlessChromium chromium(chromium_binary);
  std::string dom;
  CommandResult last;
  // The page renders on its first refresh; a few more give it rates. Another try if Chromium dumped
  // before the data came (a slow machine), until the deadline.
  const bool rendered = waitUntil(
      [&] {
        last = chromium.dumpDom(pageUrl(), 6000ms, deadlineIn(60s));
        dom = last.out;
        return last.exit_code == 0 &&
               dom.find("data-endpoint=\"" + bad_.address()) != std::string::npos;
      },
      deadlineIn(90s), 100ms);
  ASSERT_TRUE(rendered) << "exit " << last.exit_code << "\nDOM:\n"
                        << dom << "\nchromium's log:\n"
                        << last.err;

  // Both clusters, by name.
  for (const char* name : {"users", "orders"}) {
    const std::string card = elementWith(dom, "div", "data-cluster=\"" + std::string(name) + "\"");
    EXPECT_NE(card.find("<h3>" + std::string(name) + "</h3>"), std::string::npos) << dom;
  }
  // The ejected endpoint: shown as ejected, until when, and why.
  const std::string bad_row = elementWith(dom, "tr", "data-endpoint=\"" + bad_.address() + "\"");
  EXPECT_NE(bad_row.find("data-state=\"ejected\""), std::string::npos) << bad_row;
  EXPECT_NE(bad_row.find("ejected until"), std::string::npos) << bad_row;
  EXPECT_NE(bad_row.find("5 consecutive gateway errors (502, 503, 504)"), std::string::npos)
      << bad_row;
  // The healthy ones as healthy.
  for (const std::string& address : {good_.address(), orders_.address()}) {
    const std::string row = elementWith(dom, "tr", "data-endpoint=\"" + address + "\"");
    EXPECT_NE(row.find("data-state=\"healthy\""), std::string::npos) << row;
    EXPECT_NE(row.find(">healthy<"), std::string::npos) << row;
  }
  // The listener from /config_dump, and no canaries (an empty /canaries).
  EXPECT_NE(dom.find("data-listener=\"edge\""), std::string::npos) << dom;
  EXPECT_NE(dom.find("id=\"no-canaries\""), std::string::npos) << dom;
  EXPECT_EQ(dom.find("page error"), std::string::npos) << dom;

  const std::string png = artifactPath("web_page.png");
  std::filesystem::remove(png);
  CommandResult shot = chromium.screenshot(pageUrl(), png, 1280, 900, 6000ms, deadlineIn(60s));
  EXPECT_EQ(shot.exit_code, 0) << shot.err;
  ASSERT_TRUE(std::filesystem::exists(png)) << shot.err;
  EXPECT_GT(std::filesystem::file_size(png), 10000u);
  RecordProperty("screenshot", png);
  std::cout << "web page screenshot: " << png << "\n";
}

// Two canaries on a real remora: users-v2 decided through a real etcd (this remora leads) and
// held at its first step, orders-v3 decided alone and aborted by hand.
constexpr char kCanaryConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
registry:
  etcd: {endpoints: {{etcd}}, lease_ttl: 2s}
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - {name: users, match: {prefix: /users}, cluster: users}
      - {name: orders, match: {prefix: /orders}, cluster: orders}
clusters:
  - name: users
    endpoints: [{address: "{{v1}}", meta: {version: v1}}, {address: "{{v2}}", meta: {version: v2}}]
  - name: orders
    endpoints: [{address: "{{v1}}", meta: {version: v1}}, {address: "{{v2}}", meta: {version: v2}}]
canaries:
  - {name: users-v2, route: users, cluster: users, baseline: {version: v1},
     canary: {version: v2}, steps: [25, 50, 100], min_requests: 1000000}
  - {name: orders-v3, route: orders, cluster: orders, baseline: {version: v1},
     canary: {version: v2}, steps: [10, 100], fleet: false}
)";

TEST(WebPageCanaries, ChromiumRendersEachCanarysStateArmsFleetAndChart) {
  const std::string chromium_binary = HeadlessChromium::find();
  ASSERT_FALSE(chromium_binary.empty())
      << "chromium is not installed (Debian package `chromium`; .ci/install-test-deps installs it)";
  Etcd etcd(1);
  ScriptedUpstream v1(ScriptedUpstream::respondWith(200, "v1"));
  ScriptedUpstream v2(ScriptedUpstream::respondWith(200, "v2"));
  Remora remora;
  ASSERT_TRUE(remora.start(
      render(kCanaryConfig,
             {{"etcd", etcd.yamlEndpoints()}, {"v1", v1.address()}, {"v2", v2.address()}})));
  ASSERT_TRUE(waitUntil([&] { return remora.canary("users-v2")["fleet"]["leading"] == true; },
                        deadlineIn(10s)))
      << remora.adminGet("/canaries").body;
  HttpClient client(remora.port("edge"));
  constexpr int kRequests = 40;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_EQ(client.request("GET", "/users", {{"host", "users"}}).status, 200);
  }
  EXPECT_EQ(remora.adminPost("/canaries/orders-v3/abort").status, 200);
  // The counts the page will show: every request reported (workers report once a second).
  int baseline_requests = 0;
  ASSERT_TRUE(waitUntil(
      [&] {
        const nlohmann::json arms = remora.canary("users-v2")["arms"];
        baseline_requests = arms["baseline"].value("requests", 0);
        return baseline_requests + arms["canary"].value("requests", 0) == kRequests;
      },
      deadlineIn(10s)))
      << remora.adminGet("/canaries").body;

  HeadlessChromium chromium(chromium_binary);
  const std::string url = "http://127.0.0.1:" + std::to_string(remora.adminPort()) + "/";
  const CommandResult result = chromium.dumpDom(url, 4000ms, deadlineIn(60s));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string& dom = result.out;
  const std::string progressing = elementWith(dom, "div", "data-canary=\"users-v2\"");
  ASSERT_FALSE(progressing.empty()) << dom << "\nchromium's log:\n" << result.err;
  EXPECT_NE(progressing.find("<h3>users-v2</h3>"), std::string::npos) << progressing;
  EXPECT_NE(progressing.find(">progressing<"), std::string::npos) << progressing;
  EXPECT_NE(progressing.find("weight 25%"), std::string::npos) << progressing;
  EXPECT_NE(progressing.find("step 1 of 3"), std::string::npos) << progressing;
  EXPECT_NE(progressing.find("fleet through etcd: this remora leads"), std::string::npos)
      << progressing;
  const std::string baseline = elementWith(dom, "tr", "data-arm=\"baseline\"");
  EXPECT_NE(baseline.find(">" + std::to_string(baseline_requests) + "<"), std::string::npos)
      << baseline << " (" << baseline_requests << " baseline requests)";
  EXPECT_NE(baseline.find("0.00%"), std::string::npos) << baseline;
  const std::string aborted = elementWith(dom, "div", "data-canary=\"orders-v3\"");
  EXPECT_NE(aborted.find(">aborted<"), std::string::npos) << aborted;
  EXPECT_NE(aborted.find("aborted by hand"), std::string::npos) << aborted;
  EXPECT_NE(aborted.find("decided by this remora alone"), std::string::npos) << aborted;
  // One chart per canary.
  size_t charts = 0;
  for (size_t at = dom.find("<canvas width=\"560\""); at != std::string::npos;
       at = dom.find("<canvas width=\"560\"", at + 1)) {
    ++charts;
  }
  EXPECT_EQ(charts, 2u) << dom;
  EXPECT_EQ(dom.find("id=\"no-canaries\""), std::string::npos);
  EXPECT_EQ(dom.find("page error"), std::string::npos) << dom;

  const std::string png = artifactPath("web_page_canaries.png");
  std::filesystem::remove(png);
  const CommandResult shot = chromium.screenshot(url, png, 1280, 900, 4000ms, deadlineIn(60s));
  EXPECT_EQ(shot.exit_code, 0) << shot.err;
  EXPECT_TRUE(std::filesystem::exists(png)) << shot.err;
  RecordProperty("screenshot", png);
  std::cout << "web page screenshot (canaries): " << png << "\n";
}

}  // namespace
}  // namespace remora::harness
