// ChunkedDecoder: the chunked transfer coding (RFC 9112 7.1), decoded incrementally.
#include <algorithm>
#include <cstring>

#include "proxy/http1_parser.h"
#include "proxy/http1_syntax.h"

namespace remora::http1 {

namespace {

// Chunk extensions carry nothing we use; the bound stops a peer from streaming one forever.
constexpr size_t kMaxChunkLineBytes = 4096;
constexpr uint64_t kMaxChunkSize = static_cast<uint64_t>(INT64_MAX);

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

ChunkedDecoder::Step ChunkedDecoder::fail(const char* reason) {
  state_ = State::Error;
  error_reason_ = reason;
  Step step;
  step.error = true;
  return step;
}

ChunkedDecoder::Step ChunkedDecoder::feed(const char* data, size_t len) {
  Step step;
  size_t i = 0;
  while (i < len) {
    if (state_ == State::Data) {
      // Hand back the framing so far plus as much of this chunk as the input holds.
      step.framing = i;
      step.data = static_cast<size_t>(std::min<uint64_t>(remaining_, len - i));
      remaining_ -= step.data;
      if (remaining_ == 0) state_ = State::DataCr;
      return step;
    }
    if (state_ == State::Trailer) {
      const void* lf = std::memchr(data + i, '\n', len - i);
      size_t take = lf ? static_cast<size_t>(static_cast<const char*>(lf) - data) + 1 - i : len - i;
      trailer_bytes_ += take;
      if (trailer_bytes_ > max_trailer_bytes_) return fail("trailer section too large");
      trailer_line_.append(data + i, take);
      i += take;
      if (!lf) break;
      if (trailer_line_ == "\r\n") {
        state_ = State::Done;
        step.framing = i;
        step.done = true;
        return step;
      }
      if (trailer_line_[0] == '\r' || trailer_line_[0] == '\n') return fail("bare CR or LF");
      detail::FieldLine line;
      const char* next = nullptr;
      const char* reason = nullptr;
      const char* begin = trailer_line_.data();
      const char* end = begin + trailer_line_.size();
      // The line ends with its first LF, so anything short of Ok is an error.
      if (detail::scanFieldLine(begin, end, line, next, reason) != detail::ScanStatus::Ok) {
        return fail(reason ? reason : "malformed trailer field");
      }
      trailers_.addLowercasingName(line.name, line.value);
      trailer_line_.clear();
      continue;
    }
    if (state_ == State::Done || state_ == State::Error) break;
    char c = data[i++];
    switch (state_) {
      case State::Size:
      case State::SizeWs:
      case State::Extension:
        if (++line_bytes_ > kMaxChunkLineBytes) return fail("chunk size line too long");
        if (state_ == State::Extension) {
          if (c == '\r') {
            state_ = State::SizeLf;
          } else if (!detail::hasClass(c, detail::kFieldValueClass)) {
            return fail("invalid character in chunk extension");
          }
        } else if (int v = hexValue(c); v >= 0 && state_ == State::Size) {
          if (remaining_ > (kMaxChunkSize - static_cast<uint64_t>(v)) / 16) {
            return fail("chunk size too large");
          }
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(v);
          size_has_digit_ = true;
        } else if (!size_has_digit_) {
          return fail("missing chunk size");
        } else if (c == '\r' && state_ == State::Size) {
          state_ = State::SizeLf;
        } else if (c == ';') {
          state_ = State::Extension;
        } else if (c == ' ' || c == '\t') {
          state_ = State::SizeWs;
        } else {
          return fail("invalid chunk size");
        }
        break;
      case State::SizeLf:
        if (c != '\n') return fail("bare CR after chunk size");
        line_bytes_ = 0;
        size_has_digit_ = false;
        state_ = remaining_ == 0 ? State::Trailer : State::Data;
        break;
      case State::DataCr:
        if (c != '\r') return fail("missing CRLF after chunk data");
        state_ = State::DataLf;
        break;
      case State::DataLf:
        if (c != '\n') return fail("bare CR after chunk data");
        state_ = State::Size;
        break;
      default:
        break;
    }
  }
  step.framing = i;
  step.done = state_ == State::Done;
  step.error = state_ == State::Error;
  return step;
}

}  // namespace remora::http1
