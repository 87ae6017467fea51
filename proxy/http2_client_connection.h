// Http2ClientConnection: one multiplexed HTTP/2 connection from a worker to an upstream endpoint
// (h2c prior knowledge, or h2 by ALPN over TLS), carrying many Http2ClientStreams at once.
#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "config/config.h"
#include "discovery/snapshot.h"
#include "proxy/codec.h"
#include "proxy/tls_context.h"
#include "proxy/transport.h"
#include "proxy/worker.h"

namespace remora {

class Http2ClientConnection;
class Http2ClientStream;

// The pool a connection belongs to: told when it is connected or could not be, when a stream
// ended (there may be room for another), and when it can carry no more streams and has none
// left, so that the pool drops it.
class Http2ConnectionOwner {
 public:
  virtual ~Http2ConnectionOwner() = default;
  virtual void onHttp2Connected(Http2ClientConnection* connection) = 0;
  virtual void onHttp2ConnectFailure(Http2ClientConnection* connection,
                                     UpstreamFailure failure) = 0;
  virtual void onHttp2StreamEnded(Http2ClientConnection* connection) = 0;
  virtual void onHttp2ConnectionClosed(Http2ClientConnection* connection) = 0;
};

class Http2ClientConnection : public Deferrable, public TransportCallbacks {
 public:
  // `tls` (null for h2c) must be given when the cluster has TLS settings.
  Http2ClientConnection(Worker& worker, const EndpointInfo& endpoint,
                        const config::Cluster& cluster, const TlsClientContext* tls,
                        std::string key, Http2ConnectionOwner& owner);
  ~Http2ClientConnection() override;

  const std::string& key() const { return key_; }
  // Whether another stream may start here (not going away, under the peer's stream limit).
  bool canTakeStream() const;
  bool connected() const { return connected_; }
  bool closed() const { return closed_; }
  size_t activeStreams() const { return active_.size(); }
  std::unique_ptr<Http2ClientStream> newStream();
  // Ends the connection now; its streams see a reset.
  void close();
  // Takes no new stream, and closes after the last one (drain).
  void closeWhenIdle();

  // --- For its streams. ---
  nghttp2_session* session() { return session_; }
  const std::string& scheme() const { return scheme_; }
  const std::string& peer() const { return peer_; }
  // The cluster's bound on a response head (and on its trailers), in RFC 9113 6.5.2 bytes.
  uint64_t maxResponseHeadersBytes() const { return max_response_headers_bytes_; }
  void scheduleSend();
  // A stream started (its id is known) or ended (removed; the connection may go idle).
  void registerStream(int32_t id, Http2ClientStream* stream);
  void forgetStream(Http2ClientStream* stream);
  uint64_t streamsCarried() const { return streams_carried_; }
  Http2ClientStream* streamFor(int32_t id) { return findStream(id); }

 private:
  void onReadable() override;
  void onWriteDrained() override;
  void onConnected() override;
  void onTransportClosed(bool error) override;
  static void onSendEvent(evutil_socket_t, short, void* self);
  static void onTimer(evutil_socket_t, short, void* self);

  void send();
  void receive();
  // Every stream fails with `failure`, and the owner drops the connection.
  void fail(UpstreamFailure failure);
  void maybeIdle();
  Http2ClientStream* findStream(int32_t id);

  static ssize_t onSend(nghttp2_session*, const uint8_t* data, size_t length, int, void* self);
  static int onSendData(nghttp2_session*, nghttp2_frame* frame, const uint8_t* header,
                        size_t length, nghttp2_data_source* source, void* self);
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length, uint8_t,
                      void* self);
  static int onFrameReceived(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int onDataChunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t length,
                         void* self);
  static int onStreamClose(nghttp2_session*, int32_t id, uint32_t error_code, void* self);

  std::string key_;
  std::string peer_;
  std::string scheme_;
  config::Duration idle_timeout_;
  uint64_t max_response_headers_bytes_;
  Http2ConnectionOwner& owner_;
  std::unique_ptr<Transport> transport_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<int32_t, Http2ClientStream*> active_;  // started streams, by id
  uint64_t streams_carried_ = 0;
  event send_event_;
  event timer_;  // connect timeout, then idle timeout
  bool send_scheduled_ = false;
  bool connected_ = false;
  bool going_away_ = false;  // the upstream sent GOAWAY, or the connection failed
  bool closed_ = false;
};

}  // namespace remora
