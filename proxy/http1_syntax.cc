// The HTTP/1 field-line scanner shared by the head parser and chunked trailers.
#include "proxy/http1_syntax.h"

namespace remora::http1::detail {

namespace {
bool isOws(char c) { return c == ' ' || c == '\t'; }
}  // namespace

ScanStatus scanFieldLine(const char* p, const char* end, FieldLine& line, const char*& next,
                         const char*& reason) {
  const char* name = p;
  if (p != end && isOws(*p)) {
    // obs-fold continues the previous value; RFC 9112 5.2 lets us reject it, and must, because
    // peers disagree on whether it joins the previous field.
    reason = "obsolete line folding";
    return ScanStatus::Error;
  }
  while (p != end && hasClass(*p, kTokenClass)) ++p;
  if (p == end) return ScanStatus::NeedMore;
  if (*p != ':') {
    // Whitespace before the colon is how "Transfer-Encoding : chunked" smuggling works.
    reason = isOws(*p) ? "whitespace before colon" : "invalid character in field name";
    return ScanStatus::Error;
  }
  if (p == name) {
    reason = "empty field name";
    return ScanStatus::Error;
  }
  line.name = std::string_view(name, static_cast<size_t>(p - name));
  ++p;
  while (p != end && isOws(*p)) ++p;
  const char* value = p;
  p = skipClass<0x20>(p, end, kFieldValueClass);
  if (p == end) return ScanStatus::NeedMore;
  if (*p != '\r') {
    reason = *p == '\n' ? "bare LF" : "control character in field value";
    return ScanStatus::Error;
  }
  if (p + 1 == end) return ScanStatus::NeedMore;
  if (p[1] != '\n') {
    reason = "bare CR";
    return ScanStatus::Error;
  }
  next = p + 2;
  while (p != value && isOws(p[-1])) --p;
  line.value = std::string_view(value, static_cast<size_t>(p - value));
  return ScanStatus::Ok;
}

}  // namespace remora::http1::detail
