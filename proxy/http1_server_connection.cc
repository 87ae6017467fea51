// HTTP/1.1 server side: request parsing, body relay, response framing, keep-alive and close.
#include "proxy/http1_server_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "proxy/event_time.h"
#include "proxy/hop_by_hop.h"
#include "proxy/http1_encode.h"
#include "proxy/log.h"
#include "proxy/path_normalize.h"
#include "proxy/recycled_strings.h"

namespace remora {

namespace {

constexpr timeval kLingerTime = {2, 0};

}  // namespace

Http1ServerConnection::Http1ServerConnection(Worker& worker, std::unique_ptr<Transport> transport,
                                             std::shared_ptr<ListenerShared> listener,
                                             std::string peer)
    : worker_(worker),
      listener_(std::move(listener)),
      peer_(std::move(peer)),
      transport_(std::move(transport)),
      idle_timer_(worker.base(), &onIdleTimeout, this) {
  transport_->setCallbacks(*this);
  transport_->setWriteLowWatermark(kLowWatermark);
  // Copied now: the listener may leave the config (a reload) while the connection lives on.
  config::Listener settings;
  if (const Snapshot* snapshot = worker.snapshot().get()) {
    if (const ListenerInfo* info = snapshot->findListener(listener_->name))
      settings = *info->config;
  }
  limits_.max_head_bytes = settings.max_request_headers_bytes;
  limits_.max_headers = settings.max_request_headers_count;
  request_header_timeout_ = settings.request_header_timeout;
  idle_timeout_ = settings.idle_timeout;
  // Input never grows past this: beyond it the socket is not read until the input is consumed.
  transport_->setReadLimit(std::max(kHighWatermark, limits_.max_head_bytes + 1));
  // Bytes may have come already (read while the protocol was being detected).
  if (evbuffer_get_length(transport_->input()) > 0) {
    scheduleProcess();
  } else {
    armIdle();
  }
}

Http1ServerConnection::~Http1ServerConnection() {
  if (stream_ != nullptr) stream_->onDownstreamGone();
  stream_.reset();
  if (header_timer_ != nullptr) event_free(header_timer_);
  if (process_event_ != nullptr) event_free(process_event_);
  listener_->connections.fetch_sub(1, std::memory_order_relaxed);
}

void Http1ServerConnection::armIdle() {
  if (idle_timeout_.count() == 0) return;
  idle_timer_.arm(idle_timeout_);
}

void Http1ServerConnection::scheduleProcess() {
  if (process_event_ == nullptr) {
    process_event_ = event_new(worker_.base(), -1, 0, &onProcess, this);
  }
  event_active(process_event_, 0, 0);
}

event* Http1ServerConnection::headerTimer() {
  if (header_timer_ == nullptr) header_timer_ = evtimer_new(worker_.base(), &onHeaderTimeout, this);
  return header_timer_;
}

bool Http1ServerConnection::headerTimerPending() const {
  return header_timer_ != nullptr && evtimer_pending(header_timer_, nullptr);
}

void Http1ServerConnection::stopHeaderTimer() {
  if (header_timer_ != nullptr) evtimer_del(header_timer_);
}

void Http1ServerConnection::onProcess(evutil_socket_t, short, void* self) {
  static_cast<Http1ServerConnection*>(self)->process();
}

void Http1ServerConnection::process() {
  while (!closing_) {
    const State before = state_;
    switch (state_) {
      case State::Head:
        // A client that pipelines without reading its responses gets no more of them parsed
        // until it catches up: its output must not grow without bound.
        if (evbuffer_get_length(transport_->output()) > kHighWatermark) return;
        if (!parseHead()) {
          // A half-closed client's unfinished head will never complete.
          if (peer_closed_ && state_ == State::Head && !closing_) closeAfterFlush();
          return;
        }
        break;
      case State::Body:
        if (read_disabled_) return;
        processBody();
        break;
      case State::Tunnel: {
        evbuffer* in = transport_->input();
        if (read_disabled_ || evbuffer_get_length(in) == 0 || stream_ == nullptr) return;
        Buffer data;
        evbuffer_add_buffer(data.raw(), in);
        stream_->decodeData(data, false);
        return;
      }
      case State::AwaitResponse:
      case State::Closing:
        return;
    }
    if (state_ == before && state_ != State::Head) return;
  }
  if (state_ == State::Closing) {
    // Lingering close: read and drop what the client still sends so that closing with unread
    // data does not reset the connection and destroy the response in flight.
    evbuffer* in = transport_->input();
    evbuffer_drain(in, evbuffer_get_length(in));
  }
}

bool Http1ServerConnection::parseHead() {
  evbuffer* in = transport_->input();
  const size_t available = evbuffer_get_length(in);
  if (available == 0) return false;
  idle_timer_.disarm();
  const size_t look = std::min(available, limits_.max_head_bytes + 1);
  const char* data = reinterpret_cast<const char*>(evbuffer_pullup(in, static_cast<ssize_t>(look)));
  http1::RequestHead head;
  http1::HeadResult result = http1::parseRequestHead(std::string_view(data, look), limits_, head);
  if (result.status == http1::HeadStatus::NeedMore) {
    // The clock starts with the first bytes of a head that did not come whole (most do).
    if (!headerTimerPending() && request_header_timeout_.count() > 0) {
      timeval tv = toTimeval(request_header_timeout_);
      evtimer_add(headerTimer(), &tv);
    }
    return false;
  }
  if (result.status == http1::HeadStatus::Error) {
    rejectRequest(result.error.status, result.error.reason);
    return false;
  }
  evbuffer_drain(in, result.consumed);
  stopHeaderTimer();
  http1::ParseError error;
  if (!http1::requestBodyFraming(head, framing_, error)) {
    rejectRequest(error.status, error.reason);
    return false;
  }
  const Snapshot* snapshot = worker_.snapshot().get();
  const ListenerInfo* listener = snapshot ? snapshot->findListener(listener_->name) : nullptr;
  if (listener == nullptr) {
    rejectRequest(503, "listener is being removed");
    return false;
  }
  if (head.method == "CONNECT") {
    // Tunnels to arbitrary hosts are not what a sidecar's routes describe.
    rejectRequest(501, "CONNECT is not supported");
    return false;
  }
  startStream(head, *listener);
  return true;
}

RequestHeaders requestFromHead(http1::RequestHead& head, bool upgrade) {
  RequestHeaders request;
  request.method = std::move(head.method);
  if (std::optional<std::string_view> host = head.headers.get("host")) {
    assignRecycled(request.authority, *host);
  }
  // absolute-form (a client configured with this proxy as its HTTP proxy); the parser has
  // checked its authority.
  http1::AbsoluteForm absolute;
  if (head.target.front() != '/' && http1::splitAbsoluteForm(head.target, absolute)) {
    // RFC 9112 3.2.2: the target's authority wins over Host.
    request.authority = std::string(absolute.authority);
    // RFC 9112 3.2.1: an empty path is sent as "/", the query kept.
    request.path = absolute.path_and_query.starts_with('/')
                       ? normalizePath(absolute.path_and_query)
                       : "/" + std::string(absolute.path_and_query);
  } else {
    normalizePath(head.target, request.path);
  }
  keepForRecycling(head.target);
  removeHopByHop(head.headers, upgrade);
  head.headers.remove("host");
  request.headers = std::move(head.headers);
  return request;
}

void Http1ServerConnection::startStream(http1::RequestHead& head, const ListenerInfo& listener) {
  request_minor_ = head.minor_version;
  client_keep_alive_ = head.minor_version >= 1 ? !head.headers.hasToken("connection", "close")
                                               : head.headers.hasToken("connection", "keep-alive");
  const bool upgrade = upgradePassesOn(head.headers);
  const std::optional<std::string_view> expect = head.headers.get("expect");
  const bool expect_continue =
      head.minor_version >= 1 && expect && equalsIgnoreCase(*expect, "100-continue");
  awaiting_continue_ = expect_continue;
  head_request_ = head.method == "HEAD";
  response_chunked_ = false;
  response_until_close_ = false;
  close_after_response_ = !client_keep_alive_;

  RequestHeaders request = requestFromHead(head, upgrade);
  request.scheme = transport_->tls() ? "https" : "http";  // for x-forwarded-proto

  const bool end_stream = framing_.kind == http1::BodyKind::None ||
                          (framing_.kind == http1::BodyKind::ContentLength && framing_.length == 0);
  remaining_ = framing_.length;
  chunked_ = http1::ChunkedDecoder();
  state_ = end_stream ? State::AwaitResponse : State::Body;
  if (end_stream && framing_.kind == http1::BodyKind::ContentLength) {
    request.headers.set("content-length", "0");
  }
  if (!end_stream) armIdle();  // now measures request body progress
  const StreamOrigin origin{listener_->name, peer_, request_minor_ >= 1 ? "HTTP/1.1" : "HTTP/1.0"};
  stream_ = std::make_unique<Stream>(worker_, *this, worker_.snapshot(), listener, origin);
  stream_->decodeHeaders(std::move(request), end_stream, expect_continue, upgrade);
}

void Http1ServerConnection::processBody() {
  evbuffer* in = transport_->input();
  if (evbuffer_get_length(in) == 0 || stream_ == nullptr) return;
  Buffer data;
  bool end = false;
  if (framing_.kind == http1::BodyKind::ContentLength) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, evbuffer_get_length(in)));
    evbuffer_remove_buffer(in, data.raw(), n);
    remaining_ -= n;
    end = remaining_ == 0;
  } else {
    while (evbuffer_get_length(in) > 0) {
      evbuffer_iovec vec;
      if (evbuffer_peek(in, -1, nullptr, &vec, 1) < 1) break;
      http1::ChunkedDecoder::Step step =
          chunked_.feed(static_cast<const char*>(vec.iov_base), vec.iov_len);
      if (step.error) {
        // The exchange cannot continue: a 400 if nothing was answered yet, then close.
        close_after_response_ = true;
        state_ = State::AwaitResponse;
        stream_->sendLocalReply(400, "malformed chunked request body\n", "bad_request_body");
        if (stream_ != nullptr && !closing_) closeNow();
        return;
      }
      evbuffer_drain(in, step.framing);
      if (step.data > 0) evbuffer_remove_buffer(in, data.raw(), step.data);
      if (step.done) {
        end = true;
        break;
      }
      if (step.framing == 0 && step.data == 0) break;
    }
  }
  if (data.empty() && !end) return;
  if (end) {
    state_ = State::AwaitResponse;
    idle_timer_.disarm();
  } else {
    armIdle();
  }
  stream_->decodeData(data, end);
}

