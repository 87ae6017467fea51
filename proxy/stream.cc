// The filter manager: request decoration, the route matched once, the chain run both ways with
// Stop honoured on every hook, held bodies bounded, local replies, completion.
#include "proxy/stream.h"

#include <array>
#include <cstring>
#include <random>

#include "proxy/header_mutations.h"
#include "proxy/request_decoration.h"

namespace remora {

namespace {

// One generator per worker thread, for request ids.
uint64_t randomBits() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng();
}

// Two hex digits for each byte value, so that a UUID's text is written a byte at a time.
constexpr std::array<char, 512> kHexPairs = [] {
  constexpr char kHex[] = "0123456789abcdef";
  std::array<char, 512> pairs{};
  for (size_t byte = 0; byte < 256; ++byte) {
    pairs[2 * byte] = kHex[byte >> 4];
    pairs[2 * byte + 1] = kHex[byte & 0xf];
  }
  return pairs;
}();

// A random RFC 9562 version 4 UUID, written over `id` (its capacity kept).
void newRequestId(std::string& id) {
  uint64_t hi = randomBits();
  uint64_t lo = randomBits();
  hi = (hi & ~0xf000ULL) | 0x4000ULL;                         // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  // Where each of the 16 bytes' two digits go in 8-4-4-4-12.
  static constexpr std::array<uint8_t, 16> kAt = {0,  2,  4,  6,  9,  11, 14, 16,
                                                  19, 21, 24, 26, 28, 30, 32, 34};
  id.assign(36, '-');
  char* const text = id.data();
  for (size_t i = 0; i < 16; ++i) {
    const uint64_t half = i < 8 ? hi : lo;
    const size_t byte = (half >> (56 - 8 * (i % 8))) & 0xff;
    std::memcpy(text + kAt[i], &kHexPairs[2 * byte], 2);
  }
}

}  // namespace

// --- Slot: a filter's handle on the stream. ---

void Stream::Slot::resume() { stream->resume(index); }

void Stream::Slot::sendLocalReply(const filters::LocalReply& reply) { stream->localReply(reply); }

void Stream::Slot::encodeHeaders(ResponseHeaders& headers, bool end_stream) {
  if (stream->requestAbandoned()) return;
  stream->response_ = std::move(headers);
  stream->startResponse(end_stream);
}

void Stream::Slot::encodeData(Buffer& data, bool end_stream) {
  if (stream->requestAbandoned()) return;
  stream->responseBody(data, end_stream);
}

void Stream::Slot::encodeTrailers(HeaderMap& trailers) {
  if (stream->requestAbandoned()) return;
  stream->responseTrailers(trailers);
}

void Stream::Slot::continueRequestBody() {
  if (!stream->expect_continue_ || stream->requestAbandoned()) return;
  stream->expect_continue_ = false;
  stream->codec_.encodeContinue();
}

void Stream::Slot::setRequestReadDisabled(bool disabled) {
  stream->read_disabled_by_router_ = disabled;
  stream->updateReadDisabled();
}

// --- The stream. ---

Stream::Stream(StreamHost& host, DownstreamCodec& codec, std::shared_ptr<const Snapshot> snapshot,
               const ListenerInfo& listener, const StreamOrigin& origin)
    : host_(host), codec_(codec), snapshot_(std::move(snapshot)), listener_(listener) {
  info_->start_time = std::chrono::system_clock::now();
  info_->start = std::chrono::steady_clock::now();
  info_->listener = origin.listener;
  info_->downstream_address = origin.downstream_address;
  info_->protocol = origin.protocol;
}

Stream::~Stream() { host_.idleSweeper().remove(*this); }

void Stream::decodeHeaders(RequestHeaders headers, bool end_stream, bool expect_continue,
                           bool upgrade) {
  request_ = std::move(headers);
  request_end_at_headers_ = end_stream;
  request_complete_ = end_stream;
  expect_continue_ = expect_continue;
  upgrade_ = upgrade;
  decorateRequest();
  route_ = listener_.routes->match(request_);
  watchIdle();
  buildChain();
  runRequestHeaders(0);
}

void Stream::watchIdle() {
  idle_timeout_ = listener_.config->stream_idle_timeout;
  if (route_ != nullptr && route_->config->stream_idle_timeout) {
    idle_timeout_ = *route_->config->stream_idle_timeout;
  }
  if (idle_timeout_.count() != 0) host_.idleSweeper().add(*this);
}

void Stream::onStill(IdleSweeper::Clock::duration still) {
  if (completed_ || still < idle_timeout_) return;
  // Nothing moved either way: the client's request stalled (408), or the upstream is silent
  // (504); once the response started, the stream is reset. The router lets go of its upstream.
  const int status = request_complete_ ? 504 : 408;
  localReply({status, "stream idle timeout\n", "stream_idle_timeout"});
}

