// Self-registration in etcd: lease grant, put with the lease, keep-alive at a third of the TTL,
// re-grant and re-put when the lease is gone, revoke on deregistration.
#include "discovery/etcd/etcd_registrar.h"

#include <nlohmann/json.hpp>

#include "discovery/etcd/etcd_json.h"
#include "proxy/log.h"

namespace remora::discovery::etcd {
namespace {

constexpr std::chrono::milliseconds kCallTimeout{3000};

std::string describe(const HttpResponse& response) {
  if (response.status == 0) return response.error;
  return "HTTP " + std::to_string(response.status) + " " + response.body.substr(0, 200);
}

}  // namespace

EtcdRegistrar::EtcdRegistrar(HttpClient& http, const config::EtcdRegistry& config,
                             const config::Service& service)
    : config_(config),
      service_(service),
      client_(http, config),
      key_(config.prefix + service.name + "/" + service.id),
      timer_(evtimer_new(http.base(), &EtcdRegistrar::onTimer, this)) {}

EtcdRegistrar::~EtcdRegistrar() {
  call_.reset();
  event_free(timer_);
}

void EtcdRegistrar::start(AppHealth health, std::function<void()> on_registered) {
  health_ = health;
  on_registered_ = std::move(on_registered);
  started_ = true;
  sync();
}

void EtcdRegistrar::setHealth(AppHealth health) {
  if (health == health_) return;
  health_ = health;
  // A call in flight finishes first; its completion syncs to the new health.
  if (started_ && !stopping_ && !call_) sync();
}

void EtcdRegistrar::sync() {
  if (stopping_) return;
  if (lease_.empty()) return grant();
  apply();
}

void EtcdRegistrar::grant() {
  const int64_t ttl_seconds = std::max<int64_t>(2, config_.lease_ttl.count() / 1000);
  const nlohmann::json body = {{"TTL", std::to_string(ttl_seconds)}};
  call_ = client_.call("/v3/lease/grant", body.dump(), kCallTimeout, [this](HttpResponse response) {
    call_.reset();
    if (response.status != 200) return fail("lease grant: " + describe(response));
    std::string error;
    auto reply = parseLeaseReply(response.body, error);
    if (!reply || reply->id.empty() || reply->ttl <= 0) {
      return fail("lease grant: " + (error.empty() ? "no lease in the reply" : error));
    }
    lease_ = reply->id;
    key_present_ = false;
    apply();
  });
}

// Critical apps are not published: peers must not route to them. Warning ones are, with the
// warning weight, so peers can give them less.
void EtcdRegistrar::apply() {
  const bool want = health_ != AppHealth::Critical;
  if (!want) {
    const nlohmann::json body = {{"key", base64Encode(key_)}};
    call_ = client_.call(
        "/v3/kv/deleterange", body.dump(), kCallTimeout, [this](HttpResponse response) {
          call_.reset();
          if (response.status != 200) return fail("delete: " + describe(response));
          key_present_ = false;
          if (on_registered_) on_registered_();
          LOG_INFO("etcd: %s withdrawn (app %s)", key_.c_str(), appHealthName(health_));
          backoff_.reset();
          status_.healthy = true;
          status_.last_error.clear();
          if (health_ != AppHealth::Critical) return sync();
          keepAlive();
        });
    return;
  }
  config::Metadata metadata = service_.meta;
  const uint32_t weight =
      health_ == AppHealth::Warning ? service_.weight_warning : service_.weight_passing;
  metadata["weight"] = std::to_string(weight);
  metadata["health"] = appHealthName(health_);
  if (!service_.tags.empty()) {
    std::string tags;
    for (const auto& tag : service_.tags) tags += (tags.empty() ? "" : ",") + tag;
    metadata["tags"] = tags;
  }
  const AppHealth published = health_;
  const nlohmann::json body = {
      {"key", base64Encode(key_)},
      {"value", base64Encode(encodeInstance(service_.address, service_.port, metadata))},
      {"lease", lease_}};
  call_ = client_.call("/v3/kv/put", body.dump(), kCallTimeout,
                       [this, published](HttpResponse response) {
                         call_.reset();
                         if (response.status != 200) {
                           // A lease that expired meanwhile: grant a new one.
                           if (response.body.find("lease not found") != std::string::npos) {
                             lease_.clear();
                           }
                           return fail("put: " + describe(response));
                         }
                         key_present_ = true;
                         published_ = published;
                         backoff_.reset();
                         status_.healthy = true;
                         status_.last_error.clear();
                         status_.last_success = std::chrono::system_clock::now();
                         LOG_INFO("etcd: registered %s (lease %s, %s)", key_.c_str(),
                                  lease_.c_str(), appHealthName(published));
                         if (published != health_) return sync();
                         if (on_registered_) on_registered_();
                         keepAlive();
                       });
}

void EtcdRegistrar::keepAlive() {
  // A third of the TTL leaves two more tries before the lease would run out.
  schedule(std::max(std::chrono::milliseconds(500), config_.lease_ttl / 3));
}

void EtcdRegistrar::onTimer(evutil_socket_t, short, void* self) {
  auto* registrar = static_cast<EtcdRegistrar*>(self);
  if (registrar->stopping_ || registrar->call_) return;
  if (registrar->lease_.empty()) return registrar->sync();
  const nlohmann::json body = {{"ID", registrar->lease_}};
  registrar->call_ = registrar->client_.call(
      "/v3/lease/keepalive", body.dump(), kCallTimeout, [registrar](HttpResponse response) {
        registrar->call_.reset();
        if (response.status != 200) return registrar->fail("keep-alive: " + describe(response));
        std::string error;
        auto reply = parseLeaseReply(response.body, error);
        if (!reply) return registrar->fail("keep-alive: " + error);
        if (reply->ttl <= 0) {
          // The lease expired (the registry was away longer than the TTL): the key went with it.
          LOG_WARN("etcd: lease %s is gone; registering %s again", registrar->lease_.c_str(),
                   registrar->key_.c_str());
          registrar->lease_.clear();
          registrar->key_present_ = false;
          return registrar->sync();
        }
        registrar->status_.healthy = true;
        registrar->status_.last_error.clear();
        registrar->status_.last_success = std::chrono::system_clock::now();
        // The app's health may have changed while this call was out.
        const bool want = registrar->health_ != AppHealth::Critical;
        if (want != registrar->key_present_ ||
            (want && registrar->published_ != registrar->health_)) {
          return registrar->sync();
        }
        registrar->keepAlive();
      });
}

void EtcdRegistrar::fail(const std::string& error) {
  status_.healthy = false;
  status_.last_error = error;
  ++status_.errors;
  const auto wait = backoff_.next();
  LOG_WARN("etcd registration of %s (%s): %s; retrying in %lldms", key_.c_str(),
           client_.endpoint().c_str(), error.c_str(), static_cast<long long>(wait.count()));
  // Retry from the start: the lease may be the thing that is gone.
  if (!key_present_) lease_.clear();
  schedule(wait);
}

void EtcdRegistrar::schedule(std::chrono::milliseconds wait) {
  const timeval tv = {static_cast<time_t>(wait.count() / 1000),
                      static_cast<suseconds_t>(wait.count() % 1000) * 1000};
  evtimer_add(timer_, &tv);
}

void EtcdRegistrar::deregister(std::function<void()> done) {
  stopping_ = true;
  evtimer_del(timer_);
  call_.reset();
  if (lease_.empty()) {
    if (done) done();
    return;
  }
  // Revoking the lease deletes the key with it.
  const nlohmann::json body = {{"ID", lease_}};
  call_ = client_.call("/v3/lease/revoke", body.dump(), kCallTimeout,
                       [this, done = std::move(done)](HttpResponse response) {
                         call_.reset();
                         if (response.status == 200) {
                           LOG_INFO("etcd: deregistered %s", key_.c_str());
                         } else {
                           LOG_WARN(
                               "etcd: deregistering %s failed (%s); the lease expires on "
                               "its own",
                               key_.c_str(), describe(response).c_str());
                         }
                         lease_.clear();
                         if (done) done();
                       });
}

}  // namespace remora::discovery::etcd
