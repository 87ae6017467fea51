// HTTP/2 server side: the nghttp2 session, its settings and abuse limits, frame I/O, drain.
#include "proxy/http2_server_connection.h"

#include <algorithm>

#include "proxy/event_time.h"
#include "proxy/http2_outbound.h"
#include "proxy/log.h"
#include "proxy/size_class_memory.h"

namespace remora {

namespace {

constexpr timeval kLingerTime = {2, 0};
// A client may cancel streams (browsers do), but not most of what it opens once it has opened
// this many: past that it is made to go away (the rapid-reset attack).
constexpr uint64_t kPrematureResetFloor = 100;
// nghttp2's own flood limits: RST_STREAM rate (burst, per second), SETTINGS entries per frame,
// queued PING/SETTINGS acknowledgements, CONTINUATION frames per header block.
constexpr uint64_t kResetBurst = 1000;
constexpr uint64_t kResetRate = 100;
constexpr size_t kMaxSettingsEntries = 32;
constexpr size_t kMaxOutboundAck = 1000;
constexpr size_t kMaxContinuations = 8;
// Drain: the final GOAWAY follows the shutdown notice after the client acknowledged the PING
// sent with it, or after this long without the acknowledgement.
constexpr timeval kFinalGoawayAfter = {1, 0};
constexpr uint8_t kDrainPing[8] = {'r', 'e', 'm', 'o', 'r', 'a', 'd', 'n'};
constexpr int32_t kMaxStreamId = 0x7fffffff;  // a GOAWAY naming it is a shutdown notice

nghttp2_session_callbacks* makeCallbacks(
    nghttp2_send_callback send, nghttp2_send_data_callback send_data,
    nghttp2_on_begin_frame_callback begin_frame, nghttp2_on_begin_headers_callback begin_headers,
    nghttp2_on_header_callback header, nghttp2_on_frame_recv_callback frame_received,
    nghttp2_on_data_chunk_recv_callback data_chunk, nghttp2_on_frame_send_callback frame_sent,
    nghttp2_on_stream_close_callback stream_close) {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_send_callback(callbacks, send);
  nghttp2_session_callbacks_set_send_data_callback(callbacks, send_data);
  nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, begin_frame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, frame_received);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, data_chunk);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, frame_sent);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, stream_close);
  return callbacks;
}

}  // namespace

Http2ServerConnection::Http2ServerConnection(Worker& worker, std::unique_ptr<Transport> transport,
                                             std::shared_ptr<ListenerShared> listener,
                                             std::string peer)
    : worker_(worker),
      transport_(std::move(transport)),
      listener_(std::move(listener)),
      peer_(std::move(peer)) {
  if (const Snapshot* snapshot = worker.snapshot().get()) {
    if (const ListenerInfo* info = snapshot->findListener(listener_->name)) {
      settings_ = *info->config;
    }
  }
  transport_->setCallbacks(*this);
  transport_->setWriteLowWatermark(kLowWatermark);
  event_assign(&send_event_, worker.base(), -1, 0, &Http2ServerConnection::onSendEvent, this);
  evtimer_assign(&timer_, worker.base(), &Http2ServerConnection::onTimer, this);
  evtimer_assign(&final_goaway_timer_, worker.base(), &Http2ServerConnection::onFinalGoawayTimer,
                 this);
  createSession();
  armIdle();
  // The preface (and maybe more) was read while the protocol was being detected.
  if (evbuffer_get_length(transport_->input()) > 0) receive();
  // A connection that came during the drain delay is told at once.
  if (worker_.drainNoticed()) onDrainNotice();
  scheduleSend();
}

Http2ServerConnection::~Http2ServerConnection() {
  event_del(&send_event_);
  evtimer_del(&timer_);
  evtimer_del(&final_goaway_timer_);
  for (auto& [id, stream] : streams_) stream->onClose(NGHTTP2_CANCEL);
  streams_.clear();
  nghttp2_session_del(session_);
  listener_->connections.fetch_sub(1, std::memory_order_relaxed);
}

