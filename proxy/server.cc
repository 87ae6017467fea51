// The main thread: startup, reload, registry updates, snapshots, signals and the drain sequence.
#include "proxy/server.h"

#include <signal.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "config/dump.h"
#include "config/loader.h"
#include "discovery/file/file_registry.h"
#include "discovery/provider_factory.h"
#include "discovery/snapshot_builder.h"
#include "proxy/admin.h"
#include "proxy/listen_socket.h"
#include "proxy/log.h"
#include "proxy/pool/breaker_metrics.h"

namespace remora {

namespace {
constexpr timeval kDrainTick = {0, 50 * 1000};

void logErrors(const std::vector<Error>& errors) {
  for (const auto& error : errors) LOG_ERROR("%s", error.text().c_str());
}

// With `registry: dns`, static host names are asked of its servers too; otherwise of the
// system's, refreshed at most every 5s (names behind load balancers move, but not that fast).
config::DnsRegistry staticHostResolver(const config::Registry& registry) {
  if (registry.dns) return *registry.dns;
  config::DnsRegistry system;
  system.min_ttl = std::chrono::milliseconds(5000);
  return system;
}

std::set<std::string> watchedServices(const config::Config& config) {
  std::set<std::string> services;
  for (const auto& cluster : config.clusters) {
    if (!cluster.service.empty()) services.insert(cluster.service);
  }
  return services;
}
}  // namespace

const char* lifecycleStateName(LifecycleState state) {
  switch (state) {
    case LifecycleState::Starting:
      return "STARTING";
    case LifecycleState::Registering:
      return "REGISTERING";
    case LifecycleState::Ready:
      return "READY";
    case LifecycleState::Draining:
      return "DRAINING";
    case LifecycleState::Stopped:
      return "STOPPED";
  }
  return "?";
}

Server::Server(std::string config_path)
    : config_path_(std::move(config_path)), base_(event_base_new()) {}

Server::~Server() {
  stopWorkers();
  admin_.reset();
  watcher_.reset();
  // Before the client their calls run on, and before the loop.
  registrar_.reset();
  provider_.reset();
  health_.reset();
  static_hosts_.reset();
  http_.reset();
  for (event* e : signal_events_) event_free(e);
  if (drain_timer_ != nullptr) event_free(drain_timer_);
  workers_.clear();
  event_base_free(base_);
}

int Server::run() {
  if (!start()) {
    stopWorkers();
    return 1;
  }
  event_base_dispatch(base_);
  stopWorkers();
  setState(LifecycleState::Stopped);
  LOG_INFO("stopped");
  return exit_code_;
}

bool Server::start() {
  std::string error;
  if (!readFile(config_path_, config_text_, error)) {
    LOG_ERROR("%s", error.c_str());
    return false;
  }
  auto config = config::loadConfigString(config_text_, config_path_);
  if (!config) {
    logErrors(config.errors());
    return false;
  }
  auto loaded = discovery::prepareConfig(*config);
  if (!loaded) {
    logErrors(loaded.errors());
    return false;
  }
  loaded_ = *loaded;
  const config::Config& cfg = *loaded_->config;
  size_t worker_count = cfg.workers;
  if (worker_count == 0) worker_count = std::max(1u, std::thread::hardware_concurrency());
  stats_ = std::make_unique<stats::Registry>(worker_count);
  for (size_t i = 0; i < worker_count; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, stats_->worker(i), breakers_));
  }
  http_ = std::make_unique<discovery::HttpClient>(base_);
  health_ = std::make_unique<discovery::HealthChecker>(*http_, [this] { onHealthChange(); });
  static_hosts_ = std::make_unique<discovery::dns::StaticHosts>(
      base_, staticHostResolver(cfg.registry), [this] { publish(); });
  static_hosts_->setNames(discovery::hostNames(cfg, registry_));
  startProvider(cfg);
  if (cfg.registry.file) {
    std::string content;
    if (!readFile(cfg.registry.file->path, content, error)) {
      // Static stability: start with what the config itself says and pick the file up later.
      LOG_WARN("file registry: %s", error.c_str());
    } else {
      onRegistryFile(content);
    }
  }
  publish();
  std::vector<Error> errors;
  if (!updateListeners(cfg, errors)) {
    logErrors(errors);
    return false;
  }
  activateListeners();
  admin_ = std::make_unique<Admin>(base_, *this);
  std::string admin_bound;
  if (!admin_->listen(cfg.admin.address, admin_bound, error)) {
    LOG_ERROR("admin: %s", error.c_str());
    return false;
  }
  for (auto& worker : workers_) worker->start();
  for (int signal_number : {SIGTERM, SIGINT, SIGHUP}) {
    event* e = evsignal_new(base_, signal_number, &Server::onSignal, this);
    event_add(e, nullptr);
    signal_events_.push_back(e);
  }
  watcher_ = std::make_unique<FileWatcher>(base_);
  watchFiles();
  for (const auto& listener : listeners_) {
    LOG_INFO("listener %s listening on %s", listener.name.c_str(), listener.bound.c_str());
  }
  LOG_INFO("admin listening on %s", admin_bound.c_str());
  LOG_INFO("remora %s started with %zu worker(s)", REMORA_VERSION, workers_.size());
  setState(LifecycleState::Starting);
  updateHealthTargets();
  advanceLifecycle();
  return true;
}

