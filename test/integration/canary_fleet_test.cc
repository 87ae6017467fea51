// Canaries decided once for a fleet of remoras through a real registry: three remoras on a
// three-member etcd (and on a Consul agent) run the same canary; one leads, all follow its steps
// within a second, steering on a follower reaches the leader, when the leader is killed another
// goes on from the stored step, while etcd is down nobody decides and everyone keeps serving, and
// only the leader asks a canary's webhooks.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr char kConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
registry:
{{registry}}
lifecycle: {drain_delay: {{drain_delay}}}
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
    endpoints:
      - {address: "{{v1}}", meta: {version: v1}}
      - {address: "{{v2}}", meta: {version: v2}}
canaries:
  - name: users-v2
    route: users
    cluster: users
    baseline: {version: v1}
    canary: {version: v2}
    step_interval: 1s
    # Sub-millisecond latencies on a busy test machine differ by more than 1.5x at random: these
    # tests are about who decides, not about the judge.
    analysis: {max_p99_ratio: 1000}
{{extra}})";

// `count` remoras with the same canary on one registry, and the two versions they split between.
struct Fleet {
  ScriptedUpstream v1{ScriptedUpstream::respondWith(200, "v1")};
  ScriptedUpstream v2{ScriptedUpstream::respondWith(200, "v2")};
  std::vector<std::unique_ptr<Remora>> remoras;
  std::string config;

  Fleet(size_t count, const std::string& registry, const std::string& canary_extra,
        const std::string& drain_delay = "0s")
      : config(render(kConfig, {{"registry", registry},
                                {"drain_delay", drain_delay},
                                {"v1", v1.address()},
                                {"v2", v2.address()},
                                {"extra", canary_extra}})) {
    for (size_t i = 0; i < count; ++i) remoras.push_back(std::make_unique<Remora>());
  }

  ::testing::AssertionResult start() {
    for (auto& remora : remoras) {
      auto started = remora->start(config);
      if (!started) return started;
    }
    return ::testing::AssertionSuccess();
  }

  std::vector<Remora*> alive() {
    std::vector<Remora*> out;
    for (auto& remora : remoras) {
      if (remora->running()) out.push_back(remora.get());
    }
    return out;
  }

  // A few requests through every live remora, so each has counts to publish.
  void traffic(int per_remora = 10) {
    for (Remora* remora : alive()) {
      HttpClient client(remora->port("edge"));
      for (int i = 0; i < per_remora; ++i) {
        if (!client.request("GET", "/", {{"host", "users"}}).ok()) break;
      }
    }
  }

  std::vector<json> canaries() {
    std::vector<json> out;
    for (Remora* remora : alive()) out.push_back(remora->canary("users-v2"));
    return out;
  }

  // Every live remora agrees on the leader, and exactly one of them says it leads.
  Remora* leader() {
    Remora* found = nullptr;
    std::set<std::string> named;
    for (Remora* remora : alive()) {
      const json canary = remora->canary("users-v2");
      if (canary.is_null()) return nullptr;
      const json& fleet = canary["fleet"];
      named.insert(fleet.value("leader", ""));
      if (fleet.value("leading", false)) {
        if (found != nullptr) return nullptr;
        found = remora;
      }
    }
    return named.size() == 1 && !named.begin()->empty() ? found : nullptr;
  }

  std::string describe() {
    std::string out;
    for (const json& canary : canaries()) out += canary.dump() + "\n";
    return out;
  }
};