void Http2ServerConnection::createSession() {
  static nghttp2_session_callbacks* const callbacks =
      makeCallbacks(&onSend, &onSendData, &onBeginFrame, &onBeginHeaders, &onHeader,
                    &onFrameReceived, &onDataChunk, &onFrameSent, &onStreamClose);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  // Stream windows open as the upstream takes the body, not as soon as bytes arrive; the
  // connection window opens on arrival, so one stalled upstream never stalls the other streams.
  // (What a connection may hold is then max_concurrent_streams stream windows.)
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_max_settings(option, kMaxSettingsEntries);
  nghttp2_option_set_max_outbound_ack(option, kMaxOutboundAck);
  nghttp2_option_set_stream_reset_rate_limit(option, kResetBurst, kResetRate);
  nghttp2_option_set_max_continuations(option, kMaxContinuations);
  nghttp2_session_server_new3(&session_, callbacks, this, option, recycledNghttp2Memory());
  nghttp2_option_del(option);

  const config::Http2Settings& h2 = settings_.http2;
  const nghttp2_settings_entry entries[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, h2.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, h2.initial_stream_window_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<uint32_t>(std::min<uint64_t>(settings_.max_request_headers_bytes, UINT32_MAX))},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries, std::size(entries));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(h2.initial_connection_window_size));
}

void Http2ServerConnection::onReadable() { receive(); }

void Http2ServerConnection::receive() {
  evbuffer* in = transport_->input();
  if (closing_) {
    // Lingering: what the client still sends is dropped.
    evbuffer_drain(in, evbuffer_get_length(in));
    return;
  }
  // A client that does not read what it provokes (PING, SETTINGS, responses) is not read
  // either, until it catches up.
  if (evbuffer_get_length(transport_->output()) > kHighWatermark) return;
  while (evbuffer_get_length(in) > 0 && !closed_) {
    evbuffer_iovec chunk;
    if (evbuffer_peek(in, -1, nullptr, &chunk, 1) < 1) break;
    const ssize_t used = nghttp2_session_mem_recv(
        session_, static_cast<const uint8_t*>(chunk.iov_base), chunk.iov_len);
    if (used < 0) {
      LOG_DEBUG("listener %s: %s: HTTP/2: %s", listener_->name.c_str(), peer_.c_str(),
                nghttp2_strerror(static_cast<int>(used)));
      // nghttp2 has queued the GOAWAY that says why, when the error is the client's.
      evbuffer_drain(in, evbuffer_get_length(in));
      going_away_ = true;
      send();
      closeAfterFlush();
      return;
    }
    evbuffer_drain(in, static_cast<size_t>(used));
  }
  scheduleSend();
}

void Http2ServerConnection::scheduleSend() {
  if (send_scheduled_ || closed_) return;
  send_scheduled_ = true;
  event_active(&send_event_, 0, 0);
}

void Http2ServerConnection::onSendEvent(evutil_socket_t, short, void* self) {
  auto* connection = static_cast<Http2ServerConnection*>(self);
  connection->send_scheduled_ = false;
  connection->send();
}

void Http2ServerConnection::send() {
  // Once closing, the streams are gone: nothing may pull their data any more.
  if (closed_ || closing_) return;
  const int rv = nghttp2_session_send(session_);
  transport_->flushSoon();  // what the session wrote, if anything
  if (rv != 0) {
    LOG_DEBUG("listener %s: %s: HTTP/2 send: %s", listener_->name.c_str(), peer_.c_str(),
              nghttp2_strerror(rv));
    closeNow();
    return;
  }
  if (!closing_ && !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
    closeAfterFlush();  // GOAWAY sent both ways, or every stream done after ours
  }
}

void Http2ServerConnection::onWriteDrained() {
  if (closing_) {
    if (evbuffer_get_length(transport_->output()) == 0) {
      // Everything is written (and FIN sent): linger briefly for the client's own close.
      evtimer_add(&timer_, &kLingerTime);
    }
    return;
  }
  scheduleSend();
  // Input held back while the output was full.
  if (evbuffer_get_length(transport_->input()) > 0) receive();
}