void Server::startProvider(const config::Config& config) {
  discovery::ProviderCallbacks callbacks;
  callbacks.on_view = [this](discovery::RegistryView view) { onProviderView(std::move(view)); };
  callbacks.on_error = [this](const std::string& error) { onProviderError(error); };
  provider_ = discovery::makeProvider(config.registry, *http_, std::move(callbacks));
  if (provider_) {
    // Until the registry answers, clusters it feeds are empty and the static ones serve.
    LOG_INFO("registry %s: watching %zu service(s)", config.registry.kind(),
             watchedServices(config).size());
    provider_->watch(watchedServices(config));
  }
  // Kept as started: `service:` and `registry:` changes take effect at the next restart, and
  // the lifecycle must not follow half of one.
  service_ = config.service;
  registry_kind_ = config.registry.kind();
  if (config.service) {
    registrar_ = discovery::makeRegistrar(config.registry, *config.service, *http_);
  }
}

void Server::onProviderView(discovery::RegistryView view) {
  const char* kind = registry_kind_.c_str();
  size_t endpoints = 0;
  for (const auto& [service, entries] : view.services) endpoints += entries.size();
  LOG_INFO("registry %s: %zu service(s), %zu endpoint(s)", kind, view.services.size(), endpoints);
  registry_ = std::move(view);
  stats_->incrementCounter("remora_registry_updates_total", "Registry updates applied or rejected",
                           {{"registry", kind}, {"result", "applied"}});
  stats_->setGauge("remora_registry_healthy", "1 while the last exchange with the registry worked",
                   {{"registry", kind}}, 1);
  updateHealthTargets();
  publish();
}

void Server::onProviderError(const std::string&) {
  const char* kind = registry_kind_.c_str();
  // The provider logs the error with its retry; here it is counted. The last view stays.
  stats_->incrementCounter("remora_registry_errors_total",
                           "Failed exchanges with the registry (the last good view stays)",
                           {{"registry", kind}});
  stats_->setGauge("remora_registry_healthy", "1 while the last exchange with the registry worked",
                   {{"registry", kind}}, 0);
}

void Server::updateHealthTargets() {
  const config::Config& cfg = *loaded_->config;
  // Registry endpoints may be names too; they are resolved as static ones are.
  static_hosts_->setNames(discovery::hostNames(cfg, registry_));
  std::vector<discovery::HealthTarget> targets = discovery::healthTargets(cfg, registry_);
  if (service_ && service_->app) {
    targets.push_back({"", *service_->app, service_->health});
  }
  health_->setTargets(targets);
}

void Server::onHealthChange() {
  publish();
  if (registrar_ && registration_started_ && state_ != LifecycleState::Draining) {
    registrar_->setHealth(appHealth());
  }
  advanceLifecycle();
}

