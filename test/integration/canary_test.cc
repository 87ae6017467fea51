// Canary releases run by remora against real upstreams: a failing canary aborted and then sent
// nothing, a clean one promoted, the x-remora-canary override, steering by hand, webhook gates,
// /canaries and the canary metrics.
#include <atomic>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

// How one version of the service behaves.
struct Behaviour {
  int fail_every = 0;  // > 0: every that-many-th request is a 500
  std::chrono::milliseconds delay{0};
};

// `name` on every request, as `behaviour` says.
ScriptedUpstream::Handler version(std::string name, Behaviour behaviour,
                                  std::shared_ptr<std::atomic<int>> served) {
  return [=](UpstreamConnection& connection) {
    while (auto request = connection.readRequest()) {
      const int n = ++*served;
      const bool fail = behaviour.fail_every > 0 && n % behaviour.fail_every == 0;
      // The upstream's own latency, which is what the judge compares (no state is waited for).
      if (behaviour.delay.count() > 0) std::this_thread::sleep_for(behaviour.delay);
      if (!connection.respond(fail ? 500 : 200, name)) return;
    }
  };
}

// Unless a test sets its own `analysis:`, latency is not judged: the scripted versions answer in
// microseconds, and at that scale a scheduling blip on a busy machine (a canary p99 of 2 ms
// against 0.1 ms, seen in CI) would abort a run that tests something else.
std::string latencyNotJudged(const std::string& canary_extra) {
  return canary_extra.find("analysis:") == std::string::npos
             ? "    analysis: {min_p99_increase: 10s}\n"
             : "";
}

// Two versions of `users` behind remora, with one canary moving the route from v1 to v2.
struct CanaryFixture {
  std::shared_ptr<std::atomic<int>> v1_served = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> v2_served = std::make_shared<std::atomic<int>>(0);
  ScriptedUpstream v1;
  ScriptedUpstream v2;
  Remora remora;

  CanaryFixture(int v2_fail_every, const std::string& canary_extra)
      : CanaryFixture({}, {.fail_every = v2_fail_every}, canary_extra) {}

  // `v2_address` replaces v2's (a port where nothing listens, say); `cluster_extra` adds to the
  // cluster's settings.
  CanaryFixture(Behaviour v1_behaviour, Behaviour v2_behaviour, const std::string& canary_extra,
                const std::string& cluster_extra = "", std::string v2_address = "")
      : v1(version("v1", v1_behaviour, v1_served)), v2(version("v2", v2_behaviour, v2_served)) {
    if (v2_address.empty()) v2_address = v2.address();
    started = remora.start(render(R"(admin: {address: "127.0.0.1:0"}
workers: 2
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - name: users
        match: {prefix: /}
        cluster: users
clusters:
  - name: users
    outlier_detection: off
{{cluster_extra}}    endpoints:
      - {address: "{{v1}}", meta: {version: v1}}
      - {address: "{{v2}}", meta: {version: v2}}
canaries:
  - name: users-v2
    route: users
    cluster: users
    baseline: {version: v1}
    canary: {version: v2}
    step_interval: 1s
{{extra}})",
                                  {{"v1", v1.address()},
                                   {"v2", v2_address},
                                   {"extra", canary_extra + latencyNotJudged(canary_extra)},
                                   {"cluster_extra", cluster_extra}}));
  }

  nlohmann::json canary() {
    HttpResponse r = remora.adminGet("/canaries");
    nlohmann::json doc = nlohmann::json::parse(r.body, nullptr, false);
    if (doc.is_discarded() || doc["canaries"].empty()) return nlohmann::json::object();
    return doc["canaries"][0];
  }

  // Polls /canaries, sending nothing, until the canary's state is `state` or the deadline passes;
  // returns the last entry.
  nlohmann::json awaitState(const std::string& state, Deadline deadline) {
    nlohmann::json last;
    waitUntil(
        [&] {
          last = canary();
          return last.value("state", "") == state;
        },
        deadline);
    return last;
  }

  // Sends requests on a keep-alive connection until the canary's state is `state` or the deadline
  // passes; returns the last /canaries entry.
  nlohmann::json driveUntil(const std::string& state, Deadline deadline) {
    return driveUntil([&](const nlohmann::json& c) { return c.value("state", "") == state; },
                      deadline);
  }
  nlohmann::json driveUntil(const std::function<bool(const nlohmann::json&)>& done,
                            Deadline deadline) {
    HttpClient client(remora.port("edge"));
    nlohmann::json last;
    while (Clock::now() < deadline) {
      for (int i = 0; i < 20; ++i) {
        HttpResponse r = client.request("GET", "/", {{"host", "users"}});
        if (!r.ok()) client.connect(remora.port("edge"));
      }
      last = canary();
      if (done(last)) return last;
    }
    return last;
  }

  ::testing::AssertionResult started{false};
};

