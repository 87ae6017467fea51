// One canary's steps, judgement and decisions.
#include "discovery/canary/canary_run.h"

#include <algorithm>
#include <cstdio>

namespace remora::canary {

namespace {

// The mixing scale of the tests, in rate units: the size of effect they detect fastest. A few
// points of error rate (or of requests beyond the latency threshold) is the harm a canary is
// stopped for; far smaller effects are still found, with more traffic.
constexpr double kTau = 0.02;
// Fewer requests than this in an arm and its error rate is not compared yet: the normal
// approximation the tests rest on needs a few dozen trials.
constexpr uint64_t kMinJudgedRequests = 30;

std::string percent(double rate) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f%%", rate * 100);
  return text;
}

std::string millis(uint64_t micros) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1fms", static_cast<double>(micros) / 1000);
  return text;
}

std::string pText(double p, double alpha) {
  char text[64];
  std::snprintf(text, sizeof(text), "p=%.2g < %.2g", p, alpha);
  return text;
}

// The level each test's p-value is compared with: all of them together abort a clean canary at
// most 1 - confidence of the time.
double testLevel(const config::Canary::Analysis& analysis) {
  const int tests = 2 + (analysis.max_error_rate ? 1 : 0) + (analysis.max_p99 ? 1 : 0);
  return (1 - analysis.confidence) / tests;
}

double rate(uint64_t events, uint64_t trials) {
  return trials == 0 ? 0 : static_cast<double>(events) / static_cast<double>(trials);
}

}  // namespace

const char* stateName(State state) {
  switch (state) {
    case State::Progressing:
      return "progressing";
    case State::WaitingForTraffic:
      return "waiting_for_traffic";
    case State::Paused:
      return "paused";
    case State::Promoted:
      return "promoted";
    case State::Aborted:
      return "aborted";
  }
  return "unknown";
}

const char* gateName(Gate gate) { return gate == Gate::Step ? "step" : "promote"; }

const char* steeringName(Steering steering) {
  switch (steering) {
    case Steering::Promote:
      return "promote";
    case Steering::Pause:
      return "pause";
    case Steering::Resume:
      return "resume";
    case Steering::Abort:
      return "abort";
  }
  return "unknown";
}

std::optional<Steering> steeringFromName(std::string_view name) {
  for (Steering steering :
       {Steering::Promote, Steering::Pause, Steering::Resume, Steering::Abort}) {
    if (name == steeringName(steering)) return steering;
  }
  return std::nullopt;
}

void ArmTotals::add(const ArmTotals& other) {
  requests += other.requests;
  errors += other.errors;
  latency.add(other.latency);
}

CanaryRun::CanaryRun(const config::Canary& config, Clock::time_point now)
    : config_(config),
      steps_(config.steps),
      error_test_(kTau),
      latency_test_(kTau),
      max_error_rate_test_(kTau),
      max_p99_test_(kTau) {
  // The shadow step comes first, at weight 0: the canary sees copies only.
  if (config_.shadow) steps_.insert(steps_.begin(), 0);
  startStep(0, now);
}

uint32_t CanaryRun::weight() const {
  if (state_ == State::Promoted) return 100;
  if (state_ == State::Aborted || steps_.empty()) return 0;
  return steps_[step_];
}

void CanaryRun::startStep(size_t index, Clock::time_point now) {
  step_ = index;
  step_started_ = now;
  step_baseline_ = {};
  step_canary_ = {};
  history_.push_back({steps_[index], std::chrono::system_clock::now(), 0, 0, ""});
  // A step at 100% leaves the baseline no traffic to be compared with: reaching it is promotion.
  if (steps_[index] >= 100) finish(State::Promoted, "every step passed");
}

void CanaryRun::finish(State state, std::string reason) {
  state_ = state;
  gate_wanted_.reset();
  reason_ = std::move(reason);
  if (!history_.empty()) {
    StepRecord& current = history_.back();
    current.baseline_requests = step_baseline_.requests;
    current.canary_requests = step_canary_.requests;
    current.outcome = std::string(stateName(state)) + ": " + reason_;
  }
}