// Drives traffic and watches every remora's weight: each weight one remora shows, all show
// within a second. Returns the weights in the order they came, until `last_state` or the
// deadline.
std::vector<int> followSteps(Fleet& fleet, const std::string& last_state, Deadline deadline,
                             std::string& failures) {
  std::vector<int> order;
  std::map<int, Clock::time_point> first_seen;
  std::map<int, std::set<size_t>> seen_by;
  while (Clock::now() < deadline) {
    fleet.traffic();
    const std::vector<json> canaries = fleet.canaries();
    bool all_done = !canaries.empty();
    for (size_t i = 0; i < canaries.size(); ++i) {
      if (canaries[i].is_null()) continue;
      const int weight = canaries[i].value("weight", -1);
      if (first_seen.emplace(weight, Clock::now()).second) order.push_back(weight);
      seen_by[weight].insert(i);
      if (canaries[i].value("state", "") != last_state) all_done = false;
    }
    for (const auto& [weight, since] : first_seen) {
      if (seen_by[weight].size() < canaries.size() && Clock::now() - since > 1s &&
          failures.find("weight " + std::to_string(weight) + " ") == std::string::npos) {
        // A remora may have moved past it already: only one still short of it lags.
        bool lagging = false;
        for (size_t i = 0; i < canaries.size(); ++i) {
          if (!seen_by[weight].contains(i) && canaries[i].value("weight", -1) < weight) {
            lagging = true;
          }
        }
        if (lagging) {
          failures += "weight " + std::to_string(weight) + " not followed by every remora within " +
                      "a second:\n" + fleet.describe();
        }
      }
    }
    if (all_done) return order;
  }
  failures += "not " + last_state + " before the deadline:\n" + fleet.describe();
  return order;
}

std::string etcdRegistry(const Etcd& etcd) {
  return "  etcd: {endpoints: " + etcd.yamlEndpoints() + ", lease_ttl: 2s}";
}

TEST(CanaryFleet, ThreeRemorasOnEtcdFollowOneLeaderStepByStep) {
  Etcd etcd(3);
  Fleet fleet(3, etcdRegistry(etcd), "    steps: [20, 50, 100]\n    min_requests: 20\n");
  ASSERT_TRUE(fleet.start());
  ASSERT_TRUE(waitUntil([&] { return fleet.leader() != nullptr; }, deadlineIn(10s)))
      << fleet.describe();
  std::string failures;
  const std::vector<int> weights = followSteps(fleet, "promoted", deadlineIn(60s), failures);
  EXPECT_EQ(failures, "");
  EXPECT_EQ(weights, (std::vector<int>{20, 50, 100}));
  for (const json& canary : fleet.canaries()) {
    EXPECT_EQ(canary["state"], "promoted") << canary.dump();
    EXPECT_EQ(canary["fleet"]["coordinated"], true);
    EXPECT_EQ(canary["fleet"]["registry"], "etcd");
    // The leader judged everyone's traffic: each step counted more than one remora served.
    ASSERT_EQ(canary["history"].size(), 3u) << canary.dump();
  }
  // The state is in etcd, where anyone can read it.
  EXPECT_FALSE(etcd.keys("/remora/canaries/users-v2/").empty());
}

TEST(CanaryFleet, SteeringOnAFollowerReachesTheLeader) {
  Etcd etcd(3);
  // A step no traffic here completes: nothing moves on its own.
  Fleet fleet(3, etcdRegistry(etcd), "    steps: [10, 50]\n    min_requests: 1000000\n");
  ASSERT_TRUE(fleet.start());
  Remora* leader = nullptr;
  ASSERT_TRUE(waitUntil([&] { return (leader = fleet.leader()) != nullptr; }, deadlineIn(10s)))
      << fleet.describe();
  Remora* follower = fleet.alive()[fleet.alive()[0] == leader ? 1 : 0];

  EXPECT_EQ(follower->adminPost("/canaries/users-v2/resume").status, 409);
  EXPECT_EQ(follower->adminPost("/canaries/users-v2/pause").status, 202);
  auto everyone = [&](const std::string& state) {
    for (const json& canary : fleet.canaries()) {
      if (canary.value("state", "") != state) return false;
    }
    return true;
  };
  EXPECT_TRUE(waitUntil([&] { return everyone("paused"); }, deadlineIn(2s))) << fleet.describe();
  EXPECT_EQ(follower->adminPost("/canaries/users-v2/promote").status, 202);
  EXPECT_TRUE(waitUntil([&] { return everyone("promoted"); }, deadlineIn(2s))) << fleet.describe();
  EXPECT_NE(leader->logs().find("promote asked by"), std::string::npos) << leader->logs();
  // On the leader itself steering applies at once.
  EXPECT_EQ(leader->adminPost("/canaries/users-v2/abort").status, 200);
  EXPECT_TRUE(waitUntil([&] { return everyone("aborted"); }, deadlineIn(2s))) << fleet.describe();
}