TEST(Canary, AFailingCanaryIsAbortedAndThenGetsNoTraffic) {
  CanaryFixture f(/*v2_fail_every=*/5, "    steps: [50, 100]\n    min_requests: 30\n");
  ASSERT_TRUE(f.started);
  const nlohmann::json aborted = f.driveUntil("aborted", deadlineIn(60s));
  ASSERT_EQ(aborted.value("state", ""), "aborted") << aborted.dump(2);
  EXPECT_EQ(aborted["weight"], 0);
  EXPECT_NE(aborted["reason"].get<std::string>().find("canary error rate"), std::string::npos)
      << aborted["reason"];
  EXPECT_GT(aborted["arms"]["canary"]["errors"].get<int>(), 0);
  EXPECT_EQ(aborted["arms"]["baseline"]["errors"], 0);
  // Workers follow the snapshot without the canary arm: nothing more reaches v2.
  const int v2_before = f.v2_served->load();
  HttpClient client(f.remora.port("edge"));
  for (int i = 0; i < 200; ++i) {
    HttpResponse r = client.request("GET", "/", {{"host", "users"}});
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_EQ(r.body, "v1");
  }
  EXPECT_EQ(f.v2_served->load(), v2_before);
  const std::string metrics = f.remora.adminGet("/metrics").body;
  EXPECT_EQ(
      metricValue(metrics, "remora_canary_state", {{"canary", "users-v2"}, {"state", "aborted"}}),
      1)
      << metrics;
  EXPECT_EQ(metricValue(metrics, "remora_canary_weight", {{"canary", "users-v2"}}), 0);
  EXPECT_GT(metricValue(metrics, "remora_canary_requests_total",
                        {{"canary", "users-v2"}, {"arm", "canary"}, {"outcome", "error"}}),
            0);
  EXPECT_NE(f.remora.logs().find("canary users-v2: aborted"), std::string::npos);
}

TEST(Canary, ACleanCanaryIsPromotedStepByStep) {
  CanaryFixture f(/*v2_fail_every=*/0, "    steps: [20, 50]\n    min_requests: 30\n");
  ASSERT_TRUE(f.started);
  const nlohmann::json promoted = f.driveUntil("promoted", deadlineIn(60s));
  ASSERT_EQ(promoted.value("state", ""), "promoted") << promoted.dump(2);
  EXPECT_EQ(promoted["weight"], 100);
  ASSERT_EQ(promoted["history"].size(), 2u);
  EXPECT_EQ(promoted["history"][0]["weight"], 20);
  EXPECT_EQ(promoted["history"][0]["outcome"], "passed");
  EXPECT_GE(promoted["history"][0]["canary_requests"].get<int>(), 30);
  HttpClient client(f.remora.port("edge"));
  for (int i = 0; i < 50; ++i) {
    HttpResponse r = client.request("GET", "/", {{"host", "users"}});
    EXPECT_EQ(r.body, "v2") << r;
  }
  EXPECT_NE(f.remora.logs().find("canary users-v2: step 2, 50% to the canary"), std::string::npos)
      << f.remora.logs();
}

