// Http1ServerConnection: one downstream HTTP/1.1 connection: parses requests (pipelined ones in
// order), feeds them to Streams, and writes their responses back with keep-alive.
#pragma once

#include <event2/event.h>

#include <memory>
#include <string>

#include "proxy/codec.h"
#include "proxy/downstream_connection.h"
#include "proxy/http1_parser.h"
#include "proxy/lazy_timer.h"
#include "proxy/stream.h"
#include "proxy/transport.h"
#include "proxy/worker.h"

namespace remora {

// What a parsed request head becomes for the stream: the authority (an absolute-form target's
// over Host), the path normalized, hop-by-hop fields (`upgrade`: but Upgrade) and Host removed.
// The head's method, target and fields are taken. /explain reads its request through this too.
RequestHeaders requestFromHead(http1::RequestHead& head, bool upgrade);

class Http1ServerConnection : public DownstreamCodec,
                              public DownstreamConnection,
                              public TransportCallbacks {
 public:
  // `transport` is attached to the client's socket; its input may already hold the first bytes.
  Http1ServerConnection(Worker& worker, std::unique_ptr<Transport> transport,
                        std::shared_ptr<ListenerShared> listener, std::string peer);
  ~Http1ServerConnection() override;

  // --- DownstreamConnection ---
  void closeWhenIdle() override;
  void closeNow() override;

  // --- DownstreamCodec ---
  void encodeHeaders(ResponseHeaders& headers, bool end_stream) override;
  void encodeData(Buffer& data, bool end_stream) override;
  void encodeTrailers(HeaderMap& trailers) override;
  void encodeContinue() override;
  void readDisable(bool disable) override;
  void resetStream() override;

 private:
  enum class State { Head, Body, AwaitResponse, Tunnel, Closing };
  void onReadable() override { process(); }
  void onWriteDrained() override;
  void onTransportClosed(bool error) override;
  static void onHeaderTimeout(evutil_socket_t, short, void* self);
  static void onIdleTimeout(void* self);
  static void onProcess(evutil_socket_t, short, void* self);

  void process();
  bool parseHead();
  void processBody();
  void startStream(http1::RequestHead& head, const ListenerInfo& listener);
  // Answers a request that never became a Stream (malformed, over a limit) and closes.
  void rejectRequest(int status, const std::string& reason);
  void onResponseComplete();
  void closeAfterFlush();
  // The client's next request (some of it) is already in the input or the socket.
  bool requestWaiting() const;
  void armIdle();
  // Runs process() from the loop, soon.
  void scheduleProcess();
  // The header timer (also the linger timer), made on first use.
  event* headerTimer();
  bool headerTimerPending() const;
  void stopHeaderTimer();
  void finishStream();

  Worker& worker_;
  std::shared_ptr<ListenerShared> listener_;
  std::string peer_;
  std::unique_ptr<Transport> transport_;
  // Made on first use: most connections never have an unfinished head, a linger or a pipelined
  // request, and each event is ~150 bytes of every idle connection.
  event* header_timer_ = nullptr;
  LazyTimer idle_timer_;  // moved after every response: lazily (proxy/lazy_timer.h)
  event* process_event_ = nullptr;
  State state_ = State::Head;
  http1::Limits limits_;
  http1::BodyFraming framing_;
  uint64_t remaining_ = 0;
  http1::ChunkedDecoder chunked_;
  std::unique_ptr<Stream> stream_;

  // The response being written.
  bool head_request_ = false;
  bool client_keep_alive_ = true;
  int request_minor_ = 1;
  bool response_chunked_ = false;
  bool response_until_close_ = false;
  bool close_after_response_ = false;
  bool read_disabled_ = false;
  bool write_above_ = false;
  bool closing_ = false;
  bool awaiting_continue_ = false;
  bool removed_ = false;      // handed to the worker for deletion
  bool peer_closed_ = false;  // the client sent FIN
  config::Duration request_header_timeout_{};
  config::Duration idle_timeout_{};
};

}  // namespace remora
