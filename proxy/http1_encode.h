// HTTP/1 encoding shared by both directions: header fields and chunked framing.
#pragma once

#include <event2/buffer.h>

#include <string>

#include "proxy/header_map.h"

namespace remora::http1 {

// Moves `data` to `out` as one chunk (nothing for empty data), then the last chunk if `end`.
void encodeChunk(evbuffer* out, evbuffer* data, bool end);

// Appends "name: value\r\n" for every field except those called `skip`, as both heads (request
// and response) write them.
void appendFields(std::string& out, const HeaderMap& headers, std::string_view skip = {});

}  // namespace remora::http1