TEST(Canary, AThousandStickyKeysOnlyEverMoveFromBaselineToCanary) {
  CanaryFixture f(
      /*v2_fail_every=*/0,
      "    steps: [5, 25, 50, 100]\n    min_requests: 30\n    sticky: {header: x-user}\n");
  ASSERT_TRUE(f.started);
  HttpClient client(f.remora.port("edge"));
  std::vector<bool> on_canary(1000, false);
  std::set<int> weights_seen;
  std::string moved_back;
  const Deadline deadline = deadlineIn(120s);
  while (Clock::now() < deadline && moved_back.empty()) {
    const nlohmann::json canary = f.canary();
    if (canary.value("state", "") == "promoted") break;
    weights_seen.insert(canary.value("weight", -1));
    for (int key = 0; key < 1000; ++key) {
      HttpResponse r =
          client.request("GET", "/", {{"host", "users"}, {"x-user", std::to_string(key)}});
      ASSERT_EQ(r.status, 200) << r;
      const bool canary_arm = r.body == "v2";
      if (on_canary[key] && !canary_arm) {
        moved_back = "key " + std::to_string(key) + " went back to the baseline at weight " +
                     std::to_string(f.canary().value("weight", -1));
        break;
      }
      on_canary[key] = canary_arm;
    }
  }
  EXPECT_EQ(moved_back, "");
  EXPECT_EQ(f.canary().value("state", ""), "promoted") << f.canary().dump(2);
  // Every step was seen, each with a full pass of the keys.
  EXPECT_TRUE(weights_seen.contains(5) && weights_seen.contains(25) && weights_seen.contains(50))
      << ::testing::PrintToString(weights_seen);
}

TEST(Canary, TheOverrideHeaderAndSteeringByHand) {
  // A step no traffic here completes: nothing moves on its own during the test.
  CanaryFixture f(/*v2_fail_every=*/0,
                  "    steps: [10, 50]\n    min_requests: 100000\n    sticky: {header: x-user}\n");
  ASSERT_TRUE(f.started);
  HttpClient client(f.remora.port("edge"));
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(client.request("GET", "/", {{"host", "users"}, {"x-remora-canary", "always"}}).body,
              "v2");
    EXPECT_EQ(client.request("GET", "/", {{"host", "users"}, {"x-remora-canary", "never"}}).body,
              "v1");
  }
  // A sticky key always lands on the same arm.
  const std::string first =
      client.request("GET", "/", {{"host", "users"}, {"x-user", "alice"}}).body;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(client.request("GET", "/", {{"host", "users"}, {"x-user", "alice"}}).body, first);
  }
  EXPECT_EQ(f.remora.adminPost("/canaries/users-v2/resume").status, 409);
  EXPECT_EQ(f.remora.adminPost("/canaries/users-v2/pause").status, 200);
  EXPECT_EQ(f.canary()["state"], "paused");
  EXPECT_EQ(f.remora.adminPost("/canaries/nobody/pause").status, 404);
  EXPECT_EQ(f.remora.adminPost("/canaries/users-v2/jump").status, 404);
  EXPECT_EQ(f.remora.adminGet("/canaries/users-v2/promote").status, 405);
  HttpResponse promoted = f.remora.adminPost("/canaries/users-v2/promote");
  EXPECT_EQ(promoted.status, 200);
  EXPECT_EQ(f.canary()["weight"], 100);
  // The snapshot with the new weight reaches the workers.
  const Deadline deadline = deadlineIn(10s);
  std::string body;
  while (Clock::now() < deadline && body != "v2") {
    body = client.request("GET", "/", {{"host", "users"}, {"x-user", "bob"}}).body;
  }
  EXPECT_EQ(body, "v2");
  EXPECT_EQ(f.remora.adminPost("/canaries/users-v2/abort").status, 200);
  EXPECT_EQ(f.canary()["state"], "aborted");
  EXPECT_EQ(f.canary()["reason"], "aborted by hand");
}

TEST(Canary, AWebhookGateHoldsTheStepUntilItAnswers2xx) {
  std::atomic<int> gate_status{503};
  ScriptedUpstream gate([&](UpstreamConnection& connection) {
    while (auto request = connection.readRequest()) {
      if (!connection.respond(gate_status.load(), "not yet")) return;
    }
  });
  CanaryFixture f({}, {},
                  "    steps: [20, 50]\n    min_requests: 30\n    webhooks:\n"
                  "      - {url: \"http://" +
                      gate.address() + "/approve\", on: [step], timeout: 1s, retries: 1}\n");
  ASSERT_TRUE(f.started);
  nlohmann::json held = f.driveUntil(
      [](const nlohmann::json& c) {
        return c.value("reason", "").find("answered 503 'not yet' (2 calls)") != std::string::npos;
      },
      deadlineIn(60s));
  ASSERT_NE(held.value("reason", "").find("answered 503"), std::string::npos) << held.dump(2);
  EXPECT_EQ(held["weight"], 20);
  EXPECT_EQ(held["waiting_for_webhooks"], "step");
  EXPECT_EQ(held["state"], "progressing");
  ASSERT_GE(gate.requestCount(), 2u);
  const HttpRequest asked = gate.requests().front();
  EXPECT_EQ(asked.method, "POST");
  EXPECT_EQ(asked.target, "/approve");
  const nlohmann::json payload = nlohmann::json::parse(asked.body, nullptr, false);
  EXPECT_EQ(payload.value("canary", ""), "users-v2") << asked.body;
  EXPECT_EQ(payload.value("gate", ""), "step");
  EXPECT_EQ(payload.value("weight", 0), 20);
  EXPECT_EQ(payload.value("next_weight", 0), 50);
  // Approved, it steps; the promotion is not gated (on: [step]).
  gate_status = 200;
  const nlohmann::json promoted = f.driveUntil("promoted", deadlineIn(60s));
  ASSERT_EQ(promoted.value("state", ""), "promoted") << promoted.dump(2);
  EXPECT_EQ(promoted["history"][1]["weight"], 50);
  EXPECT_NE(f.remora.logs().find("canary users-v2: the webhooks approved"), std::string::npos)
      << f.remora.logs();
}