void Server::setHealthcheckFailed(bool failed) {
  if (failed == healthcheck_failed_) return;
  healthcheck_failed_ = failed;
  LOG_INFO("health check %s through the admin listener", failed ? "failed" : "restored");
  if (registrar_ && registration_started_ && state_ != LifecycleState::Draining) {
    registrar_->setHealth(appHealth());
  }
}

discovery::AppHealth Server::appHealth() const {
  if (healthcheck_failed_) return discovery::AppHealth::Critical;
  if (!service_ || !service_->app) return discovery::AppHealth::Passing;
  const discovery::TargetHealth* health = health_->find("", service_->app->text());
  if (health == nullptr || health->state != discovery::TargetHealth::State::Healthy) {
    return discovery::AppHealth::Critical;
  }
  return health->warning ? discovery::AppHealth::Warning : discovery::AppHealth::Passing;
}

void Server::advanceLifecycle() {
  const config::Config& cfg = *loaded_->config;
  if (state_ == LifecycleState::Starting) {
    if (service_ && service_->app && !appHealthy()) return;  // onHealthChange comes back
    if (service_ && service_->app) {
      LOG_INFO("local app %s is healthy", service_->app->text().c_str());
    }
    setState(LifecycleState::Registering);
  }
  if (state_ != LifecycleState::Registering) return;
  if (!registrar_) {
    setState(LifecycleState::Ready);
    LOG_INFO("ready");
    return;
  }
  if (registration_started_) return;
  registration_started_ = true;
  LOG_INFO("registering %s (%s) with %s", service_->id.c_str(), service_->name.c_str(),
           cfg.registry.kind());
  registrar_->start(appHealth(), [this] {
    if (state_ != LifecycleState::Registering) return;
    setState(LifecycleState::Ready);
    LOG_INFO("registered: ready");
  });
}

std::string Server::notReadyReason() const {
  if (state_ == LifecycleState::Ready && healthcheck_failed_) return "HEALTHCHECK FAILED";
  const bool has_app = service_ && service_->app;
  auto appResult = [&]() -> std::string {
    const discovery::TargetHealth* health = health_->find("", service_->app->text());
    if (health == nullptr || health->last_result.empty()) return "not checked yet";
    return health->last_result;
  };
  switch (state_) {
    case LifecycleState::Starting:
      if (!has_app) break;
      return "STARTING: waiting for the local app at " + service_->app->text() + " (" +
             appResult() + ")";
    case LifecycleState::Registering: {
      const std::string& error = registrar_ ? registrar_->status().last_error : std::string();
      return "REGISTERING with " + registry_kind_ + (error.empty() ? "" : " (" + error + ")");
    }
    case LifecycleState::Ready:
      if (!has_app) break;
      return "APP UNHEALTHY: " + service_->app->text() + " (" + appResult() + ")";
    case LifecycleState::Draining:
    case LifecycleState::Stopped:
      break;
  }
  return lifecycleStateName(state_);
}

nlohmann::json Server::registryJson() const {
  auto status = [](const discovery::RegistryStatus& s) {
    nlohmann::json out = {{"healthy", s.healthy}, {"errors", s.errors}};
    if (!s.last_error.empty()) out["last_error"] = s.last_error;
    if (s.last_success.time_since_epoch().count() != 0) {
      out["last_success_unix"] =
          std::chrono::duration_cast<std::chrono::seconds>(s.last_success.time_since_epoch())
              .count();
    }
    return out;
  };
  nlohmann::json out = {{"kind", registry_kind_}, {"lifecycle", lifecycleStateName(state_)}};
  if (provider_) out["watch"] = status(provider_->status());
  if (registrar_) out["registration"] = status(registrar_->status());
  return out;
}

