// Unit tests of the fleet's records: counts and state survive encoding, malformed records are
// rejected, the ledger counts each request once across restarts and departures, the fingerprint
// tells releases apart, and a run restored from a state goes on from the same step.
#include "discovery/canary/fleet_records.h"

#include <gtest/gtest.h>

#include <functional>

namespace remora::canary {
namespace {

using std::chrono::seconds;

config::Canary canaryConfig() {
  config::Canary c;
  c.name = "users-v2";
  c.route = "edge/0";
  c.cluster = "users";
  c.baseline = {{"version", "v1"}};
  c.canary = {{"version", "v2"}};
  c.steps = {10, 50, 100};
  c.step_interval = config::Duration(1000);
  c.min_requests = 10;
  return c;
}

ArmTotals arm(uint64_t requests, uint64_t errors, std::initializer_list<uint64_t> micros) {
  ArmTotals totals;
  totals.requests = requests;
  totals.errors = errors;
  for (uint64_t us : micros) totals.latency.record(us);
  return totals;
}

// Enough for a step to pass: every try timed (the latency test needs 200 per arm).
ArmTotals judgedArm(uint64_t requests, uint64_t errors, uint64_t micros) {
  ArmTotals totals = arm(requests, errors, {});
  for (uint64_t i = 0; i < requests; ++i) totals.latency.record(micros);
  return totals;
}

void expectSameArm(const ArmTotals& a, const ArmTotals& b) {
  EXPECT_EQ(a.requests, b.requests);
  EXPECT_EQ(a.errors, b.errors);
  EXPECT_EQ(a.latency.counts(), b.latency.counts());
}

TEST(FleetRecordsTest, CountsSurviveEncoding) {
  FleetCounts counts;
  counts.epoch = 0xfeedface12345678ULL;
  counts.baseline = arm(100, 2, {5, 900, 900, 1'000'000});
  counts.canary = arm(7, 0, {40'000});
  std::string error;
  const auto decoded = decodeCounts(encodeCounts(counts), error);
  ASSERT_TRUE(decoded) << error;
  EXPECT_EQ(decoded->epoch, counts.epoch);
  expectSameArm(decoded->baseline, counts.baseline);
  expectSameArm(decoded->canary, counts.canary);
}

TEST(FleetRecordsTest, MalformedRecordsAreRejected) {
  std::string error;
  EXPECT_FALSE(decodeCounts("", error));
  EXPECT_FALSE(decodeCounts("[]", error));
  EXPECT_FALSE(decodeCounts(R"({"epoch": 1, "baseline": {"requests": 1, "errors": 0}})", error));
  const std::string bad_bucket =
      R"({"epoch":1,"baseline":{"requests":1,"errors":0,"latency":[[100000,1]]},)"
      R"("canary":{"requests":0,"errors":0,"latency":[]}})";
  EXPECT_FALSE(decodeCounts(bad_bucket, error));
  EXPECT_NE(error.find("latency"), std::string::npos) << error;
  EXPECT_FALSE(decodeState(R"({"fingerprint": "x"})", error));
  EXPECT_FALSE(decodeRequest(R"({"action": "jump", "sequence": 1})", error));
  EXPECT_FALSE(decodeRequest(R"({"action": "pause", "sequence": -1})", error));
}

TEST(FleetRecordsTest, StateSurvivesEncoding) {
  const auto start = Clock::now();
  CanaryRun run(canaryConfig(), start);
  run.observe(judgedArm(200, 0, 1000), judgedArm(200, 1, 2000), start + seconds(2));
  ASSERT_EQ(run.step(), 1u);
  run.pause(start + seconds(3));
  FleetState state;
  state.fingerprint = fingerprint(canaryConfig());
  state.leader = "orders-2";
  state.progress = run.progress(start + seconds(3));
  state.applied = {{"orders-1", 17}};
  std::string error;
  const auto decoded = decodeState(encodeState(state), error);
  ASSERT_TRUE(decoded) << error;
  EXPECT_EQ(decoded->fingerprint, state.fingerprint);
  EXPECT_EQ(decoded->leader, "orders-2");
  EXPECT_EQ(decoded->applied, state.applied);
  const RunProgress& p = decoded->progress;
  EXPECT_EQ(p.state, State::Paused);
  EXPECT_EQ(p.step, 1u);
  EXPECT_EQ(p.reason, "paused by hand");
  expectSameArm(p.baseline, run.baseline());
  expectSameArm(p.canary, run.canary());
  ASSERT_EQ(p.history.size(), 2u);
  EXPECT_EQ(p.history[0].outcome, "passed");
  EXPECT_EQ(p.history[1].weight, 50u);
  // Times cross machines as milliseconds since the epoch.
  EXPECT_LT(std::chrono::abs(p.step_started - state.progress.step_started),
            std::chrono::milliseconds(1));
}

TEST(FleetRecordsTest, ARestoredRunGoesOnFromTheStoredStep) {
  const auto start = Clock::now();
  CanaryRun leader(canaryConfig(), start);
  leader.observe(judgedArm(200, 0, 1000), judgedArm(200, 0, 1000), start + seconds(2));
  ASSERT_EQ(leader.weight(), 50u);
  std::string error;
  FleetState state{fingerprint(canaryConfig()), "a", leader.progress(start + seconds(2)), {}};
  const auto decoded = decodeState(encodeState(state), error);
  ASSERT_TRUE(decoded) << error;

  // Another remora, whose own clock started elsewhere, takes over.
  const auto other_start = start + seconds(100);
  CanaryRun next(canaryConfig(), other_start);
  ASSERT_TRUE(next.restore(decoded->progress, other_start));
  EXPECT_EQ(next.step(), 1u);
  EXPECT_EQ(next.weight(), 50u);
  EXPECT_EQ(next.baseline().requests, 200u);
  // A follower shows the tail threshold the leader judges with.
  EXPECT_GT(next.judgement().latency_threshold_us, 0u);
  EXPECT_EQ(next.judgement().latency_threshold_us, leader.judgement().latency_threshold_us);
  // The step started (about) when the leader started it, so a second later it may pass.
  next.observe(judgedArm(20, 0, 1000), judgedArm(20, 0, 1000), other_start + seconds(1));
  EXPECT_EQ(next.state(), State::Promoted);
  ASSERT_EQ(next.history().size(), 3u);

  // A state that does not fit the steps is not taken.
  RunProgress beyond = decoded->progress;
  beyond.step = 7;
  CanaryRun fresh(canaryConfig(), other_start);
  EXPECT_FALSE(fresh.restore(beyond, other_start));
  EXPECT_EQ(fresh.step(), 0u);
}

TEST(FleetRecordsTest, TheLedgerCountsEachRequestOnce) {
  CountLedger ledger;
  FleetCounts a{1, arm(10, 1, {100}), arm(2, 0, {})};
  FleetCounts b{2, arm(5, 0, {}), arm(1, 0, {})};
  FleetCounts added = ledger.advance({{"a", a}, {"b", b}});
  EXPECT_EQ(added.baseline.requests, 15u);
  EXPECT_EQ(added.canary.requests, 3u);
  EXPECT_EQ(added.baseline.latency.count(), 1u);

  // a served 5 more; b is unchanged.
  a.baseline.requests = 15;
  a.baseline.latency.record(100);
  added = ledger.advance({{"a", a}, {"b", b}});
  EXPECT_EQ(added.baseline.requests, 5u);
  EXPECT_EQ(added.baseline.errors, 0u);
  EXPECT_EQ(added.baseline.latency.count(), 1u);
  EXPECT_EQ(added.canary.requests, 0u);

  // b restarted (a new epoch): all of its counts are new. a left: nothing is taken back.
  FleetCounts b2{3, arm(4, 0, {}), arm(0, 0, {})};
  added = ledger.advance({{"b", b2}});
  EXPECT_EQ(added.baseline.requests, 4u);
  // a comes back with the same epoch after it was forgotten: counted again from its start.
  added = ledger.advance({{"a", a}, {"b", b2}});
  EXPECT_EQ(added.baseline.requests, 15u);
  // Counts that went down with the same epoch are a new start too.
  FleetCounts a_lower{1, arm(3, 0, {}), arm(0, 0, {})};
  added = ledger.advance({{"a", a_lower}, {"b", b2}});
  EXPECT_EQ(added.baseline.requests, 3u);
}

TEST(FleetRecordsTest, TheFingerprintNamesTheRelease) {
  const config::Canary base = canaryConfig();
  EXPECT_EQ(fingerprint(base), fingerprint(canaryConfig()));
  EXPECT_EQ(fingerprint(base).size(), 16u);
  config::Canary moved = base;
  moved.location = {"other.yaml", 3, 4};
  moved.fleet = false;
  EXPECT_EQ(fingerprint(moved), fingerprint(base));
  for (auto change : std::vector<std::function<void(config::Canary&)>>{
           [](config::Canary& c) {
             c.steps = {10, 60, 100};
           },
           [](config::Canary& c) { c.step_interval = config::Duration(2000); },
           [](config::Canary& c) { c.canary["version"] = "v3"; },
           [](config::Canary& c) { c.analysis.confidence = 0.99; },
           [](config::Canary& c) { c.analysis.max_p99 = config::Duration(300); },
           [](config::Canary& c) { c.name = "users-v3"; }}) {
    config::Canary changed = base;
    change(changed);
    EXPECT_NE(fingerprint(changed), fingerprint(base));
  }
}

TEST(FleetRecordsTest, RequestsSurviveEncoding) {
  std::string error;
  const auto decoded = decodeRequest(encodeRequest({Steering::Abort, 1733500000123}), error);
  ASSERT_TRUE(decoded) << error;
  EXPECT_EQ(decoded->steering, Steering::Abort);
  EXPECT_EQ(decoded->sequence, 1733500000123u);
}

}  // namespace
}  // namespace remora::canary
