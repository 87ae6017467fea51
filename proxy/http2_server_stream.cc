// One HTTP/2 request stream: head assembly, body pacing by WINDOW_UPDATE, response queueing.
#include "proxy/http2_server_stream.h"

#include <string>
#include <vector>

#include "proxy/event_time.h"
#include "proxy/hop_by_hop.h"
#include "proxy/http1_parser.h"
#include "proxy/http2_outbound.h"
#include "proxy/http2_server_connection.h"
#include "proxy/log.h"
#include "proxy/path_normalize.h"
#include "proxy/recycled_strings.h"

namespace remora {

namespace {

ssize_t readResponseCallback(nghttp2_session*, int32_t, uint8_t*, size_t length, uint32_t* flags,
                             nghttp2_data_source* source, void*) {
  return static_cast<Http2ServerStream*>(source->ptr)->readResponse(length, flags);
}

}  // namespace

Http2ServerStream::Http2ServerStream(Http2ServerConnection& connection, int32_t id)
    : connection_(connection), id_(id) {}

Http2ServerStream::~Http2ServerStream() {
  stopBodyTimer();
  if (stream_ != nullptr) stream_->onDownstreamGone();
}

void Http2ServerStream::armBodyTimer() {
  const config::Duration timeout = connection_.settings().idle_timeout;
  if (request_complete_ || closed_ || timeout.count() == 0) return;
  if (!body_timer_assigned_) {
    evtimer_assign(&body_timer_, connection_.worker().base(), &onBodyTimeout, this);
    body_timer_assigned_ = true;
  }
  const timeval tv = toTimeval(timeout);
  evtimer_add(&body_timer_, &tv);
}

void Http2ServerStream::stopBodyTimer() {
  if (body_timer_assigned_) evtimer_del(&body_timer_);
}

void Http2ServerStream::onBodyTimeout(evutil_socket_t, short, void* self) {
  auto* h2 = static_cast<Http2ServerStream*>(self);
  if (h2->closed_ || h2->request_complete_) return;
  // The stream ends either way; a client that stopped sending never ends it itself.
  h2->reset_after_response_ = true;
  if (h2->stream_ != nullptr && !h2->response_complete_) {
    // A stalled client (408), or an upstream that stopped taking the body (504).
    if (h2->read_disabled_) {
      h2->stream_->sendLocalReply(504, "upstream stopped reading the request body\n",
                                  "upstream_body_stalled");
    } else {
      h2->stream_->sendLocalReply(408, "request body timeout\n", "request_body_timeout");
    }
  }
  nghttp2_session* session = h2->connection_.session();
  if (!h2->closed_ && nghttp2_session_get_stream_local_close(session, h2->id_) == 1) {
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, h2->id_, NGHTTP2_NO_ERROR);
  }
  h2->connection_.scheduleSend();
}

void Http2ServerStream::addHeader(std::string_view name, std::string_view value) {
  if (too_large_) return;
  // RFC 9113 6.5.2 counts each field as name + value + 32 bytes.
  header_bytes_ += name.size() + value.size() + 32;
  const config::Listener& limits = connection_.settings();
  if (header_bytes_ > limits.max_request_headers_bytes ||
      request_.headers.size() >= limits.max_request_headers_count) {
    too_large_ = true;
    return;
  }
  if (!name.empty() && name.front() == ':') {
    // nghttp2 has checked the pseudo-fields: known names, once each, before the others.
    if (name == ":method") {
      assignRecycled(request_.method, value);
    } else if (name == ":scheme") {
      request_.scheme = value;
    } else if (name == ":authority") {
      assignRecycled(request_.authority, value);
      has_authority_ = true;
    } else if (name == ":path") {
      assignRecycled(request_.path, value);
    }
    return;
  }
  if (name == "cookie") {
    if (!cookies_.empty()) cookies_ += "; ";
    cookies_ += value;
    return;
  }
  if (name == "expect" && equalsIgnoreCase(value, "100-continue")) {
    // Answered here once an upstream is chosen (RFC 9110 10.1.1), never forwarded.
    expect_continue_ = true;
    return;
  }
  if (name == "host") {
    // nghttp2 lets only one through.
    host_ = value;
    has_host_ = true;
    return;
  }
  request_.headers.add(name, value);
}

