// HTTP/1 encoding on the way out: header fields, chunked transfer coding (RFC 9112 7.1).
#include "proxy/http1_encode.h"

#include <cstdio>
#include <cstring>

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

void appendFields(std::string& out, const HeaderMap& headers, std::string_view skip) {
  // Sized once and written in place: a head has a dozen fields, and four appends each, every one
  // checking the capacity, cost more than the copying.
  size_t size = out.size();
  for (const HeaderField field : headers) size += field.name.size() + field.value.size() + 4;
  size_t at = out.size();
  out.resize(size);
  char* const text = out.data();
  auto put = [&](std::string_view part) {
    if (!part.empty()) std::memcpy(text + at, part.data(), part.size());
    at += part.size();
  };
  for (const HeaderField field : headers) {
    if (!skip.empty() && field.name == skip) continue;
    put(field.name);
    text[at] = ':';
    text[at + 1] = ' ';
    at += 2;
    put(field.value);
    text[at] = '\r';
    text[at + 1] = '\n';
    at += 2;
  }
  out.resize(at);
}

}  // namespace remora::http1
