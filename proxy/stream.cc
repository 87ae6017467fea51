// The request path of one exchange: filters, routing, balancing, relaying, completion.
#include "proxy/stream.h"

#include <charconv>
#include <random>

#include "filters/retry/retry_policy.h"
#include "proxy/event_time.h"
#include "proxy/header_mutations.h"
#include "proxy/log.h"
#include "proxy/upstream_pool.h"

namespace remora {

namespace {

// One generator per worker thread: request ids and backoff jitter.
uint64_t randomBits() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng();
}

// A random RFC 9562 version 4 UUID.
std::string newRequestId() {
  uint64_t hi = randomBits();
  uint64_t lo = randomBits();
  hi = (hi & ~0xf000ULL) | 0x4000ULL;                         // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(36, '-');
  size_t pos = 0;
  auto put = [&](uint64_t bits, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      id[pos++] = kHex[(bits >> (i * 4)) & 0xf];
    }
  };
  put(hi, 16);
  put(lo, 16);
  return id;
}

std::string clientIp(const std::string& address) {
  if (!address.empty() && address.front() == '[') return address.substr(1, address.find(']') - 1);
  return address.substr(0, address.rfind(':'));
}

// Set on every try of a request under a retry policy: its number, 1 for the first.
constexpr char kAttemptHeader[] = "x-remora-attempt";

// A retry goes elsewhere when it can: the endpoint that just failed is the likeliest to again.
constexpr int kRepicksAvoidingTheLastEndpoint = 3;

retry::TryFailure tryFailure(UpstreamFailure failure) {
  switch (failure) {
    case UpstreamFailure::ConnectFailure:
    case UpstreamFailure::ConnectTimeout:
      return retry::TryFailure::ConnectFailure;
    case UpstreamFailure::Reset:
      return retry::TryFailure::Reset;
    case UpstreamFailure::ProtocolError:
      return retry::TryFailure::ProtocolError;
    case UpstreamFailure::Refused:
      return retry::TryFailure::Refused;
  }
  return retry::TryFailure::Reset;
}

uint64_t nanosSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
}

}  // namespace

Stream::Stream(Worker& worker, DownstreamCodec& codec, std::shared_ptr<const Snapshot> snapshot,
               const ListenerInfo& listener, filters::StreamInfo info)
    : worker_(worker),
      codec_(codec),
      snapshot_(std::move(snapshot)),
      listener_(listener),
      info_(std::move(info)) {
  filters_.reserve(listener_.filters->size());
  for (const auto& factory : *listener_.filters) filters_.push_back(factory->create(*this));
}

Stream::~Stream() {
  if (timeout_assigned_) evtimer_del(&timeout_);
  stopTryTimer();
  releaseBudget();
  if (upstream_ != nullptr) {
    upstream_->detach();
    worker_.deferDelete(std::move(upstream_));
  }
}

void Stream::decodeHeaders(RequestHeaders headers, bool end_stream, bool expect_continue,
                           bool upgrade) {
  request_ = std::move(headers);
  request_end_at_headers_ = end_stream;
  request_complete_ = end_stream;
  expect_continue_ = expect_continue;
  upgrade_ = upgrade;
  info_.method = request_.method;
  info_.authority = request_.authority;
  info_.path = request_.path;
  if (const std::string* agent = request_.headers.get("user-agent")) info_.user_agent = *agent;

  HeaderMap& h = request_.headers;
  const std::string ip = clientIp(info_.downstream_address);
  if (const std::string* xff = h.get("x-forwarded-for")) {
    h.set("x-forwarded-for", *xff + ", " + ip);
  } else {
    h.add("x-forwarded-for", ip);
  }
  if (!h.has("x-forwarded-proto")) h.add("x-forwarded-proto", request_.scheme);
  if (const std::string* id = h.get("x-request-id"); id != nullptr && !id->empty()) {
    info_.request_id = *id;
  } else {
    info_.request_id = newRequestId();
    h.set("x-request-id", info_.request_id);
  }
  continueRequestHeaders();
}

void Stream::continueRequestHeaders() {
  while (next_filter_ < filters_.size()) {
    filters::Filter& filter = *filters_[next_filter_++];
    if (filter.onRequestHeaders(request_, request_end_at_headers_) == filters::Next::Stop) {
      filters_stopped_ = true;
      return;
    }
    if (response_headers_sent_ || completed_) return;  // the filter answered locally
  }
  filters_stopped_ = false;
  route();
}