void Stream::decorateRequest() {
  info_->method = request_.method;
  info_->authority = request_.authority;
  info_->path = request_.path;
  if (auto agent = request_.headers.get("user-agent")) info_->user_agent = *agent;

  decorateForRouting(request_, listener_.config->trusted, clientIpOf(info_->downstream_address));
  HeaderMap& h = request_.headers;
  const std::optional<std::string_view> id = h.get("x-request-id");
  if (id && !id->empty()) {
    info_->request_id = *id;
  } else {
    newRequestId(info_->request_id);
    if (id) h.remove("x-request-id");
    h.add("x-request-id", info_->request_id);
  }
}

void Stream::buildChain() {
  const auto& listener_filters = *listener_.filters;
  const FilterFactories* route_filters =
      route_ != nullptr && route_->filters != nullptr ? route_->filters.get() : nullptr;
  slot_count_ = static_cast<int>(listener_filters.size() +
                                 (route_filters != nullptr ? route_filters->size() : 0)) +
                1;
  if (slot_count_ <= kInlineSlots) {
    slots_ = inline_slots_.data();
  } else {
    more_slots_ = std::make_unique<Slot[]>(static_cast<size_t>(slot_count_));
    slots_ = more_slots_.get();
  }
  int index = 0;
  auto add = [&](auto make) {
    Slot& slot = slots_[static_cast<size_t>(index)];
    slot.stream = this;
    slot.index = index++;
    slot.filter = make(slot);
  };
  for (const auto& factory : listener_filters) {
    add([&](Slot& slot) { return factory->create(slot); });
  }
  if (route_filters != nullptr) {
    for (const auto& factory : *route_filters) {
      add([&](Slot& slot) { return factory->create(slot); });
    }
  }
  add([&](Slot& slot) { return host_.makeRouter(slot); });
}

// --- The request direction. ---

void Stream::runRequestHeaders(int from) {
  for (int i = from; i < slot_count_; ++i) {
    const filters::Next next =
        slots_[static_cast<size_t>(i)].filter->onRequestHeaders(request_, request_end_at_headers_);
    if (requestAbandoned()) return;
    if (next == filters::Next::Stop) {
      request_held_.stopped_at = i;
      request_held_.stopped_event = Event::Headers;
      return;
    }
  }
  request_held_.headers_done = true;
  flushRequest();
}

void Stream::runRequestBody(int from, Buffer& data, bool end_stream) {
  for (int i = from; i < slot_count_; ++i) {
    const filters::Next next =
        slots_[static_cast<size_t>(i)].filter->onRequestBody(data, end_stream);
    if (requestAbandoned()) return;
    if (next == filters::Next::Stop) {
      request_held_.stopped_at = i;
      request_held_.stopped_event = Event::Body;
      if (request_held_.paused_body == nullptr)
        request_held_.paused_body = std::make_unique<Buffer>();
      request_held_.paused_body->move(data);
      request_held_.paused_end = end_stream;
      return;
    }
  }
}

void Stream::runRequestTrailers(int from, HeaderMap& trailers) {
  for (int i = from; i < slot_count_; ++i) {
    const filters::Next next = slots_[static_cast<size_t>(i)].filter->onRequestTrailers(trailers);
    if (requestAbandoned()) return;
    if (next == filters::Next::Stop) {
      request_held_.stopped_at = i;
      request_held_.stopped_event = Event::Trailers;
      request_held_.paused_trailers = std::make_unique<HeaderMap>(std::move(trailers));
      return;
    }
  }
}

void Stream::flushRequest() {
  Held& held = request_held_;
  while (!held.stopped() && !requestAbandoned() && held.anyQueued()) {
    if ((held.queued_body != nullptr && !held.queued_body->empty()) || held.queued_end) {
      Buffer data;
      if (held.queued_body != nullptr) data.move(*held.queued_body);
      const bool end = held.queued_end;
      held.queued_end = false;
      updateReadDisabled();
      runRequestBody(0, data, end);
      continue;
    }
    std::unique_ptr<HeaderMap> trailers = std::move(held.queued_trailers);
    runRequestTrailers(0, *trailers);
  }
  updateReadDisabled();
}

void Stream::decodeData(Buffer& data, bool end_stream) {
  touch();
  info_->request_body_bytes += data.length();
  if (end_stream) request_complete_ = true;
  if (requestAbandoned()) return;
  Held& held = request_held_;
  if (held.stopped() || !held.headers_done || held.anyQueued()) {
    queueRequestBody(data, end_stream);
    return;
  }
  runRequestBody(0, data, end_stream);
}

