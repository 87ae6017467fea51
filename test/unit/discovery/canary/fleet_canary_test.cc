// Unit tests of the fleet's decisions on a store kept in memory: one leader judges everyone's
// counts and the others follow it, a new leader goes on from the stored step, steering on a
// follower is applied once by the leader, and nobody decides while the store is away.
#include "discovery/canary/fleet_canary.h"

#include <event2/event.h>
#include <gtest/gtest.h>

namespace remora::canary {
namespace {

using std::chrono::seconds;

// What a KV registry holds of one run, shared by the remoras' stores.
struct Registry {
  std::string leader;
  std::optional<std::string> state;
  std::map<std::string, std::string> counts;
  std::map<std::string, std::string> requests;
  bool down = false;
};

// A FleetStore over `Registry`, answering on the next turn of the loop as a real one would.
class MemoryStore : public FleetStore {
 public:
  MemoryStore(event_base* base, std::string self, Registry& registry)
      : base_(base), self_(std::move(self)), registry_(registry) {}

  const char* kind() const override { return "memory"; }
  const std::string& self() const override { return self_; }
  void resign() override {
    resigned_ = true;
    if (registry_.leader == self_) registry_.leader.clear();
    registry_.counts.erase(self_);
    registry_.requests.erase(self_);
  }

  std::unique_ptr<discovery::HttpCall> sync(
      const FleetRun&, std::optional<std::string> counts,
      std::function<void(std::optional<FleetView>, std::string)> done) override {
    return answerSoon(base_, [this, counts, done] {
      if (registry_.down) return done(std::nullopt, "down");
      if (counts && !resigned_) registry_.counts[self_] = *counts;
      if (registry_.leader.empty() && !resigned_) registry_.leader = self_;
      done(FleetView{registry_.leader, registry_.leader == self_, registry_.state, registry_.counts,
                     registry_.requests},
           "");
    });
  }
  std::unique_ptr<discovery::HttpCall> writeState(
      const FleetRun&, std::string state, std::function<void(bool, std::string)> done) override {
    return answerSoon(base_, [this, state, done] {
      if (registry_.down) return done(false, "down");
      if (registry_.leader != self_) return done(false, "");
      registry_.state = state;
      done(true, "");
    });
  }
  std::unique_ptr<discovery::HttpCall> readState(
      const FleetRun&,
      std::function<void(bool, std::optional<std::string>, std::string)> done) override {
    return answerSoon(base_, [this, done] {
      if (registry_.down) return done(false, std::nullopt, "down");
      done(true, registry_.state, "");
    });
  }
  std::unique_ptr<discovery::HttpCall> request(
      const FleetRun&, std::string request, std::function<void(bool, std::string)> done) override {
    return answerSoon(base_, [this, request, done] {
      if (registry_.down) return done(false, "down");
      registry_.requests[self_] = request;
      done(true, "");
    });
  }

 private:
  event_base* base_;
  std::string self_;
  Registry& registry_;
  bool resigned_ = false;
};

config::Canary canaryConfig() {
  config::Canary c;
  c.name = "users-v2";
  c.steps = {10, 30, 60, 100};
  c.step_interval = config::Duration(1000);
  c.min_requests = 10;
  return c;
}

ArmTotals requests(uint64_t n) {
  ArmTotals arm;
  arm.requests = n;
  for (uint64_t i = 0; i < n; ++i) arm.latency.record(1000);
  return arm;
}

// One remora: its run, its store and its fleet canary.
struct Member {
  Member(event_base* base, const std::string& id, Registry& registry, Clock::time_point start)
      : store(base, id, registry),
        run(canaryConfig(), start),
        fleet(base, store, run, [this](State, uint32_t) { ++changes; }) {}
  MemoryStore store;
  CanaryRun run;
  FleetCanary fleet;
  int changes = 0;
};

class FleetCanaryTest : public ::testing::Test {
 protected:
  FleetCanaryTest() : base_(event_base_new()) {}
  ~FleetCanaryTest() override {
    members_.clear();
    event_base_free(base_);
  }

  Member& add(const std::string& id) {
    members_.push_back(std::make_unique<Member>(base_, id, registry_, start_));
    return *members_.back();
  }
  // Lets every answer the stores owe arrive (and the calls they lead to).
  void settle() {
    for (int i = 0; i < 10; ++i) event_base_loop(base_, EVLOOP_NONBLOCK);
  }
  // One second of the fleet: each member reports `per_arm` requests of each arm.
  void second(std::initializer_list<Member*> members, uint64_t per_arm) {
    now_ += seconds(1);
    for (Member* m : members) m->fleet.tick(requests(per_arm), requests(per_arm), now_);
    settle();
  }

