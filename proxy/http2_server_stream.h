// Http2ServerStream: one HTTP/2 request stream of a client connection, the DownstreamCodec its
// Stream talks to. It gathers the request head, paces the request body by window updates, and
// queues the response for the connection's nghttp2 session to frame.
#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>

#include "proxy/buffer.h"
#include "proxy/codec.h"
#include "proxy/http2_outbound.h"
#include "proxy/message.h"
#include "proxy/recycled.h"
#include "proxy/stream.h"
#include "proxy/worker.h"

namespace remora {

class Http2ServerConnection;

class Http2ServerStream : public DownstreamCodec,
                          public Deferrable,
                          public Recycled<Http2ServerStream> {
 public:
  Http2ServerStream(Http2ServerConnection& connection, int32_t id);
  ~Http2ServerStream() override;

  int32_t id() const { return id_; }

  // --- The request, as the session decodes it. ---
  // One field of the request head; past the listener's limits the request is answered 431.
  void addHeader(std::string_view name, std::string_view value);
  // The head is complete: the exchange starts (or a 400/431/501 is answered).
  void onRequestHeaders(const ListenerInfo& listener, bool end_stream);
  // One field of the request's trailers; they have the head's limits.
  void addTrailer(std::string_view name, std::string_view value);
  // Trailers end the request: they go on, or over the limits they get a 431 (RST_STREAM
  // ENHANCE_YOUR_CALM once the response has started).
  void onRequestTrailers();
  void addData(const uint8_t* data, size_t length) {
    inbound_.add({reinterpret_cast<const char*>(data), length});
  }
  // A DATA frame is complete: its bytes go to the Stream, and the window opens again once they
  // have moved on (at once, unless the upstream pushes back).
  void onDataFrame(bool end_stream);
  // nghttp2 closed the stream (both sides ended, or a reset either way).
  void onClose(uint32_t error_code);
  bool responseComplete() const { return response_complete_; }
  // The client sent RST_STREAM for it (not remora, not nghttp2).
  void markResetByClient() { reset_by_client_ = true; }
  bool resetByClient() const { return reset_by_client_; }
  // The stream ends with RST_STREAM(NO_ERROR) once its response is sent (a stalled upload).
  bool resetAfterResponse() const { return reset_after_response_; }
  bool requestComplete() const { return request_complete_; }

  // --- The response, as nghttp2 pulls it. ---
  ssize_t readResponse(size_t length, uint32_t* flags);
  // Moves `length` bytes of the queued response into `out` after a frame header.
  void takeResponse(evbuffer* out, size_t length);

  // --- DownstreamCodec ---
  void encodeHeaders(ResponseHeaders& headers, bool end_stream) override;
  void encodeData(Buffer& data, bool end_stream) override;
  void encodeTrailers(HeaderMap& trailers) override;
  void encodeContinue() override;
  void readDisable(bool disable) override;
  void resetStream() override;

 private:
  // Answers a request that never became a Stream.
  void reject(int status, std::string_view reason);
  // Why :authority and Host make the request malformed (400), or nullptr.
  const char* authorityProblem() const;
  void refuseTrailers();
  void submitResponse(ResponseHeaders& headers, bool end_stream);
  void consume(size_t bytes);
  // The whole response is queued: the rest of the request body, if any, is only drained.
  void responseDone();
  // The request body must make progress every `idle_timeout`, as on HTTP/1.1.
  void armBodyTimer();
  void stopBodyTimer();
  static void onBodyTimeout(evutil_socket_t, short, void* self);

  Http2ServerConnection& connection_;
  int32_t id_;
  RequestHeaders request_;
  std::string cookies_;  // RFC 9113 8.2.3: joined with "; " for the HTTP/1.1 upstream
  bool has_authority_ = false;
  std::string host_;  // a `host` field, checked against :authority
  bool has_host_ = false;
  size_t header_bytes_ = 0;
  bool too_large_ = false;
  bool expect_continue_ = false;
  bool request_complete_ = false;
  std::unique_ptr<Stream> stream_;

  Buffer inbound_;         // the DATA frame being received
  size_t unconsumed_ = 0;  // delivered while the upstream pushed back: no window update yet
  bool read_disabled_ = false;

  HeaderMap request_trailers_;
  uint64_t trailer_bytes_ = 0;
  bool trailers_too_large_ = false;

  Http2OutboundBody outbound_;  // the response body waiting for nghttp2 to frame it
  bool above_watermark_ = false;
  bool response_started_ = false;
  bool response_complete_ = false;
  bool closed_ = false;
  bool reset_by_client_ = false;
  bool reset_after_response_ = false;
  event body_timer_;
  bool body_timer_assigned_ = false;
};

}  // namespace remora
