// HTTP/2 client side: the nghttp2 session to one upstream endpoint, frame I/O, failure, idling.
#include "proxy/http2_client_connection.h"

#include <algorithm>
#include <vector>

#include "proxy/event_time.h"
#include "proxy/http2_client_stream.h"
#include "proxy/http2_outbound.h"
#include "proxy/log.h"
#include "proxy/size_class_memory.h"
#include "proxy/upstream_connect.h"

namespace remora {

namespace {

// What remora lets an upstream send ahead on one stream, and on the connection, before the
// client side has taken it.
constexpr int32_t kStreamWindow = 256 * 1024;
constexpr int32_t kConnectionWindow = 1024 * 1024;
// Beyond the upstream's own SETTINGS limit, a connection takes at most this many streams.
constexpr uint32_t kMaxStreamsPerConnection = 1000;
// Until the upstream's SETTINGS arrive its limit is unknown: a burst is spread over a few new
// connections rather than piled on one that may refuse most of it.
constexpr uint32_t kStreamsBeforeSettings = 16;

nghttp2_session_callbacks* makeCallbacks(nghttp2_send_callback send,
                                         nghttp2_send_data_callback send_data,
                                         nghttp2_on_header_callback header,
                                         nghttp2_on_frame_recv_callback frame_received,
                                         nghttp2_on_data_chunk_recv_callback data_chunk,
                                         nghttp2_on_stream_close_callback close) {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_send_callback(callbacks, send);
  nghttp2_session_callbacks_set_send_data_callback(callbacks, send_data);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, frame_received);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, close);
  return callbacks;
}

}  // namespace

Http2ClientConnection::Http2ClientConnection(Worker& worker, const EndpointInfo& endpoint,
                                             const config::Cluster& cluster,
                                             const TlsClientContext* tls, std::string key,
                                             Http2ConnectionOwner& owner)
    : key_(std::move(key)),
      peer_(endpoint.key),
      scheme_(cluster.tls ? "https" : "http"),
      idle_timeout_(cluster.idle_timeout),
      max_response_headers_bytes_(cluster.max_response_headers_bytes),
      owner_(owner) {
  transport_ = std::make_unique<Transport>(worker.base(), *this);
  transport_->setWriteLowWatermark(kLowWatermark);
  event_assign(&send_event_, worker.base(), -1, 0, &Http2ClientConnection::onSendEvent, this);
  evtimer_assign(&timer_, worker.base(), &Http2ClientConnection::onTimer, this);

  static nghttp2_session_callbacks* const callbacks = makeCallbacks(
      &onSend, &onSendData, &onHeader, &onFrameReceived, &onDataChunk, &onStreamClose);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  // Stream windows open as the client takes the response, not as soon as bytes arrive; the
  // connection window opens on arrival, so one slow client never stalls the others' streams.
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_peer_max_concurrent_streams(option, kStreamsBeforeSettings);
  nghttp2_session_client_new3(&session_, callbacks, this, option, recycledNghttp2Memory());
  nghttp2_option_del(option);
  const nghttp2_settings_entry entries[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
      // Advisory: a larger response head fails the try (Http2ClientStream::addHeader).
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<uint32_t>(std::min<uint64_t>(max_response_headers_bytes_, UINT32_MAX))},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries, std::size(entries));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);

  const timeval timeout = toTimeval(cluster.connect_timeout);
  evtimer_add(&timer_, &timeout);
  const bool started = connectToEndpoint(*transport_, endpoint, cluster, tls);
  if (!started) {
    // Reported from the loop, not from inside the caller's startRequest.
    going_away_ = true;
    const timeval now{0, 0};
    evtimer_add(&timer_, &now);
    return;
  }
  if (transport_->connected()) {
    // Reported from the loop, not from inside the pool that is making it.
    const timeval now{0, 0};
    evtimer_add(&timer_, &now);
  }
  scheduleSend();  // the preface and SETTINGS go out once connected
}

Http2ClientConnection::~Http2ClientConnection() {
  event_del(&send_event_);
  evtimer_del(&timer_);
  // Streams still running learn that the connection is gone (and stop pointing at it).
  std::vector<Http2ClientStream*> streams;
  for (auto& [id, stream] : active_) streams.push_back(stream);
  active_.clear();
  for (Http2ClientStream* stream : streams) stream->onConnectionFailed(UpstreamFailure::Reset);
  nghttp2_session_del(session_);
}

