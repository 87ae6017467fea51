// HTTP/1 head parsing (request and status lines, field sections) and body framing decisions.
#include "proxy/http1_parser.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "proxy/http1_syntax.h"
#include "proxy/recycled_strings.h"

namespace remora::http1 {

// Compared as string_views: a std::string == "literal" compares bytes before lengths.
using std::string_view_literals::operator""sv;

using detail::FieldLine;
using detail::hasClass;
using detail::ScanStatus;

namespace {

// RFC 9112 2.2 asks servers to skip at least one empty line before a request; a bound keeps a
// client from holding the connection with an endless stream of them.
constexpr int kMaxLeadingEmptyLines = 4;
// Content-Length and chunk sizes stay below 2^63 so they fit any signed 64-bit offset.
constexpr uint64_t kMaxBodyLength = static_cast<uint64_t>(INT64_MAX);

struct Failure {
  int status = 400;
  const char* reason = "";
};

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isOws(char c) { return c == ' ' || c == '\t'; }

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && isOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && isOws(s.back())) s.remove_suffix(1);
  return s;
}

// Expects CRLF at p; advances past it on Ok.
ScanStatus scanCrlf(const char*& p, const char* end, Failure& failure) {
  if (p == end) return ScanStatus::NeedMore;
  if (*p != '\r') {
    failure.reason = *p == '\n' ? "bare LF" : "unexpected character at end of start line";
    return ScanStatus::Error;
  }
  if (p + 1 == end) return ScanStatus::NeedMore;
  if (p[1] != '\n') {
    failure.reason = "bare CR";
    return ScanStatus::Error;
  }
  p += 2;
  return ScanStatus::Ok;
}

// Expects "HTTP/d.d" at p, checking each byte as it arrives so garbage fails early.
ScanStatus scanVersion(const char*& p, const char* end, int& major, int& minor, Failure& failure) {
  static constexpr std::string_view kPattern = "HTTP/#.#";
  // The usual case, all eight bytes there and HTTP/1.1 or 1.0: one comparison instead of eight.
  if (end - p >= 8 && (std::memcmp(p, "HTTP/1.1", 8) == 0 || std::memcmp(p, "HTTP/1.0", 8) == 0)) {
    major = 1;
    minor = p[7] - '0';
    p += kPattern.size();
    return ScanStatus::Ok;
  }
  for (size_t i = 0; i < kPattern.size(); ++i) {
    if (p + i == end) return ScanStatus::NeedMore;
    bool ok = kPattern[i] == '#' ? isDigit(p[i]) : p[i] == kPattern[i];
    if (!ok) {
      failure.reason = "malformed HTTP version";
      return ScanStatus::Error;
    }
  }
  major = p[5] - '0';
  minor = p[7] - '0';
  p += kPattern.size();
  return ScanStatus::Ok;
}

// Only 1.0 and 1.1 have the framing rules this parser implements.
bool checkVersionSupported(int major, int minor, Failure& failure) {
  if (major == 1 && minor <= 1) return true;
  failure.status = 505;
  failure.reason = "HTTP version not supported";
  return false;
}

// RFC 9112 3.2: the four forms of request target, each where its method allows it.
bool checkRequestTarget(std::string_view method, std::string_view target, Failure& failure) {
  if (target.front() == '/') return true;
  // authority-form; the connection answers CONNECT with 501 whatever its target.
  if (method == "CONNECT") return true;
  if (target == "*") {
    if (method == "OPTIONS") return true;
    failure.reason = "asterisk-form target on a method other than OPTIONS";
    return false;
  }
  AbsoluteForm absolute;
  if (!splitAbsoluteForm(target, absolute)) {
    failure.reason = "invalid request target";
    return false;
  }
  if (!isValidAuthority(absolute.authority)) {
    failure.reason = absolute.authority.find('@') != std::string_view::npos
                         ? "userinfo in request target"
                         : "invalid authority in request target";
    return false;
  }
  return true;
}