bool CanaryRun::observe(const ArmTotals& baseline, const ArmTotals& canary, Clock::time_point now) {
  if (state_ == State::Promoted || state_ == State::Aborted) return false;
  const State state_before = state_;
  const uint32_t weight_before = weight();
  baseline_.add(baseline);
  canary_.add(canary);
  step_baseline_.add(baseline);
  step_canary_.add(canary);
  // A paused canary keeps its weight, and is still stopped if it turns out harmful.
  judge();
  if (state_ != State::Aborted && state_ != State::Paused) stepDone(now);
  return state_ != state_before || weight() != weight_before;
}

void CanaryRun::judge() {
  const config::Canary::Analysis& analysis = config_.analysis;
  Judgement& j = judgement_;
  j.alpha = testLevel(analysis);

  if (canary_.requests >= kMinJudgedRequests && baseline_.requests >= kMinJudgedRequests) {
    const Estimate e = rateIncrease(canary_.errors, canary_.requests, baseline_.errors,
                                    baseline_.requests, analysis.max_error_rate_increase);
    j.error_p = error_test_.update(e.effect, e.variance);
  }
  if (analysis.max_error_rate && canary_.requests >= kMinJudgedRequests) {
    const Estimate e = rateAbove(canary_.errors, canary_.requests, *analysis.max_error_rate);
    j.max_error_rate_p = max_error_rate_test_.update(e.effect, e.variance);
  }
  const bool canary_tail = canary_.latency.count() >= kMinLatencySamples;
  if (canary_tail && baseline_.latency.count() >= kMinLatencySamples) {
    j.latency_threshold_us = latencyThreshold();
    const Estimate e = tailAbove(canary_.latency, j.latency_threshold_us);
    j.latency_p = latency_test_.update(e.effect, e.variance);
  }
  if (analysis.max_p99 && canary_tail) {
    const auto limit_us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(*analysis.max_p99).count());
    const Estimate e = tailAbove(canary_.latency, limit_us);
    j.max_p99_p = max_p99_test_.update(e.effect, e.variance);
  }

  const std::string canary_rate = percent(rate(canary_.errors, canary_.requests));
  if (j.error_p <= j.alpha) {
    finish(State::Aborted, "canary error rate " + canary_rate + " vs baseline " +
                               percent(rate(baseline_.errors, baseline_.requests)) +
                               ": more than " + percent(analysis.max_error_rate_increase) +
                               " higher (" + pText(j.error_p, j.alpha) + ")");
  } else if (j.max_error_rate_p <= j.alpha) {
    finish(State::Aborted, "canary error rate " + canary_rate + " is above max_error_rate " +
                               percent(*analysis.max_error_rate) + " (" +
                               pText(j.max_error_rate_p, j.alpha) + ")");
  } else if (j.latency_p <= j.alpha) {
    finish(State::Aborted, "canary p99 " + millis(canary_.latency.quantile(0.99)) +
                               " vs baseline p99 " + millis(baseline_.latency.quantile(0.99)) +
                               ": " +
                               percent(rate(canary_.latency.countAbove(j.latency_threshold_us),
                                            canary_.latency.count())) +
                               " of canary requests slower than " + millis(j.latency_threshold_us) +
                               " (baseline p99 x max_p99_ratio, or + min_p99_increase), more "
                               "than 1% (" +
                               pText(j.latency_p, j.alpha) + ")");
  } else if (j.max_p99_p <= j.alpha) {
    finish(
        State::Aborted,
        "canary p99 " + millis(canary_.latency.quantile(0.99)) + " is above max_p99 " +
            millis(static_cast<uint64_t>(
                std::chrono::duration_cast<std::chrono::microseconds>(*analysis.max_p99).count())) +
            " (" + pText(j.max_p99_p, j.alpha) + ")");
  }
}

