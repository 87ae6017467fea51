// Lifecycle: the sidecar's state machine (STARTING -> REGISTERING -> READY -> DRAINING ->
// STOPPED), its gauge, readiness, and the registration that follows the local app's health.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "config/config.h"
#include "discovery/health/health_checker.h"
#include "discovery/registrar.h"
#include "proxy/stats.h"

namespace remora::discovery {

// STARTING (waiting for the local app) -> REGISTERING -> READY -> DRAINING -> STOPPED.
enum class LifecycleState { Starting, Registering, Ready, Draining, Stopped };
const char* lifecycleStateName(LifecycleState state);

class Lifecycle {
 public:
  // `health` checks the local app (its target has group ""); both outlive the lifecycle.
  Lifecycle(stats::Registry& stats, const HealthChecker& health);

  // The service and registry as started: `service:` and `registry:` changes take effect at the
  // next restart, and the lifecycle must not follow half of one. `registrar` (null without
  // `service:` or a registry that registers) outlives the lifecycle.
  void configure(std::optional<config::Service> service, std::string registry_kind,
                 Registrar* registrar);
  const std::optional<config::Service>& service() const { return service_; }
  const std::string& registryKind() const { return registry_kind_; }

  LifecycleState state() const { return state_; }
  void setState(LifecycleState state);

  // /ready: 200 only when READY with a healthy app and no POST /healthcheck/fail.
  bool ready() const {
    return state_ == LifecycleState::Ready && !healthcheck_failed_ && appHealthy();
  }
  // Why /ready answers 503: the state and what it waits for.
  std::string notReadyReason() const;
  // POST /healthcheck/fail|ok: /ready and the registered health follow it.
  void setHealthcheckFailed(bool failed);

  // Moves through STARTING and REGISTERING as the app and the registry allow.
  void advance();
  // The app's health changed: the registered health follows it, and the state machine moves on.
  void onAppHealthChange();
  // Leaves the registry if registration started (bounded by the registrar's own timeout), then
  // calls `done`; without a registration, calls it now.
  void leaveRegistry(std::function<void()> done);

 private:
  AppHealth appHealth() const;
  bool appHealthy() const { return appHealth() != AppHealth::Critical; }

  stats::Registry& stats_;
  const HealthChecker& health_;
  std::optional<config::Service> service_;
  std::string registry_kind_;
  Registrar* registrar_ = nullptr;
  LifecycleState state_ = LifecycleState::Starting;
  bool healthcheck_failed_ = false;
  bool registration_started_ = false;
};

}  // namespace remora::discovery