TEST(CanaryFleet, WhenTheLeaderIsKilledAnotherGoesOnFromTheStoredStep) {
  Etcd etcd(3);
  Fleet fleet(3, etcdRegistry(etcd),
              "    steps: [10, 20, 30, 40, 50, 60, 100]\n    min_requests: 10\n");
  ASSERT_TRUE(fleet.start());
  Remora* leader = nullptr;
  ASSERT_TRUE(waitUntil([&] { return (leader = fleet.leader()) != nullptr; }, deadlineIn(10s)))
      << fleet.describe();
  // Two steps passed: then the leader dies without a word.
  ASSERT_TRUE(waitUntil(
      [&] {
        fleet.traffic();
        return leader->canary("users-v2").value("step", 0) >= 2;
      },
      deadlineIn(30s)))
      << fleet.describe();
  const int step_at_kill = leader->canary("users-v2").value("step", 0);
  ASSERT_TRUE(leader->signal(SIGKILL));
  leader->waitExit(deadlineIn(5s));

  Remora* next = nullptr;
  int lowest_step = step_at_kill;
  ASSERT_TRUE(waitUntil(
      [&] {
        fleet.traffic();
        for (const json& canary : fleet.canaries()) {
          lowest_step = std::min(lowest_step, canary.value("step", 0));
        }
        next = fleet.leader();
        return next != nullptr;
      },
      deadlineIn(15s)))
      << fleet.describe();
  EXPECT_NE(next, leader);
  // The new leader goes on to the end from where the run was, never from its first step.
  std::string failures;
  followSteps(fleet, "promoted", deadlineIn(60s), failures);
  EXPECT_EQ(failures, "");
  const json done = next->canary("users-v2");
  EXPECT_EQ(done["state"], "promoted") << done.dump();
  EXPECT_EQ(done["history"].size(), 7u) << done.dump();
  EXPECT_GE(lowest_step, step_at_kill - 1) << fleet.describe();
  EXPECT_NE(next->logs().find("leads the fleet's run now"), std::string::npos);
}

TEST(CanaryFleet, ADrainingLeaderHandsOverAtOnce) {
  Etcd etcd(1);
  // A lease far longer than the hand-over allowed here: only its revocation explains one.
  Fleet fleet(2, "  etcd: {endpoints: " + etcd.yamlEndpoints() + ", lease_ttl: 60s}",
              "    steps: [10, 50]\n    min_requests: 1000000\n", "5s");
  ASSERT_TRUE(fleet.start());
  Remora* leader = nullptr;
  ASSERT_TRUE(waitUntil([&] { return (leader = fleet.leader()) != nullptr; }, deadlineIn(10s)))
      << fleet.describe();
  Remora* other = fleet.alive()[fleet.alive()[0] == leader ? 1 : 0];
  ASSERT_TRUE(leader->signal(SIGTERM));
  EXPECT_TRUE(waitUntil([&] { return other->canary("users-v2")["fleet"].value("leading", false); },
                        deadlineIn(5s)))
      << fleet.describe() << leader->logs();
  EXPECT_NE(leader->logs().find("etcd lease of"), std::string::npos) << leader->logs();
}

TEST(CanaryFleet, WhileEtcdIsDownEveryRemoraKeepsItsWeightAndNobodyDecides) {
  Etcd etcd(1);
  Fleet fleet(2, etcdRegistry(etcd), "    steps: [20, 50, 100]\n    min_requests: 20\n");
  ASSERT_TRUE(fleet.start());
  ASSERT_TRUE(waitUntil([&] { return fleet.leader() != nullptr; }, deadlineIn(10s)))
      << fleet.describe();
  etcd.kill(0);
  auto everyoneSees = [&](bool reachable) {
    for (const json& canary : fleet.canaries()) {
      if (canary["fleet"].value("registry_reachable", !reachable) != reachable) return false;
    }
    return true;
  };
  ASSERT_TRUE(waitUntil([&] { return everyoneSees(false); }, deadlineIn(10s))) << fleet.describe();
  std::vector<json> before = fleet.canaries();
  // Traffic that would complete every step goes on for a few seconds: nothing moves, and every
  // remora keeps serving.
  const Deadline quiet = deadlineIn(3s);
  while (Clock::now() < quiet) {
    fleet.traffic();
    const std::vector<json> now = fleet.canaries();
    for (size_t i = 0; i < now.size(); ++i) {
      ASSERT_EQ(now[i]["step"], before[i]["step"]) << fleet.describe();
      ASSERT_EQ(now[i]["weight"], before[i]["weight"]) << fleet.describe();
    }
  }
  for (Remora* remora : fleet.alive()) {
    EXPECT_EQ(httpGet(remora->port("edge"), "/", {{"host", "users"}}).status, 200);
    EXPECT_EQ(remora->adminPost("/canaries/users-v2/promote").status, 503);
  }
  // Back: a leader goes on, and the run completes.
  etcd.restart(0);
  ASSERT_TRUE(etcd.waitHealthy(deadlineIn(10s))) << etcd.logs();
  std::string failures;
  followSteps(fleet, "promoted", deadlineIn(60s), failures);
  EXPECT_EQ(failures, "");
  EXPECT_TRUE(everyoneSees(true)) << fleet.describe();
}