void Http2ServerConnection::onTransportClosed(bool) {
  // HTTP/2 has no half-close: a client waiting for responses keeps its side open, so a FIN
  // (or an error) ends every stream.
  closeNow();
}

void Http2ServerConnection::armIdle() {
  if (settings_.idle_timeout.count() == 0 || closing_) return;
  const timeval tv = toTimeval(settings_.idle_timeout);
  evtimer_add(&timer_, &tv);
}

void Http2ServerConnection::onTimer(evutil_socket_t, short, void* self) {
  auto* connection = static_cast<Http2ServerConnection*>(self);
  if (connection->closing_) {
    connection->closeNow();  // the linger time is over
    return;
  }
  if (connection->streams_.empty()) {
    connection->goAway(NGHTTP2_NO_ERROR);
    connection->send();
    connection->closeAfterFlush();
  }
}

void Http2ServerConnection::goAway(uint32_t error_code) {
  if (going_away_) return;
  going_away_ = true;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), error_code, nullptr, 0);
}

void Http2ServerConnection::closeWhenIdle() {
  if (closing_) return;
  goAway(NGHTTP2_NO_ERROR);
  if (streams_.empty()) {
    send();
    closeAfterFlush();
    return;
  }
  scheduleSend();
}

void Http2ServerConnection::onDrainNotice() {
  if (shutdown_noticed_ || going_away_ || closing_) return;
  shutdown_noticed_ = true;
  nghttp2_submit_shutdown_notice(session_);  // the PING follows it out (onFrameSent)
  evtimer_add(&final_goaway_timer_, &kFinalGoawayAfter);
  scheduleSend();
}

void Http2ServerConnection::onFinalGoawayTimer(evutil_socket_t, short, void* self) {
  static_cast<Http2ServerConnection*>(self)->closeWhenIdle();
}

void Http2ServerConnection::closeAfterFlush() {
  if (closing_ || closed_) return;
  closing_ = true;
  evtimer_del(&timer_);
  evtimer_del(&final_goaway_timer_);
  for (auto& [id, stream] : streams_) stream->onClose(NGHTTP2_CANCEL);
  for (auto& [id, stream] : streams_) worker_.deferDelete(std::move(stream));
  streams_.clear();
  transport_->setWriteLowWatermark(0);
  transport_->shutdownWrite();
  transport_->enableRead(true);
  if (evbuffer_get_length(transport_->output()) == 0) {
    evtimer_add(&timer_, &kLingerTime);
  } else {
    // A client that never reads what is left must not keep the connection forever.
    const timeval tv =
        settings_.idle_timeout.count() > 0 ? toTimeval(settings_.idle_timeout) : kLingerTime;
    evtimer_add(&timer_, &tv);
  }
}

void Http2ServerConnection::closeNow() {
  if (closed_) return;
  closed_ = true;
  closing_ = true;
  evtimer_del(&timer_);
  evtimer_del(&final_goaway_timer_);
  event_del(&send_event_);
  for (auto& [id, stream] : streams_) stream->onClose(NGHTTP2_CANCEL);
  for (auto& [id, stream] : streams_) worker_.deferDelete(std::move(stream));
  streams_.clear();
  transport_->silence();
  worker_.onConnectionClosed(this);
}

