// One upstream HTTP/2 request: head and trailers out, body paced by the upstream's windows,
// response and trailers back, and the window reopened as the client takes the response.
#include "proxy/http2_client_stream.h"

#include <charconv>
#include <string>
#include <vector>

#include "proxy/http2_client_connection.h"

namespace remora {

namespace {

nghttp2_nv field(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

// RFC 9113 8.2.2: connection-specific fields have no place in HTTP/2; `te` only as "trailers".
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

std::vector<nghttp2_nv> fieldsOf(const HeaderMap& headers) {
  std::vector<nghttp2_nv> out;
  out.reserve(headers.size());
  for (const HeaderField& f : headers) {
    if (forwardable(f)) out.push_back(field(f.name, f.value));
  }
  return out;
}

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
  outbound_end_ = end_stream;
  std::vector<nghttp2_nv> fields = fieldsOf(request.headers);
  const nghttp2_nv pseudo[] = {
      field(":method", request.method), field(":scheme", connection_->scheme()),
      field(":authority", request.authority), field(":path", request.path)};
  fields.insert(fields.begin(), std::begin(pseudo), std::end(pseudo));
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
  outbound_.move(data);
  if (end_stream) outbound_end_ = true;
  if (data_deferred_) {
    data_deferred_ = false;
    nghttp2_session_resume_data(connection_->session(), id_);
  }
  connection_->scheduleSend();
  if (!write_above_ && outbound_.length() > kHighWatermark) {
    write_above_ = true;
    if (callbacks_ != nullptr) callbacks_->onUpstreamWriteWatermark(true);
  }
}

void Http2ClientStream::sendTrailers(HeaderMap& trailers) {
  if (closed_ || connection_ == nullptr) return;
  outbound_trailers_ = std::make_unique<HeaderMap>(std::move(trailers));
  outbound_end_ = true;
  if (data_deferred_) {
    data_deferred_ = false;
    nghttp2_session_resume_data(connection_->session(), id_);
  }
  connection_->scheduleSend();
}

ssize_t Http2ClientStream::readRequestBody(size_t length, uint32_t* flags) {
  const size_t available = outbound_.length();
  if (available == 0 && !outbound_end_) {
    data_deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  const size_t n = std::min(length, available);
  *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  if (n == available && outbound_end_) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (outbound_trailers_ != nullptr) {
      // The trailers' HEADERS frame carries END_STREAM instead of this DATA frame.
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      std::vector<nghttp2_nv> fields = fieldsOf(*outbound_trailers_);
      nghttp2_submit_trailer(connection_->session(), id_, fields.data(), fields.size());
      outbound_trailers_.reset();
    }
  }
  return static_cast<ssize_t>(n);
}

void Http2ClientStream::takeRequestBody(evbuffer* out, size_t length) {
  evbuffer_remove_buffer(outbound_.raw(), out, length);
  if (write_above_ && outbound_.length() <= kLowWatermark) {
    write_above_ = false;
    if (callbacks_ != nullptr) callbacks_->onUpstreamWriteWatermark(false);
  }
}

void Http2ClientStream::addHeader(std::string_view name, std::string_view value) {
  if (response_started_) {
    trailers_.add(std::string(name), std::string(value));
    return;
  }
  if (name == ":status") {
    int status = 0;
    std::from_chars(value.data(), value.data() + value.size(), status);
    response_.status = status;
    return;
  }
  if (!name.empty() && name.front() == ':') return;
  response_.headers.add(std::string(name), std::string(value));
}

void Http2ClientStream::onHeaders(bool end_stream) {
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