void Http1ServerConnection::encodeContinue() {
  if (!awaiting_continue_ || closing_) return;
  awaiting_continue_ = false;
  static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
  evbuffer_add(transport_->output(), kContinue, sizeof(kContinue) - 1);
  transport_->flushSoon();
}

void Http1ServerConnection::encodeHeaders(ResponseHeaders& headers, bool end_stream) {
  if (closing_) return;
  const int status = headers.status;
  const bool upgraded = status == 101;
  removeHopByHop(headers.headers, upgraded);
  const bool no_body =
      head_request_ || (status >= 100 && status < 200) || status == 204 || status == 304;
  const bool has_length = headers.headers.has("content-length");
  // A client that was never told to continue will not send its body: the connection cannot be
  // reused, since the unread body would be taken for the next request.
  // A response before the whole request body arrived: the rest of the body cannot be told apart
  // from a next request, so the connection ends with this response.
  if (state_ == State::Body) close_after_response_ = true;
  // Draining: this is the connection's last response, unless the client already sent the next
  // request (pipelined, or sent as the drain began), which is then answered too.
  if (worker_.drainNoticed() && !requestWaiting()) close_after_response_ = true;
  // The client half-closed and this answers the last request it sent.
  if (peer_closed_ && evbuffer_get_length(transport_->input()) == 0) close_after_response_ = true;

  thread_local std::string head;  // reused: no allocation per response once warm
  head.clear();
  head += request_minor_ >= 1 ? "HTTP/1.1 " : "HTTP/1.0 ";
  head += std::to_string(status);
  head += ' ';
  head += reasonPhrase(status);
  head += "\r\n";
  http1::appendFields(head, headers.headers);
  if (upgraded) {
    head += "connection: upgrade\r\n";
  } else {
    if (!no_body && !has_length) {
      if (end_stream) {
        head += "content-length: 0\r\n";
      } else if (request_minor_ >= 1) {
        head += "transfer-encoding: chunked\r\n";
        response_chunked_ = true;
      } else {
        response_until_close_ = true;
        close_after_response_ = true;
      }
    }
    if (close_after_response_) {
      head += "connection: close\r\n";
    } else if (request_minor_ == 0) {
      head += "connection: keep-alive\r\n";
    }
  }
  head += "\r\n";
  evbuffer_add(transport_->output(), head.data(), head.size());
  transport_->flushSoon();
  if (upgraded) {
    state_ = State::Tunnel;
    scheduleProcess();
    return;
  }
  if (end_stream) onResponseComplete();
}