void Stream::queueRequestBody(Buffer& data, bool end_stream) {
  Held& held = request_held_;
  if (held.queued_body == nullptr) held.queued_body = std::make_unique<Buffer>();
  held.queued_body->move(data);
  held.queued_end = held.queued_end || end_stream;
  if (held.heldBytes() > bufferLimit()) {
    localReply({413, "request body too large to hold\n", "request_body_too_large"});
    return;
  }
  updateReadDisabled();
}

void Stream::decodeTrailers(HeaderMap trailers) {
  touch();
  request_complete_ = true;
  if (requestAbandoned()) return;
  Held& held = request_held_;
  if (held.stopped() || !held.headers_done || held.anyQueued()) {
    held.queued_trailers = std::make_unique<HeaderMap>(std::move(trailers));
    return;
  }
  runRequestTrailers(0, trailers);
}

void Stream::updateReadDisabled() {
  const size_t held = request_held_.heldBytes();
  if (!read_disabled_by_hold_ && held > kHighWatermark) read_disabled_by_hold_ = true;
  if (read_disabled_by_hold_ && held < kLowWatermark) read_disabled_by_hold_ = false;
  const bool disabled = read_disabled_by_hold_ || read_disabled_by_router_;
  if (disabled == read_disabled_ || completed_) return;
  read_disabled_ = disabled;
  codec_.readDisable(disabled);
}

uint64_t Stream::bufferLimit() const { return listener_.config->max_buffered_body_bytes; }

// --- The response direction: from the filter before the router back to the first. ---

void Stream::startResponse(bool end_stream) {
  response_end_at_headers_ = end_stream;
  response_held_ = Held{};
  ++response_generation_;
  runResponseHeaders(routerIndex() - 1);
}

void Stream::responseBody(Buffer& data, bool end_stream) {
  Held& held = response_held_;
  if (held.stopped() || !held.headers_done || held.anyQueued()) {
    if (held.queued_body == nullptr) held.queued_body = std::make_unique<Buffer>();
    held.queued_body->move(data);
    held.queued_end = held.queued_end || end_stream;
    if (held.heldBytes() > bufferLimit()) {
      localReply({500, "response body too large to hold\n", "response_body_too_large"});
      return;
    }
    updateResponseWatermark();
    return;
  }
  runResponseBody(routerIndex() - 1, data, end_stream);
}

void Stream::responseTrailers(HeaderMap& trailers) {
  Held& held = response_held_;
  if (held.stopped() || !held.headers_done || held.anyQueued()) {
    held.queued_trailers = std::make_unique<HeaderMap>(std::move(trailers));
    return;
  }
  runResponseTrailers(routerIndex() - 1, trailers);
}

void Stream::runResponseHeaders(int from) {
  const uint32_t generation = response_generation_;
  for (int i = from; i >= 0; --i) {
    const filters::Next next = slots_[static_cast<size_t>(i)].filter->onResponseHeaders(
        response_, response_end_at_headers_);
    if (completed_ || generation != response_generation_) return;  // a local reply took over
    if (next == filters::Next::Stop) {
      response_held_.stopped_at = i;
      response_held_.stopped_event = Event::Headers;
      return;
    }
  }
  response_held_.headers_done = true;
  // A gRPC error without a body comes as headers only ("Trailers-Only").
  if (response_end_at_headers_) {
    if (std::optional<std::string_view> status = response_.headers.get("grpc-status")) {
      info_->grpc_status = *status;
    }
  }
  info_->status = response_.status;
  response_headers_sent_ = true;
  touch();
  if (response_end_at_headers_) {
    complete();
    codec_.encodeHeaders(response_, true);
    return;
  }
  codec_.encodeHeaders(response_, false);
  flushResponse();
}

void Stream::runResponseBody(int from, Buffer& data, bool end_stream) {
  const uint32_t generation = response_generation_;
  for (int i = from; i >= 0; --i) {
    const filters::Next next =
        slots_[static_cast<size_t>(i)].filter->onResponseBody(data, end_stream);
    if (completed_ || generation != response_generation_) return;
    if (next == filters::Next::Stop) {
      response_held_.stopped_at = i;
      response_held_.stopped_event = Event::Body;
      if (response_held_.paused_body == nullptr) {
        response_held_.paused_body = std::make_unique<Buffer>();
      }
      response_held_.paused_body->move(data);
      response_held_.paused_end = end_stream;
      return;
    }
  }
  info_->response_body_bytes += data.length();
  touch();
  if (end_stream) {
    complete();
    codec_.encodeData(data, true);
    return;
  }
  codec_.encodeData(data, false);
}