bool Http2ClientConnection::canTakeStream() const {
  if (going_away_ || closed_) return false;
  const uint32_t limit = std::min(
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS),
      kMaxStreamsPerConnection);
  // Stream ids run out at 2^31: a connection near the end takes no more (ids are odd, 2 apart).
  constexpr uint32_t kLastStreamIds = 1000;
  if (nghttp2_session_get_next_stream_id(session_) > (uint32_t{1} << 31) - kLastStreamIds) {
    return false;
  }
  return active_.size() < limit;
}

std::unique_ptr<Http2ClientStream> Http2ClientConnection::newStream() {
  // No longer idle; while connecting, the connect timeout keeps running.
  if (connected_) evtimer_del(&timer_);
  return std::make_unique<Http2ClientStream>(*this);
}

void Http2ClientConnection::registerStream(int32_t id, Http2ClientStream* stream) {
  active_.emplace(id, stream);
  ++streams_carried_;
}

void Http2ClientConnection::forgetStream(Http2ClientStream* stream) {
  for (auto it = active_.begin(); it != active_.end(); ++it) {
    if (it->second == stream) {
      active_.erase(it);
      maybeIdle();
      if (!closed_) owner_.onHttp2StreamEnded(this);
      return;
    }
  }
}

Http2ClientStream* Http2ClientConnection::findStream(int32_t id) {
  auto it = active_.find(id);
  return it == active_.end() ? nullptr : it->second;
}

void Http2ClientConnection::maybeIdle() {
  if (!active_.empty() || closed_) return;
  if (going_away_) {
    close();
    return;
  }
  if (connected_ && idle_timeout_.count() > 0) {
    const timeval timeout = toTimeval(idle_timeout_);
    evtimer_add(&timer_, &timeout);
  }
}

void Http2ClientConnection::scheduleSend() {
  if (send_scheduled_ || closed_) return;
  send_scheduled_ = true;
  event_active(&send_event_, 0, 0);
}

void Http2ClientConnection::onSendEvent(evutil_socket_t, short, void* self) {
  auto* connection = static_cast<Http2ClientConnection*>(self);
  connection->send_scheduled_ = false;
  connection->send();
}

void Http2ClientConnection::send() {
  if (closed_) return;
  const int rv = nghttp2_session_send(session_);
  transport_->flushSoon();  // what the session wrote, if anything
  if (rv != 0) {
    LOG_DEBUG("upstream %s: HTTP/2 send: %s", peer_.c_str(), nghttp2_strerror(rv));
    fail(UpstreamFailure::Reset);
  }
}

void Http2ClientConnection::onConnected() {
  if (connected_) return;
  if (transport_->tls() && transport_->negotiatedProtocol() != "h2") {
    LOG_WARN("upstream %s: did not agree to HTTP/2 by ALPN (cluster protocol: http2)",
             peer_.c_str());
    fail(UpstreamFailure::ConnectFailure);
    return;
  }
  connected_ = true;
  evtimer_del(&timer_);
  maybeIdle();
  scheduleSend();
  owner_.onHttp2Connected(this);
}

void Http2ClientConnection::onReadable() { receive(); }

void Http2ClientConnection::receive() {
  evbuffer* in = transport_->input();
  while (evbuffer_get_length(in) > 0 && !closed_) {
    evbuffer_iovec chunk;
    if (evbuffer_peek(in, -1, nullptr, &chunk, 1) < 1) break;
    const ssize_t used = nghttp2_session_mem_recv(
        session_, static_cast<const uint8_t*>(chunk.iov_base), chunk.iov_len);
    if (used < 0) {
      LOG_DEBUG("upstream %s: HTTP/2: %s", peer_.c_str(), nghttp2_strerror(static_cast<int>(used)));
      fail(UpstreamFailure::ProtocolError);
      return;
    }
    evbuffer_drain(in, static_cast<size_t>(used));
  }
  scheduleSend();
}

void Http2ClientConnection::onWriteDrained() { scheduleSend(); }

void Http2ClientConnection::onTransportClosed(bool error) {
  if (!connected_ && !transport_->tlsError().empty()) {
    LOG_WARN("upstream %s: %s", peer_.c_str(), transport_->tlsError().c_str());
  }
  if (!connected_) {
    fail(UpstreamFailure::ConnectFailure);
    return;
  }
  // Whatever arrived before the close still counts (a last response, a GOAWAY).
  if (evbuffer_get_length(transport_->input()) > 0) receive();
  (void)error;
  fail(UpstreamFailure::Reset);
}

