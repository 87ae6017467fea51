// The Consul blocking-query loops: index bookkeeping, pacing, backoff, and the merged views.
#include "discovery/consul/consul_provider.h"

#include <event2/event.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "discovery/backoff.h"
#include "discovery/consul/consul_json.h"
#include "proxy/log.h"

namespace remora::discovery::consul {
namespace {

// On top of wait*17/16 (Consul adds up to wait/16 of jitter): the agent's own round trip to the
// servers and a busy loop.
constexpr std::chrono::milliseconds kTimeoutSlack{5000};

bool sameEndpoints(const std::vector<RegistryEndpoint>& a, const std::vector<RegistryEndpoint>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const RegistryEndpoint& x, const RegistryEndpoint& y) {
                      return x.endpoint.address.host == y.endpoint.address.host &&
                             x.endpoint.address.port == y.endpoint.address.port &&
                             x.endpoint.weight == y.endpoint.weight &&
                             x.endpoint.meta == y.endpoint.meta && x.healthy == y.healthy &&
                             x.health_reason == y.health_reason;
                    });
}

timeval toTimeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000),
          static_cast<suseconds_t>(ms.count() % 1000) * 1000};
}

}  // namespace

std::chrono::milliseconds QueryPacer::delay(Clock::time_point sent, Clock::time_point now) {
  if (now - sent >= kBaseInterval) interval_ = kBaseInterval;
  if (now > last_) {
    const double refilled = std::chrono::duration<double>(now - last_) / interval_;
    tokens_ = std::min(kBurst, tokens_ + refilled);
    last_ = now;
  }
  if (tokens_ >= 1) {
    tokens_ -= 1;
    return std::chrono::milliseconds(0);
  }
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>((1 - tokens_) * interval_);
  tokens_ = 0;
  last_ = now + wait;
  interval_ = std::min(interval_ * 2, kMaxInterval);
  return wait;
}

// One service's loop: read at index 0, then block on the last index; pace the queries; back off
// after failures, keeping the last endpoints read.
class ConsulProvider::ServiceWatch {
 public:
  ServiceWatch(ConsulProvider& owner, std::string name)
      : owner_(owner),
        name_(std::move(name)),
        timer_(evtimer_new(owner.http_.base(), &ServiceWatch::onTimer, this)) {}
  ~ServiceWatch() {
    call_.reset();
    event_free(timer_);
  }
  ServiceWatch(const ServiceWatch&) = delete;
  ServiceWatch& operator=(const ServiceWatch&) = delete;

  void start() { query(); }
  bool answered() const { return answered_; }
  bool failing() const { return failing_; }
  const std::vector<RegistryEndpoint>& endpoints() const { return endpoints_; }

 private:
  void query();
  void onResponse(const HttpResponse& response);
  void fail(const std::string& error);
  void arm(std::chrono::milliseconds wait) {
    const timeval tv = toTimeval(wait);
    evtimer_add(timer_, &tv);
  }
  static void onTimer(evutil_socket_t, short, void* self) {
    static_cast<ServiceWatch*>(self)->query();
  }

  ConsulProvider& owner_;
  const std::string name_;
  uint64_t index_ = 0;
  bool read_once_ = false;
  bool answered_ = false;  // read or failed at least once
  bool failing_ = false;
  std::vector<RegistryEndpoint> endpoints_;  // the last good read
  std::unique_ptr<HttpCall> call_;
  event* timer_;
  QueryPacer pacer_;
  QueryPacer::Clock::time_point sent_{};  // when the query in flight went out
  Backoff backoff_{std::chrono::milliseconds(500), std::chrono::milliseconds(30000)};
};

void ConsulProvider::ServiceWatch::query() {
  const config::ConsulRegistry& config = owner_.config_;
  // Index 0 answers at once; after the first read never block on it (Consul may report 0 and
  // the loop would spin), 1 is just as good.
  const uint64_t index = read_once_ ? std::max<uint64_t>(index_, 1) : 0;
  std::string base = config.address;
  while (base.ends_with('/')) base.pop_back();
  HttpRequest request;
  request.url = base + "/v1/health/service/" + urlEscape(name_) +
                "?index=" + std::to_string(index) + "&wait=" + durationText(config.wait);
  if (!config.datacenter.empty()) request.url += "&dc=" + urlEscape(config.datacenter);
  if (config.stale) request.url += "&stale";
  if (!owner_.token_.empty()) request.headers.emplace_back("X-Consul-Token", owner_.token_);
  // A non-blocking read (index 0) answers at once: an agent that does not is gone, and the
  // first view (which waits for every service) must not wait a whole `wait` for it.
  request.timeout = index == 0 ? kTimeoutSlack : config.wait + config.wait / 16 + kTimeoutSlack;
  sent_ = QueryPacer::Clock::now();
  call_ = owner_.http_.fetch(std::move(request),
                             [this](HttpResponse response) { onResponse(response); });
}

