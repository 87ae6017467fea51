// The shadow copy's life: admission (share, concurrency, endpoint, breaker), the streamed and
// bounded body, the discarded answer, the deadline, and the comparison with the primary.
#include "filters/router/mirror.h"

#include <sys/uio.h>

#include "proxy/event_time.h"
#include "proxy/lb/load_balancer.h"
#include "proxy/log.h"

namespace remora::router {

namespace {

constexpr char kShadowSuffix[] = "-shadow";

uint64_t nanosSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
}

}  // namespace

std::string shadowAuthority(std::string_view authority) {
  size_t host_end = authority.size();
  if (authority.starts_with('[')) {
    if (size_t close = authority.find(']'); close != std::string_view::npos) host_end = close + 1;
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host_end = colon;
  }
  std::string out(authority.substr(0, host_end));
  out += kShadowSuffix;
  out += authority.substr(host_end);
  return out;
}

void BodyHash::add(Buffer& data) {
  // Read in place, a few segments at a time: the bytes still go on to the client.
  constexpr int kChunksAtOnce = 8;
  iovec vectors[kChunksAtOnce];
  size_t seen = 0;
  const size_t length = data.length();
  while (seen < length) {
    evbuffer_ptr from;
    evbuffer_ptr_set(data.raw(), &from, seen, EVBUFFER_PTR_SET);
    const int got = evbuffer_peek(data.raw(), -1, &from, vectors, kChunksAtOnce);
    const int usable = got < kChunksAtOnce ? got : kChunksAtOnce;
    if (usable <= 0) return;
    for (int i = 0; i < usable; ++i) {
      const auto* bytes = static_cast<const unsigned char*>(vectors[i].iov_base);
      for (size_t j = 0; j < vectors[i].iov_len; ++j) {
        value_ = (value_ ^ bytes[j]) * 0x100000001b3ull;
      }
      seen += vectors[i].iov_len;
    }
  }
}

std::unique_ptr<Shadow> Shadow::start(filters::StreamContext& context, Upstreams& upstreams,
                                      const CompiledRoute& route, const RequestHeaders& request,
                                      bool end_stream) {
  if (!route.mirror) return nullptr;
  // A canary's shadow step mirrors with the canary's settings, and its copies are judged.
  const config::Mirror* settings = route.config->mirror ? &*route.config->mirror : nullptr;
  int32_t canary = -1;
  if (route.canary_shadow) {
    canary = route.canary;
    settings = &*context.snapshot().config->canaries[static_cast<size_t>(canary)].shadow;
  }
  if (settings == nullptr) return nullptr;
  const config::Mirror& config = *settings;
  if (!inShare(config.percent, lbRandom())) return nullptr;
  const MirrorTarget& target = *route.mirror;
  const ClusterInfo& cluster = context.snapshot().clusters[target.target.cluster];
  if (target.in_flight->fetch_add(1, std::memory_order_relaxed) >= config.max_concurrent) {
    target.in_flight->fetch_sub(1, std::memory_order_relaxed);
    upstreams.stats().recordMirror(cluster.config->name, stats::MirrorResult::Overflow);
    return nullptr;
  }
  std::unique_ptr<Shadow> shadow(
      new Shadow(upstreams, context.sharedSnapshot(), config, target, context.loop()));
  shadow->canary_ = canary;
  if (!shadow->send(request, end_stream, config::mirrorTimeout(config.timeout, *route.config))) {
    return nullptr;
  }
  return shadow;
}

Shadow::Shadow(Upstreams& upstreams, std::shared_ptr<const Snapshot> snapshot,
               const config::Mirror& config, const MirrorTarget& target, event_base* loop)
    : upstreams_(upstreams),
      snapshot_(std::move(snapshot)),
      config_(config),
      cluster_(snapshot_->clusters[target.target.cluster]),
      subset_(cluster_.subsets[target.target.subset]),
      state_(upstreams.clusterState(cluster_)),
      in_flight_(*target.in_flight),
      loop_(loop) {
  ++state_.budget().in_flight;
}

Shadow::~Shadow() {
  if (timer_armed_) evtimer_del(&timer_);
  if (pending_ != nullptr) pending_->cancel();
  if (upstream_ != nullptr) upstreams_.pool().release(std::move(upstream_), false);
  if (holds_request_) state_.breaker().release(BreakerResource::Requests);
  if (endpoint_ != nullptr) state_.requestFinished(*endpoint_);
  --state_.budget().in_flight;
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
}

