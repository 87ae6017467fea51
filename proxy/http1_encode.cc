// HTTP/1 encoding on the way out: header fields, chunked transfer coding (RFC 9112 7.1).
#include "proxy/http1_encode.h"

#include <cstdio>

namespace remora::http1 {

void encodeChunk(evbuffer* out, evbuffer* data, bool end) {
  const size_t length = evbuffer_get_length(data);
  if (length > 0) {
    char size[24];
    const int n = snprintf(size, sizeof(size), "%zx\r\n", length);
    evbuffer_add(out, size, static_cast<size_t>(n));
    evbuffer_add_buffer(out, data);
    evbuffer_add(out, "\r\n", 2);
  }
  if (end) evbuffer_add(out, "0\r\n\r\n", 5);
}

void appendFields(std::string& out, const HeaderMap& headers) {
  for (const auto& field : headers) {
    out += field.name;
    out += ": ";
    out += field.value;
    out += "\r\n";
  }
}

}  // namespace remora::http1
