// Strict HTTP/1.1 message parsing (RFC 9112): request and response heads, body framing, chunked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/header_map.h"

namespace remora::http1 {

// Why a message was rejected, as the status a proxy answers with (400, 431, 501, 505)
// and a short reason for logs and the local reply body.
struct ParseError {
  int status = 0;
  std::string reason;
};

struct Limits {
  size_t max_head_bytes = 60 * 1024;  // request/status line + fields + final CRLF
  size_t max_headers = 100;
};

struct RequestHead {
  std::string method;
  std::string target;     // request-target as sent (origin-form, absolute-form, authority, "*")
  int minor_version = 1;  // HTTP/1.x
  HeaderMap headers;      // names lowercased, values with surrounding whitespace removed
};

struct ResponseHead {
  int status = 0;
  std::string reason;
  int minor_version = 1;
  HeaderMap headers;
};

enum class HeadStatus { Complete, NeedMore, Error };

struct HeadResult {
  HeadStatus status = HeadStatus::NeedMore;
  size_t consumed = 0;  // with Complete: bytes of the head, final CRLF included
  ParseError error;     // with Error
};

// Parses a head from the start of `in` (which may hold more: a body, a pipelined request).
// NeedMore until the empty line arrives; Error as soon as a byte is wrong or the limits are
// exceeded (431), so a bad client is answered without waiting for the rest.
// Rejected (400): bare CR or LF line endings, whitespace before a colon, obs-fold, control
// characters, a bad method token or version; on requests also a missing or repeated Host
// on HTTP/1.1, a Host that is not a valid authority (isValidAuthority; empty is allowed, RFC
// 9112 3.2), and a request target that is none of origin-form, absolute-form with an http(s)
// URI and a valid authority, `*` for OPTIONS, or anything for CONNECT (which the connection
// answers 501). An unsupported version (2.0, 1.2, ...) answers 505. `out` is only meaningful
// with Complete. The input is scanned from its start on every call, so a caller should call
// again only when more bytes have arrived.
HeadResult parseRequestHead(std::string_view in, const Limits& limits, RequestHead& out);
HeadResult parseResponseHead(std::string_view in, const Limits& limits, ResponseHead& out);

enum class BodyKind { None, ContentLength, Chunked, UntilClose };

struct BodyFraming {
  BodyKind kind = BodyKind::None;
  uint64_t length = 0;  // with ContentLength
};

// How the request body is delimited (RFC 9112 6.3). Errors: Content-Length together with
// Transfer-Encoding (400), differing or malformed Content-Length (400), a transfer coding other
// than chunked (501), chunked not last (400), Transfer-Encoding on HTTP/1.0 (400).
// Content-Length written as a list or in several fields is accepted when every value is the
// same number (RFC 9110 8.6 lets a recipient take it as that number) and `head` is rewritten to
// carry it once, so the next hop, which may refuse such lists, reads the same length.
bool requestBodyFraming(RequestHead& head, BodyFraming& out, ParseError& error);

// How the response body is delimited, given the request's method: none for HEAD, 1xx, 204 and
// 304 (and 2xx to CONNECT); otherwise chunked, Content-Length, or until the connection closes.
// Content-Length is checked and rewritten as for requests on every final response, including
// those without a body (a HEAD's says how long the GET's would be).
bool responseBodyFraming(ResponseHead& head, std::string_view request_method, BodyFraming& out,
                         ParseError& error);

// Decodes a chunked body incrementally; the input may arrive in pieces of any size.
// Each feed() consumes framing bytes (sizes, extensions, CRLFs, trailers) and then reports how
// many payload bytes follow them in the input, so the caller can move payload without copying:
//   step = dec.feed(p, n); drop step.framing bytes; pass on the next step.data bytes; repeat.
class ChunkedDecoder {
 public:
  struct Step {
    size_t framing = 0;  // bytes at the start of the input that are framing: drop them
    size_t data = 0;     // payload bytes right after the framing
    bool done = false;   // the last chunk and the trailer section are complete
    bool error = false;  // malformed: 400 (reason in errorReason())
  };

  explicit ChunkedDecoder(size_t max_trailer_bytes = 60 * 1024)
      : max_trailer_bytes_(max_trailer_bytes) {}

  Step feed(const char* data, size_t len);
  const HeaderMap& trailers() const { return trailers_; }
  const std::string& errorReason() const { return error_reason_; }
  bool done() const { return state_ == State::Done; }

 private:
  // SizeWs: whitespace after the size, which RFC 9112 7.1.1 allows only before an extension.
  // Trailer collects a whole line up to its LF, then checks it with the head's field rules.
  enum class State { Size, SizeWs, Extension, SizeLf, Data, DataCr, DataLf, Trailer, Done, Error };

  Step fail(const char* reason);

  State state_ = State::Size;
  uint64_t remaining_ = 0;  // payload bytes left in the current chunk
  bool size_has_digit_ = false;
  size_t line_bytes_ = 0;     // bytes of the chunk-size line so far (size and extensions)
  std::string trailer_line_;  // the trailer field line being collected, CRLF included
  size_t trailer_bytes_ = 0;
  size_t max_trailer_bytes_;
  HeaderMap trailers_;
  std::string error_reason_;
};

// RFC 9110 7.2 and RFC 3986 3.2.2-3.2.3, as a Host value, an absolute-form target's authority
// or an HTTP/2 :authority: `host [":" port]`, the host a reg-name (IPv4 addresses are reg-names)
// or an IP-literal in brackets (IPv6 or IPvFuture), the port digits. Userinfo ("user@host") is
// refused: senders must not generate it (RFC 9110 4.2.4) and the next hop might read the host
// differently from the one routed on. An empty host is refused too (RFC 9110 4.2.1).
bool isValidAuthority(std::string_view authority);

// An absolute-form request target (RFC 9112 3.2.2) in its parts.
struct AbsoluteForm {
  std::string_view authority;
  std::string_view path_and_query;  // "" when the target ends with the authority
};
// Splits `target` when it is an http or https URI (scheme in any case); false for any other.
bool splitAbsoluteForm(std::string_view target, AbsoluteForm& out);

}  // namespace remora::http1