void Http2ClientConnection::onTimer(evutil_socket_t, short, void* self) {
  auto* connection = static_cast<Http2ClientConnection*>(self);
  if (!connection->connected_ && !connection->closed_ && connection->transport_->connected()) {
    connection->onConnected();  // it connected at once
  } else if (connection->going_away_ && !connection->connected_) {
    connection->fail(UpstreamFailure::ConnectFailure);  // the connect failed at once
  } else if (!connection->connected_) {
    connection->fail(UpstreamFailure::ConnectTimeout);
  } else if (connection->active_.empty()) {
    connection->close();  // idle
  }
}

void Http2ClientConnection::fail(UpstreamFailure failure) {
  if (closed_) return;
  closed_ = true;
  going_away_ = true;
  event_del(&send_event_);
  evtimer_del(&timer_);
  transport_->silence();
  std::vector<Http2ClientStream*> streams;
  for (auto& [id, stream] : active_) streams.push_back(stream);
  active_.clear();
  for (Http2ClientStream* stream : streams) stream->onConnectionFailed(failure);
  if (!connected_) {
    owner_.onHttp2ConnectFailure(this, failure);
    return;
  }
  owner_.onHttp2ConnectionClosed(this);
}

void Http2ClientConnection::close() { fail(UpstreamFailure::Reset); }

void Http2ClientConnection::closeWhenIdle() {
  going_away_ = true;
  maybeIdle();
}

// --- nghttp2 callbacks ---

ssize_t Http2ClientConnection::onSend(nghttp2_session*, const uint8_t* data, size_t length, int,
                                      void* self) {
  return http2QueueFrame(static_cast<Http2ClientConnection*>(self)->transport_->output(), data,
                         length);
}

int Http2ClientConnection::onSendData(nghttp2_session*, nghttp2_frame* frame, const uint8_t* header,
                                      size_t length, nghttp2_data_source*, void* self) {
  auto* connection = static_cast<Http2ClientConnection*>(self);
  evbuffer* out = connection->transport_->output();
  if (http2OutputFull(out)) return NGHTTP2_ERR_WOULDBLOCK;
  Http2ClientStream* stream = connection->findStream(frame->hd.stream_id);
  if (stream == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  evbuffer_add(out, header, 9);
  stream->takeRequestBody(out, length);
  return 0;
}

int Http2ClientConnection::onHeader(nghttp2_session*, const nghttp2_frame* frame,
                                    const uint8_t* name, size_t name_length, const uint8_t* value,
                                    size_t value_length, uint8_t, void* self) {
  auto* connection = static_cast<Http2ClientConnection*>(self);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  if (Http2ClientStream* stream = connection->findStream(frame->hd.stream_id)) {
    stream->addHeader({reinterpret_cast<const char*>(name), name_length},
                      {reinterpret_cast<const char*>(value), value_length});
  }
  return 0;
}

int Http2ClientConnection::onFrameReceived(nghttp2_session*, const nghttp2_frame* frame,
                                           void* self) {
  auto* connection = static_cast<Http2ClientConnection*>(self);
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
      if (Http2ClientStream* stream = connection->findStream(frame->hd.stream_id)) {
        stream->onHeaders(end_stream);
      }
      return 0;
    case NGHTTP2_DATA:
      if (Http2ClientStream* stream = connection->findStream(frame->hd.stream_id)) {
        stream->onDataFrame(end_stream);
      }
      return 0;
    case NGHTTP2_GOAWAY:
      // Streams above the last one it will process are closed by nghttp2 (REFUSED_STREAM);
      // the others finish, and no new one starts here.
      connection->going_away_ = true;
      connection->maybeIdle();
      return 0;
    default:
      return 0;
  }
}

int Http2ClientConnection::onDataChunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data,
                                       size_t length, void* self) {
  auto* connection = static_cast<Http2ClientConnection*>(self);
  nghttp2_session_consume_connection(connection->session_, length);
  if (Http2ClientStream* stream = connection->findStream(id)) stream->addData(data, length);
  return 0;
}

int Http2ClientConnection::onStreamClose(nghttp2_session*, int32_t id, uint32_t error_code,
                                         void* self) {
  auto* connection = static_cast<Http2ClientConnection*>(self);
  auto it = connection->active_.find(id);
  if (it == connection->active_.end()) return 0;
  Http2ClientStream* stream = it->second;
  connection->active_.erase(it);
  stream->onClose(error_code);
  connection->maybeIdle();
  if (!connection->closed_) connection->owner_.onHttp2StreamEnded(connection);
  return 0;
}

}  // namespace remora