ScanStatus scanRequestLine(const char*& p, const char* end, RequestHead& out, Failure& failure) {
  for (int empty_lines = 0; p != end && (*p == '\r' || *p == '\n'); ++empty_lines) {
    if (empty_lines == kMaxLeadingEmptyLines) {
      failure.reason = "too many empty lines before request line";
      return ScanStatus::Error;
    }
    if (ScanStatus s = scanCrlf(p, end, failure); s != ScanStatus::Ok) return s;
  }
  const char* method = p;
  while (p != end && hasClass(*p, detail::kTokenClass)) ++p;
  if (p == end) return ScanStatus::NeedMore;
  if (*p != ' ' || p == method) {
    failure.reason = "invalid method";
    return ScanStatus::Error;
  }
  const char* method_end = p++;
  const char* target = p;
  p = detail::skipClass<0x21>(p, end, detail::kTargetClass);
  if (p == end) return ScanStatus::NeedMore;
  if (*p != ' ' || p == target) {
    failure.reason = "invalid request target";
    return ScanStatus::Error;
  }
  const char* target_end = p++;
  int major = 0;
  int minor = 0;
  if (ScanStatus s = scanVersion(p, end, major, minor, failure); s != ScanStatus::Ok) return s;
  if (ScanStatus s = scanCrlf(p, end, failure); s != ScanStatus::Ok) return s;
  if (!checkVersionSupported(major, minor, failure)) return ScanStatus::Error;
  if (!checkRequestTarget(std::string_view(method, static_cast<size_t>(method_end - method)),
                          std::string_view(target, static_cast<size_t>(target_end - target)),
                          failure)) {
    return ScanStatus::Error;
  }
  out.method.assign(method, method_end);
  assignRecycled(out.target, std::string_view(target, static_cast<size_t>(target_end - target)));
  out.minor_version = minor;
  return ScanStatus::Ok;
}

ScanStatus scanStatusLine(const char*& p, const char* end, ResponseHead& out, Failure& failure) {
  int major = 0;
  int minor = 0;
  if (ScanStatus s = scanVersion(p, end, major, minor, failure); s != ScanStatus::Ok) return s;
  if (p == end) return ScanStatus::NeedMore;
  if (*p != ' ') {
    failure.reason = "malformed status line";
    return ScanStatus::Error;
  }
  ++p;
  int status = 0;
  for (int i = 0; i < 3; ++i, ++p) {
    if (p == end) return ScanStatus::NeedMore;
    if (!isDigit(*p) || (i == 0 && *p == '0')) {
      failure.reason = "invalid status code";
      return ScanStatus::Error;
    }
    status = status * 10 + (*p - '0');
  }
  if (p == end) return ScanStatus::NeedMore;
  // Some servers end the line right after the code; the reason is optional anyway.
  if (*p == ' ') {
    ++p;
  } else if (*p != '\r' && *p != '\n') {
    failure.reason = "invalid status code";
    return ScanStatus::Error;
  }
  const char* reason = p;
  while (p != end && hasClass(*p, detail::kFieldValueClass)) ++p;
  const char* reason_end = p;
  if (ScanStatus s = scanCrlf(p, end, failure); s != ScanStatus::Ok) return s;
  if (!checkVersionSupported(major, minor, failure)) return ScanStatus::Error;
  out.status = status;
  out.reason.assign(reason, reason_end);
  out.minor_version = minor;
  return ScanStatus::Ok;
}

HeadResult headError(const Failure& failure) {
  HeadResult r;
  r.status = HeadStatus::Error;
  r.error.status = failure.status;
  r.error.reason = failure.reason;
  return r;
}