Http2ServerStream* Http2ServerConnection::findStream(int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void Http2ServerConnection::streamClosed(int32_t id, uint32_t error_code) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  std::unique_ptr<Http2ServerStream> stream = std::move(it->second);
  streams_.erase(it);
  rememberClosed(id);
  // Only the client's own cancellations count, not resets remora or nghttp2 sent.
  if (stream->resetByClient() && !stream->responseComplete()) ++premature_resets_;
  stream->onClose(error_code);
  worker_.deferDelete(std::move(stream));
  if (premature_resets_ >= kPrematureResetFloor && premature_resets_ * 2 >= streams_opened_) {
    LOG_INFO("listener %s: %s: HTTP/2 client cancelled %llu of %llu streams: GOAWAY",
             listener_->name.c_str(), peer_.c_str(),
             static_cast<unsigned long long>(premature_resets_),
             static_cast<unsigned long long>(streams_opened_));
    goAway(NGHTTP2_ENHANCE_YOUR_CALM);
    scheduleSend();
    return;
  }
  if (streams_.empty()) {
    if (going_away_) {
      scheduleSend();  // the GOAWAY (and last frames) go out, then the session has nothing left
    } else {
      armIdle();
    }
  }
}

// --- nghttp2 callbacks ---

ssize_t Http2ServerConnection::onSend(nghttp2_session*, const uint8_t* data, size_t length, int,
                                      void* self) {
  return http2QueueFrame(static_cast<Http2ServerConnection*>(self)->transport_->output(), data,
                         length);
}

int Http2ServerConnection::onSendData(nghttp2_session*, nghttp2_frame* frame, const uint8_t* header,
                                      size_t length, nghttp2_data_source* source, void* self) {
  auto* connection = static_cast<Http2ServerConnection*>(self);
  evbuffer* out = connection->transport_->output();
  if (http2OutputFull(out)) return NGHTTP2_ERR_WOULDBLOCK;
  evbuffer_add(out, header, 9);
  auto* stream = static_cast<Http2ServerStream*>(source->ptr);
  stream->takeResponse(out, length);
  // Padding is never asked for (no select_padding callback), so frame->data.padlen is 0.
  (void)frame;
  return 0;
}

int Http2ServerConnection::onBeginFrame(nghttp2_session*, const nghttp2_frame_hd* header,
                                        void* self) {
  auto* connection = static_cast<Http2ServerConnection*>(self);
  if (header->type != NGHTTP2_HEADERS) return 0;
  const int32_t id = header->stream_id;
  if (id > connection->highest_stream_) {
    connection->highest_stream_ = id;
    return 0;
  }
  // RFC 9113 5.1.1: opening a stream closes every idle one below it, so HEADERS on a lower
  // stream that was never opened is a connection error. nghttp2 ignores such blocks, since they
  // may be trailers racing a reset; those belong to streams that closed recently.
  if (connection->going_away_) return 0;  // nghttp2 ignores streams after GOAWAY; so do we
  if (nghttp2_session_find_stream(connection->session_, id) != nullptr) return 0;
  const auto& closed = connection->recently_closed_;
  if (std::find(closed.begin(), closed.end(), id) != closed.end()) return 0;
  nghttp2_session_terminate_session(connection->session_, NGHTTP2_PROTOCOL_ERROR);
  return 0;
}

int Http2ServerConnection::onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame,
                                          void* self) {
  auto* connection = static_cast<Http2ServerConnection*>(self);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  const int32_t id = frame->hd.stream_id;
  connection->streams_.emplace(id, std::make_unique<Http2ServerStream>(*connection, id));
  ++connection->streams_opened_;
  evtimer_del(&connection->timer_);
  return 0;
}

int Http2ServerConnection::onHeader(nghttp2_session*, const nghttp2_frame* frame,
                                    const uint8_t* name, size_t name_length, const uint8_t* value,
                                    size_t value_length, uint8_t, void* self) {
  auto* connection = static_cast<Http2ServerConnection*>(self);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  Http2ServerStream* stream = connection->findStream(frame->hd.stream_id);
  if (stream == nullptr) return 0;
  if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    stream->addTrailer({reinterpret_cast<const char*>(name), name_length},
                       {reinterpret_cast<const char*>(value), value_length});
    return 0;
  }
  stream->addHeader({reinterpret_cast<const char*>(name), name_length},
                    {reinterpret_cast<const char*>(value), value_length});
  return 0;
}

