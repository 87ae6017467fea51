// HTTP/1.1 client side: writes requests, parses and streams responses, keep-alive and upgrades.
#include "proxy/http1_client_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cstring>

#include "proxy/http1_encode.h"
#include "proxy/log.h"
#include "proxy/upstream_connect.h"

namespace remora {

const char* upstreamFailureName(UpstreamFailure failure) {
  switch (failure) {
    case UpstreamFailure::ConnectFailure:
      return "upstream_connect_failure";
    case UpstreamFailure::ConnectTimeout:
      return "upstream_connect_timeout";
    case UpstreamFailure::Reset:
      return "upstream_reset";
    case UpstreamFailure::ProtocolError:
      return "upstream_protocol_error";
    case UpstreamFailure::Refused:
      return "upstream_refused_stream";
  }
  return "upstream_failure";
}

Http1ClientConnection::Http1ClientConnection(Worker& worker, const EndpointInfo& endpoint,
                                             const config::Cluster& cluster,
                                             const TlsClientContext* tls, std::string key,
                                             Http1ConnectionOwner& owner)
    : key_(std::move(key)),
      peer_(endpoint.key),
      idle_timeout_(cluster.idle_timeout),
      timer_(worker.base(), &onTimer, this),
      owner_(&owner) {
  limits_.max_head_bytes = cluster.max_response_headers_bytes;
  transport_ = std::make_unique<Transport>(worker.base(), *this);
  transport_->setWriteLowWatermark(kLowWatermark);
  transport_->setReadLimit(std::max(kHighWatermark, limits_.max_head_bytes + 1));
  timer_.arm(cluster.connect_timeout);
  const bool started = connectToEndpoint(*transport_, endpoint, cluster, tls);
  if (!started || transport_->connected()) {
    // Reported from the loop, not from inside the pool that is making it.
    closed_ = !started;
    connected_ = started;
    timer_.arm(config::Duration(0));
  }
}

Http1ClientConnection::~Http1ClientConnection() = default;

void Http1ClientConnection::startRequest(UpstreamCallbacks& callbacks,
                                         const RequestHeaders& request, bool end_stream,
                                         bool upgrade) {
  const bool has_length = !end_stream && request.headers.has("content-length");
  callbacks_ = &callbacks;
  idle_ = false;
  timer_.disarm();
  ++requests_;
  method_ = request.method;
  upgrade_ = upgrade;
  request_chunked_ = !end_stream && !has_length;
  request_complete_ = end_stream;
  state_ = ResponseState::Head;
  keep_alive_ = true;
  response_started_ = false;
  chunked_ = http1::ChunkedDecoder();

  // One scratch string per worker thread: serializing a head allocates nothing once warm.
  thread_local std::string head;
  head.clear();
  head += request.method;
  head += ' ';
  head += request.path;
  head += " HTTP/1.1\r\nhost: ";
  head += request.authority;
  head += "\r\n";
  // `te: trailers` is kept for HTTP/2 upstreams (gRPC); on HTTP/1.1 it is hop-by-hop.
  http1::appendFields(head, request.headers, "te");
  if (request_chunked_) head += "transfer-encoding: chunked\r\n";
  if (upgrade) head += "connection: upgrade\r\n";
  head += "\r\n";
  evbuffer_add(transport_->output(), head.data(), head.size());
  transport_->flushSoon();
  if (!read_disabled_) transport_->enableRead(true);
  if (closed_) return;  // the failure is already scheduled
  // A response may already be buffered (an upstream that answers before reading everything).
  if (evbuffer_get_length(transport_->input()) > 0) processInput();
}

void Http1ClientConnection::sendData(Buffer& data, bool end_stream) {
  evbuffer* out = transport_->output();
  if (request_chunked_ && state_ != ResponseState::Tunnel) {
    http1::encodeChunk(out, data.raw(), end_stream);
  } else {
    evbuffer_add_buffer(out, data.raw());
  }
  transport_->flushSoon();
  if (end_stream) request_complete_ = true;
  if (!write_above_ && evbuffer_get_length(out) > kHighWatermark) {
    write_above_ = true;
    if (callbacks_ != nullptr) callbacks_->onUpstreamWriteWatermark(true);
  }
}

void Http1ClientConnection::sendTrailers(HeaderMap& trailers) {
  evbuffer* out = transport_->output();
  request_complete_ = true;
  if (!request_chunked_ || state_ == ResponseState::Tunnel) return;
  std::string last = "0\r\n";
  http1::appendFields(last, trailers);
  last += "\r\n";
  evbuffer_add(out, last.data(), last.size());
  transport_->flushSoon();
}

void Http1ClientConnection::readDisable(bool disable) {
  read_disabled_ = disable;
  if (closed_) return;
  transport_->enableRead(!disable);
  if (!disable) {
    if (evbuffer_get_length(transport_->input()) > 0) processInput();
  }
}

bool Http1ClientConnection::reusable() const {
  return !closed_ && keep_alive_ && state_ == ResponseState::Done && request_complete_ &&
         evbuffer_get_length(transport_->input()) == 0;
}

void Http1ClientConnection::abandon() {
  owner_ = nullptr;
  callbacks_ = nullptr;
  timer_.disarm();
  // Closed here, before the pool frees its place under the connection limits and perhaps opens
  // the next one; the object itself goes at the end of the callback.
  closed_ = true;
  transport_->closeNow();
}

void Http1ClientConnection::setIdle() {
  idle_ = true;
  callbacks_ = nullptr;
  read_disabled_ = false;
  transport_->enableRead(true);
  timer_.arm(idle_timeout_);
}

void Http1ClientConnection::onWriteDrained() {
  if (write_above_) {
    write_above_ = false;
    if (callbacks_ != nullptr) callbacks_->onUpstreamWriteWatermark(false);
  }
}

void Http1ClientConnection::onConnected() {
  connected_ = true;
  timer_.disarm();
  reportConnect();
}

void Http1ClientConnection::reportConnect() {
  if (connect_reported_) return;
  connect_reported_ = true;
  if (owner_ != nullptr) owner_->onConnected(this);
}

void Http1ClientConnection::onTransportClosed(bool error) {
  if (!connected_ && !transport_->tlsError().empty()) {
    LOG_WARN("upstream %s: %s", peer_.c_str(), transport_->tlsError().c_str());
  }
  // A clean close ends a tunnel or a body delimited by the close; anything else is a failure,
  // so a reset never passes for a complete response.
  processInput();
  if (closed_) return;
  closed_ = true;
  transport_->enableRead(false);
  if (!error && (state_ == ResponseState::Tunnel ||
                 (state_ == ResponseState::Body && framing_.kind == http1::BodyKind::UntilClose))) {
    Buffer empty;
    keep_alive_ = false;
    finishResponse(empty);
    return;
  }
  fail(connected_ ? UpstreamFailure::Reset : UpstreamFailure::ConnectFailure);
}

void Http1ClientConnection::onTimer(void* self) {
  auto* conn = static_cast<Http1ClientConnection*>(self);
  if (conn->closed_ && !conn->connect_reported_) {
    conn->fail(UpstreamFailure::ConnectFailure);  // the connect failed at once
  } else if (conn->connected_ && !conn->connect_reported_) {
    conn->reportConnect();  // it connected at once
  } else if (!conn->connected_) {
    conn->closed_ = true;
    conn->fail(UpstreamFailure::ConnectTimeout);
  } else {
    conn->closed_ = true;  // the idle timeout
    conn->fail(UpstreamFailure::Reset);
  }
}

void Http1ClientConnection::fail(UpstreamFailure failure) {
  closed_ = true;
  keep_alive_ = false;
  if (!connect_reported_) {
    // Never connected: the pool hears of it (no stream has it yet).
    connect_reported_ = true;
    if (owner_ != nullptr) owner_->onConnectFailure(this, failure);
    return;
  }
  if (idle_) {
    idle_ = false;
    if (owner_ != nullptr) owner_->onIdleConnectionClosed(this);
    return;
  }
  if (callbacks_ != nullptr && state_ != ResponseState::Done) {
    UpstreamCallbacks* callbacks = callbacks_;
    callbacks_ = nullptr;
    callbacks->onUpstreamFailure(failure, response_started_);
  }
}

void Http1ClientConnection::processInput() {
  while (!read_disabled_ && callbacks_ != nullptr) {
    evbuffer* in = transport_->input();
    if (evbuffer_get_length(in) == 0) return;
    if (state_ == ResponseState::Head) {
      if (!parseHead()) return;
    } else if (state_ == ResponseState::Body || state_ == ResponseState::Tunnel) {
      processBody();
      return;
    } else {
      // Bytes after a complete response: the upstream is not speaking HTTP/1 correctly.
      keep_alive_ = false;
      return;
    }
  }
  if (callbacks_ == nullptr && idle_ && evbuffer_get_length(transport_->input()) > 0) {
    // An idle connection must not send anything; it cannot be reused.
    fail(UpstreamFailure::ProtocolError);
  }
}

bool Http1ClientConnection::parseHead() {
  evbuffer* in = transport_->input();
  const size_t available = evbuffer_get_length(in);
  const size_t look = std::min(available, limits_.max_head_bytes + 1);
  const char* data = reinterpret_cast<const char*>(evbuffer_pullup(in, static_cast<ssize_t>(look)));
  http1::ResponseHead head;
  http1::HeadResult result = http1::parseResponseHead(std::string_view(data, look), limits_, head);
  if (result.status == http1::HeadStatus::NeedMore) return false;
  if (result.status == http1::HeadStatus::Error) {
    LOG_DEBUG("upstream %s: bad response head: %s", key_.c_str(), result.error.reason.c_str());
    fail(UpstreamFailure::ProtocolError);
    return false;
  }
  evbuffer_drain(in, result.consumed);
  if (head.status >= 100 && head.status < 200 && !(head.status == 101 && upgrade_)) {
    return true;  // interim responses are not forwarded; the final one follows
  }
  http1::ParseError error;
  if (!http1::responseBodyFraming(head, method_, framing_, error)) {
    fail(UpstreamFailure::ProtocolError);
    return false;
  }
  keep_alive_ = head.minor_version >= 1 ? !head.headers.hasToken("connection", "close")
                                        : head.headers.hasToken("connection", "keep-alive");
  ResponseHeaders response;
  response.status = head.status;
  response.headers = std::move(head.headers);
  response_started_ = true;
  if (head.status == 101) {
    state_ = ResponseState::Tunnel;
    keep_alive_ = false;
    callbacks_->onUpstreamHeaders(response, false);
    return true;
  }
  if (framing_.kind == http1::BodyKind::None ||
      (framing_.kind == http1::BodyKind::ContentLength && framing_.length == 0)) {
    state_ = ResponseState::Done;
    UpstreamCallbacks* callbacks = callbacks_;
    callbacks->onUpstreamHeaders(response, true);
    return false;
  }
  if (framing_.kind == http1::BodyKind::UntilClose) keep_alive_ = false;
  remaining_ = framing_.length;
  state_ = ResponseState::Body;
  callbacks_->onUpstreamHeaders(response, false);
  return true;
}

void Http1ClientConnection::processBody() {
  evbuffer* in = transport_->input();
  // One buffer for the connection's life, not a new evbuffer per read. Whatever a callback left
  // in it belonged to an earlier delivery and is dropped, as a local buffer would have been.
  Buffer& data = body_;
  data.drain(data.length());
  if (state_ == ResponseState::Tunnel || framing_.kind == http1::BodyKind::UntilClose) {
    evbuffer_add_buffer(data.raw(), in);
    callbacks_->onUpstreamData(data, false);
    return;
  }
  if (framing_.kind == http1::BodyKind::ContentLength) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, evbuffer_get_length(in)));
    evbuffer_remove_buffer(in, data.raw(), n);
    remaining_ -= n;
    if (remaining_ == 0) {
      finishResponse(data);
    } else {
      callbacks_->onUpstreamData(data, false);
    }
    return;
  }
  // Chunked: strip the framing, pass the payload on.
  while (evbuffer_get_length(in) > 0) {
    evbuffer_iovec vec;
    if (evbuffer_peek(in, -1, nullptr, &vec, 1) < 1) break;
    http1::ChunkedDecoder::Step step =
        chunked_.feed(static_cast<const char*>(vec.iov_base), vec.iov_len);
    if (step.error) {
      fail(UpstreamFailure::ProtocolError);
      return;
    }
    evbuffer_drain(in, step.framing);
    if (step.data > 0) evbuffer_remove_buffer(in, data.raw(), step.data);
    if (step.done) {
      finishResponse(data);
      return;
    }
    if (step.framing == 0 && step.data == 0) break;
  }
  if (!data.empty()) callbacks_->onUpstreamData(data, false);
}

void Http1ClientConnection::finishResponse(Buffer& data) {
  state_ = ResponseState::Done;
  if (callbacks_ != nullptr) {
    UpstreamCallbacks* callbacks = callbacks_;
    callbacks->onUpstreamData(data, true);
  }
}

}  // namespace remora
