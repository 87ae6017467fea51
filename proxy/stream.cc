// The request path of one exchange: filters, routing, balancing, relaying, completion.
#include "proxy/stream.h"

#include <charconv>
#include <random>

#include "proxy/event_time.h"
#include "proxy/header_mutations.h"
#include "proxy/log.h"
#include "proxy/upstream_pool.h"

namespace remora {

namespace {

// A random RFC 9562 version 4 UUID.
std::string newRequestId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  uint64_t hi = rng();
  uint64_t lo = rng();
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
  const int endpoint = worker_.loadBalancer().pick(*cluster_, *subset_);
  if (endpoint < 0) {
    localReply(503, "no healthy upstream\n", "no_healthy_upstream");
    return;
  }
  endpoint_ = &cluster_->endpoints[static_cast<size_t>(endpoint)];
  info_.upstream_address = endpoint_->key;
  if (expect_continue_) {
    // The upstream is chosen: the client may send its body now. Expect is not forwarded, so the
    // upstream never sends its own interim response.
    request_.headers.remove("expect");
    codec_.encodeContinue();
  }
  worker_.loadBalancer().requestStarted(endpoint_->key);
  upstream_start_ = std::chrono::steady_clock::now();
  if (!connectUpstream()) return;
  if (pending_body_ != nullptr || pending_end_) {
    Buffer body;
    if (pending_body_ != nullptr) body.move(*pending_body_);
    pending_body_.reset();
    forwardBody(body, pending_end_);
  }
  // Reading paused while the body was held resumes, unless the upstream is already full.
  if (pending_paused_) {
    pending_paused_ = false;
    if (!upstream_write_above_) codec_.readDisable(false);
  }
  if (pending_trailers_ != nullptr && upstream_ != nullptr) {
    upstream_->sendTrailers(*pending_trailers_);
    pending_trailers_.reset();
  }
  if (request_complete_) armTimeout();
}

bool Stream::connectUpstream() {
  upstream_ = worker_.pool().acquire(*endpoint_, *cluster_->config);
  upstream_->startRequest(*this, request_, request_end_at_headers_, upgrade_);
  return upstream_ != nullptr;
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
  upstream_->sendTrailers(trailers);
  armTimeout();
}

void Stream::forwardBody(Buffer& data, bool end_stream) {
  for (auto& filter : filters_) filter->onRequestBody(data, end_stream);
  upstream_->sendData(data, end_stream);
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
    worker_.deferDelete(std::move(upstream_));
    connectUpstream();
    return;
  }
  if (failure == UpstreamFailure::Reset && !response_started && upstream_ != nullptr &&
      upstream_->reused() && request_end_at_headers_ && safe && !retried_connection_) {
    retried_connection_ = true;
    worker_.deferDelete(std::move(upstream_));
    connectUpstream();
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
  if (route_ == nullptr || route_->config->timeout.count() == 0 || tunnel_ || response_complete_ ||
      completed_) {
    return;
  }
  if (!timeout_assigned_) evtimer_assign(&timeout_, worker_.base(), &Stream::onTimeout, this);
  timeout_assigned_ = true;
  const timeval tv = toTimeval(route_->config->timeout);
  evtimer_add(&timeout_, &tv);
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
  info_.duration = std::chrono::steady_clock::now() - info_.start;
  // The pool keeps an HTTP/1.1 connection whose exchange ended cleanly.
  if (upstream_ != nullptr) releaseUpstream(true);
  const uint64_t duration_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(info_.duration).count());
  worker_.stats().recordDownstream(listener_.config->name, info_.status, duration_ns);
  if (subset_ != nullptr && (upstream_status_ != 0 || info_.local_reason.starts_with("upstream"))) {
    const int code = upstream_status_ != 0 ? upstream_status_ : info_.status;
    worker_.stats().recordUpstream(subset_->lb_key, cluster_->config->name, subset_->label, code,
                                   nanosSince(upstream_start_));
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
