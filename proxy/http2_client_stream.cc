// One upstream HTTP/2 request: head and trailers out, body paced by the upstream's windows,
// response and trailers back, and the window reopened as the client takes the response.
#include "proxy/http2_client_stream.h"

#include <charconv>
#include <string>
#include <vector>

#include "proxy/http1_parser.h"
#include "proxy/http2_client_connection.h"
#include "proxy/http2_outbound.h"
#include "proxy/log.h"

namespace remora {

namespace {

// Looked up by id rather than through the data source: a stream that was destroyed (and reset)
// is never reached.
ssize_t readRequestBodyCallback(nghttp2_session*, int32_t id, uint8_t*, size_t length,
                                uint32_t* flags, nghttp2_data_source*, void* connection) {
  Http2ClientStream* stream = static_cast<Http2ClientConnection*>(connection)->streamFor(id);
  if (stream == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  return stream->readRequestBody(length, flags);
}

}  // namespace

Http2ClientStream::Http2ClientStream(Http2ClientConnection& connection)
    : connection_(&connection), reused_(connection.streamsCarried() > 0) {}

Http2ClientStream::~Http2ClientStream() {
  if (connection_ == nullptr) return;
  if (id_ >= 0 && !closed_) {
    nghttp2_submit_rst_stream(connection_->session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
    connection_->scheduleSend();
  }
  connection_->forgetStream(this);
}

void Http2ClientStream::startRequest(UpstreamCallbacks& callbacks, const RequestHeaders& request,
                                     bool end_stream, bool) {
  callbacks_ = &callbacks;
  if (end_stream) outbound_.setEnded();
  const std::vector<nghttp2_nv>& fields = http2Fields(
      {http2Field(":method", request.method), http2Field(":scheme", connection_->scheme()),
       http2Field(":authority", request.authority), http2Field(":path", request.path)},
      request.headers);
  nghttp2_data_provider provider{};
  provider.source.ptr = this;
  provider.read_callback = &readRequestBodyCallback;
  const int32_t id =
      nghttp2_submit_request(connection_->session(), nullptr, fields.data(), fields.size(),
                             end_stream ? nullptr : &provider, nullptr);
  if (id < 0) {
    // Out of stream ids (or the session is ending): the request never left, so it may go again
    // on another connection; this one takes no more.
    closed_ = true;
    Http2ClientConnection* connection = connection_;
    connection_ = nullptr;
    connection->closeWhenIdle();
    fail(UpstreamFailure::Refused);
    return;
  }
  id_ = id;
  connection_->registerStream(id, this);
  connection_->scheduleSend();
}

void Http2ClientStream::sendData(Buffer& data, bool end_stream) {
  if (closed_ || connection_ == nullptr) return;
  outbound_.add(connection_->session(), id_, data, end_stream);
  connection_->scheduleSend();
  if (!write_above_ && outbound_.length() > kHighWatermark) {
    write_above_ = true;
    if (callbacks_ != nullptr) callbacks_->onUpstreamWriteWatermark(true);
  }
}

void Http2ClientStream::sendTrailers(HeaderMap& trailers) {
  if (closed_ || connection_ == nullptr) return;
  outbound_.addTrailers(connection_->session(), id_, std::move(trailers));
  connection_->scheduleSend();
}

ssize_t Http2ClientStream::readRequestBody(size_t length, uint32_t* flags) {
  return outbound_.read(connection_->session(), id_, length, flags);
}

void Http2ClientStream::takeRequestBody(evbuffer* out, size_t length) {
  outbound_.take(out, length);
  if (write_above_ && outbound_.length() <= kLowWatermark) {
    write_above_ = false;
    if (callbacks_ != nullptr) callbacks_->onUpstreamWriteWatermark(false);
  }
}

void Http2ClientStream::addHeader(std::string_view name, std::string_view value) {
  if (too_large_) return;
  // RFC 9113 6.5.2 counts each field as name + value + 32 bytes; the count is the HTTP/1.1
  // upstream parser's.
  block_bytes_ += name.size() + value.size() + 32;
  if (++block_fields_ > http1::Limits().max_headers ||
      block_bytes_ > connection_->maxResponseHeadersBytes()) {
    LOG_DEBUG("upstream %s: HTTP/2 response header block over %zu fields or %llu bytes",
              connection_->peer().c_str(), http1::Limits().max_headers,
              static_cast<unsigned long long>(connection_->maxResponseHeadersBytes()));
    too_large_ = true;
    trailers_.clear();
    // The Stream lets go of this request, whose destruction cancels the stream upstream.
    fail(UpstreamFailure::ProtocolError);
    return;
  }
  if (response_started_) {
    trailers_.add(name, value);
    return;
  }
  if (name == ":status") {
    int status = 0;
    std::from_chars(value.data(), value.data() + value.size(), status);
    response_.status = status;
    return;
  }
  if (!name.empty() && name.front() == ':') return;
  response_.headers.add(name, value);
}

void Http2ClientStream::onHeaders(bool end_stream) {
  block_bytes_ = 0;
  block_fields_ = 0;
  if (too_large_) return;
  if (response_started_) {
    response_complete_ = true;
    if (callbacks_ != nullptr) callbacks_->onUpstreamTrailers(trailers_);
    return;
  }
  if (response_.status >= 100 && response_.status < 200) {
    response_ = ResponseHeaders();  // interim responses are not forwarded
    return;
  }
  response_started_ = true;
  if (end_stream) response_complete_ = true;
  if (callbacks_ != nullptr) callbacks_->onUpstreamHeaders(response_, end_stream);
}

void Http2ClientStream::onDataFrame(bool end_stream) {
  Buffer data;
  data.move(inbound_);
  const size_t length = data.length();
  if (end_stream) response_complete_ = true;
  if (callbacks_ != nullptr) callbacks_->onUpstreamData(data, end_stream);
  if (read_disabled_ && callbacks_ != nullptr) {
    unconsumed_ += length;
  } else {
    consume(length);
  }
}

void Http2ClientStream::consume(size_t bytes) {
  if (bytes == 0 || connection_ == nullptr || closed_) return;
  // The connection window was opened on arrival; only the stream's waits for the client.
  nghttp2_session_consume_stream(connection_->session(), id_, bytes);
  connection_->scheduleSend();
}

void Http2ClientStream::readDisable(bool disable) {
  if (read_disabled_ == disable) return;
  read_disabled_ = disable;
  if (!disable && unconsumed_ > 0) {
    const size_t bytes = unconsumed_;
    unconsumed_ = 0;
    consume(bytes);
  }
}

void Http2ClientStream::onClose(uint32_t error_code) {
  closed_ = true;
  connection_ = nullptr;  // the connection forgot this stream
  // Before the whole response: RST_STREAM from the upstream. REFUSED_STREAM (also what nghttp2
  // reports for streams beyond a GOAWAY) guarantees the request was not processed.
  if (!response_complete_) {
    fail(error_code == NGHTTP2_REFUSED_STREAM && !response_started_ ? UpstreamFailure::Refused
                                                                    : UpstreamFailure::Reset);
  }
}

void Http2ClientStream::onConnectionFailed(UpstreamFailure failure) {
  closed_ = true;
  connection_ = nullptr;
  if (!response_complete_) fail(failure);
}

void Http2ClientStream::fail(UpstreamFailure failure) {
  if (callbacks_ == nullptr) return;
  UpstreamCallbacks* callbacks = callbacks_;
  callbacks_ = nullptr;
  callbacks->onUpstreamFailure(failure, response_started_);
}

}  // namespace remora