void Stream::resume() {
  if (!filters_stopped_ || completed_) return;
  filters_stopped_ = false;
  continueRequestHeaders();
}

void Stream::route() {
  route_ = listener_.routes->match(request_);
  if (route_ == nullptr) {
    localReply(404, "no route matched\n", "no_route");
    return;
  }
  const config::Route& route = *route_->config;
  if (route.direct_response) {
    ResponseHeaders response;
    response.status = route.direct_response->status;
    response.headers.add("content-type", "text/plain");
    response.headers.add("content-length", std::to_string(route.direct_response->body.size()));
    applyHeaderMutations(route.response_headers, response.headers);
    info_.local_reason = "direct_response";
    // A body the client still sends is not needed: the connection closes after the reply.
    Buffer body;
    body.add(route.direct_response->body);
    encodeHeaders(response, body.empty());
    if (!body.empty() && !completed_) encodeData(body, true);
    return;
  }
  applyHeaderMutations(route.request_headers, request_.headers);
  const int target = worker_.loadBalancer().pickTarget(route_->targets);
  if (target < 0) {
    localReply(503, "no healthy upstream\n", "no_healthy_upstream");
    return;
  }
  const RouteTarget& chosen = route_->targets[static_cast<size_t>(target)];
  cluster_ = &snapshot_->clusters[chosen.cluster];
  subset_ = &cluster_->subsets[chosen.subset];
  info_.cluster = cluster_->config->name;
  budget_ = &worker_.retryBudgets().forCluster(cluster_->config->name);
  ++budget_->in_flight;
  // A tunnel cannot be replayed. A request that a remora with a retry policy sent is retried
  // there, not here too: one retrying hop, so that retries do not multiply along a call chain.
  if (route.retry && !upgrade_ && !request_.headers.has(kAttemptHeader)) {
    retry_ = &*route.retry;
    if (!request_end_at_headers_) replay_body_ = std::make_unique<Buffer>();
  }
  if (!pickEndpoint(nullptr)) return;
  if (expect_continue_) {
    // The upstream is chosen: the client may send its body now. Expect is not forwarded, so the
    // upstream never sends its own interim response.
    request_.headers.remove("expect");
    codec_.encodeContinue();
  }
  startTry();
  if (request_complete_) armTimeout();
}

bool Stream::pickEndpoint(const EndpointInfo* avoid) {
  LoadBalancer& balancer = worker_.loadBalancer();
  int endpoint = balancer.pick(*cluster_, *subset_);
  for (int again = 0; again < kRepicksAvoidingTheLastEndpoint && avoid != nullptr &&
                      endpoint >= 0 && &cluster_->endpoints[static_cast<size_t>(endpoint)] == avoid;
       ++again) {
    endpoint = balancer.pick(*cluster_, *subset_);
  }
  if (endpoint < 0) {
    localReply(503, "no healthy upstream\n", "no_healthy_upstream");
    return false;
  }
  endpoint_ = &cluster_->endpoints[static_cast<size_t>(endpoint)];
  info_.upstream_address = endpoint_->key;
  return true;
}

void Stream::startTry() {
  if (retry_ != nullptr) request_.headers.set(kAttemptHeader, std::to_string(info_.retries + 1));
  worker_.loadBalancer().requestStarted(endpoint_->key);
  upstream_start_ = std::chrono::steady_clock::now();
  upstream_status_ = 0;
  upstream_ = worker_.pool().acquire(*endpoint_, *cluster_->config);
  upstream_->startRequest(*this, request_, request_end_at_headers_, upgrade_);
  // Each step may fail at once; the failure has then been answered or another try scheduled.
  if (upstream_ == nullptr) return;
  replayRequest();
  if (upstream_ == nullptr) return;
  flushPending();
}

void Stream::replayRequest() {
  if (request_end_at_headers_ || replay_body_ == nullptr) return;
  Buffer body;
  body.appendCopyOf(*replay_body_);
  const bool ends_with_data = replay_ended_ && replay_trailers_ == nullptr;
  if (!body.empty() || ends_with_data) upstream_->sendData(body, ends_with_data);
  if (upstream_ != nullptr && replay_trailers_ != nullptr) {
    HeaderMap trailers = *replay_trailers_;
    upstream_->sendTrailers(trailers);
  }
}

