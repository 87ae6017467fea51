// What both HTTP/2 codecs share for sending: header fields as nghttp2 takes them, frames into a
// transport's output, and the body of one stream waiting for nghttp2 to frame it.
#pragma once

#include <event2/buffer.h>
#include <nghttp2/nghttp2.h>

#include <initializer_list>
#include <memory>
#include <string_view>
#include <vector>

#include "proxy/buffer.h"
#include "proxy/header_map.h"

namespace remora {

// A field pointing at `name` and `value`, which must outlive the nghttp2 call (it copies them).
nghttp2_nv http2Field(std::string_view name, std::string_view value);

// `pseudo` then `headers` without the fields RFC 9113 8.2.2 forbids (connection-specific ones,
// `host`, and `te` other than "trailers"). The array is the thread's own, reused by the next
// call: hand it to nghttp2 at once (nghttp2_submit_* copies it), so that a response's fields
// cost no allocation.
const std::vector<nghttp2_nv>& http2Fields(std::initializer_list<nghttp2_nv> pseudo,
                                           const HeaderMap& headers);

// nghttp2's send callback: appends a frame to `out`, or asks nghttp2 to wait while the peer is
// not reading (the output is above the high watermark).
ssize_t http2QueueFrame(evbuffer* out, const uint8_t* data, size_t length);
bool http2OutputFull(evbuffer* out);

// One stream's body on its way out, ending with END_STREAM or with trailers.
class Http2OutboundBody {
 public:
  // Queues `data` (and the end); nghttp2 pulls again if it was waiting for more.
  void add(nghttp2_session* session, int32_t id, Buffer& data, bool end_stream);
  // Ends the body with trailers.
  void addTrailers(nghttp2_session* session, int32_t id, HeaderMap trailers);
  // The data provider's read callback: how much the next DATA frame carries, or DEFERRED.
  ssize_t read(nghttp2_session* session, int32_t id, size_t length, uint32_t* flags);
  // Moves `length` bytes into `out`, after the frame header the caller wrote.
  void take(evbuffer* out, size_t length) { evbuffer_remove_buffer(data_.raw(), out, length); }
  size_t length() const { return data_.length(); }
  void add(std::string_view bytes) { data_.add(bytes); }
  void setEnded() { ended_ = true; }

 private:
  void resume(nghttp2_session* session, int32_t id);

  Buffer data_;
  bool ended_ = false;
  std::unique_ptr<HeaderMap> trailers_;
  bool deferred_ = false;  // nghttp2 was told to wait for more
};

}  // namespace remora