uint64_t CanaryRun::latencyThreshold() const {
  const config::Canary::Analysis& analysis = config_.analysis;
  const auto baseline_p99 = static_cast<double>(baseline_.latency.quantile(0.99));
  const auto floor_us = static_cast<double>(
      std::chrono::duration_cast<std::chrono::microseconds>(analysis.min_p99_increase).count());
  return static_cast<uint64_t>(
      std::max(analysis.max_p99_ratio * baseline_p99, baseline_p99 + floor_us));
}

void CanaryRun::stepDone(Clock::time_point now) {
  gate_wanted_.reset();
  const Clock::duration elapsed = now - step_started_;
  const uint64_t wanted = config_.min_requests;
  // The latency test is always on, and needs a p99 of each arm before it can say anything: a step
  // with a small min_requests still waits for it, or a slow canary would pass unjudged.
  const bool latency_judged = baseline_.latency.count() >= kMinLatencySamples &&
                              canary_.latency.count() >= kMinLatencySamples;
  const bool enough =
      step_baseline_.requests >= wanted && step_canary_.requests >= wanted && latency_judged;
  if (elapsed >= config_.step_interval && enough) {
    const bool last = step_ + 1 >= steps_.size() || steps_[step_ + 1] >= 100;
    const Gate gate = last ? Gate::Promote : Gate::Step;
    if (gated(gate)) {
      gate_wanted_ = gate;
      state_ = State::Progressing;
      reason_ = gateReason();
      return;
    }
    moveOn(now);
    return;
  }
  if (elapsed < config_.step_interval) return;
  // What the step still lacks, in the terms of the settings that ask for it.
  std::string counts;
  if (step_baseline_.requests < wanted || step_canary_.requests < wanted) {
    counts = "baseline " + std::to_string(step_baseline_.requests) + ", canary " +
             std::to_string(step_canary_.requests) + " of the " + std::to_string(wanted) +
             " requests per arm a step needs";
  }
  if (!latency_judged) {
    counts += counts.empty() ? "" : "; ";
    counts += "baseline " + std::to_string(baseline_.latency.count()) + ", canary " +
              std::to_string(canary_.latency.count()) + " of the " +
              std::to_string(kMinLatencySamples) + " per arm the latency test needs";
  }
  if (config_.deadline && elapsed >= *config_.deadline) {
    if (config_.on_deadline == config::Canary::OnDeadline::Abort) {
      finish(State::Aborted, "not enough traffic before the deadline: " + counts);
    } else {
      state_ = State::Paused;
      reason_ = "paused: not enough traffic before the deadline: " + counts;
    }
    return;
  }
  state_ = State::WaitingForTraffic;
  reason_ = "waiting for traffic: " + counts;
}

bool CanaryRun::gated(Gate gate) const {
  return std::any_of(config_.webhooks.begin(), config_.webhooks.end(), [&](const auto& hook) {
    return gate == Gate::Step ? hook.on_step : hook.on_promote;
  });
}

void CanaryRun::moveOn(Clock::time_point now) {
  StepRecord& current = history_.back();
  current.baseline_requests = step_baseline_.requests;
  current.canary_requests = step_canary_.requests;
  current.outcome = "passed";
  reason_.clear();
  state_ = State::Progressing;
  gate_wanted_.reset();
  gate_refusal_.clear();
  if (step_ + 1 < steps_.size()) {
    startStep(step_ + 1, now);
  } else {
    finish(State::Promoted, "every step passed");
  }
}

bool CanaryRun::gateAnswered(bool approved, const std::string& detail, Clock::time_point now) {
  if (!gate_wanted_ || state_ != State::Progressing) return false;
  const uint32_t weight_before = weight();
  const State state_before = state_;
  // A gate is wanted only once its step has passed: approved, the run moves on at once.
  if (approved) {
    moveOn(now);
  } else {
    gate_refusal_ = detail;
    reason_ = gateReason();
  }
  return state_ != state_before || weight() != weight_before;
}

std::string CanaryRun::gateReason() const {
  std::string reason = std::string("step passed; waiting for the webhooks to approve ") +
                       (gate_wanted_ == Gate::Promote ? "the promotion" : "the next step");
  if (!gate_refusal_.empty()) reason += ": " + gate_refusal_;
  return reason;
}