bool Server::updateListeners(const config::Config& config, std::vector<Error>& errors) {
  std::vector<ActiveListener> next;
  std::vector<std::pair<size_t, std::vector<int>>> opened;  // index in `next`, fds per worker
  for (const auto& listener : config.listeners) {
    auto same = std::find_if(listeners_.begin(), listeners_.end(), [&](const ActiveListener& a) {
      return a.name == listener.name && a.address.text() == listener.address.text();
    });
    if (same != listeners_.end()) {
      same->shared->max_connections.store(listener.max_connections);
      next.push_back(*same);
      continue;
    }
    ActiveListener active;
    active.name = listener.name;
    active.address = listener.address;
    active.shared = std::make_shared<ListenerShared>();
    active.shared->name = listener.name;
    active.shared->max_connections.store(listener.max_connections);
    std::vector<int> fds;
    std::string error;
    if (!openListenSockets(listener.address, workers_.size(), fds, active.bound, error)) {
      errors.push_back({{config.source_path, 0, 0}, "listener '" + listener.name + "': " + error});
      continue;
    }
    opened.emplace_back(next.size(), std::move(fds));
    next.push_back(std::move(active));
  }
  if (!errors.empty()) {
    for (auto& [index, fds] : opened) {
      for (int fd : fds) close(fd);
    }
    return false;
  }
  for (const auto& old : listeners_) {
    const bool kept = std::any_of(next.begin(), next.end(),
                                  [&](const ActiveListener& a) { return a.shared == old.shared; });
    if (kept) continue;
    for (auto& worker : workers_) {
      worker->post([w = worker.get(), name = old.name] { w->removeListener(name); });
    }
  }
  for (auto& [index, fds] : opened) {
    pending_listeners_.push_back({next[index].shared, std::move(fds), next[index].bound});
  }
  listeners_ = std::move(next);
  return true;
}

void Server::activateListeners() {
  // Posted after the snapshot that names them, so a worker never accepts on a listener its
  // snapshot does not know yet.
  for (auto& pending : pending_listeners_) {
    for (size_t w = 0; w < workers_.size(); ++w) {
      workers_[w]->post([worker = workers_[w].get(), shared = pending.shared, fd = pending.fds[w]] {
        worker->addListener(shared, fd);
      });
    }
    all_listeners_.push_back(pending.shared);
    if (state_ != LifecycleState::Starting) {
      LOG_INFO("listener %s listening on %s", pending.shared->name.c_str(), pending.bound.c_str());
    }
  }
  pending_listeners_.clear();
}

void Server::watchFiles() {
  watcher_->clear();
  watcher_->watch(config_path_, [this](const std::string&) { reload("config file changed"); });
  const config::Config& cfg = *loaded_->config;
  if (cfg.registry.file) {
    watcher_->watch(cfg.registry.file->path, [this](const std::string& content) {
      onRegistryFile(content);
      updateHealthTargets();
      publish();
    });
  }
  // Certificates are renewed in place (Kubernetes swaps a secret's `..data` link in the same
  // directory, which is what the watcher watches). A renewal that writes the certificate and the
  // key one after the other may be rejected halfway; the second change then loads both.
  std::set<std::string> tls_paths;
  for (const TlsFileFingerprint& file : loaded_->tlsFiles()) tls_paths.insert(file.path);
  for (const std::string& path : tls_paths) {
    watcher_->watch(path, [this](const std::string&) { reload("TLS file changed"); });
  }
}

void Server::onRegistryFile(const std::string& content) {
  const std::string& path = loaded_->config->registry.file->path;
  auto view = discovery::fileRegistryView(path, content);
  if (!view) {
    // Keep the last good view: a half-written or broken file never empties a cluster.
    logErrors(view.errors());
    stats_->incrementCounter("remora_registry_updates_total",
                             "Registry updates applied or rejected",
                             {{"registry", "file"}, {"result", "rejected"}});
    return;
  }
  registry_ = std::move(*view);
  stats_->incrementCounter("remora_registry_updates_total", "Registry updates applied or rejected",
                           {{"registry", "file"}, {"result", "applied"}});
  LOG_INFO("file registry %s: %zu service(s)", path.c_str(), registry_.services.size());
}

