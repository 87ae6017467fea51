// One canary run decided by a leader for the whole fleet: campaign, counts, judging, writing the
// state, following it, and steering forwarded to the leader.
#include "discovery/canary/fleet_canary.h"

#include <random>

#include "proxy/log.h"

namespace remora::canary {
namespace {

// How often a remora's counts are published: the leader judges with at most this delay.
constexpr Clock::duration kPublishEvery = std::chrono::seconds(2);
// A state whose only news is counts is written at most this often; a decision at once.
constexpr Clock::duration kCountsWriteEvery = std::chrono::seconds(2);
constexpr timeval kFollowEvery = {0, 250 * 1000};

uint64_t newEpoch() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

}  // namespace

FleetCanary::FleetCanary(event_base* base, FleetStore& store, CanaryRun& run,
                         std::function<void(State, uint32_t)> changed)
    : store_(store),
      run_(run),
      key_{run.config().name, fingerprint(run.config())},
      changed_(std::move(changed)),
      follow_timer_(event_new(base, -1, EV_PERSIST, &FleetCanary::onFollowTimer, this)) {
  mine_.epoch = newEpoch();
  // Steering requests of an earlier process of this remora were numbered by the same clock.
  request_sequence_ = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  event_add(follow_timer_, &kFollowEvery);
}

FleetCanary::~FleetCanary() { event_free(follow_timer_); }

template <typename Change>
bool FleetCanary::changeRun(Change change) {
  const State state_before = run_.state();
  const uint32_t weight_before = run_.weight();
  const size_t step_before = run_.step();
  change();
  if (run_.state() == state_before && run_.weight() == weight_before &&
      run_.step() == step_before) {
    return false;
  }
  changed_(state_before, weight_before);
  return true;
}

void FleetCanary::tick(const ArmTotals& baseline, const ArmTotals& canary, Clock::time_point now) {
  mine_.baseline.add(baseline);
  mine_.canary.add(canary);
  // An exchange still out (a slow registry): the counts wait for the next one.
  if (!sync_call_) sync(now);
}

void FleetCanary::sync(Clock::time_point now) {
  std::optional<std::string> counts;
  if (!published_once_ || now - last_publish_ >= kPublishEvery) {
    counts = encodeCounts(mine_);
    published_once_ = true;
    last_publish_ = now;
  }
  sync_call_ = store_.sync(key_, std::move(counts),
                           [this, now](std::optional<FleetView> view, std::string error) {
                             sync_call_.reset();
                             if (!view) return unreachable(error);
                             onView(*view, now);
                           });
}

void FleetCanary::unreachable(const std::string& error) {
  if (reachable_) {
    LOG_WARN(
        "canary %s: the %s store cannot be reached (%s): keeping %s at %u%%, deciding "
        "nothing until it is back",
        key_.name.c_str(), store_.kind(), error.c_str(), stateName(run_.state()), run_.weight());
  }
  reachable_ = false;
  last_error_ = error;
  published_once_ = false;  // publish at once when it is back
}

std::optional<FleetState> FleetCanary::decodeStored(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  std::string error;
  std::optional<FleetState> state = decodeState(*text, error);
  if (!state) {
    last_error_ = "the stored state is unreadable: " + error;
  } else if (state->fingerprint != key_.fingerprint) {
    // Its key says otherwise; someone wrote it by hand.
    last_error_ = "the stored state belongs to another release";
    state.reset();
  }
  return state;
}

void FleetCanary::onView(const FleetView& view, Clock::time_point now) {
  if (!reachable_) {
    LOG_INFO("canary %s: the %s store is back", key_.name.c_str(), store_.kind());
  }
  reachable_ = true;
  last_error_.clear();
  leader_ = view.leader;
  const bool took_over = view.leading && !leading_;
  leading_ = view.leading;
  const std::optional<FleetState> state = decodeStored(view.state);
  if (!leading_) return follow(state, now);
  std::map<std::string, FleetCounts> counts;
  for (const auto& [id, text] : view.counts) {
    std::string error;
    if (auto decoded = decodeCounts(text, error)) counts.emplace(id, std::move(*decoded));
  }
  if (took_over) takeOver(state, counts, now);
  applyRequests(view.requests, now);
  const FleetCounts added = ledger_.advance(counts);
  if (added.baseline.requests != 0 || added.canary.requests != 0) counts_unsaved_ = true;
  if (changeRun([&] { run_.observe(added.baseline, added.canary, now); })) {
    decision_unsaved_ = true;
  }
  const bool counts_due = counts_unsaved_ && now - last_write_ >= kCountsWriteEvery;
  if (decision_unsaved_ || counts_due) writeState(now);
}

// A new leader goes on from the stored state: the same step, weight and totals. The counts
// published so far were judged by the leader before (up to its last write).
void FleetCanary::takeOver(const std::optional<FleetState>& state,
                           const std::map<std::string, FleetCounts>& counts,
                           Clock::time_point now) {
  ledger_.clear();
  applied_.clear();
  if (state) {
    changeRun([&] { run_.restore(state->progress, now); });
    applied_ = state->applied;
    ledger_.advance(counts);
  }
  LOG_INFO("canary %s: this remora (%s) leads the fleet's run now, %s at step %zu, %u%%",
           key_.name.c_str(), store_.self().c_str(), stateName(run_.state()), run_.step() + 1,
           run_.weight());
  // A fresh run is written at once, so that followers know who decides.
  decision_unsaved_ = true;
}

void FleetCanary::applyRequests(const std::map<std::string, std::string>& requests,
                                Clock::time_point now) {
  // A remora's request goes with its lease or session, and a later process of it numbers its
  // requests higher: what was applied for one no longer listed need not be remembered (and the
  // state does not grow with every host:pid that ever steered).
  std::erase_if(applied_, [&](const auto& item) { return !requests.contains(item.first); });
  for (const auto& [id, text] : requests) {
    std::string error;
    const std::optional<SteeringRequest> request = decodeRequest(text, error);
    if (!request) continue;
    uint64_t& applied = applied_[id];
    if (request->sequence <= applied) continue;
    applied = request->sequence;
    decision_unsaved_ = true;
    bool done = false;
    changeRun([&] { done = run_.steer(request->steering, now); });
    LOG_INFO("canary %s: %s asked by %s: %s", key_.name.c_str(), steeringName(request->steering),
             id.c_str(), done ? "done" : "not allowed in this state");
  }
}

void FleetCanary::follow(const std::optional<FleetState>& state, Clock::time_point now) {
  // No state yet: the leader has not written its first; the run stays at its first step.
  if (!state) return;
  leader_ = state->leader;
  changeRun([&] { run_.restore(state->progress, now); });
}

void FleetCanary::writeState(Clock::time_point now) {
  if (write_call_) return;  // the next second writes what this one could not
  FleetState state;
  state.fingerprint = key_.fingerprint;
  state.leader = store_.self();
  state.progress = run_.progress(now);
  state.applied = applied_;
  decision_unsaved_ = false;
  counts_unsaved_ = false;
  last_write_ = now;
  write_call_ =
      store_.writeState(key_, encodeState(state), [this](bool written, std::string error) {
        write_call_.reset();
        if (written) return;
        decision_unsaved_ = true;
        if (!error.empty()) return unreachable(error);
        // The leadership went to another remora meanwhile (this one's lease ran out).
        LOG_WARN("canary %s: no longer the leader; following the fleet's run", key_.name.c_str());
        leading_ = false;
      });
}

void FleetCanary::onFollowTimer(evutil_socket_t, short, void* self) {
  auto* fleet = static_cast<FleetCanary*>(self);
  if (fleet->leading_ || fleet->read_call_) return;
  fleet->read_call_ = fleet->store_.readState(
      fleet->key_, [fleet](bool ok, std::optional<std::string> text, std::string) {
        fleet->read_call_.reset();
        // The second's exchange reports the store's health; this read only follows sooner.
        if (!ok || fleet->leading_) return;
        fleet->follow(fleet->decodeStored(text), Clock::now());
      });
}

FleetCanary::Steered FleetCanary::steer(Steering steering, Clock::time_point now,
                                        std::string& error) {
  if (!reachable_) {
    error = std::string("the ") + store_.kind() + " store cannot be reached (" + last_error_ +
            "): the fleet's canary is steered through it";
    return Steered::Unreachable;
  }
  if (leading_) {
    bool done = false;
    changeRun([&] { done = run_.steer(steering, now); });
    if (!done) return Steered::Refused;
    decision_unsaved_ = true;
    writeState(now);
    return Steered::Applied;
  }
  // Checked against the state followed, so that a request the leader would refuse is refused
  // here, with the same answer.
  CanaryRun trial = run_;
  if (!trial.steer(steering, now)) return Steered::Refused;
  request_sequence_ =
      std::max(request_sequence_ + 1,
               static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count()));
  request_call_ =
      store_.request(key_, encodeRequest({steering, request_sequence_}),
                     [this, steering](bool ok, std::string failure) {
                       request_call_.reset();
                       if (ok) return;
                       LOG_WARN("canary %s: %s could not be left for the leader: %s",
                                key_.name.c_str(), steeringName(steering), failure.c_str());
                     });
  return Steered::Forwarded;
}

void FleetCanary::answerGate(bool approved, const std::string& detail, Clock::time_point now) {
  if (!leading_) return;
  changeRun([&] { run_.gateAnswered(approved, detail, now); });
  // A refusal changes only the reason, which followers show too.
  decision_unsaved_ = true;
  writeState(now);
}

nlohmann::json FleetCanary::json() const {
  nlohmann::json out = {{"coordinated", true},     {"registry", store_.kind()},
                        {"remora", store_.self()}, {"leader", leader_},
                        {"leading", leading_},     {"registry_reachable", reachable_}};
  if (!last_error_.empty()) out["last_error"] = last_error_;
  return out;
}

}  // namespace remora::canary