void Http2ServerStream::onRequestHeaders(const ListenerInfo& listener, bool end_stream) {
  request_complete_ = end_stream;
  if (too_large_) {
    reject(431, "request header fields too large");
    return;
  }
  if (request_.method == "CONNECT") {
    // Tunnels to arbitrary hosts are not what a sidecar's routes describe.
    reject(501, "CONNECT is not supported");
    return;
  }
  if (const char* problem = authorityProblem()) {
    reject(400, problem);
    return;
  }
  // :authority wins when both are present (RFC 9113 8.3.1); they are the same by now.
  if (!has_authority_ && has_host_) request_.authority = std::move(host_);
  if (!cookies_.empty()) {
    request_.headers.add("cookie", cookies_);
    cookies_.clear();
  }
  normalizePath(request_.path, request_.path);
  // x-forwarded-proto tells the upstream how the client reached remora: the connection says
  // that, not the client's :scheme.
  request_.scheme = connection_.tls() ? "https" : "http";
  // nghttp2 refuses connection-specific fields; `te: trailers` stays, for an HTTP/2 upstream
  // (gRPC needs it), and the HTTP/1.1 client drops it.

  const StreamOrigin origin{connection_.listenerName(), connection_.peer(), "HTTP/2"};
  Worker& worker = connection_.worker();
  stream_ = std::make_unique<Stream>(worker, *this, worker.snapshot(), listener, origin);
  stream_->decodeHeaders(std::move(request_), end_stream, expect_continue_ && !end_stream, false);
  if (!end_stream) armBodyTimer();
}

const char* Http2ServerStream::authorityProblem() const {
  // An HTTP/2 :authority names a host, like an absolute-form target (RFC 9113 8.3.1: no
  // userinfo); a Host field is checked as on HTTP/1.1, where an empty one is allowed.
  if (has_authority_ && !http1::isValidAuthority(request_.authority)) {
    return request_.authority.find('@') != std::string::npos ? "userinfo in :authority"
                                                             : "invalid :authority";
  }
  if (!has_host_) return nullptr;
  if (!host_.empty() && !http1::isValidAuthority(host_)) {
    return host_.find('@') != std::string::npos ? "userinfo in Host" : "invalid Host";
  }
  // RFC 9113 8.3.1: a Host naming another entity than :authority makes the request malformed;
  // routing on one while the upstream reads the other is how such requests would be abused.
  if (has_authority_ && !equalsIgnoreCase(host_, request_.authority)) {
    return "Host differs from :authority";
  }
  return nullptr;
}

void Http2ServerStream::addTrailer(std::string_view name, std::string_view value) {
  if (trailers_too_large_) return;
  // Counted as the head is, against the same limits (SETTINGS_MAX_HEADER_LIST_SIZE covers
  // every field block).
  trailer_bytes_ += name.size() + value.size() + 32;
  const config::Listener& limits = connection_.settings();
  if (trailer_bytes_ > limits.max_request_headers_bytes ||
      request_trailers_.size() >= limits.max_request_headers_count) {
    trailers_too_large_ = true;
    request_trailers_.clear();
    return;
  }
  request_trailers_.add(name, value);
}

void Http2ServerStream::onRequestTrailers() {
  request_complete_ = true;
  stopBodyTimer();
  if (stream_ == nullptr) return;
  if (trailers_too_large_) {
    refuseTrailers();
    return;
  }
  stream_->decodeTrailers(std::move(request_trailers_));
}

void Http2ServerStream::refuseTrailers() {
  if (!response_started_) {
    // Nothing answered yet: the client is told why, as for a head over the limits (RFC 9113
    // 10.5.1); the request ended with these trailers, so the response closes the stream.
    stream_->sendLocalReply(431, "request trailer fields too large\n",
                            "request_trailers_too_large");
    return;
  }
  // Part of the response is out, so the stream can only be reset. ENHANCE_YOUR_CALM is RFC 9113's
  // code for a peer whose behaviour may be generating excessive load, as a field block past the
  // advertised SETTINGS_MAX_HEADER_LIST_SIZE is; the message itself is not malformed
  // (PROTOCOL_ERROR), nor did remora fail (INTERNAL_ERROR).
  LOG_DEBUG("listener %s: %s: HTTP/2 stream %d: request trailers over the limits: reset",
            connection_.listenerName().c_str(), connection_.peer().c_str(), id_);
  nghttp2_submit_rst_stream(connection_.session(), NGHTTP2_FLAG_NONE, id_,
                            NGHTTP2_ENHANCE_YOUR_CALM);
  stream_->onDownstreamGone();
  connection_.scheduleSend();
}