void ConsulProvider::ServiceWatch::onResponse(const HttpResponse& response) {
  call_.reset();
  if (response.status != 200) return fail(describeFailure(response));
  const auto index = parseIndex(response.header("x-consul-index"));
  if (!index) return fail("the reply has no valid X-Consul-Index");
  std::string error;
  auto endpoints = parseHealthReply(response.body, error);
  if (!endpoints) return fail(error);

  // A lower index means the registry's state was rebuilt (a restored snapshot, a new
  // cluster): start over rather than wait for an index that may never come.
  index_ = *index < index_ ? 0 : *index;
  if (failing_) LOG_INFO("consul: %s: registry back", name_.c_str());
  backoff_.reset();
  failing_ = false;
  answered_ = true;
  const bool changed = !read_once_ || !sameEndpoints(*endpoints, endpoints_);
  read_once_ = true;
  if (changed) endpoints_ = std::move(*endpoints);
  const auto wait = pacer_.delay(sent_, QueryPacer::Clock::now());
  if (wait.count() > 0) {
    arm(wait);
  } else {
    query();
  }
  // Last: the view's receiver may change the watched set and so destroy this watch.
  ConsulProvider& owner = owner_;
  owner.onSucceeded();
  if (changed) owner.publish();
}

void ConsulProvider::ServiceWatch::fail(const std::string& error) {
  const bool first_answer = !answered_;
  answered_ = true;
  failing_ = true;
  // The registry may come back rebuilt, with a lower index: read in full first.
  index_ = 0;
  const auto wait = backoff_.next();
  LOG_WARN("consul: %s: %s; retrying in %lldms, keeping its last %zu endpoints", name_.c_str(),
           error.c_str(), static_cast<long long>(wait.count()), endpoints_.size());
  arm(wait);
  owner_.onFailed("consul: " + name_ + ": " + error, first_answer);
}

ConsulProvider::ConsulProvider(HttpClient& http, const config::ConsulRegistry& config,
                               ProviderCallbacks callbacks)
    : http_(http),
      config_(config),
      token_(resolveToken(config)),
      callbacks_(std::move(callbacks)) {}

ConsulProvider::~ConsulProvider() = default;

void ConsulProvider::watch(const std::set<std::string>& services) {
  const bool same =
      std::equal(services.begin(), services.end(), watches_.begin(), watches_.end(),
                 [](const std::string& name, const auto& entry) { return name == entry.first; });
  if (watching_ && same) return;
  watching_ = true;
  std::erase_if(watches_, [&](const auto& entry) { return !services.contains(entry.first); });
  for (const std::string& name : services) {
    if (watches_.contains(name)) continue;
    auto watch = std::make_unique<ServiceWatch>(*this, name);
    ServiceWatch& started = *watch;
    watches_.emplace(name, std::move(watch));
    started.start();
  }
  publish();
}

void ConsulProvider::onSucceeded() {
  status_.last_success = std::chrono::system_clock::now();
  const bool any_failing = std::any_of(watches_.begin(), watches_.end(),
                                       [](const auto& entry) { return entry.second->failing(); });
  if (!any_failing) {
    status_.healthy = true;
    status_.last_error.clear();
  }
}

void ConsulProvider::onFailed(const std::string& error, bool first_answer) {
  status_.healthy = false;
  status_.last_error = error;
  ++status_.errors;
  callbacks_.on_error(error);
  if (first_answer) publish();
}

void ConsulProvider::publish() {
  RegistryView view;
  view.source = "consul";
  for (const auto& [name, watch] : watches_) {
    if (!watch->answered()) return;
    view.services[name] = watch->endpoints();
  }
  callbacks_.on_view(std::move(view));
}

}  // namespace remora::discovery::consul