bool CanaryRun::promote(Clock::time_point) {
  if (state_ == State::Promoted || state_ == State::Aborted) return false;
  finish(State::Promoted, "promoted by hand");
  return true;
}

bool CanaryRun::abort(Clock::time_point, std::string reason) {
  // A promoted canary may still be rolled back.
  if (state_ == State::Aborted) return false;
  finish(State::Aborted, reason.empty() ? "aborted by hand" : std::move(reason));
  return true;
}

bool CanaryRun::pause(Clock::time_point) {
  if (state_ == State::Promoted || state_ == State::Aborted || state_ == State::Paused) {
    return false;
  }
  state_ = State::Paused;
  reason_ = "paused by hand";
  gate_wanted_.reset();
  return true;
}

bool CanaryRun::resume(Clock::time_point now) {
  if (state_ != State::Paused) return false;
  // The step starts over: its time and counts are measured from now.
  state_ = State::Progressing;
  reason_.clear();
  step_started_ = now;
  step_baseline_ = {};
  step_canary_ = {};
  gate_wanted_.reset();
  gate_refusal_.clear();
  return true;
}

bool CanaryRun::steer(Steering steering, Clock::time_point now) {
  switch (steering) {
    case Steering::Promote:
      return promote(now);
    case Steering::Pause:
      return pause(now);
    case Steering::Resume:
      return resume(now);
    case Steering::Abort:
      return abort(now, "aborted by hand");
  }
  return false;
}

RunProgress CanaryRun::progress(Clock::time_point now) const {
  const auto wall_now = std::chrono::system_clock::now();
  RunProgress p;
  p.state = state_;
  p.step = step_;
  p.reason = reason_;
  p.step_started = wall_now - std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                  now - step_started_);
  p.baseline = baseline_;
  p.canary = canary_;
  p.step_baseline = step_baseline_;
  p.step_canary = step_canary_;
  p.error_p = error_test_.value();
  p.latency_p = latency_test_.value();
  p.max_error_rate_p = max_error_rate_test_.value();
  p.max_p99_p = max_p99_test_.value();
  p.history = history_;
  return p;
}

bool CanaryRun::restore(const RunProgress& p, Clock::time_point now) {
  if (p.step >= steps_.size() || p.history.empty()) return false;
  const auto wall_now = std::chrono::system_clock::now();
  // Another machine's clock may run ahead: a step never started in the future.
  auto since = [&](std::chrono::system_clock::time_point wall) {
    const auto elapsed = std::max(wall_now - wall, std::chrono::system_clock::duration::zero());
    return now - std::chrono::duration_cast<Clock::duration>(elapsed);
  };
  state_ = p.state;
  step_ = p.step;
  reason_ = p.reason;
  step_started_ = since(p.step_started);
  baseline_ = p.baseline;
  canary_ = p.canary;
  step_baseline_ = p.step_baseline;
  step_canary_ = p.step_canary;
  error_test_.resumeFrom(p.error_p);
  latency_test_.resumeFrom(p.latency_p);
  max_error_rate_test_.resumeFrom(p.max_error_rate_p);
  max_p99_test_.resumeFrom(p.max_p99_p);
  judgement_.alpha = testLevel(config_.analysis);
  judgement_.error_p = p.error_p;
  judgement_.latency_p = p.latency_p;
  judgement_.max_error_rate_p = p.max_error_rate_p;
  judgement_.max_p99_p = p.max_p99_p;
  // What the leader compares the canary's tail with, for /canaries on a follower.
  const bool tails = baseline_.latency.count() >= kMinLatencySamples &&
                     canary_.latency.count() >= kMinLatencySamples;
  judgement_.latency_threshold_us = tails ? latencyThreshold() : 0;
  history_ = p.history;
  // Gates are asked by whoever decides, and a new leader asks again.
  gate_wanted_.reset();
  gate_refusal_.clear();
  return true;
}

}  // namespace remora::canary