void Stream::flushPending() {
  if (pending_body_ != nullptr || pending_end_) {
    Buffer body;
    if (pending_body_ != nullptr) body.move(*pending_body_);
    pending_body_.reset();
    const bool end = pending_end_;
    pending_end_ = false;
    forwardBody(body, end);
    if (upstream_ == nullptr) return;
  }
  // Reading paused while the body was held resumes, unless the upstream is already full.
  if (pending_paused_) {
    pending_paused_ = false;
    if (!upstream_write_above_) codec_.readDisable(false);
  }
  if (pending_trailers_ != nullptr) {
    std::unique_ptr<HeaderMap> trailers = std::move(pending_trailers_);
    forwardTrailers(*trailers);
  }
}

void Stream::decodeData(Buffer& data, bool end_stream) {
  info_.request_body_bytes += data.length();
  if (end_stream) request_complete_ = true;
  if (completed_ || response_complete_) return;
  if (upstream_ == nullptr) {
    // Filters still hold the headers, or routing has not happened: keep the body for later,
    // and stop reading once enough is held.
    if (pending_body_ == nullptr) pending_body_ = std::make_unique<Buffer>();
    pending_body_->move(data);
    pending_end_ = end_stream;
    if (pending_body_->length() > kHighWatermark && !pending_paused_) {
      pending_paused_ = true;
      codec_.readDisable(true);
    }
    return;
  }
  forwardBody(data, end_stream);
  if (end_stream && !tunnel_) armTimeout();
}

void Stream::decodeTrailers(HeaderMap trailers) {
  request_complete_ = true;
  if (completed_ || response_complete_) return;
  if (upstream_ == nullptr) {
    pending_trailers_ = std::make_unique<HeaderMap>(std::move(trailers));
    return;
  }
  forwardTrailers(trailers);
  armTimeout();
}