int Http2ServerConnection::onFrameReceived(nghttp2_session*, const nghttp2_frame* frame,
                                           void* self) {
  auto* connection = static_cast<Http2ServerConnection*>(self);
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      Http2ServerStream* stream = connection->findStream(frame->hd.stream_id);
      if (stream == nullptr) return 0;
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        const Snapshot* snapshot = connection->worker_.snapshot().get();
        const ListenerInfo* listener =
            snapshot != nullptr ? snapshot->findListener(connection->listener_->name) : nullptr;
        if (listener == nullptr) {
          nghttp2_submit_rst_stream(connection->session_, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                    NGHTTP2_REFUSED_STREAM);
          return 0;
        }
        stream->onRequestHeaders(*listener, end_stream);
      } else if (end_stream) {
        stream->onRequestTrailers();
      }
      return 0;
    }
    case NGHTTP2_DATA: {
      if (Http2ServerStream* stream = connection->findStream(frame->hd.stream_id)) {
        stream->onDataFrame(end_stream);
      }
      return 0;
    }
    case NGHTTP2_RST_STREAM: {
      if (Http2ServerStream* stream = connection->findStream(frame->hd.stream_id)) {
        stream->markResetByClient();
      }
      return 0;
    }
    case NGHTTP2_PING: {
      const bool drain_ping =
          (frame->hd.flags & NGHTTP2_FLAG_ACK) != 0 &&
          std::equal(std::begin(kDrainPing), std::end(kDrainPing), frame->ping.opaque_data);
      if (drain_ping && connection->shutdown_noticed_) {
        // Every stream the client opened before it read the notice came before this ACK. The
        // final GOAWAY goes in the next loop iteration, outside nghttp2's callback.
        static constexpr timeval kNow = {0, 0};
        evtimer_add(&connection->final_goaway_timer_, &kNow);
      }
      return 0;
    }
    default:
      return 0;
  }
}

int Http2ServerConnection::onDataChunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data,
                                       size_t length, void* self) {
  auto* connection = static_cast<Http2ServerConnection*>(self);
  nghttp2_session_consume_connection(connection->session_, length);
  if (Http2ServerStream* stream = connection->findStream(id)) stream->addData(data, length);
  return 0;
}

int Http2ServerConnection::onFrameSent(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  // A stream reset here (by remora, or refused by nghttp2 without ever being opened) may still
  // get the client's trailers or HEADERS that crossed the reset.
  auto* connection = static_cast<Http2ServerConnection*>(self);
  if (frame->hd.type == NGHTTP2_RST_STREAM) connection->rememberClosed(frame->hd.stream_id);
  // The drain PING goes after the shutdown notice, not before it as nghttp2 would send one
  // submitted with it: its acknowledgement must mean the client has read the notice.
  if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.last_stream_id == kMaxStreamId &&
      connection->shutdown_noticed_) {
    nghttp2_submit_ping(connection->session_, NGHTTP2_FLAG_NONE, kDrainPing);
  }
  // The response to a stalled upload is out: the stream ends instead of waiting for the body.
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
    Http2ServerStream* stream = connection->findStream(frame->hd.stream_id);
    if (stream != nullptr && stream->resetAfterResponse() && !stream->requestComplete()) {
      nghttp2_submit_rst_stream(connection->session_, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                NGHTTP2_NO_ERROR);
    }
  }
  return 0;
}

void Http2ServerConnection::rememberClosed(int32_t id) {
  if (recently_closed_.empty()) {
    // Every stream that may be open at once, twice over, within reason.
    const size_t size =
        std::clamp<size_t>(size_t{2} * settings_.http2.max_concurrent_streams, 128, 4096);
    recently_closed_.assign(size, 0);
  }
  recently_closed_[recently_closed_next_] = id;
  recently_closed_next_ = (recently_closed_next_ + 1) % recently_closed_.size();
}

int Http2ServerConnection::onStreamClose(nghttp2_session*, int32_t id, uint32_t error_code,
                                         void* self) {
  static_cast<Http2ServerConnection*>(self)->streamClosed(id, error_code);
  return 0;
}

}  // namespace remora
