// HTTP/2 sending helpers shared by the server and client codecs.
#include "proxy/http2_outbound.h"

#include <algorithm>

#include "proxy/codec.h"

namespace remora {

nghttp2_nv http2Field(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

namespace {
bool forwardable(const HeaderField& f) {
  switch (f.name.size()) {
    case 2:
      return f.name != "te" || f.value == "trailers";
    case 4:
      return f.name != "host";
    case 7:
      return f.name != "upgrade";
    case 10:
      return f.name != "connection" && f.name != "keep-alive";
    case 16:
      return f.name != "proxy-connection";
    case 17:
      return f.name != "transfer-encoding";
    default:
      return true;
  }
}
}  // namespace

const std::vector<nghttp2_nv>& http2Fields(std::initializer_list<nghttp2_nv> pseudo,
                                           const HeaderMap& headers) {
  thread_local std::vector<nghttp2_nv> out;
  out.assign(pseudo);
  for (const HeaderField& f : headers) {
    if (forwardable(f)) out.push_back(http2Field(f.name, f.value));
  }
  return out;
}

bool http2OutputFull(evbuffer* out) { return evbuffer_get_length(out) > kHighWatermark; }

ssize_t http2QueueFrame(evbuffer* out, const uint8_t* data, size_t length) {
  if (http2OutputFull(out)) return NGHTTP2_ERR_WOULDBLOCK;
  evbuffer_add(out, data, length);
  return static_cast<ssize_t>(length);
}

void Http2OutboundBody::resume(nghttp2_session* session, int32_t id) {
  if (!deferred_) return;
  deferred_ = false;
  nghttp2_session_resume_data(session, id);
}

void Http2OutboundBody::add(nghttp2_session* session, int32_t id, Buffer& data, bool end_stream) {
  data_.move(data);
  if (end_stream) ended_ = true;
  resume(session, id);
}

void Http2OutboundBody::addTrailers(nghttp2_session* session, int32_t id, HeaderMap trailers) {
  trailers_ = std::make_unique<HeaderMap>(std::move(trailers));
  ended_ = true;
  resume(session, id);
}

ssize_t Http2OutboundBody::read(nghttp2_session* session, int32_t id, size_t length,
                                uint32_t* flags) {
  const size_t available = data_.length();
  if (available == 0 && !ended_) {
    deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  const size_t n = std::min(length, available);
  *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  if (n == available && ended_) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (trailers_ != nullptr) {
      // The trailers' HEADERS frame carries END_STREAM instead of this DATA frame.
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      const std::vector<nghttp2_nv>& fields = http2Fields({}, *trailers_);
      nghttp2_submit_trailer(session, id, fields.data(), fields.size());
      trailers_.reset();
    }
  }
  return static_cast<ssize_t>(n);
}

}  // namespace remora
