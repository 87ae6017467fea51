// CanaryRun: one canary release's progress on the main thread: the steps and their timing, the
// judgement of the canary arm against the baseline, and the decisions (promote, abort, pause)
// with their reasons. Pure logic: outcomes and the clock come in, state and weight go out.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "discovery/canary/latency_histogram.h"
#include "discovery/canary/sequential_test.h"

namespace remora::canary {

using Clock = std::chrono::steady_clock;

enum class State { Progressing, WaitingForTraffic, Paused, Promoted, Aborted };
const char* stateName(State state);

// Outcomes of one arm: requests, errors among them (5xx and local failures), their durations.
struct ArmTotals {
  uint64_t requests = 0;
  uint64_t errors = 0;
  LatencyHistogram latency;
  void add(const ArmTotals& other);
};

// What the judge sees and concludes; every figure /canaries shows.
struct Judgement {
  // Always-valid p-values (1: no evidence of harm); a test is decisive at `alpha` divided by the
  // number of tests in use, so that all of them together abort a clean canary at most
  // 1 - confidence of the time.
  double error_p = 1;
  double latency_p = 1;
  double max_error_rate_p = 1;
  double max_p99_p = 1;
  double alpha = 0;  // the level each p-value is compared with
  // The latency threshold the canary's tail is compared with (max_p99_ratio x baseline p99, at
  // least baseline p99 + min_p99_increase), in
  // microseconds; 0 while an arm has too few samples for a p99.
  uint64_t latency_threshold_us = 0;
};

struct StepRecord {
  uint32_t weight = 0;
  std::chrono::system_clock::time_point started_wall;  // wall clock: it crosses machines
  uint64_t baseline_requests = 0;                      // during the step
  uint64_t canary_requests = 0;
  std::string outcome;  // "" while it runs; "passed", "promoted", "aborted: ..."
};

// What a finished step moves on to, which webhooks may have to approve first.
enum class Gate { Step, Promote };
const char* gateName(Gate gate);

// Steering by hand (POST /canaries/<name>/...).
enum class Steering { Promote, Pause, Resume, Abort };
const char* steeringName(Steering steering);
std::optional<Steering> steeringFromName(std::string_view name);

// Everything a run has decided and measured, for another remora to carry on with (the fleet's
// stored state): a run restored from it goes on as the one it came from would have.
struct RunProgress {
  State state = State::Progressing;
  size_t step = 0;
  std::string reason;
  // Wall-clock times: they cross machines, whose steady clocks have nothing in common.
  std::chrono::system_clock::time_point step_started;
  ArmTotals baseline;
  ArmTotals canary;
  ArmTotals step_baseline;
  ArmTotals step_canary;
  // The tests' always-valid p-values so far: running minima that new evidence can only lower.
  double error_p = 1;
  double latency_p = 1;
  double max_error_rate_p = 1;
  double max_p99_p = 1;
  std::vector<StepRecord> history;
};

class CanaryRun {
 public:
  CanaryRun(const config::Canary& config, Clock::time_point now);

  // Adds the outcomes reported since the last call, judges, and moves on when a step is done.
  // Returns true when the state or the weight changed.
  bool observe(const ArmTotals& baseline, const ArmTotals& canary, Clock::time_point now);
  // Timers alone (a step that waits for traffic may reach its deadline with no report at all).
  bool tick(Clock::time_point now) { return observe({}, {}, now); }

  // Steering by hand (POST /canaries/<name>/...). Each returns false (and changes nothing) when
  // the state does not allow it, e.g. resuming a canary that was promoted.
  bool promote(Clock::time_point now);
  bool abort(Clock::time_point now, std::string reason);
  bool pause(Clock::time_point now);
  bool resume(Clock::time_point now);
  bool steer(Steering steering, Clock::time_point now);

  // The gate a finished step waits at (its webhooks have not approved yet), if any.
  std::optional<Gate> gateWanted() const { return gate_wanted_; }
  // The webhooks' answer for the gate wanted: approved moves on at once; refused keeps the step,
  // with `detail` (which webhook, what it said) in the reason. Returns true when the state or
  // the weight changed.
  bool gateAnswered(bool approved, const std::string& detail, Clock::time_point now);
  // A reload that keeps the release may change its gates.
  void setWebhooks(std::vector<config::Canary::Webhook> webhooks) {
    config_.webhooks = std::move(webhooks);
  }

  // What the run is at, at `now`.
  RunProgress progress(Clock::time_point now) const;
  // Takes over `progress` (the leader's decisions); false, changing nothing, when it does not fit
  // this canary's steps.
  bool restore(const RunProgress& progress, Clock::time_point now);

  State state() const { return state_; }
  // The share of the route's traffic the canary arm gets, percent.
  uint32_t weight() const;
  // Whether the canary is judged on copies of the route's requests (its shadow step), and no
  // user is sent to it yet.
  bool shadowing() const {
    return config_.shadow && step_ == 0 && state_ != State::Promoted && state_ != State::Aborted;
  }
  // The steps' weights as run: with `shadow`, a first step at 0.
  const std::vector<uint32_t>& steps() const { return steps_; }
  size_t step() const { return step_; }
  const std::string& reason() const { return reason_; }
  const Judgement& judgement() const { return judgement_; }
  const ArmTotals& baseline() const { return baseline_; }  // since the canary started
  const ArmTotals& canary() const { return canary_; }
  const ArmTotals& stepBaseline() const { return step_baseline_; }  // since the step started
  const ArmTotals& stepCanary() const { return step_canary_; }
  const std::vector<StepRecord>& history() const { return history_; }
  const config::Canary& config() const { return config_; }

 private:
  void judge();
  // max_p99_ratio x the baseline's p99, at least the baseline's p99 + min_p99_increase.
  uint64_t latencyThreshold() const;
  void startStep(size_t index, Clock::time_point now);
  void finish(State state, std::string reason);
  void stepDone(Clock::time_point now);
  void moveOn(Clock::time_point now);
  bool gated(Gate gate) const;
  std::string gateReason() const;

  config::Canary config_;
  std::vector<uint32_t> steps_;
  State state_ = State::Progressing;
  size_t step_ = 0;
  Clock::time_point step_started_;
  std::string reason_;
  ArmTotals baseline_;
  ArmTotals canary_;
  ArmTotals step_baseline_;
  ArmTotals step_canary_;
  Judgement judgement_;
  AlwaysValidPValue error_test_;
  AlwaysValidPValue latency_test_;
  AlwaysValidPValue max_error_rate_test_;
  AlwaysValidPValue max_p99_test_;
  std::vector<StepRecord> history_;
  std::optional<Gate> gate_wanted_;
  std::string gate_refusal_;  // the gate's last refusal, shown in the reason until it approves
};

}  // namespace remora::canary