void Server::reload(const std::string& why) {
  if (state_ == LifecycleState::Draining) return;
  std::string text;
  std::string error;
  if (!readFile(config_path_, text, error)) {
    LOG_ERROR("reload (%s) rejected: %s", why.c_str(), error.c_str());
    return;
  }
  // The same text with a renewed certificate still needs new TLS contexts.
  if (text == config_text_ && !tlsFilesChanged(loaded_->tlsFiles())) {
    LOG_INFO("reload (%s): configuration unchanged", why.c_str());
    return;
  }
  auto fail = [&](const std::vector<Error>& errors) {
    LOG_ERROR("reload (%s) rejected; the previous configuration stays in force:", why.c_str());
    logErrors(errors);
    stats_->incrementCounter("remora_config_reloads_total", "Configuration reloads",
                             {{"result", "rejected"}});
  };
  auto config = config::loadConfigString(text, config_path_);
  if (!config) return fail(config.errors());
  auto loaded = discovery::prepareConfig(*config);
  if (!loaded) return fail(loaded.errors());
  const config::Config& next = *(*loaded)->config;
  const config::Config& current = *loaded_->config;
  std::vector<Error> errors;
  if (!updateListeners(next, errors)) return fail(errors);
  if (next.workers != current.workers) {
    LOG_WARN("reload: 'workers' changes take effect at the next restart");
  }
  if (next.admin.address.text() != current.admin.address.text()) {
    LOG_WARN("reload: 'admin.address' changes take effect at the next restart");
  }
  const bool registry_changed =
      (next.registry.file.has_value() != current.registry.file.has_value()) ||
      (next.registry.file && next.registry.file->path != current.registry.file->path);
  const bool provider_changed =
      config::toJson(next)["registry"] != config::toJson(current)["registry"];
  if (provider_changed && !next.registry.file && !current.registry.file) {
    LOG_WARN("reload: 'registry' changes take effect at the next restart");
  }
  if (config::toJson(next)["service"] != config::toJson(current)["service"]) {
    LOG_WARN("reload: 'service' changes take effect at the next restart");
  }
  config_text_ = std::move(text);
  loaded_ = *loaded;
  if (provider_) provider_->watch(watchedServices(next));
  if (registry_changed) {
    registry_ = {};
    if (next.registry.file) {
      std::string content;
      if (readFile(next.registry.file->path, content, error)) onRegistryFile(content);
    }
  }
  watchFiles();
  static_hosts_->setNames(discovery::hostNames(next, registry_));
  updateHealthTargets();
  publish();
  activateListeners();
  stats_->incrementCounter("remora_config_reloads_total", "Configuration reloads",
                           {{"result", "applied"}});
  LOG_INFO("reload (%s): configuration applied (snapshot %llu)", why.c_str(),
           static_cast<unsigned long long>(version_));
}

void Server::publish() {
  snapshot_ =
      discovery::buildSnapshot(loaded_, registry_, health_.get(), static_hosts_.get(), ++version_);
  for (auto& worker : workers_) {
    worker->post([w = worker.get(), s = snapshot_] { w->setSnapshot(s); });
  }
  stats_->clearGauge("remora_cluster_endpoints");
  for (const auto& cluster : snapshot_->clusters) {
    size_t healthy = 0;
    for (const auto& endpoint : cluster.endpoints) healthy += endpoint.healthy ? 1 : 0;
    const std::string& name = cluster.config->name;
    stats_->setGauge("remora_cluster_endpoints", "Endpoints per cluster by health",
                     {{"cluster", name}, {"health", "healthy"}}, static_cast<double>(healthy));
    stats_->setGauge("remora_cluster_endpoints", "Endpoints per cluster by health",
                     {{"cluster", name}, {"health", "unhealthy"}},
                     static_cast<double>(cluster.endpoints.size() - healthy));
  }
}

void Server::setState(LifecycleState state) {
  state_ = state;
  if (stats_ == nullptr) return;
  for (auto s : {LifecycleState::Starting, LifecycleState::Registering, LifecycleState::Ready,
                 LifecycleState::Draining, LifecycleState::Stopped}) {
    stats_->setGauge("remora_lifecycle_state", "1 for the lifecycle state remora is in",
                     {{"state", lifecycleStateName(s)}}, s == state ? 1 : 0);
  }
}