bool Shadow::send(const RequestHeaders& request, bool end_stream, config::Duration timeout) {
  const int endpoint = state_.balancer(cluster_, subset_).pick(cluster_, subset_, state_);
  if (endpoint < 0 || !state_.breaker().tryAcquire(BreakerResource::Requests,
                                                   state_.limits().of(BreakerResource::Requests))) {
    record(stats::MirrorResult::Unavailable);
    return false;
  }
  holds_request_ = true;
  endpoint_ = &state_.endpoint(cluster_, static_cast<uint32_t>(endpoint));
  state_.requestStarted(*endpoint_);
  request_ = std::make_unique<RequestHeaders>(request);
  request_->authority = shadowAuthority(request.authority);
  // The primary answers the client's Expect; the copy's body follows the primary's.
  request_->headers.remove("expect");
  request_ended_ = end_stream;
  started_ = std::chrono::steady_clock::now();
  evtimer_assign(&timer_, loop_, &Shadow::onTimeout, this);
  timer_armed_ = true;
  const timeval tv = toTimeval(timeout);
  evtimer_add(&timer_, &tv);
  record(stats::MirrorResult::Sent);
  // Null when the pool answered already (ready, or failed: then finished).
  pending_ =
      upstreams_.pool().newStream(*snapshot_, cluster_, static_cast<uint32_t>(endpoint), *this);
  return true;
}

void Shadow::onPoolReady(std::unique_ptr<UpstreamRequest> request) {
  pending_ = nullptr;
  upstream_ = std::move(request);
  const bool ended_at_headers =
      request_ended_ && unsent_body_ == nullptr && unsent_trailers_ == nullptr;
  upstream_->startRequest(*this, *request_, ended_at_headers, false);
  if (finished_ || ended_at_headers) return;
  Buffer body;
  if (unsent_body_ != nullptr) body.move(*unsent_body_);
  unsent_body_.reset();
  const bool body_ends = request_ended_ && unsent_trailers_ == nullptr;
  if (!body.empty() || body_ends) upstream_->sendData(body, body_ends);
  if (finished_ || unsent_trailers_ == nullptr) return;
  std::unique_ptr<HeaderMap> trailers = std::move(unsent_trailers_);
  upstream_->sendTrailers(*trailers);
}

void Shadow::onPoolFailure(PoolFailure failure) {
  pending_ = nullptr;
  const bool connect =
      failure == PoolFailure::ConnectFailure || failure == PoolFailure::ConnectTimeout;
  if (connect && endpoint_ != nullptr) {
    state_.recordOutcome(*endpoint_, outlier::Outcome::LocalOrigin);
  }
  finish(connect ? stats::MirrorResult::Failed : stats::MirrorResult::Unavailable);
}

void Shadow::copyBody(const Buffer& data, bool end_stream) {
  if (finished_) return;
  copied_bytes_ += data.length();
  if (copied_bytes_ > config_.max_body_bytes) {
    finish(stats::MirrorResult::Truncated);
    return;
  }
  request_ended_ = end_stream;
  Buffer copy;
  copy.appendCopyOf(data);
  if (upstream_ == nullptr) {
    if (unsent_body_ == nullptr) unsent_body_ = std::make_unique<Buffer>();
    unsent_body_->move(copy);
    return;
  }
  upstream_->sendData(copy, end_stream);
}

void Shadow::copyTrailers(const HeaderMap& trailers) {
  if (finished_) return;
  request_ended_ = true;
  if (upstream_ == nullptr) {
    unsent_trailers_ = std::make_unique<HeaderMap>(trailers);
    return;
  }
  HeaderMap copy = trailers;
  upstream_->sendTrailers(copy);
}

void Shadow::primaryResponseBody(Buffer& data) {
  if (config_.compare_body) primary_hash_.add(data);
}

bool Shadow::primaryFinished(int status) {
  primary_status_ = status;
  if (!finished_ && !request_ended_) finish(stats::MirrorResult::Cancelled);
  compareWhenBothKnown();
  return !finished_;
}

void Shadow::onUpstreamHeaders(ResponseHeaders& headers, bool end_stream) {
  shadow_status_ = headers.status;
  const int status = headers.status;
  if (endpoint_ != nullptr) {
    state_.recordOutcome(*endpoint_, status == 502 || status == 503 || status == 504
                                         ? outlier::Outcome::Gateway
                                     : status >= 500 ? outlier::Outcome::ServerError
                                                     : outlier::Outcome::Success);
  }
  if (end_stream) {
    shadow_answered_ = true;
    finish(stats::MirrorResult::Completed);
  }
}

