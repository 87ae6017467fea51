// Server: the main thread's glue: loads and reloads the config, starts the registry, health
// checks and the admin listener, owns the workers, and drives signals and the drain sequence.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/result.h"
#include "discovery/canary/canary_controller.h"
#include "discovery/config_source/key_watch.h"
#include "discovery/dns/static_hosts.h"
#include "discovery/health/health_checker.h"
#include "discovery/http_client.h"
#include "discovery/lifecycle.h"
#include "discovery/outlier/outlier_detector.h"
#include "discovery/registrar.h"
#include "discovery/registry_provider.h"
#include "discovery/registry_view.h"
#include "discovery/snapshot.h"
#include "discovery/snapshot_publisher.h"
#include "proxy/balancer_loads.h"
#include "proxy/file_watcher.h"
#include "proxy/listener_manager.h"
#include "proxy/loop_notifier.h"
#include "proxy/stats.h"
#include "proxy/worker.h"

namespace remora {

class Admin;

class Server {
 public:
  explicit Server(std::string config_path);
  ~Server();

  // Runs until shut down; the process exit code.
  int run();

  // --- For the admin listener (main thread). ---
  bool ready() const { return lifecycle_->ready(); }
  // What /ready adds to READY: that the config in force is the cached one, until its key is read.
  std::string readyNote() const;
  // For /config_dump: where the config came from, and the last change that was rejected.
  nlohmann::json configOriginJson() const;
  // GET /healthz: "" while the main loop (which answers it) and every worker's loop turn, else
  // which loop has stalled. Draining does not matter: a draining remora is alive.
  std::string livenessProblem() const;
  // Why /ready answers 503: the state and what it waits for.
  std::string notReadyReason() const { return lifecycle_->notReadyReason(); }
  // The registry's and the registration's status, for /clusters.
  nlohmann::json registryJson() const;
  // POST /healthcheck/fail|ok: /ready and the registered health follow it.
  void setHealthcheckFailed(bool failed) { lifecycle_->setHealthcheckFailed(failed); }
  const std::shared_ptr<const Snapshot>& snapshot() const { return publisher_->snapshot(); }
  canary::CanaryController& canaries() { return *canaries_; }
  // What the workers' balancers last reported of each endpoint.
  const BalancerLoads& balancerLoads() const { return *balancer_loads_; }
  std::string renderMetrics();
  void startDrain(const char* why);
  // Exits at once (after a best-effort close), for Jobs: POST /quitquitquit.
  void quit();

 private:
  bool start();
  // Reads the file again and applies it with the config source's current value.
  void reload(const std::string& why);
  // Validates the bootstrap `text` with the config source's `value` (when the text names one) and
  // applies them as one config, all or nothing; `why` is for the log.
  // The config source's keys' values.
  struct SourceValues {
    std::optional<std::string> service;   // the key's; nullopt: none yet
    std::optional<std::string> instance;  // the instance key's; nullopt: none, or no such key
    bool operator==(const SourceValues&) const = default;
  };
  void apply(std::string text, SourceValues values, const std::string& why);

  // --- The config source (server_config_source.cc). ---
  // The config `text` names, with `values` as its config source's when it has one.
  Result<std::shared_ptr<const config::Config>> loadConfig(const std::string& text,
                                                           const SourceValues& values) const;
  // At start: the values cached at `config_source.cache`, if any.
  SourceValues cachedSourceValues(const config::Config& bootstrap) const;
  // Starts (or restarts, for other keys) watching the keys `config` names; stops without any.
  void watchConfigSource(const config::Config& config);
  void onSourceValue(std::optional<std::string> value);
  void onInstanceValue(std::optional<std::string> value);
  // Applies the keys' latest values once each watched key has answered.
  void applyPending(const std::string& why);
  void writeSourceCache(const config::Config& config) const;
  void watchFiles();
  void onRegistryFile(const std::string& content);
  // Starts the registry provider and makes the registrar.
  void startProvider(const config::Config& config);
  void onProviderView(discovery::RegistryView view);
  void onProviderError(const std::string& error);
  void updateHealthTargets();
  void onHealthChange();
  void beginDrainDelay();
  void checkDrained();
  void stopWorkers();
  // With `service:`, the listeners other than the inbound one (the service's port): the app's
  // way out. They keep accepting through the drain, so that the app's last calls while it shuts
  // down still go through; remora exits once every connection is closed or drain_timeout ends.
  std::set<std::string> appFacingListeners() const;
  static void onSignal(evutil_socket_t signal, short, void* self);
  static void onDrainTick(evutil_socket_t, short, void* self);

  std::string config_path_;
  std::string config_text_;
  // The config source's values in force (from the keys, or the cache at start).
  SourceValues source_values_;
  // The keys' latest values, applied once every watched key has answered.
  SourceValues pending_;
  bool instance_answered_ = false;
  // Where source_values_ came from: "" (none yet), "cache" or "key".
  std::string source_origin_;
  // The last reload or key value rejected, until a config is applied.
  struct Rejection {
    std::string why;
    std::vector<std::string> errors;
    std::chrono::system_clock::time_point at;
  };
  std::optional<Rejection> last_rejection_;
  std::string watched_source_;  // the keys watched ("name|instance key"); "": none
  std::unique_ptr<discovery::config_source::KeyWatch> source_watch_;
  std::unique_ptr<discovery::config_source::KeyWatch> instance_watch_;
  event_base* base_;
  std::unique_ptr<stats::Registry> stats_;
  CircuitBreakers breakers_;  // shared by the workers, so it outlives them
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<ListenerManager> listeners_;
  std::shared_ptr<const LoadedConfig> loaded_;
  std::unique_ptr<discovery::SnapshotPublisher> publisher_;
  // Workers' outcome reports reach the main thread's outlier detector through this.
  std::unique_ptr<LoopNotifier> main_notifier_;
  std::unique_ptr<outlier::OutlierDetector> outliers_;
  std::unique_ptr<canary::CanaryController> canaries_;
  std::unique_ptr<BalancerLoads> balancer_loads_;
  std::unique_ptr<FileWatcher> watcher_;
  std::unique_ptr<discovery::HttpClient> http_;
  std::unique_ptr<discovery::RegistryProvider> provider_;
  std::unique_ptr<discovery::Registrar> registrar_;
  std::unique_ptr<discovery::HealthChecker> health_;
  std::unique_ptr<discovery::dns::StaticHosts> static_hosts_;
  std::unique_ptr<discovery::Lifecycle> lifecycle_;
  std::unique_ptr<Admin> admin_;
  std::unique_ptr<Admin> probe_;  // admin.probe_address's read-only listener, when set
  std::vector<event*> signal_events_;
  event* drain_timer_ = nullptr;
  bool draining_started_ = false;  // the drain delay runs (after deregistration)
  int sigterm_count_ = 0;
  std::chrono::steady_clock::time_point drain_started_;
  bool listeners_closed_ = false;
  int exit_code_ = 0;
};

}  // namespace remora