void Http1ServerConnection::encodeData(Buffer& data, bool end_stream) {
  if (closing_) return;
  evbuffer* out = transport_->output();
  if (state_ == State::Tunnel) {
    evbuffer_add_buffer(out, data.raw());
    transport_->flushSoon();
    if (end_stream) {
      finishStream();
      closeAfterFlush();
      return;
    }
  } else if (head_request_) {
    data.drain(data.length());
  } else if (response_chunked_) {
    http1::encodeChunk(out, data.raw(), end_stream);
  } else {
    evbuffer_add_buffer(out, data.raw());
  }
  transport_->flushSoon();
  if (end_stream) {
    onResponseComplete();
    return;
  }
  if (!write_above_ && evbuffer_get_length(out) > kHighWatermark) {
    write_above_ = true;
    if (stream_ != nullptr) stream_->onDownstreamWatermark(true);
  }
}

void Http1ServerConnection::encodeTrailers(HeaderMap& trailers) {
  if (closing_) return;
  if (response_chunked_ && !head_request_) {
    std::string last = "0\r\n";
    http1::appendFields(last, trailers);
    last += "\r\n";
    evbuffer_add(transport_->output(), last.data(), last.size());
    transport_->flushSoon();
  }
  // A body delimited by Content-Length or the close has no place for trailers: it just ends.
  onResponseComplete();
}