void Stream::forwardBody(Buffer& data, bool end_stream) {
  for (auto& filter : filters_) filter->onRequestBody(data, end_stream);
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

void Stream::forwardTrailers(HeaderMap& trailers) {
  if (retry_ != nullptr) replay_trailers_ = std::make_unique<HeaderMap>(trailers);
  replay_ended_ = true;
  upstream_->sendTrailers(trailers);
}

void Stream::onUpstreamWriteWatermark(bool above) {
  upstream_write_above_ = above;
  codec_.readDisable(above);
}

void Stream::onDownstreamWatermark(bool above) {
  if (upstream_ != nullptr) upstream_->readDisable(above);
}

void Stream::onUpstreamHeaders(ResponseHeaders& headers, bool end_stream) {
  upstream_status_ = headers.status;
  // A gRPC status in the headers is final only when they end the response (Trailers-Only).
  if (canRetry() && headers.status != 101 &&
      retry::retriableResponse(*retry_, headers.status,
                               end_stream ? headers.headers.get("grpc-status") : nullptr) &&
      budgetAllowsRetry()) {
    retryAfter(headers.status, end_stream);
    return;
  }
  // The try has answered: the per-try timeout does not cut a response that is streaming.
  stopTryTimer();
  if (headers.status == 101) {
    tunnel_ = true;
    if (timeout_assigned_) evtimer_del(&timeout_);
  }
  if (route_ != nullptr) applyHeaderMutations(route_->config->response_headers, headers.headers);
  encodeHeaders(headers, end_stream);
}

void Stream::onUpstreamData(Buffer& data, bool end_stream) { encodeData(data, end_stream); }

void Stream::onUpstreamTrailers(HeaderMap& trailers) {
  if (const std::string* status = trailers.get("grpc-status")) info_.grpc_status = *status;
  complete();
  codec_.encodeTrailers(trailers);
}

void Stream::onUpstreamFailure(UpstreamFailure failure, bool response_started) {
  LOG_DEBUG("stream %s: %s from %s", info_.request_id.c_str(), upstreamFailureName(failure),
            endpoint_ != nullptr ? endpoint_->key.c_str() : "?");
  // An idle keep-alive connection the upstream had just closed: the request never reached it.
  // Try once more on a fresh connection when nothing of the body has been sent.
  // Only safe methods: the upstream may have acted on a request whose response was lost.
  const bool safe =
      request_.method == "GET" || request_.method == "HEAD" || request_.method == "OPTIONS";
  // An HTTP/2 upstream that refused the stream did not process it, whatever the method; it
  // goes again (on a connection with room) if nothing of a body has been sent.
  constexpr int kMaxRefusedRetries = 3;
  if (failure == UpstreamFailure::Refused && upstream_ != nullptr && request_end_at_headers_ &&
      refused_retries_ < kMaxRefusedRetries) {
    ++refused_retries_;
    releaseUpstream(false);
    startTry();
    return;
  }
  if (failure == UpstreamFailure::Reset && !response_started && upstream_ != nullptr &&
      upstream_->reused() && request_end_at_headers_ && safe && !retried_connection_) {
    retried_connection_ = true;
    releaseUpstream(false);
    startTry();
    return;
  }
  if (!response_started && !tunnel_ && canRetry() &&
      retry::retriableFailure(*retry_, tryFailure(failure)) && budgetAllowsRetry()) {
    retryAfter(failure == UpstreamFailure::ConnectTimeout ? 504 : 502, false);
    return;
  }
  if (tunnel_) {
    Buffer empty;
    encodeData(empty, true);
    return;
  }
  releaseUpstream(false);
  if (response_started || response_headers_sent_) {
    info_.local_reason = upstreamFailureName(failure);
    complete();
    codec_.resetStream();
    return;
  }
  localReply(502, "upstream connect error or disconnect before response\n",
             upstreamFailureName(failure));
}

void Stream::encodeHeaders(ResponseHeaders& headers, bool end_stream) {
  for (size_t i = filters_.size(); i-- > 0;) filters_[i]->onResponseHeaders(headers, end_stream);
  // A gRPC error without a body comes as headers only ("Trailers-Only").
  if (end_stream) {
    if (const std::string* status = headers.headers.get("grpc-status")) info_.grpc_status = *status;
  }
  info_.status = headers.status;
  response_headers_sent_ = true;
  if (end_stream) {
    complete();
    codec_.encodeHeaders(headers, true);
    return;
  }
  codec_.encodeHeaders(headers, false);
}

void Stream::encodeData(Buffer& data, bool end_stream) {
  for (size_t i = filters_.size(); i-- > 0;) filters_[i]->onResponseBody(data, end_stream);
  info_.response_body_bytes += data.length();
  if (end_stream) {
    complete();
    codec_.encodeData(data, true);
    return;
  }
  codec_.encodeData(data, false);
}

void Stream::sendLocalReply(int status, std::string_view body) {
  localReply(status, body, "filter");
}

void Stream::localReply(int status, std::string_view body, const char* reason) {
  if (completed_) return;
  if (response_headers_sent_) {
    info_.local_reason = reason;
    releaseUpstream(false);
    complete();
    codec_.resetStream();
    return;
  }
  releaseUpstream(false);
  info_.local_reason = reason;
  ResponseHeaders response;
  response.status = status;
  response.headers.add("content-type", "text/plain");
  response.headers.add("content-length", std::to_string(body.size()));
  if (route_ != nullptr) applyHeaderMutations(route_->config->response_headers, response.headers);
  Buffer data;
  data.add(body);
  encodeHeaders(response, body.empty());
  if (!body.empty()) encodeData(data, true);
}

void Stream::armTimeout() {
  if (route_ == nullptr || tunnel_ || response_complete_ || completed_) return;
  // Armed once, when the request is complete: it bounds every try together.
  if (route_->config->timeout.count() != 0 &&
      !(timeout_assigned_ && evtimer_pending(&timeout_, nullptr))) {
    if (!timeout_assigned_) evtimer_assign(&timeout_, worker_.base(), &Stream::onTimeout, this);
    timeout_assigned_ = true;
    const timeval tv = toTimeval(route_->config->timeout);
    evtimer_add(&timeout_, &tv);
  }
  if (retry_ != nullptr && retry_->per_try_timeout.count() != 0 && upstream_ != nullptr &&
      !backing_off_) {
    armTryTimer(retry_->per_try_timeout);
  }
}

bool Stream::canRetry() const {
  return retry_ != nullptr && info_.retries < retry_->attempts && !response_headers_sent_ &&
         !completed_;
}

bool Stream::budgetAllowsRetry() {
  // Counted once, from the first retry on.
  if (info_.retries > 0) return true;
  if (!retry::budgetAllows(cluster_->config->retry_budget, *budget_)) {
    worker_.stats().recordRetryOverflow(cluster_->config->name);
    return false;
  }
  ++budget_->retrying;
  return true;
}

void Stream::releaseBudget() {
  if (budget_ == nullptr) return;
  --budget_->in_flight;
  if (info_.retries > 0) --budget_->retrying;
  budget_ = nullptr;
}

void Stream::retryAfter(int try_code, bool reusable) {
  recordTry(try_code);
  stopTryTimer();
  releaseUpstream(reusable);
  ++info_.retries;
  worker_.stats().recordRetry(cluster_->config->name);
  // The next upstream starts with room; the body that arrives meanwhile is held (with its own
  // watermark) until the next try starts.
  if (upstream_write_above_) {
    upstream_write_above_ = false;
    if (!pending_paused_) codec_.readDisable(false);
  }
  backing_off_ = true;
  armTryTimer(retry::backoffDelay(*retry_, info_.retries, randomBits()));
}

void Stream::recordTry(int code) {
  worker_.stats().recordUpstream(subset_->lb_key, cluster_->config->name, subset_->label, code,
                                 nanosSince(upstream_start_));
}

void Stream::armTryTimer(config::Duration delay) {
  if (!try_timer_assigned_) evtimer_assign(&try_timer_, worker_.base(), &Stream::onTryTimer, this);
  try_timer_assigned_ = true;
  const timeval tv = toTimeval(delay);
  evtimer_add(&try_timer_, &tv);
}

void Stream::stopTryTimer() {
  if (try_timer_assigned_) evtimer_del(&try_timer_);
}

void Stream::onTryTimer(evutil_socket_t, short, void* self) {
  auto* stream = static_cast<Stream*>(self);
  if (stream->completed_) return;
  if (stream->backing_off_) {
    stream->backing_off_ = false;
    // `endpoint_` is still the one the last try went to.
    if (!stream->pickEndpoint(stream->endpoint_)) return;
    stream->startTry();
    if (stream->request_complete_) stream->armTimeout();
    return;
  }
  if (stream->canRetry() && retry::retriableFailure(*stream->retry_, retry::TryFailure::Timeout) &&
      stream->budgetAllowsRetry()) {
    stream->retryAfter(504, false);
    return;
  }
  stream->upstream_status_ = 504;
  stream->localReply(504, "upstream per-try timeout\n", "upstream_per_try_timeout");
}

void Stream::onTimeout(evutil_socket_t, short, void* self) {
  auto* stream = static_cast<Stream*>(self);
  stream->upstream_status_ = 504;
  stream->localReply(504, "upstream request timeout\n", "upstream_timeout");
}

void Stream::releaseUpstream(bool reusable) {
  if (upstream_ == nullptr) return;
  if (endpoint_ != nullptr) worker_.loadBalancer().requestFinished(endpoint_->key);
  if (reusable) {
    worker_.pool().release(std::move(upstream_), cluster_->config->max_idle_connections);
  } else {
    upstream_->detach();
    worker_.deferDelete(std::move(upstream_));
  }
}

void Stream::complete() {
  if (completed_) return;
  completed_ = true;
  response_complete_ = true;
  if (timeout_assigned_) evtimer_del(&timeout_);
  stopTryTimer();
  releaseBudget();
  info_.duration = std::chrono::steady_clock::now() - info_.start;
  // The pool keeps an HTTP/1.1 connection whose exchange ended cleanly.
  if (upstream_ != nullptr) releaseUpstream(true);
  const uint64_t duration_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(info_.duration).count());
  worker_.stats().recordDownstream(listener_.config->name, info_.status, duration_ns);
  if (subset_ != nullptr && (upstream_status_ != 0 || info_.local_reason.starts_with("upstream"))) {
    recordTry(upstream_status_ != 0 ? upstream_status_ : info_.status);
  }
  if (!info_.grpc_status.empty() && cluster_ != nullptr) {
    int grpc_status = 2;  // UNKNOWN, for a value that is not a number
    std::from_chars(info_.grpc_status.data(), info_.grpc_status.data() + info_.grpc_status.size(),
                    grpc_status);
    worker_.stats().recordGrpc(cluster_->config->name, grpc_status);
  }
  for (auto& filter : filters_) filter->onComplete(info_);
}

void Stream::onDownstreamGone() {
  if (completed_) return;
  if (info_.status == 0) info_.status = 499;  // nginx's "client closed request"
  if (info_.local_reason.empty()) info_.local_reason = "downstream_disconnect";
  releaseUpstream(false);
  complete();
}

}  // namespace remora