// Shared by requests and responses: the start line, then field lines up to the empty line.
template <typename Head, typename StartLineScanner>
HeadResult parseHead(std::string_view in, const Limits& limits, Head& out,
                     StartLineScanner scan_start_line) {
  out.headers.clear();
  // The fields found so far, as views into `in`: the map copies them in one go once the head is
  // complete. One vector per thread, its capacity (at most max_headers fields) kept.
  thread_local std::vector<HeaderField> fields;
  fields.clear();
  const char* const begin = in.data();
  // Bytes past the limit can never belong to an acceptable head, so they are not looked at.
  const char* const end = begin + std::min(in.size(), limits.max_head_bytes);
  const char* p = begin;
  Failure failure;
  ScanStatus s = scan_start_line(p, end, out, failure);
  const char* const fields_begin = p;
  int hosts = 0;
  while (s == ScanStatus::Ok) {
    if (p == end) {
      s = ScanStatus::NeedMore;
      break;
    }
    if (*p == '\r' || *p == '\n') {
      const char* const fields_end = p;
      if ((s = scanCrlf(p, end, failure)) != ScanStatus::Ok) break;
      if constexpr (std::is_same_v<Head, RequestHead>) {
        if (hosts == 0 && out.minor_version == 1) return headError({400, "missing Host"});
      }
      // Into the map's recycled bytes: no allocation once the worker has seen such heads.
      out.headers.assignParsed(
          std::string_view(fields_begin, static_cast<size_t>(fields_end - fields_begin)), fields);
      HeadResult r;
      r.status = HeadStatus::Complete;
      r.consumed = static_cast<size_t>(p - begin);
      return r;
    }
    FieldLine line;
    const char* reason = nullptr;
    s = detail::scanFieldLine(p, end, line, p, reason);
    if (s == ScanStatus::Error) return headError({400, reason});
    if (s != ScanStatus::Ok) break;
    if (fields.size() == limits.max_headers) return headError({431, "too many fields"});
    if (equalsIgnoreCase(line.name, "host"sv)) {
      if (++hosts > 1) return headError({400, "repeated Host"});
      if (!line.value.empty() && !isValidAuthority(line.value)) {
        return headError({400, line.value.find('@') != std::string_view::npos ? "userinfo in Host"
                                                                              : "invalid Host"});
      }
    }
    fields.push_back({line.name, line.value});
  }
  if (s == ScanStatus::Error) return headError(failure);
  if (in.size() > limits.max_head_bytes) return headError({431, "head too large"});
  return HeadResult{};
}

struct ContentLength {
  bool found = false;
  uint64_t length = 0;
  bool single = true;  // one field with one value, not a list
};

