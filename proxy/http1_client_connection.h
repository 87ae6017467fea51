// Http1ClientConnection: one keep-alive HTTP/1.1 connection from a worker to an upstream endpoint.
#pragma once

#include <event2/event.h>

#include <memory>
#include <string>

#include "config/config.h"
#include "discovery/snapshot.h"
#include "proxy/codec.h"
#include "proxy/http1_parser.h"
#include "proxy/lazy_timer.h"
#include "proxy/transport.h"
#include "proxy/worker.h"

namespace remora {

class Http1ClientConnection;

// The pool a connection belongs to: told when it is connected or could not be, and when it
// closes or times out while idle. Never told anything while the connection is lent to a stream.
class Http1ConnectionOwner {
 public:
  virtual ~Http1ConnectionOwner() = default;
  virtual void onConnected(Http1ClientConnection* connection) = 0;
  virtual void onConnectFailure(Http1ClientConnection* connection, UpstreamFailure failure) = 0;
  virtual void onIdleConnectionClosed(Http1ClientConnection* connection) = 0;
  // A lent connection comes back from its stream: kept when `reusable`, closed otherwise.
  virtual void release(std::unique_ptr<Http1ClientConnection> connection, bool reusable) = 0;
};

class Http1ClientConnection : public UpstreamRequest, public TransportCallbacks {
 public:
  // Starts connecting; `owner` hears how that ends. `tls` (null for plaintext) must be given
  // when the cluster has TLS settings; `key` is the pool's key for the connection (the endpoint
  // and the TLS context it was made with).
  Http1ClientConnection(Worker& worker, const EndpointInfo& endpoint,
                        const config::Cluster& cluster, const TlsClientContext* tls,
                        std::string key, Http1ConnectionOwner& owner);
  ~Http1ClientConnection() override;

  const std::string& key() const { return key_; }
  // The pool it belongs to; null once the pool let go of it.
  Http1ConnectionOwner* owner() const { return owner_; }
  // True once it has carried a request (an idle reused connection may have been closed by the
  // upstream meanwhile; the stream may retry such a failure once on a new connection).
  bool reused() const override { return requests_ > 1; }
  Http1ClientConnection* http1Connection() override { return this; }

  // --- UpstreamRequest ---
  // The body is sent with its Content-Length when the request has one, chunked otherwise.
  void startRequest(UpstreamCallbacks& callbacks, const RequestHeaders& request, bool end_stream,
                    bool upgrade) override;
  void sendData(Buffer& data, bool end_stream) override;
  // Trailers go out in a chunked body's last chunk; a Content-Length body has no place for them.
  void sendTrailers(HeaderMap& trailers) override;
  void readDisable(bool disable) override;
  void detach() override { callbacks_ = nullptr; }

  // The response and request are complete and both sides keep the connection open.
  bool reusable() const;
  // Parks the connection in its pool: an upstream close or the idle timeout reports to the owner.
  void setIdle();
  // The pool lets go of it (it is being destroyed): its socket closes now, and nothing reports
  // to the owner any more.
  void abandon();

 private:
  enum class ResponseState { Head, Body, Done, Tunnel };
  void onReadable() override { processInput(); }
  void onWriteDrained() override;
  void onConnected() override;
  void onTransportClosed(bool error) override;
  static void onTimer(void* self);
  // The connect ended (connected, or not): the owner hears of it from the loop.
  void reportConnect();
  void processInput();
  bool parseHead();
  void processBody();
  void fail(UpstreamFailure failure);
  void finishResponse(Buffer& data);

  std::string key_;
  std::string peer_;  // "host:port", for messages
  // Copied: a pooled connection outlives the config that created it.
  config::Duration idle_timeout_;
  http1::Limits limits_;
  std::unique_ptr<Transport> transport_;
  LazyTimer timer_;  // connect timeout, then idle timeout (moved after every response)
  UpstreamCallbacks* callbacks_ = nullptr;
  Http1ConnectionOwner* owner_;  // null once abandoned
  bool idle_ = false;            // parked in the pool
  bool connect_reported_ = false;
  bool connected_ = false;
  bool closed_ = false;
  bool read_disabled_ = false;
  bool write_above_ = false;
  uint32_t requests_ = 0;

  // The request in progress.
  std::string method_;
  bool request_chunked_ = false;
  bool request_complete_ = false;
  bool upgrade_ = false;
  // The response in progress.
  ResponseState state_ = ResponseState::Head;
  http1::BodyFraming framing_;
  uint64_t remaining_ = 0;
  http1::ChunkedDecoder chunked_;
  Buffer body_;  // the response body on its way to the callbacks (see processBody)
  bool keep_alive_ = true;
  bool response_started_ = false;
};

}  // namespace remora
