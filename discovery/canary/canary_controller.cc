// The main thread's canaries: reports summed, runs ticked, weights published, decisions logged,
// metrics exported, steering by hand, and /canaries.
#include "discovery/canary/canary_controller.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "config/duration.h"
#include "discovery/canary/fleet_records.h"
#include "proxy/log.h"

namespace remora::canary {
namespace {

// Whether two canaries are the same release: everything but where it is written.
bool sameRelease(const config::Canary& a, const config::Canary& b) {
  return fingerprint(a) == fingerprint(b);
}

double seconds(uint64_t micros) { return static_cast<double>(micros) / 1e6; }

nlohmann::json armJson(const ArmTotals& arm) {
  const Interval interval = wilsonInterval(arm.errors, arm.requests);
  return {{"requests", arm.requests},
          {"errors", arm.errors},
          {"error_rate", arm.requests == 0
                             ? 0.0
                             : static_cast<double>(arm.errors) / static_cast<double>(arm.requests)},
          {"error_rate_interval", {interval.low, interval.high}},
          {"p50_seconds", seconds(arm.latency.quantile(0.5))},
          {"p99_seconds", seconds(arm.latency.quantile(0.99))}};
}

constexpr State kStates[] = {State::Progressing, State::WaitingForTraffic, State::Paused,
                             State::Promoted, State::Aborted};

}  // namespace

CanaryController::CanaryController(event_base* base, stats::Registry& stats,
                                   std::function<void()> changed)
    : base_(base),
      stats_(stats),
      changed_(std::move(changed)),
      timer_(event_new(base, -1, EV_PERSIST, &CanaryController::onTimer, this)) {
  static constexpr timeval kTick = {1, 0};
  event_add(timer_, &kTick);
}

CanaryController::~CanaryController() { event_free(timer_); }

void CanaryController::setConfig(const config::Config& config) {
  std::map<std::string, Entry, std::less<>> next;
  const Clock::time_point now = Clock::now();
  for (size_t i = 0; i < config.canaries.size(); ++i) {
    const config::Canary& canary = config.canaries[i];
    auto it = canaries_.find(canary.name);
    Entry entry;
    if (it != canaries_.end() && sameRelease(it->second.run->config(), canary)) {
      entry = std::move(it->second);
      entry.run->setWebhooks(canary.webhooks);
    } else {
      entry.run = std::make_unique<CanaryRun>(canary, now);
      LOG_INFO("canary %s: %s, %u%% of route %s to %s", canary.name.c_str(),
               it == canaries_.end() ? "starts" : "changed, starts over", entry.run->weight(),
               canary.route.c_str(), canary.cluster.c_str());
    }
    entry.index = i;
    auto placed = next.emplace(canary.name, std::move(entry)).first;
    coordinate(placed->first, placed->second);
  }
  for (const auto& [name, entry] : canaries_) {
    if (!next.contains(name)) {
      for (State state : kStates) {
        stats_.setGauge("remora_canary_state", "", {{"canary", name}, {"state", stateName(state)}},
                        0);
      }
      LOG_INFO("canary %s: no longer configured", name.c_str());
    }
  }
  canaries_ = std::move(next);
  for (const auto& [name, entry] : canaries_) exportMetrics(name, entry);
  refreshWeights();
}

void CanaryController::coordinate(const std::string& name, Entry& entry) {
  const bool wanted = store_ != nullptr && entry.run->config().fleet.value_or(true);
  if (!wanted) {
    entry.fleet.reset();
    return;
  }
  if (entry.fleet) return;
  // Found by name when it fires: entries move between maps on every reload.
  entry.fleet = std::make_unique<FleetCanary>(
      base_, *store_, *entry.run, [this, name](State state_before, uint32_t weight_before) {
        auto it = canaries_.find(name);
        if (it != canaries_.end()) after(it->first, it->second, state_before, weight_before);
      });
  LOG_INFO("canary %s: decided with every remora that runs it, through %s, as %s", name.c_str(),
           store_->kind(), store_->self().c_str());
}

void CanaryController::onReports(const CanaryReports& reports) {
  for (const CanaryReport& report : reports) {
    auto it = canaries_.find(report.canary);
    if (it == canaries_.end()) continue;  // from before a reload that dropped it
    it->second.pending_baseline.add(report.baseline);
    it->second.pending_canary.add(report.canary_arm);
  }
}

void CanaryController::onTimer(evutil_socket_t, short, void* self) {
  static_cast<CanaryController*>(self)->tick(Clock::now());
}

void CanaryController::tick(Clock::time_point now) {
  for (auto& [canary_name, entry] : canaries_) {
    // A named reference: clang 14 cannot capture a structured binding in a lambda.
    const std::string& name = canary_name;
    const State state_before = entry.run->state();
    const uint32_t weight_before = entry.run->weight();
    const uint64_t baseline_errors = entry.pending_baseline.errors;
    const uint64_t canary_errors = entry.pending_canary.errors;
    auto count = [&](const char* arm, const char* outcome, uint64_t n) {
      stats_.incrementCounter(
          "remora_canary_requests_total", "Tries of each canary arm, by outcome",
          {{"canary", name}, {"arm", arm}, {"outcome", outcome}}, static_cast<double>(n));
    };
    count("baseline", "success", entry.pending_baseline.requests - baseline_errors);
    count("baseline", "error", baseline_errors);
    count("canary", "success", entry.pending_canary.requests - canary_errors);
    count("canary", "error", canary_errors);
    if (entry.fleet) {
      // The fleet's leader judges; what changes here is reported through `after` as it comes.
      entry.fleet->tick(entry.pending_baseline, entry.pending_canary, now);
    } else {
      entry.run->observe(entry.pending_baseline, entry.pending_canary, now);
    }
    entry.pending_baseline = {};
    entry.pending_canary = {};
    if (!entry.fleet) after(name, entry, state_before, weight_before);
    askGate(name, entry, now);
  }
}

void CanaryController::askGate(const std::string& name, Entry& entry, Clock::time_point now) {
  const CanaryRun& run = *entry.run;
  // In a fleet the leader asks; a follower learns the outcome with the state.
  const bool deciding = !entry.fleet || entry.fleet->leading();
  const std::optional<Gate> gate = run.gateWanted();
  if (!deciding || !gate || run.state() != State::Progressing) {
    if (entry.gate) entry.gate->cancel();
    return;
  }
  if ((entry.gate && entry.gate->asking()) || now < entry.gate_next_ask) return;
  if (!http_) {
    http_ = std::make_unique<discovery::HttpClient>(base_);
    std::string error;
    // https:// webhooks are checked against the system's CAs.
    if (!http_->setTls({}, error)) LOG_WARN("canary webhooks: no TLS: %s", error.c_str());
  }
  if (!entry.gate) entry.gate = std::make_unique<WebhookGate>(*http_);
  const config::Canary& c = run.config();
  const bool last = *gate == Gate::Promote;
  const uint32_t next_weight = last ? 100 : run.steps()[run.step() + 1];
  const nlohmann::json payload = {
      {"canary", name},
      {"gate", gateName(*gate)},
      {"route", c.route},
      {"cluster", c.cluster},
      {"step", run.step() + 1},
      {"weight", run.weight()},
      {"next_weight", next_weight},
      {"arms",
       {{"baseline", {{"requests", run.baseline().requests}, {"errors", run.baseline().errors}}},
        {"canary", {{"requests", run.canary().requests}, {"errors", run.canary().errors}}}}}};
  LOG_INFO("canary %s: step %zu passed; asking the webhooks to approve %s", name.c_str(),
           run.step() + 1, last ? "the promotion" : "the next step");
  entry.gate->ask(c.webhooks, *gate, payload.dump(),
                  [this, name](bool approved, const std::string& detail) {
                    auto it = canaries_.find(name);
                    if (it != canaries_.end())
                      gateAnswered(it->first, it->second, approved, detail);
                  });
}

void CanaryController::gateAnswered(const std::string& name, Entry& entry, bool approved,
                                    const std::string& detail) {
  const Clock::time_point now = Clock::now();
  const Clock::duration again = entry.run->config().step_interval;
  entry.gate_next_ask = approved ? Clock::time_point{} : now + again;
  if (approved) {
    LOG_INFO("canary %s: the webhooks approved", name.c_str());
  } else {
    LOG_WARN("canary %s: the webhooks did not approve: %s; asking again in %s", name.c_str(),
             detail.c_str(), config::formatDuration(entry.run->config().step_interval).c_str());
  }
  if (entry.fleet) {
    // Reported through `after` when the state or weight changes.
    entry.fleet->answerGate(approved, detail, now);
    return;
  }
  const State state_before = entry.run->state();
  const uint32_t weight_before = entry.run->weight();
  entry.run->gateAnswered(approved, detail, now);
  after(name, entry, state_before, weight_before);
}

void CanaryController::after(const std::string& name, Entry& entry, State state_before,
                             uint32_t weight_before) {
  const CanaryRun& run = *entry.run;
  if (run.state() == state_before && run.weight() == weight_before) return;
  if (run.state() == State::Aborted || run.state() == State::Promoted) {
    LOG_WARN("canary %s: %s at %u%%: %s", name.c_str(), stateName(run.state()), run.weight(),
             run.reason().c_str());
  } else if (run.weight() != weight_before) {
    LOG_INFO("canary %s: step %zu, %u%% to the canary (%s)", name.c_str(), run.step() + 1,
             run.weight(), stateName(run.state()));
  } else {
    LOG_INFO("canary %s: %s: %s", name.c_str(), stateName(run.state()), run.reason().c_str());
  }
  exportMetrics(name, entry);
  // A shadow step's end changes the snapshot too, weight or not (an abort stays at 0).
  if (refreshWeights()) changed_();
}

bool CanaryController::refreshWeights() {
  discovery::CanaryWeights next(canaries_.size());
  for (const auto& [name, entry] : canaries_) {
    if (entry.index >= next.size()) next.resize(entry.index + 1);
    next[entry.index] = {entry.run->weight(), entry.run->shadowing()};
  }
  const bool changed = next != weights_;
  weights_ = std::move(next);
  return changed;
}

void CanaryController::exportMetrics(const std::string& name, const Entry& entry) {
  stats_.setGauge("remora_canary_weight", "Percent of the canary's route sent to the canary arm",
                  {{"canary", name}}, entry.run->weight());
  for (State state : kStates) {
    stats_.setGauge("remora_canary_state", "The canary's state (1 for the current one)",
                    {{"canary", name}, {"state", stateName(state)}},
                    entry.run->state() == state ? 1 : 0);
  }
}

CanaryController::Steered CanaryController::steer(std::string_view name, Steering action,
                                                  std::string& error) {
  auto it = canaries_.find(name);
  if (it == canaries_.end()) {
    error = "no canary '" + std::string(name) + "'";
    return Steered::NoSuchCanary;
  }
  Entry& entry = it->second;
  const Clock::time_point now = Clock::now();
  auto refused = [&] {
    error = std::string("cannot ") + steeringName(action) + " canary '" + it->first +
            "' while it is " + stateName(entry.run->state());
    return Steered::NotAllowed;
  };
  if (entry.fleet) {
    switch (entry.fleet->steer(action, now, error)) {
      case FleetCanary::Steered::Applied:
        return Steered::Applied;
      case FleetCanary::Steered::Forwarded:
        return Steered::Forwarded;
      case FleetCanary::Steered::Refused:
        return refused();
      case FleetCanary::Steered::Unreachable:
        return Steered::Unreachable;
    }
  }
  const State state_before = entry.run->state();
  const uint32_t weight_before = entry.run->weight();
  if (!entry.run->steer(action, now)) return refused();
  after(it->first, entry, state_before, weight_before);
  return Steered::Applied;
}

std::string CanaryController::json() const {
  nlohmann::json list = nlohmann::json::array();
  std::vector<const std::pair<const std::string, Entry>*> ordered;
  for (const auto& item : canaries_) ordered.push_back(&item);
  std::sort(ordered.begin(), ordered.end(),
            [](const auto* a, const auto* b) { return a->second.index < b->second.index; });
  for (const auto* item : ordered) {
    const CanaryRun& run = *item->second.run;
    const config::Canary& c = run.config();
    const Judgement& j = run.judgement();
    nlohmann::json history = nlohmann::json::array();
    for (const StepRecord& step : run.history()) {
      history.push_back({{"weight", step.weight},
                         {"started", config::formatUtc(step.started_wall)},
                         {"baseline_requests", step.baseline_requests},
                         {"canary_requests", step.canary_requests},
                         {"outcome", step.outcome}});
    }
    list.push_back(
        {{"name", item->first},
         {"route", c.route},
         {"cluster", c.cluster},
         {"baseline_subset", c.baseline},
         {"canary_subset", c.canary},
         {"state", stateName(run.state())},
         {"step", run.step()},
         {"steps", run.steps()},  // as run: a shadow step first, at 0
         {"shadow", run.shadowing()},
         {"weight", run.weight()},
         {"reason", run.reason()},
         {"waiting_for_webhooks",
          run.gateWanted() ? nlohmann::json(gateName(*run.gateWanted())) : nlohmann::json()},
         {"arms", {{"baseline", armJson(run.baseline())}, {"canary", armJson(run.canary())}}},
         {"step_arms",
          {{"baseline", armJson(run.stepBaseline())}, {"canary", armJson(run.stepCanary())}}},
         {"tests",
          {{"alpha", j.alpha},
           {"error_rate_increase_p", j.error_p},
           {"latency_p", j.latency_p},
           {"latency_threshold_seconds", seconds(j.latency_threshold_us)},
           {"max_error_rate_p", j.max_error_rate_p},
           {"max_p99_p", j.max_p99_p}}},
         {"history", std::move(history)},
         {"fleet", item->second.fleet ? item->second.fleet->json()
                                      : nlohmann::json{{"coordinated", false}}}});
  }
  return nlohmann::json{{"canaries", std::move(list)}}.dump(
      2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace remora::canary
