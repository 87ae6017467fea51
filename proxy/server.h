// Server: the main thread. Loads and reloads config, runs the registry and the admin listener,
// owns the workers and their listening sockets, publishes snapshots, and drives shutdown.
#pragma once

#include <event2/event.h>

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "discovery/dns/static_hosts.h"
#include "discovery/health/health_checker.h"
#include "discovery/http_client.h"
#include "discovery/registrar.h"
#include "discovery/registry_provider.h"
#include "discovery/registry_view.h"
#include "discovery/snapshot.h"
#include "proxy/file_watcher.h"
#include "proxy/stats.h"
#include "proxy/worker.h"

namespace remora {

class Admin;

// STARTING (waiting for the local app) -> REGISTERING -> READY -> DRAINING -> STOPPED.
enum class LifecycleState { Starting, Registering, Ready, Draining, Stopped };
const char* lifecycleStateName(LifecycleState state);

class Server {
 public:
  explicit Server(std::string config_path);
  ~Server();

  // Runs until shut down; the process exit code.
  int run();

  // --- For the admin listener (main thread). ---
  bool ready() const {
    return state_ == LifecycleState::Ready && !healthcheck_failed_ && appHealthy();
  }
  // Why /ready answers 503: the state and what it waits for.
  std::string notReadyReason() const;
  // The registry's and the registration's status, for /clusters.
  nlohmann::json registryJson() const;
  LifecycleState state() const { return state_; }
  // POST /healthcheck/fail|ok: /ready and the registered health follow it.
  void setHealthcheckFailed(bool failed);
  const std::shared_ptr<const Snapshot>& snapshot() const { return snapshot_; }
  std::string renderMetrics();
  void startDrain(const char* why);
  // Exits at once (after a best-effort close), for Jobs: POST /quitquitquit.
  void quit();

 private:
  struct ActiveListener {
    std::string name;
    config::Address address;
    std::string bound;
    std::shared_ptr<ListenerShared> shared;
  };

  bool start();
  void reload(const std::string& why);
  // Opens the sockets of new listeners (all or none) and retires removed ones.
  bool updateListeners(const config::Config& config, std::vector<Error>& errors);
  // Hands the sockets opened by updateListeners to the workers.
  void activateListeners();
  void watchFiles();
  void onRegistryFile(const std::string& content);
  // Starts the registry provider and makes the registrar.
  void startProvider(const config::Config& config);
  void onProviderView(discovery::RegistryView view);
  void onProviderError(const std::string& error);
  void updateHealthTargets();
  void onHealthChange();
  discovery::AppHealth appHealth() const;
  bool appHealthy() const { return appHealth() != discovery::AppHealth::Critical; }
  // Moves through STARTING and REGISTERING as the app and the registry allow.
  void advanceLifecycle();
  void beginDrainDelay();
  void publish();
  void setState(LifecycleState state);
  void checkDrained();
  void stopWorkers();
  size_t openConnections() const;
  // With `service:`, the listeners other than the inbound one (the service's port): the app's
  // way out. They keep accepting through the drain, so that the app's last calls while it shuts
  // down still go through; remora exits once every connection is closed or drain_timeout ends.
  std::set<std::string> appFacingListeners() const;
  static void onSignal(evutil_socket_t signal, short, void* self);
  static void onDrainTick(evutil_socket_t, short, void* self);

  std::string config_path_;
  std::string config_text_;
  event_base* base_;
  std::unique_ptr<stats::Registry> stats_;
  CircuitBreakers breakers_;  // shared by the workers, so it outlives them
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<ActiveListener> listeners_;
  struct PendingListener {
    std::shared_ptr<ListenerShared> shared;
    std::vector<int> fds;  // one per worker
    std::string bound;
  };
  std::vector<PendingListener> pending_listeners_;
  std::vector<std::shared_ptr<ListenerShared>> all_listeners_;  // for the drain count
  std::shared_ptr<const LoadedConfig> loaded_;
  discovery::RegistryView registry_;
  std::shared_ptr<const Snapshot> snapshot_;
  uint64_t version_ = 0;
  std::unique_ptr<FileWatcher> watcher_;
  std::unique_ptr<discovery::HttpClient> http_;
  std::unique_ptr<discovery::RegistryProvider> provider_;
  std::unique_ptr<discovery::Registrar> registrar_;
  std::unique_ptr<discovery::HealthChecker> health_;
  std::unique_ptr<discovery::dns::StaticHosts> static_hosts_;
  std::optional<config::Service> service_;  // as started
  std::string registry_kind_;               // as started
  bool registration_started_ = false;
  bool draining_started_ = false;  // the drain delay runs (after deregistration)
  std::unique_ptr<Admin> admin_;
  std::vector<event*> signal_events_;
  event* drain_timer_ = nullptr;
  LifecycleState state_ = LifecycleState::Starting;
  bool healthcheck_failed_ = false;
  int sigterm_count_ = 0;
  std::chrono::steady_clock::time_point drain_started_;
  bool listeners_closed_ = false;
  int exit_code_ = 0;
};

}  // namespace remora