void Shadow::onUpstreamData(Buffer& data, bool end_stream) {
  if (config_.compare_body) shadow_hash_.add(data);
  data.drain(data.length());
  if (end_stream) {
    shadow_answered_ = true;
    finish(stats::MirrorResult::Completed);
  }
}

void Shadow::onUpstreamTrailers(HeaderMap&) {
  shadow_answered_ = true;
  finish(stats::MirrorResult::Completed);
}

void Shadow::onUpstreamFailure(UpstreamFailure failure, bool response_started) {
  LOG_DEBUG("shadow copy to %s: %s", cluster_.config->name.c_str(), upstreamFailureName(failure));
  if (!response_started && endpoint_ != nullptr) {
    state_.recordOutcome(*endpoint_, outlier::Outcome::LocalOrigin);
  }
  finish(stats::MirrorResult::Failed);
}

// The primary is never paused for its copy: a shadow that cannot keep up loses the copy.
void Shadow::onUpstreamWriteWatermark(bool above) {
  if (above) finish(stats::MirrorResult::Slow);
}

void Shadow::onTimeout(evutil_socket_t, short, void* self) {
  auto* shadow = static_cast<Shadow*>(self);
  shadow->timer_armed_ = false;
  if (shadow->shadow_status_ == 0 && shadow->endpoint_ != nullptr) {
    shadow->state_.recordOutcome(*shadow->endpoint_, outlier::Outcome::LocalOrigin);
  }
  shadow->finish(stats::MirrorResult::Timeout);
}

void Shadow::finish(stats::MirrorResult result) {
  if (finished_) return;
  finished_ = true;
  if (timer_armed_) evtimer_del(&timer_);
  timer_armed_ = false;
  if (pending_ != nullptr) {
    pending_->cancel();
    pending_ = nullptr;
  }
  const bool reusable = shadow_answered_ && request_ended_;
  if (upstream_ != nullptr) upstreams_.pool().release(std::move(upstream_), reusable);
  if (holds_request_) {
    holds_request_ = false;
    state_.breaker().release(BreakerResource::Requests);
  }
  if (endpoint_ != nullptr) {
    state_.requestFinished(*endpoint_);
    endpoint_ = nullptr;
  }
  unsent_body_.reset();
  unsent_trailers_.reset();
  // The shadow cluster's own request metrics see the copies that reached it.
  if (shadow_status_ != 0 || result == stats::MirrorResult::Failed ||
      result == stats::MirrorResult::Timeout) {
    upstreams_.stats().recordUpstream(subset_.lb_key, cluster_.config->name, subset_.label,
                                      shadow_status_, nanosSince(started_));
  }
  record(result);
  judgeForCanary(result);
  compareWhenBothKnown();
  // Alone since its stream ended and nothing more to wait for: it leaves the worker's set.
  if (upstreams_.detached().holds(*this)) {
    upstreams_.deferDelete(upstreams_.detached().release(*this));
  }
}

void Shadow::compareWhenBothKnown() {
  if (!config_.compare || compared_ || !shadow_answered_ || primary_status_ <= 0) return;
  compared_ = true;
  const bool same = shadow_status_ / 100 == primary_status_ / 100 &&
                    (!config_.compare_body || shadow_hash_.value() == primary_hash_.value());
  record(same ? stats::MirrorResult::Match : stats::MirrorResult::Differ);
}

void Shadow::judgeForCanary(stats::MirrorResult result) {
  if (canary_ < 0) return;
  // A copy cut short for the primary's sake (body too long or too fast, client gone) says
  // nothing of the canary; one it answered, failed or let time out does.
  bool error = false;
  switch (result) {
    case stats::MirrorResult::Completed:
      error = shadow_status_ >= 500;
      break;
    case stats::MirrorResult::Failed:
    case stats::MirrorResult::Timeout:
      error = true;
      break;
    default:
      return;
  }
  upstreams_.canaryTallies().record(canary_, /*canary_arm=*/true, error,
                                    nanosSince(started_) / 1000);
}

void Shadow::record(stats::MirrorResult result) {
  upstreams_.stats().recordMirror(cluster_.config->name, result);
}

}  // namespace remora::router
