// CanaryController: the main thread's canary releases. It sums what workers report of each arm,
// lets each CanaryRun judge and step once a second, puts the weights into the next snapshot,
// logs every step and decision, exports the canary metrics, takes steering by hand, and asks a
// canary's webhooks before it moves on. With a
// fleet store, each canary not opted out is decided by one leader for every remora running it.
#pragma once

#include <event2/event.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "discovery/canary/canary_report.h"
#include "discovery/canary/canary_run.h"
#include "discovery/canary/fleet_canary.h"
#include "discovery/canary/fleet_store.h"
#include "discovery/canary/webhook_gate.h"
#include "discovery/http_client.h"
#include "discovery/snapshot_builder.h"
#include "proxy/stats.h"

namespace remora::canary {

class CanaryController {
 public:
  // `changed` runs when a weight changes: the next snapshot must carry it.
  CanaryController(event_base* base, stats::Registry& stats, std::function<void()> changed);
  ~CanaryController();
  CanaryController(const CanaryController&) = delete;
  CanaryController& operator=(const CanaryController&) = delete;

  // The registry's KV store that canaries are coordinated through; before the first setConfig.
  void setFleetStore(std::unique_ptr<FleetStore> store) { store_ = std::move(store); }
  // Draining: this remora leaves the fleet's runs (see FleetStore::resign) and follows them.
  void resignFromFleet() {
    if (store_) store_->resign();
  }

  // The canaries of a (re)loaded config: one whose settings are unchanged keeps its run; a new
  // or changed one starts over from its first step; one no longer written is dropped.
  void setConfig(const config::Config& config);
  void onReports(const CanaryReports& reports);
  // Each canary's share of its route, by index in the config last given.
  const discovery::CanaryWeights& weights() const { return weights_; }

  // Forwarded: a follower left the request for the fleet's leader. The others set `error`.
  enum class Steered { Applied, Forwarded, NoSuchCanary, NotAllowed, Unreachable };
  Steered steer(std::string_view name, Steering action, std::string& error);
  // GET /canaries.
  std::string json() const;

  // For tests: the periodic work as if its time had come, at `now`.
  void tickForTest(Clock::time_point now) { tick(now); }

 private:
  struct Entry {
    size_t index = 0;  // in the config
    std::unique_ptr<CanaryRun> run;
    ArmTotals pending_baseline;  // reported since the last tick
    ArmTotals pending_canary;
    std::unique_ptr<FleetCanary> fleet;  // null: this remora decides alone
    std::unique_ptr<WebhookGate> gate;   // made when a step first waits at one
    Clock::time_point gate_next_ask{};   // after a refusal: step_interval later
  };

  void tick(Clock::time_point now);
  void coordinate(const std::string& name, Entry& entry);
  void after(const std::string& name, Entry& entry, State state_before, uint32_t weight_before);
  void askGate(const std::string& name, Entry& entry, Clock::time_point now);
  void gateAnswered(const std::string& name, Entry& entry, bool approved,
                    const std::string& detail);
  // True when a share changed: the next snapshot must carry it.
  bool refreshWeights();
  void exportMetrics(const std::string& name, const Entry& entry);
  static void onTimer(evutil_socket_t, short, void* self);

  event_base* base_;
  stats::Registry& stats_;
  std::function<void()> changed_;
  event* timer_;
  std::unique_ptr<FleetStore> store_;  // before the canaries: their calls go through it
  // The webhooks' client, made for the first gate; before the canaries, whose calls it makes.
  std::unique_ptr<discovery::HttpClient> http_;
  std::map<std::string, Entry, std::less<>> canaries_;
  discovery::CanaryWeights weights_;
};

}  // namespace remora::canary
