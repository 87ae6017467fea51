// The lifecycle state machine: the app's first healthy check, registration, readiness, the gauge.
#include "discovery/lifecycle.h"

#include "proxy/log.h"

namespace remora::discovery {

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

Lifecycle::Lifecycle(stats::Registry& stats, const HealthChecker& health)
    : stats_(stats), health_(health) {}

void Lifecycle::configure(std::optional<config::Service> service, std::string registry_kind,
                          Registrar* registrar) {
  service_ = std::move(service);
  registry_kind_ = std::move(registry_kind);
  registrar_ = registrar;
}

void Lifecycle::setState(LifecycleState state) {
  state_ = state;
  for (auto s : {LifecycleState::Starting, LifecycleState::Registering, LifecycleState::Ready,
                 LifecycleState::Draining, LifecycleState::Stopped}) {
    stats_.setGauge("remora_lifecycle_state", "1 for the lifecycle state remora is in",
                    {{"state", lifecycleStateName(s)}}, s == state ? 1 : 0);
  }
}

void Lifecycle::setHealthcheckFailed(bool failed) {
  if (failed == healthcheck_failed_) return;
  healthcheck_failed_ = failed;
  LOG_INFO("health check %s through the admin listener", failed ? "failed" : "restored");
  if (registrar_ && registration_started_ && state_ != LifecycleState::Draining) {
    registrar_->setHealth(appHealth());
  }
}

void Lifecycle::onAppHealthChange() {
  if (registrar_ && registration_started_ && state_ != LifecycleState::Draining) {
    registrar_->setHealth(appHealth());
  }
  advance();
}

AppHealth Lifecycle::appHealth() const {
  if (healthcheck_failed_) return AppHealth::Critical;
  if (!service_ || !service_->app) return AppHealth::Passing;
  const TargetHealth* health = health_.find("", service_->app->text());
  if (health == nullptr || health->state != TargetHealth::State::Healthy) {
    return AppHealth::Critical;
  }
  return health->warning ? AppHealth::Warning : AppHealth::Passing;
}

void Lifecycle::advance() {
  if (state_ == LifecycleState::Starting) {
    if (service_ && service_->app && !appHealthy()) return;  // onAppHealthChange comes back
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
           registry_kind_.c_str());
  registrar_->start(appHealth(), [this] {
    if (state_ != LifecycleState::Registering) return;
    setState(LifecycleState::Ready);
    LOG_INFO("registered: ready");
  });
}

void Lifecycle::leaveRegistry(std::function<void()> done) {
  if (!registrar_ || !registration_started_) {
    done();
    return;
  }
  LOG_INFO("deregistering from %s", registry_kind_.c_str());
  registrar_->deregister(std::move(done));
}

std::string Lifecycle::notReadyReason() const {
  if (state_ == LifecycleState::Ready && healthcheck_failed_) return "HEALTHCHECK FAILED";
  const bool has_app = service_ && service_->app;
  auto appResult = [&]() -> std::string {
    const TargetHealth* health = health_.find("", service_->app->text());
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

}  // namespace remora::discovery
