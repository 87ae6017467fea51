// HTTP/1 body encoding shared by both directions: chunked framing around evbuffer data.
#pragma once

#include <event2/buffer.h>

namespace remora::http1 {

// Moves `data` to `out` as one chunk (nothing for empty data), then the last chunk if `end`.
void encodeChunk(evbuffer* out, evbuffer* data, bool end);

}  // namespace remora::http1
