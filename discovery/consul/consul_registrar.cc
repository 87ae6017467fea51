// Self-registration in Consul: register with the app's health as the check's first status, TTL
// updates on every change and each period, re-registration when the agent forgot the service,
// and a bounded deregistration.
#include "discovery/consul/consul_registrar.h"

#include <algorithm>

#include "discovery/consul/consul_json.h"
#include "proxy/log.h"

namespace remora::discovery::consul {
namespace {

constexpr std::chrono::milliseconds kCallTimeout{5000};
// Deregistration runs while remora drains; a dead agent must not hold the drain up.
constexpr std::chrono::milliseconds kDeregisterTimeout{3000};
constexpr std::chrono::milliseconds kMinPeriod{1000};

// Consul 1.15 answers 404 for an unknown check or service id; older agents answered 500 with the
// same words.
bool unknownToAgent(const HttpResponse& response) {
  return response.status == 404 ||
         (response.status == 500 && (response.body.find("Unknown check") != std::string::npos ||
                                     response.body.find("Unknown service") != std::string::npos));
}

}  // namespace

ConsulRegistrar::ConsulRegistrar(HttpClient& http, const config::ConsulRegistry& config,
                                 const config::Service& service)
    : http_(http),
      config_(config),
      service_(service),
      token_(resolveToken(config)),
      period_(std::max(kMinPeriod, service.health.interval)),
      timer_(evtimer_new(http.base(), &ConsulRegistrar::onTimer, this)) {}

ConsulRegistrar::~ConsulRegistrar() {
  call_.reset();
  event_free(timer_);
}

HttpRequest ConsulRegistrar::request(const char* method, const std::string& path,
                                     std::string body) const {
  std::string base = config_.address;
  while (base.ends_with('/')) base.pop_back();
  HttpRequest request;
  request.method = method;
  request.url = base + path;
  request.body = std::move(body);
  request.timeout = kCallTimeout;
  if (!token_.empty()) request.headers.emplace_back("X-Consul-Token", token_);
  if (!request.body.empty()) request.headers.emplace_back("Content-Type", "application/json");
  return request;
}

void ConsulRegistrar::start(AppHealth health, std::function<void()> on_registered) {
  health_ = health;
  on_registered_ = std::move(on_registered);
  started_ = true;
  registerService();
}

void ConsulRegistrar::setHealth(AppHealth health) {
  if (health == health_) return;
  health_ = health;
  // An exchange in flight, or a pending retry that registers anew, picks the new health up.
  if (!started_ || stopping_ || call_ || !registered_) return;
  evtimer_del(timer_);
  next();
}

void ConsulRegistrar::registerService() {
  const AppHealth published = health_;
  const std::string body = encodeRegistration(service_, config_, 3 * period_, published);
  call_ =
      http_.fetch(request("PUT", "/v1/agent/service/register?replace-existing-checks=true", body),
                  [this, published](HttpResponse response) {
                    call_.reset();
                    if (response.status != 200)
                      return fail("register: " + describeFailure(response));
                    registered_ = true;
                    published_ = published;
                    // Registering replaces the checks, maintenance's among them.
                    maintenance_ = false;
                    if (restoring_) {
                      LOG_INFO("consul: registry back and registration of %s restored",
                               serviceId(service_).c_str());
                    } else {
                      LOG_INFO("consul: registered %s (%s check, %s)", serviceId(service_).c_str(),
                               config_.check == config::ConsulRegistry::Check::Ttl ? "ttl" : "http",
                               appHealthName(published));
                    }
                    restoring_ = false;
                    succeeded();
                    next();
                    if (on_registered_) on_registered_();
                  });
}

void ConsulRegistrar::updateCheck() {
  const AppHealth published = health_;
  call_ = http_.fetch(request("PUT", "/v1/agent/check/update/" + urlEscape(checkId(service_)),
                              encodeCheckUpdate(published)),
                      [this, published](HttpResponse response) {
                        call_.reset();
                        if (unknownToAgent(response))
                          return lost("check update: " + describeFailure(response));
                        if (response.status != 200)
                          return fail("check update: " + describeFailure(response));
                        if (published != published_) {
                          LOG_INFO("consul: %s is %s", serviceId(service_).c_str(),
                                   appHealthName(published));
                        }
                        published_ = published;
                        succeeded();
                        next();
                      });
}

void ConsulRegistrar::confirm() {
  call_ = http_.fetch(request("GET", "/v1/agent/service/" + urlEscape(serviceId(service_)), ""),
                      [this](HttpResponse response) {
                        call_.reset();
                        if (unknownToAgent(response)) return lost(describeFailure(response));
                        if (response.status != 200)
                          return fail("lookup: " + describeFailure(response));
                        succeeded();
                        next();
                      });
}

void ConsulRegistrar::next() {
  if (config_.check == config::ConsulRegistry::Check::Ttl && published_ != health_) {
    return updateCheck();
  }
  const bool critical = health_ == AppHealth::Critical;
  if (config_.check == config::ConsulRegistry::Check::Http && critical != maintenance_) {
    return setMaintenance(critical);
  }
  schedule(period_);
}

void ConsulRegistrar::setMaintenance(bool enable) {
  const std::string path = "/v1/agent/service/maintenance/" + urlEscape(serviceId(service_)) +
                           "?enable=" + (enable ? "true" : "false") +
                           "&reason=" + urlEscape("remora: the app is critical");
  call_ = http_.fetch(request("PUT", path, ""), [this, enable](HttpResponse response) {
    call_.reset();
    if (unknownToAgent(response)) return lost("maintenance: " + describeFailure(response));
    if (response.status != 200) return fail("maintenance: " + describeFailure(response));
    maintenance_ = enable;
    LOG_INFO("consul: %s maintenance %s", serviceId(service_).c_str(), enable ? "on" : "off");
    succeeded();
    next();
  });
}

void ConsulRegistrar::onTimer(evutil_socket_t, short, void* self) {
  auto* registrar = static_cast<ConsulRegistrar*>(self);
  if (registrar->stopping_ || registrar->call_) return;
  if (!registrar->registered_) return registrar->registerService();
  if (registrar->config_.check == config::ConsulRegistry::Check::Ttl) {
    return registrar->updateCheck();
  }
  registrar->confirm();
}

void ConsulRegistrar::succeeded() {
  backoff_.reset();
  status_.healthy = true;
  status_.last_error.clear();
  status_.last_success = std::chrono::system_clock::now();
}

void ConsulRegistrar::lost(const std::string& why) {
  const auto wait = backoff_.next();
  LOG_WARN("consul: the agent no longer knows %s (%s); registering it again in %lldms",
           serviceId(service_).c_str(), why.c_str(), static_cast<long long>(wait.count()));
  registered_ = false;
  restoring_ = true;
  // Not at once: an agent that keeps forgetting (a misbehaving proxy, a check id it rewrites)
  // must not turn this into a tight register/update loop.
  schedule(wait);
}

void ConsulRegistrar::fail(const std::string& error) {
  status_.healthy = false;
  status_.last_error = error;
  ++status_.errors;
  // Whatever failed, the next try registers anew: it is idempotent, carries the current health,
  // and the agent may have restarted without the service meanwhile.
  registered_ = false;
  restoring_ = true;
  const auto wait = backoff_.next();
  LOG_WARN("consul: registration of %s: %s; retrying in %lldms", serviceId(service_).c_str(),
           error.c_str(), static_cast<long long>(wait.count()));
  schedule(wait);
}

void ConsulRegistrar::schedule(std::chrono::milliseconds wait) {
  const timeval tv = {static_cast<time_t>(wait.count() / 1000),
                      static_cast<suseconds_t>(wait.count() % 1000) * 1000};
  evtimer_add(timer_, &tv);
}

void ConsulRegistrar::deregister(std::function<void()> done) {
  stopping_ = true;
  evtimer_del(timer_);
  call_.reset();
  if (!started_) {
    if (done) done();
    return;
  }
  // Sent even when the last exchange failed: a registration may have reached the agent.
  HttpRequest r =
      request("PUT", "/v1/agent/service/deregister/" + urlEscape(serviceId(service_)), "");
  r.timeout = kDeregisterTimeout;
  call_ = http_.fetch(std::move(r), [this, done = std::move(done)](HttpResponse response) {
    call_.reset();
    registered_ = false;
    // 404: the agent had already forgotten it, which is the outcome wanted.
    if (response.status == 200 || response.status == 404) {
      LOG_INFO("consul: deregistered %s", serviceId(service_).c_str());
    } else {
      LOG_WARN(
          "consul: deregistering %s failed (%s); the agent removes it %s after its check "
          "turns critical",
          serviceId(service_).c_str(), describeFailure(response).c_str(),
          durationText(config_.deregister_critical_after).c_str());
    }
    if (done) done();
  });
}

}  // namespace remora::discovery::consul