void Stream::runResponseTrailers(int from, HeaderMap& trailers) {
  const uint32_t generation = response_generation_;
  for (int i = from; i >= 0; --i) {
    const filters::Next next = slots_[static_cast<size_t>(i)].filter->onResponseTrailers(trailers);
    if (completed_ || generation != response_generation_) return;
    if (next == filters::Next::Stop) {
      response_held_.stopped_at = i;
      response_held_.stopped_event = Event::Trailers;
      response_held_.paused_trailers = std::make_unique<HeaderMap>(std::move(trailers));
      return;
    }
  }
  if (auto status = trailers.get("grpc-status")) info_->grpc_status = *status;
  complete();
  codec_.encodeTrailers(trailers);
}

void Stream::flushResponse() {
  Held& held = response_held_;
  while (!held.stopped() && !completed_ && held.headers_done && held.anyQueued()) {
    if ((held.queued_body != nullptr && !held.queued_body->empty()) || held.queued_end) {
      Buffer data;
      if (held.queued_body != nullptr) data.move(*held.queued_body);
      const bool end = held.queued_end;
      held.queued_end = false;
      runResponseBody(routerIndex() - 1, data, end);
      continue;
    }
    std::unique_ptr<HeaderMap> trailers = std::move(held.queued_trailers);
    runResponseTrailers(routerIndex() - 1, *trailers);
  }
  updateResponseWatermark();
}

void Stream::onDownstreamWatermark(bool above) {
  downstream_above_ = above;
  updateResponseWatermark();
}

void Stream::updateResponseWatermark() {
  if (completed_ || slot_count_ == 0) return;
  const bool above = downstream_above_ || response_held_.heldBytes() > kHighWatermark;
  if (above == response_watermark_told_) return;
  response_watermark_told_ = above;
  slots_[static_cast<size_t>(routerIndex())].filter->onDownstreamWatermark(above);
}

// --- Resuming, local replies, completion. ---

void Stream::resume(int index) {
  if (completed_) return;
  Held& request = request_held_;
  if (request.stopped_at == index && !requestAbandoned()) {
    request.stopped_at = -1;
    switch (request.stopped_event) {
      case Event::Headers:
        runRequestHeaders(index + 1);
        break;
      case Event::Body: {
        std::unique_ptr<Buffer> data = std::move(request.paused_body);
        runRequestBody(index + 1, *data, request.paused_end);
        if (!request.stopped()) flushRequest();
        break;
      }
      case Event::Trailers: {
        std::unique_ptr<HeaderMap> trailers = std::move(request.paused_trailers);
        runRequestTrailers(index + 1, *trailers);
        break;
      }
    }
  }
  Held& response = response_held_;
  if (response.stopped_at == index && !completed_) {
    response.stopped_at = -1;
    switch (response.stopped_event) {
      case Event::Headers:
        runResponseHeaders(index - 1);
        break;
      case Event::Body: {
        std::unique_ptr<Buffer> data = std::move(response.paused_body);
        runResponseBody(index - 1, *data, response.paused_end);
        if (!response.stopped()) flushResponse();
        break;
      }
      case Event::Trailers: {
        std::unique_ptr<HeaderMap> trailers = std::move(response.paused_trailers);
        runResponseTrailers(index - 1, *trailers);
        break;
      }
    }
  }
}

void Stream::sendLocalReply(int status, std::string_view body, std::string_view reason) {
  localReply({status, body, reason});
}

void Stream::localReply(const filters::LocalReply& reply) {
  if (completed_) return;
  info_->local_reason = reply.reason;
  if (response_headers_sent_) {
    complete();
    codec_.resetStream();
    return;
  }
  local_reply_started_ = true;
  ResponseHeaders response;
  response.status = reply.status;
  response.headers.add("content-type", "text/plain");
  response.headers.add("content-length", std::to_string(reply.body.size()));
  for (const auto& [name, value] : reply.headers) response.headers.set(name, value);
  if (route_ != nullptr) applyHeaderMutations(route_->config->response_headers, response.headers);
  response_ = std::move(response);
  Buffer body;
  body.add(reply.body);
  startResponse(body.empty());
  if (!body.empty() && !completed_) responseBody(body, true);
}

void Stream::complete() {
  if (completed_) return;
  completed_ = true;
  response_complete_ = true;
  host_.idleSweeper().remove(*this);
  info_->duration = std::chrono::steady_clock::now() - info_->start;
  const uint64_t duration_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(info_->duration).count());
  host_.stats().recordDownstream(listener_.config->name, info_->status, duration_ns);
  for (int i = 0; i < slot_count_; ++i) slots_[static_cast<size_t>(i)].filter->onComplete(*info_);
}

void Stream::onDownstreamGone() {
  if (completed_) return;
  if (info_->status == 0) info_->status = 499;  // nginx's "client closed request"
  if (info_->local_reason.empty()) info_->local_reason = "downstream_disconnect";
  complete();
}

}  // namespace remora
