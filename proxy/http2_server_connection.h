// Http2ServerConnection: one downstream HTTP/2 connection (h2c prior knowledge, or h2 by ALPN):
// an nghttp2 server session between the client's transport and one Http2ServerStream per request.
#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>
#include <nghttp2/nghttp2.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/downstream_connection.h"
#include "proxy/http2_server_stream.h"
#include "proxy/size_class_memory.h"
#include "proxy/transport.h"

namespace remora {

class Http2ServerConnection : public DownstreamConnection, public TransportCallbacks {
 public:
  // `transport` is attached to the client's socket; its input may already hold the preface.
  Http2ServerConnection(Worker& worker, std::unique_ptr<Transport> transport,
                        std::shared_ptr<ListenerShared> listener, std::string peer);
  ~Http2ServerConnection() override;

  // --- DownstreamConnection ---
  // GOAWAY: streams already begun finish; the connection closes after the last one.
  void closeWhenIdle() override;
  void closeNow() override;
  // A shutdown notice (GOAWAY with the highest stream id, RFC 9113 6.8) and a PING; the final
  // GOAWAY follows the PING's acknowledgement (one round trip: every stream the client opened
  // before it saw the notice has arrived) or kFinalGoawayAfter, whichever comes first.
  void onDrainNotice() override;

  // --- For its streams. ---
  Worker& worker() { return worker_; }
  bool tls() const { return transport_->tls(); }
  nghttp2_session* session() { return session_; }
  const std::string& listenerName() const { return listener_->name; }
  const std::string& peer() const { return peer_; }
  const config::Listener& settings() const { return settings_; }
  // Frames are written at the end of the current callback, never from inside nghttp2's own.
  void scheduleSend();

 private:
  void onReadable() override;
  void onWriteDrained() override;
  void onTransportClosed(bool error) override;
  static void onSendEvent(evutil_socket_t, short, void* self);
  static void onTimer(evutil_socket_t, short, void* self);
  static void onFinalGoawayTimer(evutil_socket_t, short, void* self);

  void createSession();
  void receive();
  void send();
  void streamClosed(int32_t id, uint32_t error_code);
  void goAway(uint32_t error_code);
  void closeAfterFlush();
  void armIdle();
  Http2ServerStream* findStream(int32_t id);

  // nghttp2 callbacks.
  static ssize_t onSend(nghttp2_session*, const uint8_t* data, size_t length, int, void* self);
  static int onSendData(nghttp2_session*, nghttp2_frame* frame, const uint8_t* header,
                        size_t length, nghttp2_data_source* source, void* self);
  static int onBeginFrame(nghttp2_session*, const nghttp2_frame_hd* header, void* self);
  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length, uint8_t,
                      void* self);
  static int onFrameReceived(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int onDataChunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t length,
                         void* self);
  static int onFrameSent(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int onStreamClose(nghttp2_session*, int32_t id, uint32_t error_code, void* self);

  Worker& worker_;
  std::unique_ptr<Transport> transport_;
  std::shared_ptr<ListenerShared> listener_;
  std::string peer_;
  config::Listener settings_;  // copied: the listener may leave the config while this lives on
  nghttp2_session* session_ = nullptr;
  // Its nodes from the per-thread lists: one per stream, so not a malloc per request.
  std::unordered_map<
      int32_t, std::unique_ptr<Http2ServerStream>, std::hash<int32_t>, std::equal_to<int32_t>,
      RecyclingAllocator<std::pair<const int32_t, std::unique_ptr<Http2ServerStream>>>>
      streams_;
  event send_event_;
  event timer_;               // idle (no open stream), then the linger after the last write
  event final_goaway_timer_;  // after the shutdown notice
  bool send_scheduled_ = false;
  bool shutdown_noticed_ = false;
  bool going_away_ = false;
  bool closing_ = false;
  bool closed_ = false;
  // Rapid-reset defence (CVE-2023-44487): streams the client opened and cancelled before their
  // response, against all it opened.
  uint64_t streams_opened_ = 0;
  uint64_t premature_resets_ = 0;
  // The highest stream the client opened, and the last ones that closed or were reset by this
  // side: HEADERS for a lower stream in neither was never opened (see onBeginFrame).
  int32_t highest_stream_ = 0;
  std::vector<int32_t> recently_closed_;
  size_t recently_closed_next_ = 0;
  void rememberClosed(int32_t id);
};

}  // namespace remora
