// The router's retries and timeouts: the route's retry policy, the cluster's retry budget,
// backoff between tries, the per-try and the route timeout.
#include "filters/router/router_filter.h"
#include "proxy/event_time.h"
#include "proxy/lb/load_balancer.h"

namespace remora::router {

namespace {

uint64_t nanosSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
}

}  // namespace

bool RouterFilter::canRetry() const {
  return retry_ != nullptr && context_.info().retries < retry_->attempts &&
         !context_.responseStarted() && !completed_;
}

bool RouterFilter::budgetAllowsRetry() {
  // Counted once, from the first retry on.
  if (holds_retry_) return true;
  if (!budgetAllows(cluster_->config->retry_budget, *budget_)) {
    upstreams_.stats().recordRetryOverflow(cluster_->config->name);
    return false;
  }
  if (!state_->breaker().tryAcquire(BreakerResource::Retries,
                                    state_->limits().of(BreakerResource::Retries))) {
    upstreams_.stats().recordRetryOverflow(cluster_->config->name);
    return false;
  }
  holds_retry_ = true;
  ++budget_->retrying;
  return true;
}

void RouterFilter::releaseBudget() {
  if (budget_ == nullptr) return;
  --budget_->in_flight;
  if (holds_retry_) {
    holds_retry_ = false;
    --budget_->retrying;
    state_->breaker().release(BreakerResource::Retries);
  }
  budget_ = nullptr;
}

void RouterFilter::retryAfter(int try_code, bool reusable) {
  recordTry(try_code);
  if (try_timer_assigned_) evtimer_del(&try_timer_);
  releaseUpstream(reusable);
  ++context_.info().retries;
  upstreams_.stats().recordRetry(cluster_->config->name);
  backing_off_ = true;
  armTryTimer(backoffDelay(*retry_, context_.info().retries, lbRandom()));
}

void RouterFilter::recordTry(int code) {
  const uint64_t nanos = nanosSince(upstream_start_);
  upstreams_.stats().recordUpstream(subset_->lb_key, cluster_->config->name, subset_->label, code,
                                    nanos);
  // A canary arm is judged by every try it served: a 5xx or no response (code 0) is an error.
  if (canary_arm_ >= 0) {
    upstreams_.canaryTallies().record(route_->canary, canary_arm_ == 0, code >= 500 || code == 0,
                                      nanos / 1000);
  }
}

void RouterFilter::armTimeouts() {
  if (route_ == nullptr || tunnel_ || completed_ || !context_.requestComplete()) return;
  // Armed once, when the request is complete: it bounds every try together.
  const config::Duration timeout = route_->config->timeout;
  if (timeout.count() != 0 && !route_timer_armed_) {
    if (!route_timer_assigned_) {
      evtimer_assign(&route_timer_, context_.loop(), &RouterFilter::onRouteTimeout, this);
    }
    route_timer_assigned_ = true;
    route_timer_armed_ = true;
    const timeval tv = toTimeval(timeout);
    evtimer_add(&route_timer_, &tv);
  }
  if (retry_ != nullptr && retry_->per_try_timeout.count() != 0 && upstream_ != nullptr &&
      !backing_off_) {
    armTryTimer(retry_->per_try_timeout);
  }
}

void RouterFilter::armTryTimer(config::Duration delay) {
  if (!try_timer_assigned_) {
    evtimer_assign(&try_timer_, context_.loop(), &RouterFilter::onTryTimer, this);
  }
  try_timer_assigned_ = true;
  const timeval tv = toTimeval(delay);
  evtimer_add(&try_timer_, &tv);
}

void RouterFilter::stopTimers() {
  if (try_timer_assigned_) evtimer_del(&try_timer_);
  if (route_timer_armed_) evtimer_del(&route_timer_);
  route_timer_armed_ = false;
}

void RouterFilter::onTryTimer(evutil_socket_t, short, void* self) {
  auto* router = static_cast<RouterFilter*>(self);
  if (router->completed_) return;
  if (router->backing_off_) {
    router->backing_off_ = false;
    // `endpoint_index_` is still the one the last try went to.
    if (!router->pickEndpoint(router->endpoint_index_)) return;
    router->requestStream();
    return;
  }
  router->recordOutcome(outlier::Outcome::LocalOrigin);
  if (router->canRetry() && retriableFailure(*router->retry_, TryFailure::Timeout) &&
      router->budgetAllowsRetry()) {
    router->retryAfter(504, false);
    return;
  }
  router->upstream_status_ = 504;
  router->failRequest(504, "upstream per-try timeout\n", "upstream_per_try_timeout");
}

void RouterFilter::onRouteTimeout(evutil_socket_t, short, void* self) {
  auto* router = static_cast<RouterFilter*>(self);
  router->route_timer_armed_ = false;
  // A try still waiting for its response head: its endpoint was too slow.
  if (router->upstream_ != nullptr && router->upstream_status_ == 0) {
    router->recordOutcome(outlier::Outcome::LocalOrigin);
  }
  router->upstream_status_ = 504;
  router->failRequest(504, "upstream request timeout\n", "upstream_timeout");
}

}  // namespace remora::router