void Http1ServerConnection::onWriteDrained() {
  if (closing_) {
    if (evbuffer_get_length(transport_->output()) == 0 && peer_closed_) {
      closeNow();
    } else if (evbuffer_get_length(transport_->output()) == 0) {
      // Everything is written (and FIN sent): linger briefly for the client's own close.
      evtimer_add(headerTimer(), &kLingerTime);
    }
    return;
  }
  if (write_above_) {
    write_above_ = false;
    if (stream_ != nullptr) stream_->onDownstreamWatermark(false);
  }
  if (state_ == State::Head && evbuffer_get_length(transport_->input()) > 0) {
    scheduleProcess();  // pipelined requests held while the output was full
  }
}

void Http1ServerConnection::onTransportClosed(bool error) {
  if (error) {
    closeNow();
    return;
  }
  // A clean FIN: the client sends nothing more but may still read. Answer what it already sent
  // (pipelined requests included), then close.
  peer_closed_ = true;
  if (closing_) {
    if (evbuffer_get_length(transport_->output()) == 0) closeNow();
    return;
  }
  const bool input_left = evbuffer_get_length(transport_->input()) > 0;
  switch (state_) {
    case State::Head:
      if (stream_ == nullptr && !input_left) closeAfterFlush();  // a response may be in flight
      if (stream_ == nullptr && input_left) scheduleProcess();
      return;
    case State::Body:
      // Without buffered bytes (held back by backpressure) the body can never complete.
      if (!input_left) closeAfterFlush();
      return;
    case State::Tunnel:
      finishStream();
      closeAfterFlush();
      return;
    case State::AwaitResponse:
    case State::Closing:
      return;
  }
}

void Http1ServerConnection::onHeaderTimeout(evutil_socket_t, short, void* self) {
  auto* conn = static_cast<Http1ServerConnection*>(self);
  if (conn->closing_) {
    conn->closeNow();  // the linger time is over
    return;
  }
  if (conn->state_ == State::Head) conn->rejectRequest(408, "request header timeout");
}