  Registry registry_;
  event_base* base_;
  const Clock::time_point start_ = Clock::now();
  Clock::time_point now_ = start_;
  std::vector<std::unique_ptr<Member>> members_;
};

TEST_F(FleetCanaryTest, OneLeaderJudgesEveryonesCountsAndTheOthersFollow) {
  Member& a = add("a");
  Member& b = add("b");
  second({&a, &b}, 0);
  EXPECT_TRUE(a.fleet.leading());
  EXPECT_FALSE(b.fleet.leading());
  EXPECT_EQ(b.fleet.json()["leader"], "a");
  // Each reports 120 per arm a second: only both together reach the 200 tries per arm the
  // latency test needs before a step may pass, in a second.
  for (int i = 0; i < 4 && a.run.step() == 0; ++i) second({&a, &b}, 120);
  ASSERT_GE(a.run.step(), 1u);
  EXPECT_GE(a.run.baseline().requests, 240u) << "the leader judged b's counts too";
  // Without traffic the leader stops stepping (once the last counts are in); b catches up.
  for (int i = 0; i < 4 && b.run.step() != a.run.step(); ++i) second({&a, &b}, 0);
  EXPECT_EQ(b.run.step(), a.run.step());
  EXPECT_EQ(b.run.weight(), a.run.weight());
  EXPECT_GT(b.changes, 0);
  EXPECT_GT(b.run.baseline().requests, 0u) << "the follower shows the fleet's totals";
}

TEST_F(FleetCanaryTest, ANewLeaderGoesOnFromTheStoredStep) {
  auto a = std::make_unique<Member>(base_, "a", registry_, start_);
  Member& b = add("b");
  for (int i = 0; i < 10 && a->run.step() < 2; ++i) second({a.get(), &b}, 20);
  ASSERT_EQ(a->run.step(), 2u);
  // a dies right after it stepped; its lease ends and its keys with it.
  a.reset();
  registry_.leader.clear();
  registry_.counts.erase("a");
  second({&b}, 0);
  EXPECT_TRUE(b.fleet.leading());
  EXPECT_EQ(b.run.step(), 2u);
  EXPECT_EQ(b.run.weight(), 60u);
  for (int i = 0; i < 5 && b.run.state() != State::Promoted; ++i) second({&b}, 20);
  EXPECT_EQ(b.run.state(), State::Promoted);
  EXPECT_EQ(b.run.history().size(), 4u);
}

TEST_F(FleetCanaryTest, AResigningLeaderHandsOverAndFollows) {
  Member& a = add("a");
  Member& b = add("b");
  for (int i = 0; i < 10 && a.run.step() < 1; ++i) second({&a, &b}, 20);
  ASSERT_TRUE(a.fleet.leading());
  a.store.resign();
  second({&a, &b}, 20);
  EXPECT_TRUE(b.fleet.leading());
  EXPECT_FALSE(a.fleet.leading());
  EXPECT_GE(b.run.step(), 1u);
  for (int i = 0; i < 10 && b.run.state() != State::Promoted; ++i) second({&a, &b}, 20);
  EXPECT_EQ(b.run.state(), State::Promoted);
  second({&a, &b}, 0);
  EXPECT_EQ(a.run.state(), State::Promoted) << "the one that resigned follows";
}

TEST_F(FleetCanaryTest, SteeringOnAFollowerIsAppliedOnceByTheLeader) {
  Member& a = add("a");
  Member& b = add("b");
  second({&a, &b}, 0);
  ASSERT_TRUE(a.fleet.leading());
  std::string error;
  EXPECT_EQ(b.fleet.steer(Steering::Resume, now_, error), FleetCanary::Steered::Refused);
  EXPECT_EQ(b.fleet.steer(Steering::Pause, now_, error), FleetCanary::Steered::Forwarded);
  settle();
  EXPECT_EQ(b.run.state(), State::Progressing) << "the follower waits for the leader";
  second({&a, &b}, 0);
  EXPECT_EQ(a.run.state(), State::Paused);
  second({&a, &b}, 0);
  EXPECT_EQ(b.run.state(), State::Paused);
  // Resumed on the leader: the follower's old request, still in the store, is not applied again.
  EXPECT_EQ(a.fleet.steer(Steering::Resume, now_, error), FleetCanary::Steered::Applied);
  second({&a, &b}, 0);
  second({&a, &b}, 0);
  // Resumed: progressing, or waiting for traffic since the step has run its time.
  EXPECT_NE(a.run.state(), State::Paused);
  EXPECT_EQ(b.run.state(), a.run.state());
}

TEST_F(FleetCanaryTest, NobodyDecidesWhileTheStoreIsAway) {
  Member& a = add("a");
  second({&a}, 0);
  ASSERT_TRUE(a.fleet.leading());
  registry_.down = true;
  for (int i = 0; i < 5; ++i) second({&a}, 50);
  EXPECT_EQ(a.run.step(), 0u) << "no step without the store";
  EXPECT_EQ(a.fleet.json()["registry_reachable"], false);
  std::string error;
  EXPECT_EQ(a.fleet.steer(Steering::Promote, now_, error), FleetCanary::Steered::Unreachable);
  EXPECT_NE(a.run.state(), State::Promoted);
  registry_.down = false;
  for (int i = 0; i < 3 && a.run.step() == 0; ++i) second({&a}, 50);
  EXPECT_GE(a.run.step(), 1u) << "the counts made while away are judged when it is back";
}

}  // namespace
}  // namespace remora::canary
