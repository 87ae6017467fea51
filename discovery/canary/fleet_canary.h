// FleetCanary: one canary run shared by every remora that runs it, through the registry's KV
// store. Each second this remora campaigns for the run's leadership and reads the run's records,
// publishing its own counts every few seconds. The leader judges the sum of everyone's counts
// with its CanaryRun and writes the state when it changes; followers apply the stored state to
// theirs, reading it four times a second so that they follow within one. Without the store,
// nobody decides: the last state followed stays.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "discovery/canary/canary_run.h"
#include "discovery/canary/fleet_records.h"
#include "discovery/canary/fleet_store.h"

namespace remora::canary {

class FleetCanary {
 public:
  // `run` must outlive this. `changed` runs after the run's state or weight changed here (a
  // decision as leader, or a state followed), with the state and weight before.
  FleetCanary(event_base* base, FleetStore& store, CanaryRun& run,
              std::function<void(State, uint32_t)> changed);
  ~FleetCanary();
  FleetCanary(const FleetCanary&) = delete;
  FleetCanary& operator=(const FleetCanary&) = delete;

  // The controller's second: this remora's outcomes since the last one.
  void tick(const ArmTotals& baseline, const ArmTotals& canary, Clock::time_point now);

  enum class Steered { Applied, Forwarded, Refused, Unreachable };
  // The leader applies steering itself and writes the state at once; a follower checks it
  // against the state it follows and leaves it for the leader (Forwarded). `error` says why not.
  Steered steer(Steering steering, Clock::time_point now, std::string& error);

  // As leader: the webhooks' answer for the gate the run waits at, written at once.
  void answerGate(bool approved, const std::string& detail, Clock::time_point now);

  bool leading() const { return leading_; }
  // For /canaries: coordinated, the registry, this remora's id, the leader's, whether it leads.
  nlohmann::json json() const;

 private:
  void sync(Clock::time_point now);
  void onView(const FleetView& view, Clock::time_point now);
  void takeOver(const std::optional<FleetState>& state,
                const std::map<std::string, FleetCounts>& counts, Clock::time_point now);
  void applyRequests(const std::map<std::string, std::string>& requests, Clock::time_point now);
  void follow(const std::optional<FleetState>& state, Clock::time_point now);
  std::optional<FleetState> decodeStored(const std::optional<std::string>& text);
  void writeState(Clock::time_point now);
  void unreachable(const std::string& error);
  // Runs `change` on the run and reports a change of state or weight.
  template <typename Change>
  bool changeRun(Change change);
  static void onFollowTimer(evutil_socket_t, short, void* self);

  FleetStore& store_;
  CanaryRun& run_;
  const FleetRun key_;
  std::function<void(State, uint32_t)> changed_;
  FleetCounts mine_;  // this remora's outcomes since it started following the run
  Clock::time_point last_publish_{};
  bool published_once_ = false;
  bool reachable_ = true;
  std::string last_error_;
  std::string leader_;
  bool leading_ = false;
  // As leader: everyone's counts already judged, each remora's last steering applied, and
  // whether the stored state is behind the run.
  CountLedger ledger_;
  std::map<std::string, uint64_t> applied_;
  bool decision_unsaved_ = false;
  bool counts_unsaved_ = false;
  Clock::time_point last_write_{};
  uint64_t request_sequence_ = 0;
  std::unique_ptr<discovery::HttpCall> sync_call_;
  std::unique_ptr<discovery::HttpCall> write_call_;
  std::unique_ptr<discovery::HttpCall> read_call_;
  std::unique_ptr<discovery::HttpCall> request_call_;
  event* follow_timer_;
};

}  // namespace remora::canary
