// Http2ClientStream: one request on a shared upstream HTTP/2 connection, the UpstreamRequest its
// Stream uses. It queues the request body for nghttp2 to frame and hands the response back.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>

#include "proxy/buffer.h"
#include "proxy/codec.h"
#include "proxy/http2_outbound.h"
#include "proxy/message.h"
#include "proxy/recycled.h"

namespace remora {

class Http2ClientConnection;

class Http2ClientStream : public UpstreamRequest, public Recycled<Http2ClientStream> {
 public:
  explicit Http2ClientStream(Http2ClientConnection& connection);
  // An unfinished exchange is cancelled with RST_STREAM.
  ~Http2ClientStream() override;

  // --- UpstreamRequest ---
  void startRequest(UpstreamCallbacks& callbacks, const RequestHeaders& request, bool end_stream,
                    bool upgrade) override;
  void sendData(Buffer& data, bool end_stream) override;
  void sendTrailers(HeaderMap& trailers) override;
  void readDisable(bool disable) override;
  void detach() override { callbacks_ = nullptr; }
  bool reused() const override { return reused_; }

  // --- From the connection. ---
  // One field of the response head or trailers; past the cluster's limits the try fails as a
  // protocol error (502, or a reset once the response has started) and the stream is cancelled.
  void addHeader(std::string_view name, std::string_view value);
  // A HEADERS block is complete: the response head (1xx ones are skipped), or its trailers.
  void onHeaders(bool end_stream);
  void addData(const uint8_t* data, size_t length) {
    inbound_.add({reinterpret_cast<const char*>(data), length});
  }
  void onDataFrame(bool end_stream);
  // nghttp2 closed the stream (the exchange is over, or it was reset with `error_code`).
  void onClose(uint32_t error_code);
  // The connection failed or is gone: the stream is over.
  void onConnectionFailed(UpstreamFailure failure);
  ssize_t readRequestBody(size_t length, uint32_t* flags);
  void takeRequestBody(evbuffer* out, size_t length);

 private:
  void consume(size_t bytes);
  void fail(UpstreamFailure failure);

  Http2ClientConnection* connection_;  // null once the connection is gone
  UpstreamCallbacks* callbacks_ = nullptr;
  int32_t id_ = -1;
  bool reused_ = false;

  Http2OutboundBody outbound_;  // the request body waiting for nghttp2 to frame it
  bool write_above_ = false;

  ResponseHeaders response_;
  HeaderMap trailers_;
  // The header block being received (a 1xx head, the final head, or the trailers).
  uint64_t block_bytes_ = 0;
  size_t block_fields_ = 0;
  bool too_large_ = false;
  Buffer inbound_;  // the DATA frame being received
  size_t unconsumed_ = 0;
  bool read_disabled_ = false;
  bool response_started_ = false;
  bool response_complete_ = false;
  bool closed_ = false;
};

}  // namespace remora
