// "host:port" addresses in config files, IPv6 literals in brackets.
#include "config/address.h"

#include <arpa/inet.h>

#include <string>

#include "config/http_syntax.h"

namespace remora::config {
namespace {

Error bad(std::string_view text, std::string_view why) {
  return Error{{}, "bad address '" + std::string(text) + "': " + std::string(why)};
}

bool isHostNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

}  // namespace

std::string Address::text() const {
  std::string port_text = std::to_string(port);
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port_text;
  return host + ":" + port_text;
}

Result<Address> parseAddress(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad(text, "expected host:port");
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  Address address;
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad(text, "unterminated '['");
    address.host = std::string(host.substr(1, host.size() - 2));
    in6_addr parsed;
    if (inet_pton(AF_INET6, address.host.c_str(), &parsed) != 1) {
      return bad(text, "'" + address.host + "' is not an IPv6 address");
    }
  } else {
    if (host.empty()) return bad(text, "missing host");
    if (host.find(':') != std::string_view::npos) {
      return bad(text, "IPv6 addresses need brackets, as in [::1]:80");
    }
    for (char c : host) {
      if (!isHostNameChar(c)) return bad(text, "invalid character in host");
    }
    address.host = std::string(host);
  }
  if (port.empty() || port.size() > 5) return bad(text, "port must be 0..65535");
  uint32_t value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad(text, "port must be 0..65535");
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) return bad(text, "port must be 0..65535");
  address.port = static_cast<uint16_t>(value);
  return address;
}

bool isLoopback(const Address& address) {
  if (toLower(address.host) == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, address.host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, address.host.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

}  // namespace remora::config
