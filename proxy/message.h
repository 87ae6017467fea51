// Protocol-neutral request and response heads, as codecs produce them and filters see them.
#pragma once

#include <string>

#include "proxy/header_map.h"

namespace remora {

struct RequestHeaders {
  RequestHeaders() = default;
  RequestHeaders(const RequestHeaders&) = default;
  RequestHeaders(RequestHeaders&&) noexcept = default;
  RequestHeaders& operator=(const RequestHeaders&) = default;
  RequestHeaders& operator=(RequestHeaders&&) noexcept = default;
  // Keeps the strings' buffers for the next request's (proxy/recycled_strings.h).
  ~RequestHeaders();

  std::string method;
  std::string scheme = "http";
  std::string authority;  // Host (HTTP/1) or :authority (HTTP/2)
  std::string path;       // request-target: path and query
  HeaderMap headers;      // regular fields only; hop-by-hop fields already removed
};

struct ResponseHeaders {
  int status = 200;
  HeaderMap headers;
};

// The reason phrase HTTP/1 writes for a status code.
const char* reasonPhrase(int status);

}  // namespace remora
