// The protocol-neutral stream interfaces between codecs (HTTP/1 today) and the Stream.
#pragma once

#include <string_view>

#include "proxy/buffer.h"
#include "proxy/message.h"

namespace remora {

// What a Stream asks of the downstream side (the client connection).
class DownstreamCodec {
 public:
  virtual ~DownstreamCodec() = default;
  virtual void encodeHeaders(ResponseHeaders& headers, bool end_stream) = 0;
  virtual void encodeData(Buffer& data, bool end_stream) = 0;
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
};

const char* upstreamFailureName(UpstreamFailure failure);

// What an upstream connection reports to the Stream using it.
class UpstreamCallbacks {
 public:
  virtual ~UpstreamCallbacks() = default;
  virtual void onUpstreamHeaders(ResponseHeaders& headers, bool end_stream) = 0;
  virtual void onUpstreamData(Buffer& data, bool end_stream) = 0;
  // `response_started`: some of the response had already been delivered.
  virtual void onUpstreamFailure(UpstreamFailure failure, bool response_started) = 0;
  // The request body waiting to be written upstream is above / back below its watermark.
  virtual void onUpstreamWriteWatermark(bool above) = 0;
};

// Bytes buffered on one side before the other side stops reading.
inline constexpr size_t kHighWatermark = 256 * 1024;
inline constexpr size_t kLowWatermark = 64 * 1024;

}  // namespace remora