void Http2ServerStream::onDataFrame(bool end_stream) {
  if (end_stream) {
    request_complete_ = true;
    stopBodyTimer();
  } else {
    armBodyTimer();
  }
  Buffer data;
  data.move(inbound_);
  const size_t length = data.length();
  if (stream_ == nullptr || closed_ || response_complete_) {
    consume(length);  // answered already: the bytes are dropped
    return;
  }
  stream_->decodeData(data, end_stream);
  if (read_disabled_) {
    unconsumed_ += length;
  } else {
    consume(length);
  }
}

void Http2ServerStream::consume(size_t bytes) {
  if (bytes == 0 || closed_) return;
  // The connection window was opened on arrival; only the stream's follows the upstream.
  nghttp2_session_consume_stream(connection_.session(), id_, bytes);
  connection_.scheduleSend();
}

void Http2ServerStream::responseDone() {
  response_complete_ = true;
  // Nothing waits for the body any more; a client still sending it may finish (its bytes are
  // dropped) instead of being held at a closed window forever.
  if (read_disabled_) readDisable(false);
}

void Http2ServerStream::readDisable(bool disable) {
  if (read_disabled_ == disable) return;
  read_disabled_ = disable;
  if (!disable && unconsumed_ > 0) {
    const size_t bytes = unconsumed_;
    unconsumed_ = 0;
    consume(bytes);
  }
}

void Http2ServerStream::onClose(uint32_t) {
  if (closed_) return;
  closed_ = true;
  stopBodyTimer();
  if (stream_ != nullptr) stream_->onDownstreamGone();  // nothing for a completed exchange
}

void Http2ServerStream::reject(int status, std::string_view reason) {
  ResponseHeaders response;
  response.status = status;
  std::string body(reason);
  body += '\n';
  response.headers.add("content-type", "text/plain");
  response.headers.add("content-length", std::to_string(body.size()));
  outbound_.add(body);
  outbound_.setEnded();
  submitResponse(response, false);
  responseDone();
  connection_.worker().stats().recordDownstream(connection_.listenerName(), status, 0);
}

void Http2ServerStream::encodeContinue() {
  if (closed_ || response_started_ || !expect_continue_) return;
  expect_continue_ = false;
  const nghttp2_nv status = http2Field(":status", "100");
  nghttp2_submit_headers(connection_.session(), NGHTTP2_FLAG_NONE, id_, nullptr, &status, 1,
                         nullptr);
  connection_.scheduleSend();
}

void Http2ServerStream::encodeHeaders(ResponseHeaders& headers, bool end_stream) {
  if (closed_) return;
  removeHopByHop(headers.headers, false);
  submitResponse(headers, end_stream);
}

void Http2ServerStream::submitResponse(ResponseHeaders& headers, bool end_stream) {
  response_started_ = true;
  if (end_stream) responseDone();
  const std::string status = std::to_string(headers.status);
  const std::vector<nghttp2_nv>& fields =
      http2Fields({http2Field(":status", status)}, headers.headers);
  nghttp2_data_provider provider{};
  provider.source.ptr = this;
  provider.read_callback = &readResponseCallback;
  nghttp2_submit_response(connection_.session(), id_, fields.data(), fields.size(),
                          end_stream ? nullptr : &provider);
  connection_.scheduleSend();
}

void Http2ServerStream::encodeData(Buffer& data, bool end_stream) {
  if (closed_) return;
  outbound_.add(connection_.session(), id_, data, end_stream);
  if (end_stream) responseDone();
  connection_.scheduleSend();
  if (!above_watermark_ && !end_stream && outbound_.length() > kHighWatermark &&
      stream_ != nullptr) {
    above_watermark_ = true;
    stream_->onDownstreamWatermark(true);
  }
}

ssize_t Http2ServerStream::readResponse(size_t length, uint32_t* flags) {
  return outbound_.read(connection_.session(), id_, length, flags);
}

void Http2ServerStream::encodeTrailers(HeaderMap& trailers) {
  if (closed_) return;
  outbound_.addTrailers(connection_.session(), id_, std::move(trailers));
  responseDone();
  connection_.scheduleSend();
}

void Http2ServerStream::takeResponse(evbuffer* out, size_t length) {
  outbound_.take(out, length);
  if (above_watermark_ && outbound_.length() <= kLowWatermark) {
    above_watermark_ = false;
    if (stream_ != nullptr) stream_->onDownstreamWatermark(false);
  }
}

void Http2ServerStream::resetStream() {
  if (closed_) return;
  // The response cannot be completed: the client must not take a cut body for a whole one.
  nghttp2_submit_rst_stream(connection_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
  connection_.scheduleSend();
}

}  // namespace remora