void Http1ServerConnection::onIdleTimeout(void* self) {
  auto* conn = static_cast<Http1ServerConnection*>(self);
  if (conn->state_ == State::Body && conn->stream_ != nullptr && !conn->closing_) {
    // No request body progress for idle_timeout: a stalled client (408), or an upstream that
    // stopped reading the body (504).
    conn->close_after_response_ = true;
    if (conn->read_disabled_) {
      conn->stream_->sendLocalReply(504, "upstream stopped reading the request body\n",
                                    "upstream_body_stalled");
    } else {
      conn->stream_->sendLocalReply(408, "request body timeout\n", "request_body_timeout");
    }
    if (!conn->closing_) conn->closeNow();
    return;
  }
  if (conn->closing_ || (conn->state_ == State::Head && conn->stream_ == nullptr &&
                         evbuffer_get_length(conn->transport_->input()) == 0)) {
    conn->closeNow();
  }
}

void Http1ServerConnection::rejectRequest(int status, const std::string& reason) {
  LOG_DEBUG("listener %s: %s: %d %s", listener_->name.c_str(), peer_.c_str(), status,
            reason.c_str());
  const std::string body = reason + "\n";
  std::string response =
      "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) +
      "\r\ncontent-type: text/plain\r\ncontent-length: " + std::to_string(body.size()) +
      "\r\nconnection: close\r\n\r\n" + body;
  evbuffer_add(transport_->output(), response.data(), response.size());
  transport_->flushSoon();
  worker_.stats().recordDownstream(listener_->name, status, 0);
  closeAfterFlush();
}

void Http1ServerConnection::finishStream() {
  if (stream_ == nullptr) return;
  stream_->onDownstreamGone();  // no-op for a completed exchange
  worker_.deferDelete(std::move(stream_));
}

void Http1ServerConnection::onResponseComplete() {
  finishStream();
  if (close_after_response_ || response_until_close_ || state_ == State::Body) {
    closeAfterFlush();
    return;
  }
  state_ = State::Head;
  if (read_disabled_) readDisable(false);
  if (evbuffer_get_length(transport_->input()) > 0) {
    scheduleProcess();  // a pipelined request is waiting
  } else if (peer_closed_ || (worker_.draining() && !requestWaiting())) {
    // Every request the client sent is answered (a response that began before the drain did
    // not say so; the listener is closed now).
    closeAfterFlush();
  } else {
    armIdle();
  }
}

void Http1ServerConnection::readDisable(bool disable) {
  if (closing_ || read_disabled_ == disable) return;
  read_disabled_ = disable;
  transport_->enableRead(!disable);
  if (!disable) scheduleProcess();
}

void Http1ServerConnection::resetStream() {
  // What was already produced still goes out: a body cut short (or a chunked one without its
  // last chunk) followed by the close is how an HTTP/1 client learns the response failed.
  finishStream();
  closeAfterFlush();
}

void Http1ServerConnection::closeAfterFlush() {
  if (closing_) return;
  closing_ = true;
  state_ = State::Closing;
  finishStream();
  stopHeaderTimer();
  // Half-close once the output is written, and drop what the client still sends meanwhile;
  // the idle timeout bounds a client that never reads its response.
  transport_->setWriteLowWatermark(0);
  transport_->shutdownWrite();
  armIdle();
  if (peer_closed_) {
    if (evbuffer_get_length(transport_->output()) == 0) closeNow();
    return;
  }
  transport_->enableRead(true);
  if (evbuffer_get_length(transport_->output()) == 0) evtimer_add(headerTimer(), &kLingerTime);
}

void Http1ServerConnection::closeWhenIdle() {
  // A connection in the middle of an exchange, or whose next request has arrived, is answered
  // first: encodeHeaders and onResponseComplete close it after its last response.
  if (state_ == State::Head && stream_ == nullptr && !requestWaiting()) closeAfterFlush();
}

bool Http1ServerConnection::requestWaiting() const {
  if (evbuffer_get_length(transport_->input()) > 0) return true;
  int unread = 0;
  return ioctl(transport_->fd(), FIONREAD, &unread) == 0 && unread > 0;
}

void Http1ServerConnection::closeNow() {
  if (removed_) return;
  removed_ = true;
  finishStream();
  closing_ = true;
  state_ = State::Closing;
  stopHeaderTimer();
  idle_timer_.disarm();
  transport_->silence();
  worker_.onConnectionClosed(this);
}

}  // namespace remora