std::string Server::renderMetrics() {
  publishBreakerMetrics(breakers_, *snapshot_, *stats_);
  return stats_->render();
}

void Server::onSignal(evutil_socket_t signal_number, short, void* self) {
  auto* server = static_cast<Server*>(self);
  if (signal_number == SIGHUP) {
    server->reload("SIGHUP");
    return;
  }
  if (++server->sigterm_count_ > 1) {
    LOG_WARN("second termination signal: exiting now");
    event_base_loopbreak(server->base_);
    return;
  }
  server->startDrain(signal_number == SIGINT ? "SIGINT" : "SIGTERM");
}

void Server::startDrain(const char* why) {
  if (state_ == LifecycleState::Draining) return;
  const config::Lifecycle& lifecycle = loaded_->config->lifecycle;
  LOG_INFO(
      "draining (%s): not ready now, listeners close in %lldms, in-flight requests get up to "
      "%lldms",
      why, static_cast<long long>(lifecycle.drain_delay.count()),
      static_cast<long long>(lifecycle.drain_timeout.count()));
  setState(LifecycleState::Draining);
  if (registrar_ && registration_started_) {
    // Peers learn of the drain from the registry first; the delay counts from there.
    LOG_INFO("draining: deregistering from %s", loaded_->config->registry.kind());
    registrar_->deregister([this] { beginDrainDelay(); });
    return;
  }
  beginDrainDelay();
}

void Server::beginDrainDelay() {
  if (draining_started_) return;
  draining_started_ = true;
  drain_started_ = std::chrono::steady_clock::now();
  drain_timer_ = evtimer_new(base_, &Server::onDrainTick, this);
  evtimer_add(drain_timer_, &kDrainTick);
}

void Server::onDrainTick(evutil_socket_t, short, void* self) {
  static_cast<Server*>(self)->checkDrained();
}

void Server::checkDrained() {
  const config::Lifecycle& lifecycle = loaded_->config->lifecycle;
  const auto elapsed = std::chrono::steady_clock::now() - drain_started_;
  if (!listeners_closed_ && elapsed >= lifecycle.drain_delay) {
    listeners_closed_ = true;
    const std::set<std::string> keep = appFacingListeners();
    for (auto& worker : workers_) worker->post([w = worker.get(), keep] { w->beginDrain(keep); });
    LOG_INFO("draining: %s closed, %zu connection(s) open",
             keep.empty() ? "listeners" : "the inbound listener", openConnections());
  }
  if (listeners_closed_) {
    const size_t open = openConnections();
    if (open == 0) {
      LOG_INFO("drained");
      event_base_loopexit(base_, nullptr);
      return;
    }
    if (elapsed >= lifecycle.drain_delay + lifecycle.drain_timeout) {
      LOG_WARN("drain timeout: closing %zu connection(s) still open", open);
      event_base_loopexit(base_, nullptr);
      return;
    }
  }
  evtimer_add(drain_timer_, &kDrainTick);
}

void Server::quit() {
  LOG_INFO("quit requested through the admin listener");
  // Not ready from now on, and the lifecycle moves no further (no registration starts now).
  setState(LifecycleState::Draining);
  // A moment for the admin reply to be written before the loop ends.
  static constexpr timeval kReplyTime = {0, 100 * 1000};
  if (registrar_ && registration_started_) {
    // A Job's instance leaves the registry too; deregistration is bounded by its own timeout.
    registrar_->deregister([this] { event_base_loopexit(base_, &kReplyTime); });
    return;
  }
  event_base_loopexit(base_, &kReplyTime);
}

std::set<std::string> Server::appFacingListeners() const {
  const config::Config& cfg = *loaded_->config;
  std::set<std::string> names;
  if (!service_) return names;
  for (const auto& listener : cfg.listeners) {
    if (listener.address.port != service_->port) names.insert(listener.name);
  }
  return names;
}

size_t Server::openConnections() const {
  size_t open = 0;
  for (const auto& shared : all_listeners_) open += shared->connections.load();
  return open;
}

void Server::stopWorkers() {
  for (auto& worker : workers_) worker->stopAndJoin();
}

}  // namespace remora
