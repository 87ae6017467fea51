// The main thread: startup, reload, registry updates, signals and the drain sequence.
#include "proxy/server.h"

#include <signal.h>

#include <set>
#include <thread>

#include "admin/admin.h"
#include "config/dump.h"
#include "config/loader.h"
#include "discovery/canary/fleet_store_factory.h"
#include "discovery/file/file_registry.h"
#include "discovery/provider_factory.h"
#include "discovery/snapshot_builder.h"
#include "proxy/log.h"
#include "proxy/pool/breaker_metrics.h"

namespace remora {

using discovery::LifecycleState;

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

Server::Server(std::string config_path)
    : config_path_(std::move(config_path)), base_(event_base_new()) {}

Server::~Server() {
  stopWorkers();
  probe_.reset();
  admin_.reset();
  watcher_.reset();
  lifecycle_.reset();
  publisher_.reset();
  outliers_.reset();
  main_notifier_.reset();
  // Before the client their calls run on, and before the loop.
  canaries_.reset();
  registrar_.reset();
  provider_.reset();
  health_.reset();
  static_hosts_.reset();
  http_.reset();
  for (event* e : signal_events_) event_free(e);
  if (drain_timer_ != nullptr) event_free(drain_timer_);
  listeners_.reset();
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
  lifecycle_->setState(LifecycleState::Stopped);
  LOG_INFO("stopped");
  return exit_code_;
}

bool Server::start() {
  std::string error;
  if (!readFile(config_path_, config_text_, error)) {
    LOG_ERROR("%s", error.c_str());
    return false;
  }
  auto bootstrap = config::loadConfigString(config_text_, config_path_);
  if (!bootstrap) {
    logErrors(bootstrap.errors());
    return false;
  }
  // Static stability: the cached value serves until the registry answers.
  source_values_ = cachedSourceValues(**bootstrap);
  if (source_values_.service) source_origin_ = "cache";
  auto config = loadConfig(config_text_, source_values_);
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
  listeners_ = std::make_unique<ListenerManager>(workers_);
  balancer_loads_ = std::make_unique<BalancerLoads>(worker_count);
  http_ = std::make_unique<discovery::HttpClient>(base_);
  health_ = std::make_unique<discovery::HealthChecker>(*http_, [this] { onHealthChange(); });
  lifecycle_ = std::make_unique<discovery::Lifecycle>(*stats_, *health_);
  publisher_ = std::make_unique<discovery::SnapshotPublisher>(
      base_, *stats_, [this](const std::shared_ptr<const Snapshot>& snapshot) {
        for (auto& worker : workers_) {
          worker->post([w = worker.get(), snapshot] { w->setSnapshot(snapshot); });
        }
      });
  publisher_->setConfig(loaded_);
  static_hosts_ = std::make_unique<discovery::dns::StaticHosts>(
      base_, staticHostResolver(cfg.registry), [this] { publisher_->requestPublish(); });
  publisher_->setSources(health_.get(), static_hosts_.get());
  outliers_ = std::make_unique<outlier::OutlierDetector>(base_, *stats_, health_.get(),
                                                         [this] { publisher_->requestPublish(); });
  publisher_->setOutliers(outliers_.get());
  canaries_ = std::make_unique<canary::CanaryController>(base_, *stats_,
                                                         [this] { publisher_->requestPublish(); });
  publisher_->setCanaryWeights(&canaries_->weights());
  main_notifier_ = std::make_unique<LoopNotifier>(base_);
  for (auto& worker : workers_) {
    worker->setOutcomeReporter([this](outlier::OutcomeBatch batch) {
      main_notifier_->post([this, batch = std::move(batch)] { outliers_->onBatch(batch); });
    });
    worker->setCanaryReporter([this](canary::CanaryReports reports) {
      main_notifier_->post([this, reports = std::move(reports)] { canaries_->onReports(reports); });
    });
    worker->setLoadReporter([this, index = worker->index()](LoadSamples samples) {
      main_notifier_->post([this, index, samples = std::move(samples)] {
        balancer_loads_->onReport(index, samples);
      });
    });
  }
  static_hosts_->setNames(discovery::hostNames(cfg, publisher_->registry()));
  startProvider(cfg);
  // After the provider, which gave the client the registry's TLS settings.
  canaries_->setFleetStore(canary::makeFleetStore(cfg, *http_));
  canaries_->setConfig(cfg);
  watchConfigSource(cfg);
  if (cfg.registry.file) {
    std::string content;
    if (!readFile(cfg.registry.file->path, content, error)) {
      // Static stability: start with what the config itself says and pick the file up later.
      LOG_WARN("file registry: %s", error.c_str());
    } else {
      onRegistryFile(content);
    }
  }
  publisher_->publish();
  std::vector<Error> errors;
  if (!listeners_->update(cfg, errors)) {
    logErrors(errors);
    return false;
  }
  // Posted after the snapshot that names them, so a worker never accepts on a listener its
  // snapshot does not know yet.
  listeners_->activate(false);
  admin_ = std::make_unique<Admin>(base_, *this, Admin::Access::kFull);
  std::string admin_bound;
  if (!admin_->listen(cfg.admin.address, admin_bound, error)) {
    LOG_ERROR("admin: %s", error.c_str());
    return false;
  }
  std::string probe_bound;
  if (cfg.admin.probe_address) {
    probe_ = std::make_unique<Admin>(base_, *this, Admin::Access::kProbe);
    if (!probe_->listen(*cfg.admin.probe_address, probe_bound, error)) {
      LOG_ERROR("admin probe: %s", error.c_str());
      return false;
    }
  }
  for (auto& worker : workers_) worker->start();
  for (int signal_number : {SIGTERM, SIGINT, SIGHUP}) {
    event* e = evsignal_new(base_, signal_number, &Server::onSignal, this);
    event_add(e, nullptr);
    signal_events_.push_back(e);
  }
  watcher_ = std::make_unique<FileWatcher>(base_);
  watchFiles();
  listeners_->logListening();
  // The probe's line first: whoever waits for the admin's line finds both.
  if (probe_) LOG_INFO("admin probe listening on %s (GET only)", probe_bound.c_str());
  LOG_INFO("admin listening on %s", admin_bound.c_str());
  LOG_INFO("remora %s started with %zu worker(s)", REMORA_VERSION, workers_.size());
  lifecycle_->setState(LifecycleState::Starting);
  updateHealthTargets();
  lifecycle_->advance();
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
  if (config.service) {
    registrar_ = discovery::makeRegistrar(config.registry, *config.service, *http_);
  }
  lifecycle_->configure(config.service, config.registry.kind(), registrar_.get());
}

void Server::onProviderView(discovery::RegistryView view) {
  const char* kind = lifecycle_->registryKind().c_str();
  size_t endpoints = 0;
  for (const auto& [service, entries] : view.services) endpoints += entries.size();
  LOG_INFO("registry %s: %zu service(s), %zu endpoint(s)", kind, view.services.size(), endpoints);
  publisher_->setRegistry(std::move(view));
  stats_->incrementCounter("remora_registry_updates_total", "Registry updates applied or rejected",
                           {{"registry", kind}, {"result", "applied"}});
  stats_->setGauge("remora_registry_healthy", "1 while the last exchange with the registry worked",
                   {{"registry", kind}}, 1);
  updateHealthTargets();
  publisher_->requestPublish();
}

void Server::onProviderError(const std::string&) {
  const char* kind = lifecycle_->registryKind().c_str();
  // The provider logs the error with its retry; here it is counted. The last view stays.
  stats_->incrementCounter("remora_registry_errors_total",
                           "Failed exchanges with the registry (the last good view stays)",
                           {{"registry", kind}});
  stats_->setGauge("remora_registry_healthy", "1 while the last exchange with the registry worked",
                   {{"registry", kind}}, 0);
}

void Server::updateHealthTargets() {
  const config::Config& cfg = *loaded_->config;
  const discovery::RegistryView& registry = publisher_->registry();
  // Registry endpoints may be names too; they are resolved as static ones are.
  static_hosts_->setNames(discovery::hostNames(cfg, registry));
  std::vector<discovery::HealthTarget> targets = discovery::healthTargets(cfg, registry);
  const auto& service = lifecycle_->service();
  if (service && service->app) {
    targets.push_back({"", *service->app, service->health});
  }
  health_->setTargets(targets);
}

void Server::onHealthChange() {
  publisher_->requestPublish();
  lifecycle_->onAppHealthChange();
}

std::string Server::livenessProblem() const {
  // A worker's timer fires every second; this many seconds without one is a loop that no longer
  // turns (a deadlock, a busy loop), which a restart cures and waiting does not. Long enough
  // that a burst of work or a slow scrape of a busy machine is not mistaken for one.
  static constexpr std::chrono::seconds kStalled{10};
  const auto now = std::chrono::steady_clock::now();
  for (const auto& worker : workers_) {
    const auto silent = std::chrono::duration_cast<std::chrono::seconds>(now - worker->lastTick());
    if (silent > kStalled) {
      return "worker " + std::to_string(worker->index()) + "'s event loop has not turned for " +
             std::to_string(silent.count()) + "s";
    }
  }
  return "";
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
  nlohmann::json out = {{"kind", lifecycle_->registryKind()},
                        {"lifecycle", discovery::lifecycleStateName(lifecycle_->state())}};
  if (provider_) out["watch"] = status(provider_->status());
  if (registrar_) out["registration"] = status(registrar_->status());
  return out;
}

void Server::watchFiles() {
  watcher_->clear();
  watcher_->watch(config_path_, [this](const std::string&) { reload("config file changed"); });
  const config::Config& cfg = *loaded_->config;
  if (cfg.registry.file) {
    watcher_->watch(cfg.registry.file->path, [this](const std::string& content) {
      onRegistryFile(content);
      updateHealthTargets();
      publisher_->requestPublish();
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
  publisher_->setRegistry(std::move(*view));
  stats_->incrementCounter("remora_registry_updates_total", "Registry updates applied or rejected",
                           {{"registry", "file"}, {"result", "applied"}});
  LOG_INFO("file registry %s: %zu service(s)", path.c_str(),
           publisher_->registry().services.size());
}

void Server::reload(const std::string& why) {
  std::string text;
  std::string error;
  if (!readFile(config_path_, text, error)) {
    LOG_ERROR("reload (%s) rejected: %s", why.c_str(), error.c_str());
    return;
  }
  apply(std::move(text), source_values_, why);
}

void Server::apply(std::string text, SourceValues values, const std::string& why) {
  if (lifecycle_->state() == LifecycleState::Draining) return;
  // The same text with a renewed certificate still needs new TLS contexts.
  if (text == config_text_ && values == source_values_ && !tlsFilesChanged(loaded_->tlsFiles())) {
    LOG_INFO("reload (%s): configuration unchanged", why.c_str());
    return;
  }
  auto fail = [&](const std::vector<Error>& errors) {
    LOG_ERROR("reload (%s) rejected; the previous configuration stays in force:", why.c_str());
    logErrors(errors);
    last_rejection_ = Rejection{why, {}, std::chrono::system_clock::now()};
    for (const Error& error : errors) last_rejection_->errors.push_back(error.text());
    stats_->incrementCounter("remora_config_reloads_total", "Configuration reloads",
                             {{"result", "rejected"}});
  };
  auto config = loadConfig(text, values);
  if (!config) return fail(config.errors());
  auto loaded = discovery::prepareConfig(*config);
  if (!loaded) return fail(loaded.errors());
  const config::Config& next = *(*loaded)->config;
  const config::Config& current = *loaded_->config;
  std::vector<Error> errors;
  if (!listeners_->update(next, errors)) return fail(errors);
  if (next.workers != current.workers) {
    LOG_WARN("reload: 'workers' changes take effect at the next restart");
  }
  if (next.admin.address.text() != current.admin.address.text()) {
    LOG_WARN("reload: 'admin.address' changes take effect at the next restart");
  }
  auto probeText = [](const config::Config& c) {
    return c.admin.probe_address ? c.admin.probe_address->text() : "";
  };
  if (probeText(next) != probeText(current)) {
    LOG_WARN("reload: 'admin.probe_address' changes take effect at the next restart");
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
  last_rejection_.reset();
  config_text_ = std::move(text);
  const bool new_value = values != source_values_;
  source_values_ = std::move(values);
  loaded_ = *loaded;
  if (new_value) writeSourceCache(next);
  // Before the snapshot: the new config's canaries are indexed as its routes refer to them.
  canaries_->setConfig(next);
  publisher_->setConfig(loaded_);
  if (provider_) provider_->watch(watchedServices(next));
  if (registry_changed) {
    publisher_->setRegistry({});
    if (next.registry.file) {
      std::string content;
      std::string error;
      if (readFile(next.registry.file->path, content, error)) onRegistryFile(content);
    }
  }
  watchFiles();
  watchConfigSource(next);
  static_hosts_->setNames(discovery::hostNames(next, publisher_->registry()));
  updateHealthTargets();
  publisher_->publish();
  listeners_->activate(lifecycle_->state() != LifecycleState::Starting);
  stats_->incrementCounter("remora_config_reloads_total", "Configuration reloads",
                           {{"result", "applied"}});
  LOG_INFO("reload (%s): configuration applied (snapshot %llu)", why.c_str(),
           static_cast<unsigned long long>(publisher_->version()));
}

std::string Server::renderMetrics() {
  publishBreakerMetrics(breakers_, *publisher_->snapshot(), *stats_);
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
  if (lifecycle_->state() == LifecycleState::Draining) return;
  const config::Lifecycle& lifecycle = loaded_->config->lifecycle;
  LOG_INFO(
      "draining (%s): not ready now, listeners close in %lldms, in-flight requests get up to "
      "%lldms",
      why, static_cast<long long>(lifecycle.drain_delay.count()),
      static_cast<long long>(lifecycle.drain_timeout.count()));
  lifecycle_->setState(LifecycleState::Draining);
  // Another remora leads this one's canaries from now, not a lease TTL after it is gone.
  canaries_->resignFromFleet();
  // Keep-alive clients are told at once, so that they move to new connections while the
  // listeners still accept, not when they close.
  for (auto& worker : workers_) worker->post([w = worker.get()] { w->noticeDrain(); });
  // Peers learn of the drain from the registry first; the delay counts from there.
  lifecycle_->leaveRegistry([this] { beginDrainDelay(); });
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
    listeners_->closeForDrain(keep);
    LOG_INFO("draining: %s closed, %zu connection(s) open",
             keep.empty() ? "listeners" : "the inbound listener", listeners_->openConnections());
  }
  if (listeners_closed_) {
    const size_t open = listeners_->openConnections();
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
  lifecycle_->setState(LifecycleState::Draining);
  canaries_->resignFromFleet();
  // A moment for the admin reply to be written before the loop ends.
  static constexpr timeval kReplyTime = {0, 100 * 1000};
  // A Job's instance leaves the registry too; deregistration is bounded by its own timeout.
  lifecycle_->leaveRegistry([this] { event_base_loopexit(base_, &kReplyTime); });
}

std::set<std::string> Server::appFacingListeners() const {
  const config::Config& cfg = *loaded_->config;
  std::set<std::string> names;
  const auto& service = lifecycle_->service();
  if (!service) return names;
  for (const auto& listener : cfg.listeners) {
    if (listener.address.port != service->port) names.insert(listener.name);
  }
  return names;
}

void Server::stopWorkers() {
  for (auto& worker : workers_) worker->stopAndJoin();
}

}  // namespace remora