TEST(Canary, AnUnreachableWebhookKeepsTheCanaryFromPromotion) {
  RefusingPort nobody;
  CanaryFixture f({}, {},
                  "    steps: [50]\n    min_requests: 30\n    webhooks:\n"
                  "      - {url: \"http://" +
                      nobody.address() + "/\", retries: 0}\n");
  ASSERT_TRUE(f.started);
  const nlohmann::json held = f.driveUntil(
      [](const nlohmann::json& c) {
        return c.value("waiting_for_webhooks", nlohmann::json()) == "promote";
      },
      deadlineIn(60s));
  EXPECT_EQ(held["weight"], 50) << held.dump(2);
  const nlohmann::json still = f.driveUntil(
      [](const nlohmann::json& c) {
        return c.value("reason", "").find("(1 call)") != std::string::npos;
      },
      deadlineIn(30s));
  EXPECT_EQ(still["state"], "progressing") << still.dump(2);
  EXPECT_EQ(still["weight"], 50);
  EXPECT_NE(f.remora.logs().find("the webhooks did not approve"), std::string::npos)
      << f.remora.logs();
}

TEST(Canary, AFailingCanaryInShadowModeIsAbortedWithoutAUserEverReachingIt) {
  CanaryFixture f(/*v2_fail_every=*/5,
                  "    steps: [50, 100]\n    min_requests: 30\n    shadow: true\n");
  ASSERT_TRUE(f.started);
  EXPECT_EQ(f.canary()["shadow"], true);
  EXPECT_EQ(f.canary()["weight"], 0);
  HttpClient client(f.remora.port("edge"));
  const Deadline deadline = deadlineIn(60s);
  nlohmann::json last = nlohmann::json::object();
  int requests = 0;
  while (Clock::now() < deadline && last.value("state", "") != "aborted") {
    for (int i = 0; i < 20; ++i, ++requests) {
      HttpResponse r = client.request("GET", "/", {{"host", "users"}});
      ASSERT_EQ(r.status, 200) << r;
      // Every user is answered by the baseline; the canary's 500s reach nobody.
      ASSERT_EQ(r.body, "v1") << "request " << requests;
    }
    last = f.canary();
  }
  ASSERT_EQ(last.value("state", ""), "aborted") << last.dump(2);
  EXPECT_NE(last["reason"].get<std::string>().find("canary error rate"), std::string::npos)
      << last["reason"];
  EXPECT_EQ(last["history"].size(), 1u) << last.dump(2);
  EXPECT_EQ(last["history"][0]["weight"], 0);
  EXPECT_EQ(last["shadow"], false);
  // The canary was judged on copies it really served.
  EXPECT_GE(f.v2_served->load(), 30);
  EXPECT_GT(last["arms"]["canary"]["errors"].get<int>(), 0);
  const std::string metrics = f.remora.adminGet("/metrics").body;
  EXPECT_GT(metricValue(metrics, "remora_mirror_requests_total",
                        {{"cluster", "users"}, {"result", "completed"}}),
            0)
      << metrics;
  // Aborted, the copies stop too, once the workers have the new snapshot.
  for (int i = 0; i < 50; ++i) client.request("GET", "/", {{"host", "users"}});
  const int v2_after = f.v2_served->load();
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(client.request("GET", "/", {{"host", "users"}}).body, "v1");
  }
  EXPECT_EQ(f.v2_served->load(), v2_after);
}

