// The router's request path: the split, the endpoint, the pool, the try, and the response relay.
#include "filters/router/router_filter.h"

#include <charconv>

#include "filters/router/request_hash.h"
#include "filters/router/split.h"
#include "proxy/header_mutations.h"
#include "proxy/lb/load_balancer.h"
#include "proxy/log.h"

namespace remora::router {

namespace {

// Set on every try of a request under a retry policy: its number, 1 for the first.
constexpr char kAttemptHeader[] = "x-remora-attempt";

// Forces a canary route's arm: `always` (the canary) or `never` (the baseline). A header on
// trusted listeners (x-remora-* headers are stripped on the others), or a cookie of this name.
constexpr char kCanaryOverride[] = "x-remora-canary";

// A retry goes elsewhere when it can: the endpoint that just failed is the likeliest to again.
constexpr int kRepicksAvoidingTheLastEndpoint = 3;

// An HTTP/2 upstream that refused a stream did not process it: it goes again this many times.
constexpr int kMaxRefusedRetries = 3;

TryFailure tryFailure(UpstreamFailure failure) {
  switch (failure) {
    case UpstreamFailure::ConnectFailure:
    case UpstreamFailure::ConnectTimeout:
      return TryFailure::ConnectFailure;
    case UpstreamFailure::Reset:
      return TryFailure::Reset;
    case UpstreamFailure::ProtocolError:
      return TryFailure::ProtocolError;
    case UpstreamFailure::Refused:
      return TryFailure::Refused;
  }
  return TryFailure::Reset;
}

}  // namespace

RouterFilter::RouterFilter(filters::StreamContext& context, Upstreams& upstreams)
    : context_(context), upstreams_(upstreams) {}

RouterFilter::~RouterFilter() {
  stopTimers();
  if (pending_ != nullptr) pending_->cancel();
  if (upstream_ != nullptr) upstreams_.pool().release(std::move(upstream_), false);
  endpointFinished();
  releaseBudget();
}

filters::Next RouterFilter::onRequestHeaders(RequestHeaders& headers, bool end_stream) {
  request_ = &headers;
  end_at_headers_ = end_stream;
  upgrade_ = context_.upgradeRequested();
  route_ = context_.route();
  if (route_ == nullptr) {
    context_.sendLocalReply({404, "no route matched\n", "no_route"});
    return filters::Next::Stop;
  }
  const config::Route& route = *route_->config;
  if (route.direct_response) {
    directResponse(*route.direct_response);
    return filters::Next::Stop;
  }
  applyHeaderMutations(route.request_headers, headers.headers);
  // A tunnel's bytes are not a request that could be replayed elsewhere.
  if (route_->mirror && !upgrade_) {
    shadow_ = Shadow::start(context_, upstreams_, *route_, headers, end_stream);
  }
  const int target =
      route_->canary >= 0 ? pickCanaryArm(headers) : pickTarget(route_->targets, &lbRandom);
  if (target < 0) {
    context_.sendLocalReply({503, "no healthy upstream\n", "no_healthy_upstream"});
    return filters::Next::Stop;
  }
  if (route_->canary >= 0) canary_arm_ = target;
  const RouteTarget& chosen = route_->targets[static_cast<size_t>(target)];
  cluster_ = &context_.snapshot().clusters[chosen.cluster];
  subset_ = &cluster_->subsets[chosen.subset];
  context_.info().cluster = cluster_->config->name;
  state_ = &upstreams_.clusterState(*cluster_);
  budget_ = &state_->budget();
  const config::LbPolicy lb = cluster_->config->lb;
  if (!route.hash.empty() && (lb == config::LbPolicy::RingHash || lb == config::LbPolicy::Maglev)) {
    RequestHash key = hashRequest(route.hash, headers, context_.info().downstream_address);
    request_hash_ = key.hash;
    set_cookie_ = std::move(key.set_cookie);
  }
  ++budget_->in_flight;
  // A tunnel cannot be replayed. A request that a remora with a retry policy sent is retried
  // there, not here too: one retrying hop, so that retries do not multiply along a call chain.
  if (route.retry && !upgrade_ && !headers.headers.has(kAttemptHeader)) {
    retry_ = &*route.retry;
    if (!end_stream) replay_body_ = std::make_unique<Buffer>();
  }
  if (!pickEndpoint(-1) || !requestStream()) return filters::Next::Stop;
  if (completed_ || upstream_ == nullptr) {
    // Waiting for the pool (or answered): the stream holds the body meanwhile.
    stopped_ = true;
    return filters::Next::Stop;
  }
  armTimeouts();
  return filters::Next::Continue;
}

void RouterFilter::directResponse(const config::DirectResponse& direct) {
  ResponseHeaders response;
  response.status = direct.status;
  response.headers.add("content-type", "text/plain");
  response.headers.add("content-length", std::to_string(direct.body.size()));
  applyHeaderMutations(route_->config->response_headers, response.headers);
  context_.info().local_reason = "direct_response";
  // A body the client still sends is not needed: the connection closes after the reply.
  Buffer body;
  body.add(direct.body);
  upstream_done_ = true;
  context_.encodeHeaders(response, body.empty());
  if (!body.empty() && !completed_) context_.encodeData(body, true);
}

bool RouterFilter::pickEndpoint(int avoid) {
  LoadBalancer& balancer = state_->balancer(*cluster_, *subset_);
  // A retry that must avoid the key's endpoint takes another at random.
  int endpoint = request_hash_ ? balancer.pickHashed(*cluster_, *subset_, *state_, *request_hash_)
                               : balancer.pick(*cluster_, *subset_, *state_);
  for (int again = 0; again < kRepicksAvoidingTheLastEndpoint && avoid >= 0 && endpoint == avoid;
       ++again) {
    endpoint = balancer.pick(*cluster_, *subset_, *state_);
  }
  if (endpoint < 0) {
    failRequest(503, "no healthy upstream\n", "no_healthy_upstream");
    return false;
  }
  endpoint_index_ = endpoint;
  context_.info().upstream_address = cluster_->endpoints[static_cast<size_t>(endpoint)].key;
  return true;
}

bool RouterFilter::requestStream() {
  if (!state_->breaker().tryAcquire(BreakerResource::Requests,
                                    state_->limits().of(BreakerResource::Requests))) {
    overloaded("upstream_overflow_requests");
    return false;
  }
  holds_request_ = true;
  endpoint_ = &state_->endpoint(*cluster_, static_cast<uint32_t>(endpoint_index_));
  state_->requestStarted(*endpoint_);
  // A try is timed from here, connecting and waiting for a connection included: a try that
  // never got one (a refused connect) still has a true duration.
  upstream_start_ = std::chrono::steady_clock::now();
  // Null when the pool answered already.
  pending_ = upstreams_.pool().newStream(context_.snapshot(), *cluster_,
                                         static_cast<uint32_t>(endpoint_index_), *this);
  return true;
}

void RouterFilter::onPoolReady(std::unique_ptr<UpstreamRequest> request) {
  pending_ = nullptr;
  upstream_ = std::move(request);
  startTry();
}

void RouterFilter::onPoolFailure(PoolFailure failure) {
  pending_ = nullptr;
  switch (failure) {
    case PoolFailure::Overflow:
      overloaded("upstream_overflow_pending");
      return;
    case PoolFailure::PendingTimeout:
      overloaded("upstream_pending_timeout");
      return;
    case PoolFailure::ConnectFailure:
    case PoolFailure::ConnectTimeout:
      onUpstreamFailure(failure == PoolFailure::ConnectTimeout ? UpstreamFailure::ConnectTimeout
                                                               : UpstreamFailure::ConnectFailure,
                        false);
      return;
  }
}

void RouterFilter::overloaded(std::string_view reason) {
  stopTimers();
  releaseUpstream(false);
  filters::LocalReply reply(503, "upstream overloaded\n", reason);
  reply.headers.emplace_back("x-remora-overloaded", "true");
  context_.sendLocalReply(reply);
}

bool RouterFilter::retryElsewhere(int try_code) {
  if (retried_elsewhere_ || subset_->members.size() < 2) return false;
  retried_elsewhere_ = true;
  recordTry(try_code);
  releaseUpstream(false);
  ++context_.info().retries;
  upstreams_.stats().recordRetry(cluster_->config->name);
  const int failed = endpoint_index_;
  if (!pickEndpoint(failed)) return true;
  if (endpoint_index_ == failed) {
    failRequest(502, "upstream connect error or disconnect before response\n",
                "upstream_connect_failure");
    return true;
  }
  requestStream();
  return true;
}

void RouterFilter::startTry() {
  if (retry_ != nullptr) {
    request_->headers.set(kAttemptHeader, std::to_string(context_.info().retries + 1));
  }
  if (context_.expectContinue()) {
    // The upstream is ready: the client may send its body now. Expect is not forwarded, so the
    // upstream never sends its own interim response.
    request_->headers.remove("expect");
    context_.continueRequestBody();
  }
  upstream_status_ = 0;
  upstream_done_ = false;
  upstream_->startRequest(*this, *request_, end_at_headers_, upgrade_);
  // Each step may fail at once; the failure has then been answered or another try scheduled.
  if (upstream_ == nullptr) return;
  if (downstream_above_) upstream_->readDisable(true);
  if (!end_at_headers_ && replay_body_ != nullptr) {
    Buffer body;
    body.appendCopyOf(*replay_body_);
    const bool ends_with_data = replay_ended_ && replay_trailers_ == nullptr;
    if (!body.empty() || ends_with_data) upstream_->sendData(body, ends_with_data);
    if (upstream_ != nullptr && replay_trailers_ != nullptr) {
      HeaderMap trailers = *replay_trailers_;
      upstream_->sendTrailers(trailers);
    }
    if (upstream_ == nullptr) return;
  }
  if (unsent_body_ != nullptr || unsent_end_) {
    Buffer body;
    if (unsent_body_ != nullptr) body.move(*unsent_body_);
    unsent_body_.reset();
    const bool end = unsent_end_;
    unsent_end_ = false;
    forwardBody(body, end);
    if (upstream_ == nullptr) return;
  }
  if (unsent_trailers_ != nullptr) {
    std::unique_ptr<HeaderMap> trailers = std::move(unsent_trailers_);
    forwardTrailers(*trailers);
    if (upstream_ == nullptr) return;
  }
  armTimeouts();
  if (stopped_) {
    stopped_ = false;
    context_.resume();
  }
}

filters::Next RouterFilter::onRequestBody(Buffer& data, bool end_stream) {
  if (completed_) return filters::Next::Continue;
  if (shadow_ != nullptr) shadow_->copyBody(data, end_stream);
  if (upstream_ == nullptr) {
    // Between two tries: kept for the next one; the stream holds what follows.
    if (unsent_body_ == nullptr) unsent_body_ = std::make_unique<Buffer>();
    unsent_body_->move(data);
    unsent_end_ = unsent_end_ || end_stream;
    stopped_ = true;
    return filters::Next::Stop;
  }
  forwardBody(data, end_stream);
  if (end_stream && !tunnel_) armTimeouts();
  return filters::Next::Continue;
}

filters::Next RouterFilter::onRequestTrailers(HeaderMap& trailers) {
  if (completed_) return filters::Next::Continue;
  if (shadow_ != nullptr) shadow_->copyTrailers(trailers);
  if (upstream_ == nullptr) {
    unsent_trailers_ = std::make_unique<HeaderMap>(std::move(trailers));
    stopped_ = true;
    return filters::Next::Stop;
  }
  forwardTrailers(trailers);
  armTimeouts();
  return filters::Next::Continue;
}

void RouterFilter::forwardBody(Buffer& data, bool end_stream) {
  if (replay_body_ != nullptr) {
    if (replay_body_->length() + data.length() > retry_->max_body_bytes) {
      // Too large to keep for another try: this request goes once.
      replay_body_.reset();
      retry_ = nullptr;
    } else {
      replay_body_->appendCopyOf(data);
    }
  }
  if (end_stream) replay_ended_ = true;
  upstream_->sendData(data, end_stream);
}

void RouterFilter::forwardTrailers(HeaderMap& trailers) {
  if (retry_ != nullptr) replay_trailers_ = std::make_unique<HeaderMap>(trailers);
  replay_ended_ = true;
  upstream_->sendTrailers(trailers);
}

void RouterFilter::onUpstreamWriteWatermark(bool above) { context_.setRequestReadDisabled(above); }

void RouterFilter::onDownstreamWatermark(bool above) {
  downstream_above_ = above;
  if (upstream_ != nullptr) upstream_->readDisable(above);
}

void RouterFilter::onUpstreamHeaders(ResponseHeaders& headers, bool end_stream) {
  upstream_status_ = headers.status;
  const int status = headers.status;
  recordOutcome(status == 502 || status == 503 || status == 504 ? outlier::Outcome::Gateway
                : status >= 500                                 ? outlier::Outcome::ServerError
                                                                : outlier::Outcome::Success);
  recordLatency(status >= 500 || status == 429);
  // A gRPC status in the headers is final only when they end the response (Trailers-Only).
  if (canRetry() && headers.status != 101 &&
      retriableResponse(*retry_, headers.status,
                        end_stream ? headers.headers.get("grpc-status") : std::nullopt) &&
      budgetAllowsRetry()) {
    retryAfter(headers.status, end_stream);
    return;
  }
  // The try has answered: the per-try timeout does not cut a response that is streaming.
  if (try_timer_assigned_) evtimer_del(&try_timer_);
  if (headers.status == 101) {
    tunnel_ = true;
    if (route_timer_armed_) evtimer_del(&route_timer_);
    route_timer_armed_ = false;
  }
  if (end_stream) upstream_done_ = true;
  if (!set_cookie_.empty()) headers.headers.add("set-cookie", set_cookie_);
  applyHeaderMutations(route_->config->response_headers, headers.headers);
  context_.encodeHeaders(headers, end_stream);
}

void RouterFilter::onUpstreamData(Buffer& data, bool end_stream) {
  if (end_stream && !tunnel_) upstream_done_ = true;
  if (shadow_ != nullptr) shadow_->primaryResponseBody(data);
  context_.encodeData(data, end_stream);
}

void RouterFilter::onUpstreamTrailers(HeaderMap& trailers) {
  upstream_done_ = true;
  context_.encodeTrailers(trailers);
}

void RouterFilter::onUpstreamFailure(UpstreamFailure failure, bool response_started) {
  LOG_DEBUG("stream %s: %s from %s", context_.info().request_id.c_str(),
            upstreamFailureName(failure), context_.info().upstream_address.c_str());
  const std::string& method = request_->method;
  // An idle keep-alive connection the upstream had just closed: the request never reached it.
  // Try once more on a fresh connection when nothing of the body has been sent. Only safe
  // methods: the upstream may have acted on a request whose response was lost.
  const bool safe = method == "GET" || method == "HEAD" || method == "OPTIONS";
  // An HTTP/2 upstream that refused the stream did not process it, whatever the method; it
  // goes again (on a connection with room) if nothing of a body has been sent.
  if (failure == UpstreamFailure::Refused && upstream_ != nullptr && end_at_headers_ &&
      refused_retries_ < kMaxRefusedRetries) {
    ++refused_retries_;
    releaseUpstream(false);
    requestStream();
    return;
  }
  if (failure == UpstreamFailure::Reset && !response_started && upstream_ != nullptr &&
      upstream_->reused() && end_at_headers_ && safe && !retried_connection_) {
    retried_connection_ = true;
    releaseUpstream(false);
    requestStream();
    return;
  }
  // The endpoint's fault as far as anyone can tell (an upstream's REFUSED_STREAM is its choice,
  // and a reused connection's race is nobody's).
  if (!response_started && failure != UpstreamFailure::Refused) {
    recordOutcome(outlier::Outcome::LocalOrigin);
    recordLatency(true);
  }
  if (!response_started && !tunnel_ && canRetry() &&
      retriableFailure(*retry_, tryFailure(failure)) && budgetAllowsRetry()) {
    retryAfter(failure == UpstreamFailure::ConnectTimeout ? 504 : 502, false);
    return;
  }
  // Nothing reached the upstream: another endpoint gets it, once, policy or not. Not counted
  // against the retry budget: it adds no load to any upstream.
  if ((failure == UpstreamFailure::ConnectFailure || failure == UpstreamFailure::ConnectTimeout) &&
      upstream_ == nullptr && !context_.responseStarted() &&
      retryElsewhere(failure == UpstreamFailure::ConnectTimeout ? 504 : 502)) {
    return;
  }
  if (tunnel_) {
    Buffer empty;
    context_.encodeData(empty, true);
    return;
  }
  failRequest(502, "upstream connect error or disconnect before response\n",
              upstreamFailureName(failure));
}

void RouterFilter::failRequest(int status, std::string_view body, std::string_view reason) {
  stopTimers();
  if (pending_ != nullptr) {
    pending_->cancel();
    pending_ = nullptr;
  }
  releaseUpstream(false);
  endpointFinished();
  context_.sendLocalReply({status, body, reason});
}

void RouterFilter::releaseUpstream(bool reusable) {
  if (upstream_ != nullptr) {
    upstreams_.pool().release(std::move(upstream_), reusable);
    // The next upstream starts with room; the body that arrives meanwhile is held by the stream.
    if (!completed_) context_.setRequestReadDisabled(false);
  }
  endpointFinished();
}

void RouterFilter::recordOutcome(outlier::Outcome outcome) {
  if (endpoint_ != nullptr) state_->recordOutcome(*endpoint_, outcome);
}

void RouterFilter::recordLatency(bool failed) {
  if (endpoint_ == nullptr) return;
  state_->recordLatency(
      *endpoint_,
      std::chrono::duration_cast<std::chrono::microseconds>(upstream_start_.time_since_epoch())
          .count(),
      failed);
}

void RouterFilter::endpointFinished() {
  if (holds_request_) {
    holds_request_ = false;
    state_->breaker().release(BreakerResource::Requests);
  }
  if (endpoint_ == nullptr) return;
  state_->requestFinished(*endpoint_);
  endpoint_ = nullptr;
}

void RouterFilter::onComplete(const filters::StreamInfo& info) {
  completed_ = true;
  stopTimers();
  if (pending_ != nullptr) {
    pending_->cancel();
    pending_ = nullptr;
  }
  // The pool keeps an HTTP/1.1 connection whose exchange ended cleanly.
  releaseUpstream(upstream_done_);
  if (subset_ != nullptr && (upstream_status_ != 0 || info.local_reason.starts_with("upstream"))) {
    recordTry(upstream_status_ != 0 ? upstream_status_ : info.status);
  }
  if (!info.grpc_status.empty() && cluster_ != nullptr) {
    int grpc_status = 2;  // UNKNOWN, for a value that is not a number
    std::from_chars(info.grpc_status.data(), info.grpc_status.data() + info.grpc_status.size(),
                    grpc_status);
    upstreams_.stats().recordGrpc(cluster_->config->name, grpc_status);
  }
  releaseBudget();
  if (shadow_ != nullptr) handOffShadow(info.status);
}

void RouterFilter::handOffShadow(int status) {
  if (shadow_->primaryFinished(status)) upstreams_.detached().adopt(std::move(shadow_));
  shadow_.reset();
}

int RouterFilter::pickCanaryArm(const RequestHeaders& request) {
  const Snapshot& snapshot = context_.snapshot();
  const std::vector<RouteTarget>& targets = route_->targets;
  const config::Canary& canary = snapshot.config->canaries[static_cast<size_t>(route_->canary)];
  std::string_view forced;
  if (std::optional<std::string_view> header = request.headers.get(kCanaryOverride)) {
    forced = *header;
  } else {
    bool found = false;
    const std::string_view value = requestCookie(request, kCanaryOverride, found);
    const ListenerInfo* listener =
        found ? snapshot.findListener(context_.info().listener) : nullptr;
    if (listener != nullptr && listener->config->trusted) forced = value;
  }
  if (forced == "always" || forced == "never") {
    const int arm = forced == "always" ? 0 : 1;
    const RouteTarget& target = targets[static_cast<size_t>(arm)];
    // An arm with no healthy endpoint cannot be forced: the other one serves.
    if (snapshot.clusters[target.cluster].subsets[target.subset].healthy > 0) return arm;
  }
  std::string_view key;
  if (canary.sticky_by == config::Canary::StickyBy::Header) {
    if (auto value = request.headers.get(canary.sticky_name)) key = *value;
  } else if (canary.sticky_by == config::Canary::StickyBy::Cookie) {
    bool found = false;
    key = requestCookie(request, canary.sticky_name, found);
  }
  // The same key lands at the same point on every remora: below the canary's weight it is on
  // the canary, so raising the weight moves users from the baseline to the canary, never back.
  if (!key.empty()) return pickTargetAt(targets, stickyPoint(key));
  return pickTarget(targets, &lbRandom);
}

}  // namespace remora::router
