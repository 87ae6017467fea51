// The protocol-neutral stream interfaces between codecs (HTTP/1.1, HTTP/2) and the Stream.
#pragma once

#include <string_view>

#include "proxy/buffer.h"
#include "proxy/deferrable.h"
#include "proxy/message.h"

namespace remora {

class Http1ClientConnection;

// What a Stream asks of the downstream side (the client connection).
class DownstreamCodec {
 public:
  virtual ~DownstreamCodec() = default;
  virtual void encodeHeaders(ResponseHeaders& headers, bool end_stream) = 0;
  virtual void encodeData(Buffer& data, bool end_stream) = 0;
  // Ends the response with trailers (gRPC's status); HTTP/1.1 sends them only when chunked.
  virtual void encodeTrailers(HeaderMap& trailers) = 0;
  // Tells a client that sent `Expect: 100-continue` to send its body.
  virtual void encodeContinue() = 0;
  // Pauses or resumes reading the request body (the upstream cannot take more yet).
  virtual void readDisable(bool disable) = 0;
  // The response cannot be completed (headers already sent): abort the stream.
  virtual void resetStream() = 0;
};

enum class UpstreamFailure {
  ConnectFailure,  // refused, unreachable
  ConnectTimeout,
  Reset,          // the connection broke before the response completed
  ProtocolError,  // the upstream's response was malformed or over a limit
  Refused,        // HTTP/2 REFUSED_STREAM (or beyond a GOAWAY): the upstream did not process it
};

const char* upstreamFailureName(UpstreamFailure failure);

// What an upstream connection reports to the Stream using it.
class UpstreamCallbacks {
 public:
  virtual ~UpstreamCallbacks() = default;
  virtual void onUpstreamHeaders(ResponseHeaders& headers, bool end_stream) = 0;
  virtual void onUpstreamData(Buffer& data, bool end_stream) = 0;
  // The response ends with trailers.
  virtual void onUpstreamTrailers(HeaderMap& trailers) = 0;
  // `response_started`: some of the response had already been delivered.
  virtual void onUpstreamFailure(UpstreamFailure failure, bool response_started) = 0;
  // The request body waiting to be written upstream is above / back below its watermark.
  virtual void onUpstreamWriteWatermark(bool above) = 0;
};

// One request in flight to an upstream, whatever the protocol: an HTTP/1.1 connection lent to
// the stream for the exchange, or one stream of a shared HTTP/2 connection.
class UpstreamRequest : public Deferrable {
 public:
  // Sends the request head; a body follows through sendData() unless `end_stream`.
  virtual void startRequest(UpstreamCallbacks& callbacks, const RequestHeaders& request,
                            bool end_stream, bool upgrade) = 0;
  virtual void sendData(Buffer& data, bool end_stream) = 0;
  // Ends the request with trailers (dropped where the protocol has no place for them).
  virtual void sendTrailers(HeaderMap& trailers) = 0;
  // Pauses or resumes reading the response (the client cannot take more yet).
  virtual void readDisable(bool disable) = 0;
  // The stream is finished with it: no callback reaches the stream any more.
  virtual void detach() = 0;
  // It goes over a connection that carried requests before, which the upstream may have closed
  // meanwhile: a failure before any response may be retried once on a new connection.
  virtual bool reused() const = 0;
  // The HTTP/1.1 connection it is, which goes back to its pool; null for an HTTP/2 stream. (A
  // virtual call: a dynamic_cast cost a hundred instructions on every request.)
  virtual Http1ClientConnection* http1Connection() { return nullptr; }
};

// Bytes buffered on one side before the other side stops reading.
inline constexpr size_t kHighWatermark = 256 * 1024;
inline constexpr size_t kLowWatermark = 64 * 1024;

}  // namespace remora