TEST(Canary, ACleanCanaryLeavesItsShadowStepForTheFirstRealStep) {
  CanaryFixture f(/*v2_fail_every=*/0,
                  "    steps: [20, 100]\n    min_requests: 30\n    shadow: {percent: 50}\n");
  ASSERT_TRUE(f.started);
  const nlohmann::json stepped = f.driveUntil(
      [](const nlohmann::json& c) { return c.value("weight", 0) == 20; }, deadlineIn(60s));
  ASSERT_EQ(stepped["weight"], 20) << stepped.dump(2);
  EXPECT_EQ(stepped["shadow"], false);
  EXPECT_EQ(stepped["history"][0]["weight"], 0);
  EXPECT_EQ(stepped["history"][0]["outcome"], "passed");
  EXPECT_EQ(stepped["steps"], nlohmann::json({0, 20, 100}));
  EXPECT_NE(f.remora.logs().find("canary users-v2: step 2, 20% to the canary"), std::string::npos)
      << f.remora.logs();
}

TEST(Canary, ACanaryEightTimesSlowerAtP99IsAborted) {
  // Latency judged as by default (the fixture turns it off otherwise). Eight times, far past the
  // 1.5x limit: on a loaded machine the baseline's p99 of a 5 ms answer reached 11 ms and more,
  // and a 15 ms canary (three times) was promoted now and then.
  CanaryFixture f({.delay = 5ms}, {.delay = 40ms},
                  "    steps: [50, 100]\n    min_requests: 50\n"
                  "    analysis: {min_p99_increase: 1ms}\n");
  ASSERT_TRUE(f.started);
  const nlohmann::json aborted = f.driveUntil("aborted", deadlineIn(60s));
  ASSERT_EQ(aborted.value("state", ""), "aborted") << aborted.dump(2);
  EXPECT_EQ(aborted["weight"], 0);
  EXPECT_NE(aborted["reason"].get<std::string>().find("p99"), std::string::npos)
      << aborted["reason"];
  EXPECT_EQ(aborted["arms"]["canary"]["errors"], 0);
}

TEST(Canary, WithNoTrafficItWaitsAndIsPausedAtItsDeadlineNeverPromoted) {
  // The controller looks once a second: a deadline two intervals past the step's interval
  // leaves at least one look at the waiting state.
  CanaryFixture f({}, {},
                  "    steps: [10, 100]\n    min_requests: 20\n    deadline: 3s\n"
                  "    on_deadline: pause\n");
  ASSERT_TRUE(f.started);
  nlohmann::json canary = f.awaitState("waiting_for_traffic", deadlineIn(10s));
  ASSERT_EQ(canary.value("state", ""), "waiting_for_traffic") << canary.dump(2);
  EXPECT_EQ(canary["weight"], 10);
  canary = f.awaitState("paused", deadlineIn(10s));
  ASSERT_EQ(canary.value("state", ""), "paused") << canary.dump(2);
  EXPECT_EQ(canary["weight"], 10);
  EXPECT_NE(canary["reason"].get<std::string>().find("not enough traffic"), std::string::npos)
      << canary["reason"];
  EXPECT_NE(f.remora.logs().find("canary users-v2: paused"), std::string::npos) << f.remora.logs();
}

TEST(Canary, ACanaryWithNoHealthyEndpointGetsNoTraffic) {
  RefusingPort dead;
  CanaryFixture f({}, {}, "    steps: [50, 100]\n    min_requests: 100000\n",
                  "    health_check: {path: /health, interval: 100ms, timeout: 100ms}\n",
                  dead.address());
  ASSERT_TRUE(f.started);
  // Once the health check has marked v2 down, its half of the traffic goes back to v1.
  ASSERT_TRUE(
      waitUntil([&] { return f.remora.endpoint("users", dead.address())["healthy"] == false; },
                deadlineIn(10s)))
      << f.remora.adminGet("/clusters").body;
  HttpClient client(f.remora.port("edge"));
  for (int i = 0; i < 100; ++i) {
    HttpResponse r = client.request("GET", "/", {{"host", "users"}});
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_EQ(r.body, "v1");
  }
  const nlohmann::json canary = f.canary();
  EXPECT_EQ(canary["weight"], 50) << canary.dump(2);
}

}  // namespace
}  // namespace remora::harness
