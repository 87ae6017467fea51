// Unit tests of HTTP/1 encoding: header fields as both heads write them, and chunked framing.
#include "proxy/http1_encode.h"

#include <event2/buffer.h>
#include <gtest/gtest.h>

#include <string>

namespace remora::http1 {
namespace {

TEST(Http1EncodeTest, AppendsEveryFieldAfterWhatIsThere) {
  HeaderMap headers;
  headers.add("content-type", "text/plain");
  headers.add("x-empty", "");
  headers.add("te", "trailers");
  std::string out = "GET / HTTP/1.1\r\n";
  appendFields(out, headers);
  EXPECT_EQ(out, "GET / HTTP/1.1\r\ncontent-type: text/plain\r\nx-empty: \r\nte: trailers\r\n");
}

TEST(Http1EncodeTest, LeavesOutTheSkippedName) {
  HeaderMap headers;
  headers.add("te", "trailers");
  headers.add("accept", "*/*");
  headers.add("te", "gzip");
  std::string out;
  appendFields(out, headers, "te");
  EXPECT_EQ(out, "accept: */*\r\n");
  appendFields(out, HeaderMap(), "te");
  EXPECT_EQ(out, "accept: */*\r\n");
}

TEST(Http1EncodeTest, ChunksCarryTheirSizeInHex) {
  evbuffer* out = evbuffer_new();
  evbuffer* data = evbuffer_new();
  evbuffer_add(data, "0123456789abcdefXYZ", 19);
  encodeChunk(out, data, false);
  encodeChunk(out, data, true);  // empty now: only the last chunk
  std::string text(evbuffer_get_length(out), '\0');
  evbuffer_remove(out, text.data(), text.size());
  EXPECT_EQ(text, "13\r\n0123456789abcdefXYZ\r\n0\r\n\r\n");
  evbuffer_free(data);
  evbuffer_free(out);
}

}  // namespace
}  // namespace remora::http1