// Every Content-Length value, as separate fields or a comma list, must be the same number.
bool contentLength(const HeaderMap& headers, ContentLength& out, ParseError& error) {
  out = {};
  if (!headers.has("content-length")) return true;  // settled by the map's name bits, no walk
  for (const HeaderField& f : headers) {
    if (f.name != "content-length"sv) continue;
    std::string_view rest = f.value;
    while (true) {
      size_t comma = rest.find(',');
      std::string_view item = trimOws(rest.substr(0, comma));
      if (item.empty()) {
        error = {400, "empty Content-Length"};
        return false;
      }
      uint64_t value = 0;
      for (char c : item) {
        if (!isDigit(c) || value > (kMaxBodyLength - static_cast<uint64_t>(c - '0')) / 10) {
          error = {400, "invalid Content-Length"};
          return false;
        }
        value = value * 10 + static_cast<uint64_t>(c - '0');
      }
      if (out.found) {
        if (value != out.length) {
          error = {400, "conflicting Content-Length"};
          return false;
        }
        out.single = false;
      }
      out.found = true;
      out.length = value;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return true;
}

// One field with the one length, where the message said it as a list or several times.
void collapseContentLength(HeaderMap& headers, const ContentLength& content_length) {
  if (content_length.found && !content_length.single) {
    headers.set("content-length", std::to_string(content_length.length));
  }
}

struct TransferCodings {
  bool present = false;
  int chunked = 0;  // how many times chunked appears
  bool chunked_last = false;
};

// Reads every Transfer-Encoding list; each element is a coding name, maybe with parameters.
bool transferCodings(const HeaderMap& headers, TransferCodings& out, ParseError& error) {
  for (const HeaderField& f : headers) {
    if (f.name != "transfer-encoding"sv) continue;
    out.present = true;
    std::string_view rest = f.value;
    while (true) {
      size_t comma = rest.find(',');
      std::string_view item = trimOws(rest.substr(0, comma));
      size_t name_len = 0;
      while (name_len < item.size() && isTokenChar(static_cast<unsigned char>(item[name_len]))) {
        ++name_len;
      }
      std::string_view params = trimOws(item.substr(name_len));
      // Empty or garbled elements are rejected rather than skipped: a server behind us might
      // read them differently, which is what request smuggling feeds on.
      if (name_len == 0 || (!params.empty() && params.front() != ';')) {
        error = {400, "invalid Transfer-Encoding"};
        return false;
      }
      out.chunked_last = equalsIgnoreCase(item.substr(0, name_len), "chunked");
      if (out.chunked_last) {
        if (!params.empty()) {
          error = {400, "chunked takes no parameters"};
          return false;
        }
        ++out.chunked;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return true;
}

}  // namespace

HeadResult parseRequestHead(std::string_view in, const Limits& limits, RequestHead& out) {
  return parseHead(in, limits, out, scanRequestLine);
}

HeadResult parseResponseHead(std::string_view in, const Limits& limits, ResponseHead& out) {
  return parseHead(in, limits, out, scanStatusLine);
}

bool requestBodyFraming(RequestHead& head, BodyFraming& out, ParseError& error) {
  out = {};
  TransferCodings te;
  ContentLength content_length;
  if (!transferCodings(head.headers, te, error) ||
      !contentLength(head.headers, content_length, error)) {
    return false;
  }
  collapseContentLength(head.headers, content_length);
  if (te.present) {
    if (head.minor_version == 0) {
      error = {400, "Transfer-Encoding on HTTP/1.0"};
      return false;
    }
    if (content_length.found) {
      error = {400, "both Transfer-Encoding and Content-Length"};
      return false;
    }
    if (te.chunked_last && te.chunked == 1) {
      out.kind = BodyKind::Chunked;
      return true;
    }
    // Without chunked last the body has no end we could find (RFC 9112 6.3 item 4).
    error = te.chunked > 0 ? ParseError{400, "chunked is not the final coding"}
                           : ParseError{501, "unsupported transfer coding"};
    return false;
  }
  if (content_length.found) {
    out.kind = BodyKind::ContentLength;
    out.length = content_length.length;
  }
  return true;
}

bool responseBodyFraming(ResponseHead& head, std::string_view request_method, BodyFraming& out,
                         ParseError& error) {
  out = {};
  if (head.status < 200) return true;
  ContentLength content_length;
  if (!contentLength(head.headers, content_length, error)) return false;
  collapseContentLength(head.headers, content_length);
  bool no_body = request_method == "HEAD" || head.status == 204 || head.status == 304 ||
                 (request_method == "CONNECT" && head.status < 300);
  if (no_body) return true;
  TransferCodings te;
  if (!transferCodings(head.headers, te, error)) return false;
  if (te.present) {
    // RFC 9112 6.3 lets Transfer-Encoding override Content-Length, but a sender must not send
    // both; refusing keeps every hop on one reading of the body.
    if (content_length.found) {
      error = {400, "both Transfer-Encoding and Content-Length"};
      return false;
    }
    if (te.chunked > 1) {
      error = {400, "chunked applied more than once"};
      return false;
    }
    // HTTP/1.0 has no chunked coding: such framing is faulty and only the close is trustworthy
    // (RFC 9112 6.1); the same holds when chunked is not the final coding.
    out.kind =
        te.chunked_last && head.minor_version == 1 ? BodyKind::Chunked : BodyKind::UntilClose;
    return true;
  }
  if (content_length.found) {
    out.kind = BodyKind::ContentLength;
    out.length = content_length.length;
    return true;
  }
  out.kind = BodyKind::UntilClose;
  return true;
}

}  // namespace remora::http1
