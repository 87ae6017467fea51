// Active HTTP health checks: one timer and at most one request per target.
#include "discovery/health/health_checker.h"

#include <random>

#include "proxy/log.h"

namespace remora::discovery {
namespace {

timeval toTimeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000),
          static_cast<suseconds_t>(ms.count() % 1000) * 1000};
}

std::string url(const config::Address& address, const std::string& path) {
  return "http://" + address.text() + path;
}

}  // namespace

struct HealthChecker::Checked {
  HealthChecker* owner = nullptr;
  HealthTarget target;
  TargetHealth health;
  event* timer = nullptr;
  std::unique_ptr<HttpCall> call;
  ~Checked() {
    call.reset();
    if (timer != nullptr) event_free(timer);
  }
};

HealthChecker::HealthChecker(HttpClient& http, std::function<void()> on_change)
    : http_(http), on_change_(std::move(on_change)) {}

HealthChecker::~HealthChecker() = default;

void HealthChecker::setTargets(const std::vector<HealthTarget>& targets) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Checked>> next;
  for (const HealthTarget& target : targets) {
    auto key = std::make_pair(target.group, target.address.text());
    if (next.contains(key)) continue;
    auto existing = targets_.find(key);
    if (existing != targets_.end()) {
      existing->second->target = target;  // new thresholds apply from the next result
      next.emplace(key, std::move(existing->second));
      targets_.erase(existing);
      continue;
    }
    auto checked = std::make_unique<Checked>();
    checked->owner = this;
    checked->target = target;
    checked->timer = evtimer_new(http_.base(), &HealthChecker::onTimer, checked.get());
    // Spread the first checks so that a large cluster does not get one burst.
    std::uniform_int_distribution<int64_t> spread(0, target.check.interval.count() / 10);
    const timeval first = toTimeval(std::chrono::milliseconds(spread(random)));
    evtimer_add(checked->timer, &first);
    next.emplace(key, std::move(checked));
  }
  targets_ = std::move(next);  // targets no longer named are dropped, their calls cancelled
}

const TargetHealth* HealthChecker::find(const std::string& group,
                                        const std::string& address) const {
  auto it = targets_.find({group, address});
  return it == targets_.end() ? nullptr : &it->second->health;
}

void HealthChecker::onTimer(evutil_socket_t, short, void* arg) {
  auto* checked = static_cast<Checked*>(arg);
  checked->owner->check(*checked);
}

void HealthChecker::check(Checked& target) {
  HttpRequest request;
  request.url = url(target.target.address, target.target.check.path);
  request.timeout = target.target.check.timeout;
  request.max_body_bytes = 64 * 1024;
  request.headers.emplace_back("User-Agent", "remora-health-check");
  request.headers.emplace_back("Connection", "close");
  target.call = http_.fetch(std::move(request), [this, &target](HttpResponse response) {
    target.call.reset();
    const bool success = response.status >= 200 && response.status < 300;
    const bool warning = response.status == 429;
    std::string result =
        response.status == 0 ? response.error : "HTTP " + std::to_string(response.status);
    // Scheduled first: recording may change the targets and so free this one.
    const timeval next = toTimeval(target.target.check.interval);
    evtimer_add(target.timer, &next);
    record(target, success || warning, warning, std::move(result));
  });
}

void HealthChecker::record(Checked& target, bool success, bool warning, std::string result) {
  TargetHealth& health = target.health;
  const TargetHealth::State before = health.state;
  const bool warning_before = health.warning;
  health.last_result = std::move(result);
  health.warning = success && warning;
  if (success) {
    ++health.successes;
    ++health.passes;
    health.failures = 0;
  } else {
    ++health.failures;
    health.successes = 0;
  }
  // The first result decides at once: a new endpoint is neither kept out nor trusted for
  // `threshold` intervals. After that the thresholds damp flapping.
  if (before == TargetHealth::State::Unknown) {
    health.state = success ? TargetHealth::State::Healthy : TargetHealth::State::Unhealthy;
  } else if (success && health.successes >= target.target.check.healthy_threshold) {
    health.state = TargetHealth::State::Healthy;
  } else if (!success && health.failures >= target.target.check.unhealthy_threshold) {
    health.state = TargetHealth::State::Unhealthy;
  }
  if (health.state != before || health.warning != warning_before) {
    const std::string who =
        target.target.group.empty() ? "local app" : "cluster " + target.target.group;
    LOG_INFO("health check: %s endpoint %s is %s (%s)", who.c_str(),
             target.target.address.text().c_str(),
             health.state == TargetHealth::State::Healthy
                 ? (health.warning ? "healthy with a warning" : "healthy")
                 : "unhealthy",
             health.last_result.c_str());
    on_change_();
  }
}

}  // namespace remora::discovery
