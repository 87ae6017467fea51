// The HTTP/1 field-line scanner and the authority grammar shared by the head
// parser, chunked trailers and the HTTP/2 request checks.
#include "proxy/http1_syntax.h"

#include <arpa/inet.h>

#include <array>

#include "proxy/http1_parser.h"

namespace remora::http1 {

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isHexDigit(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
// RFC 3986 2.3 and 2.2.
bool isUnreserved(char c) {
  return isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool isSubDelim(char c) {
  return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos;
}

// The characters a reg-name may hold as they are (unreserved and sub-delims), as a table: every
// request's Host is checked against it.
constexpr std::array<bool, 256> kRegNameChars = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    table[static_cast<size_t>(c)] =
        (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
        std::string_view("-._~!$&'()*+,;=").find(ch) != std::string_view::npos;
  }
  return table;
}();

// reg-name = *( unreserved / pct-encoded / sub-delims ): no '@', so userinfo never passes.
bool isRegName(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (kRegNameChars[static_cast<unsigned char>(c)]) continue;
    if (c != '%' || i + 2 >= s.size() || !isHexDigit(s[i + 1]) || !isHexDigit(s[i + 2])) {
      return false;
    }
    i += 2;
  }
  return true;
}

// What goes between the brackets of an IP-literal: IPv6address / IPvFuture.
bool isIpLiteralInside(std::string_view s) {
  if (!s.empty() && (s.front() == 'v' || s.front() == 'V')) {
    // IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
    size_t i = 1;
    while (i < s.size() && isHexDigit(s[i])) ++i;
    if (i == 1 || i >= s.size() || s[i] != '.' || i + 1 == s.size()) return false;
    for (char c : s.substr(i + 1)) {
      if (!isUnreserved(c) && !isSubDelim(c) && c != ':') return false;
    }
    return true;
  }
  char text[INET6_ADDRSTRLEN];
  if (s.empty() || s.size() >= sizeof(text)) return false;
  s.copy(text, s.size());
  text[s.size()] = '\0';
  in6_addr address;
  return inet_pton(AF_INET6, text, &address) == 1;
}

}  // namespace

bool isValidAuthority(std::string_view authority) {
  std::string_view host = authority;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos || !isIpLiteralInside(host.substr(1, close - 1))) {
      return false;
    }
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    if (!rest.empty()) port = rest.substr(1);
  } else {
    const size_t colon = host.find(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
    // IPv4address is a subset of reg-name; an empty host names nothing a proxy could reach.
    if (host.empty() || !isRegName(host)) return false;
  }
  for (char c : port) {
    if (!isDigit(c)) return false;
  }
  return true;
}

bool splitAbsoluteForm(std::string_view target, AbsoluteForm& out) {
  const size_t scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) return false;
  const std::string_view scheme = target.substr(0, scheme_end);
  if (!equalsIgnoreCase(scheme, "http") && !equalsIgnoreCase(scheme, "https")) return false;
  std::string_view rest = target.substr(scheme_end + 3);
  const size_t authority_end = rest.find_first_of("/?");
  out.authority = rest.substr(0, authority_end);
  out.path_and_query =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  return true;
}

namespace detail {

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
  p = skipToken(p, end);
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

}  // namespace detail
}  // namespace remora::http1