TEST(CanaryFleet, OnlyTheLeaderAsksTheWebhooksAndEveryoneShowsTheAnswer) {
  Etcd etcd(1);
  std::atomic<int> gate_status{503};
  ScriptedUpstream gate([&](UpstreamConnection& connection) {
    while (auto request = connection.readRequest()) {
      if (!connection.respond(gate_status.load(), "frozen")) return;
    }
  });
  Fleet fleet(3, etcdRegistry(etcd),
              "    steps: [20, 50]\n    min_requests: 20\n    webhooks:\n      - {url: \"http://" +
                  gate.address() + "/\", on: [promote], retries: 0}\n");
  ASSERT_TRUE(fleet.start());
  auto everyoneRefused = [&] {
    fleet.traffic();
    const std::vector<json> canaries = fleet.canaries();
    return std::all_of(canaries.begin(), canaries.end(), [](const json& c) {
      return c.value("reason", "").find("answered 503 'frozen'") != std::string::npos;
    });
  };
  ASSERT_TRUE(waitUntil(everyoneRefused, deadlineIn(60s))) << fleet.describe();
  // Refused, the gate is asked again once a step_interval (1s), by the leader alone: three more
  // asks take two intervals at least. Three remoras asking would make them within one.
  const size_t before = gate.requestCount();
  const Clock::time_point since = Clock::now();
  ASSERT_TRUE(waitUntil([&] { return gate.requestCount() >= before + 3; }, deadlineIn(10s)));
  EXPECT_GE(Clock::now() - since, 1500ms);
  for (const json& canary : fleet.canaries()) EXPECT_EQ(canary["weight"], 50) << canary.dump();
  gate_status = 200;
  std::string failures;
  followSteps(fleet, "promoted", deadlineIn(30s), failures);
  EXPECT_EQ(failures, "");
}

TEST(CanaryFleet, ACanaryWithFleetFalseDecidesAlone) {
  Etcd etcd(1);
  Fleet fleet(1, etcdRegistry(etcd), "    fleet: false\n");
  ASSERT_TRUE(fleet.start());
  const json canary = fleet.remoras[0]->canary("users-v2");
  EXPECT_EQ(canary["fleet"]["coordinated"], false) << canary.dump();
  EXPECT_TRUE(etcd.keys("/remora/canaries/").empty());
}

TEST(CanaryFleet, ThreeRemorasOnConsulFollowOneLeaderStepByStep) {
  ConsulAgent consul;
  Fleet fleet(3, "  consul: {address: \"" + consul.address() + "\"}",
              "    steps: [20, 50, 100]\n    min_requests: 20\n");
  ASSERT_TRUE(fleet.start());
  ASSERT_TRUE(waitUntil([&] { return fleet.leader() != nullptr; }, deadlineIn(10s)))
      << fleet.describe();
  std::string failures;
  const std::vector<int> weights = followSteps(fleet, "promoted", deadlineIn(60s), failures);
  EXPECT_EQ(failures, "");
  EXPECT_EQ(weights, (std::vector<int>{20, 50, 100}));
  for (const json& canary : fleet.canaries()) {
    EXPECT_EQ(canary["state"], "promoted") << canary.dump();
    EXPECT_EQ(canary["fleet"]["registry"], "consul");
  }
  const json state = consul.get("/v1/kv/remora/canaries/users-v2/?recurse");
  EXPECT_FALSE(state.is_null()) << "no records in Consul's KV store";
}

}  // namespace
}  // namespace remora::harness
