// Tests for ChunkedDecoder: framing, extensions, trailers, limits and arbitrary input splits.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "proxy/http1_parser.h"

namespace remora::http1 {
namespace {

using namespace std::string_literals;

struct Decoded {
  std::string body;
  size_t consumed = 0;  // framing plus payload bytes taken from the input
  bool done = false;
  bool error = false;
};

// Feeds `in` in pieces of `piece` bytes (0: all at once), looping as a caller would, and checks
// the step invariants on the way.
Decoded decode(ChunkedDecoder& dec, std::string_view in, size_t piece = 0) {
  Decoded out;
  if (piece == 0) piece = in.size();
  for (size_t start = 0; start < in.size() && !out.done && !out.error; start += piece) {
    std::string_view chunk = in.substr(start, piece);
    while (!chunk.empty()) {
      ChunkedDecoder::Step step = dec.feed(chunk.data(), chunk.size());
      EXPECT_LE(step.framing + step.data, chunk.size());
      out.body.append(chunk.substr(step.framing, step.data));
      out.consumed += step.framing + step.data;
      chunk.remove_prefix(step.framing + step.data);
      out.done = step.done;
      out.error = step.error;
      if (step.done || step.error) break;
      EXPECT_GT(step.framing + step.data, 0u) << "no progress";
    }
  }
  return out;
}

Decoded decode(std::string_view in, size_t piece = 0) {
  ChunkedDecoder dec;
  return decode(dec, in, piece);
}

bool rejects(std::string_view in) {
  ChunkedDecoder dec;
  Decoded out = decode(dec, in);
  if (out.error) {
    EXPECT_FALSE(dec.errorReason().empty());
  }
  return out.error;
}

TEST(Http1Chunked, DecodesSimpleBody) {
  std::string in = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  ChunkedDecoder dec;
  Decoded out = decode(dec, in);
  EXPECT_TRUE(out.done);
  EXPECT_FALSE(out.error);
  EXPECT_TRUE(dec.done());
  EXPECT_EQ(out.body, "hello world");
  EXPECT_EQ(out.consumed, in.size());
  EXPECT_TRUE(dec.trailers().empty());
}

TEST(Http1Chunked, StepsStopAtEachChunk) {
  std::string in = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  ChunkedDecoder dec;
  ChunkedDecoder::Step step = dec.feed(in.data(), in.size());
  EXPECT_EQ(step.framing, 3u);
  EXPECT_EQ(step.data, 3u);
  step = dec.feed(in.data() + 6, in.size() - 6);
  EXPECT_EQ(step.framing, 5u);  // CRLF after "abc", "2\r\n"
  EXPECT_EQ(step.data, 2u);
  step = dec.feed(in.data() + 13, in.size() - 13);
  EXPECT_EQ(step.framing, in.size() - 13);
  EXPECT_EQ(step.data, 0u);
  EXPECT_TRUE(step.done);
}

TEST(Http1Chunked, PayloadLimitedByInput) {
  ChunkedDecoder dec;
  std::string in = "a\r\n0123";
  ChunkedDecoder::Step step = dec.feed(in.data(), in.size());
  EXPECT_EQ(step.framing, 3u);
  EXPECT_EQ(step.data, 4u);
  step = dec.feed("456789\r\n0\r\n\r\n", 13);
  EXPECT_EQ(step.framing, 0u);
  EXPECT_EQ(step.data, 6u);
  EXPECT_FALSE(step.done);
}

TEST(Http1Chunked, ByteByByteAndEverySplit) {
  std::string in =
      "1a;name=value;q=\"x;y\"\r\nabcdefghijklmnopqrstuvwxyz\r\n"
      "A \t;ext\r\n0123456789\r\n00001\r\n!\r\n0\r\nX-Checksum: abc \r\nX-B:c\r\n\r\n";
  std::string body = "abcdefghijklmnopqrstuvwxyz0123456789!";
  for (size_t piece = 1; piece <= in.size(); ++piece) {
    ChunkedDecoder dec;
    Decoded out = decode(dec, in, piece);
    ASSERT_TRUE(out.done) << "piece " << piece << ": " << dec.errorReason();
    EXPECT_EQ(out.body, body);
    EXPECT_EQ(out.consumed, in.size());
    ASSERT_EQ(dec.trailers().size(), 2u);
    EXPECT_EQ(*dec.trailers().get("x-checksum"), "abc");
    EXPECT_EQ(*dec.trailers().get("x-b"), "c");
  }
}

TEST(Http1Chunked, ManyChunksInOneBuffer) {
  std::string in;
  std::string body;
  for (int i = 1; i <= 300; ++i) {
    std::string data(static_cast<size_t>(i % 17 + 1), static_cast<char>('a' + i % 26));
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    in += size + data + "\r\n";
    body += data;
  }
  in += "0\r\n\r\n";
  Decoded out = decode(in);
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.body, body);
}

TEST(Http1Chunked, StopsAtEndOfBody) {
  std::string body = "2\r\nok\r\n0\r\n\r\n";
  ChunkedDecoder dec;
  Decoded out = decode(dec, body + "GET / HTTP/1.1\r\n");
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.consumed, body.size());
  ChunkedDecoder::Step step = dec.feed("GET", 3);
  EXPECT_TRUE(step.done);
  EXPECT_EQ(step.framing + step.data, 0u);
}

TEST(Http1Chunked, HexSizes) {
  EXPECT_EQ(decode("A\r\n0123456789\r\n0\r\n\r\n").body, "0123456789");
  EXPECT_EQ(decode("a\r\n0123456789\r\n0\r\n\r\n").body, "0123456789");
  EXPECT_EQ(decode("00a\r\n0123456789\r\n000\r\n\r\n").body, "0123456789");
  // The largest size is accepted (its data simply never arrives here).
  Decoded out = decode("7fffffffffffffff\r\nabc");
  EXPECT_FALSE(out.error);
  EXPECT_EQ(out.body, "abc");
}

TEST(Http1Chunked, RejectsBadSizes) {
  EXPECT_TRUE(rejects("\r\nabc\r\n0\r\n\r\n"));
  EXPECT_TRUE(rejects(";ext\r\n"));
  EXPECT_TRUE(rejects("x\r\n"));
  EXPECT_TRUE(rejects("0x5\r\nhello\r\n0\r\n\r\n"));
  EXPECT_TRUE(rejects("-5\r\n"));
  EXPECT_TRUE(rejects("+5\r\n"));
  EXPECT_TRUE(rejects(" 5\r\n"));
  EXPECT_TRUE(rejects("5 5\r\n"));
  EXPECT_TRUE(rejects("5 \r\nhello\r\n"));
  EXPECT_TRUE(rejects("8000000000000000\r\n"));
  EXPECT_TRUE(rejects("ffffffffffffffffff\r\n"));
  EXPECT_TRUE(rejects("10000000000000000\r\n"));
  EXPECT_TRUE(rejects(std::string(5000, '0') + "\r\n"));
}

TEST(Http1Chunked, RequiresCrlf) {
  EXPECT_TRUE(rejects("5\nhello\r\n0\r\n\r\n"));
  EXPECT_TRUE(rejects("5\rhello\r\n0\r\n\r\n"));
  EXPECT_TRUE(rejects("5\r\nhelloX\r\n0\r\n\r\n"));
  EXPECT_TRUE(rejects("5\r\nhello\n0\r\n\r\n"));
  EXPECT_TRUE(rejects("5\r\nhello\rX0\r\n\r\n"));
  EXPECT_TRUE(rejects("5\r\nhello0\r\n\r\n"));
  EXPECT_TRUE(rejects("0\r\n\n"));
  EXPECT_TRUE(rejects("0\r\n\rX\r\n"));
  EXPECT_TRUE(rejects("0\n\r\n"));
}

TEST(Http1Chunked, Extensions) {
  EXPECT_EQ(decode("5;a=b\r\nhello\r\n0;last\r\n\r\n").body, "hello");
  EXPECT_EQ(decode("5 ; a = \"b c\"\r\nhello\r\n0\r\n\r\n").body, "hello");
  EXPECT_TRUE(rejects("5;a\nb\r\nhello\r\n0\r\n\r\n"));
  EXPECT_TRUE(rejects("5;a\0b\r\nhello\r\n0\r\n\r\n"s));
  EXPECT_TRUE(rejects("5;a\rb\r\nhello\r\n0\r\n\r\n"));
  std::string ext(4000, 'e');
  EXPECT_FALSE(decode("5;" + ext + "\r\nhello\r\n0\r\n\r\n").error);
  EXPECT_TRUE(rejects("5;" + std::string(4100, 'e') + "\r\nhello\r\n0\r\n\r\n"));
  // The bound holds when the extension trickles in.
  ChunkedDecoder dec;
  std::string in = "5;" + std::string(4100, 'e');
  EXPECT_TRUE(decode(dec, in, 1).error);
}

TEST(Http1Chunked, Trailers) {
  ChunkedDecoder dec;
  Decoded out = decode(dec, "0\r\nX-Foo: Bar\r\nexpires:\t1 \r\n\r\n");
  ASSERT_TRUE(out.done);
  ASSERT_EQ(dec.trailers().size(), 2u);
  EXPECT_EQ(*dec.trailers().get("x-foo"), "Bar");
  EXPECT_EQ(*dec.trailers().get("expires"), "1");
}

TEST(Http1Chunked, RejectsBadTrailers) {
  EXPECT_TRUE(rejects("0\r\nX-Foo: a\r\n b\r\n\r\n"));
  EXPECT_TRUE(rejects("0\r\n X-Foo: a\r\n\r\n"));
  EXPECT_TRUE(rejects("0\r\nX-Foo : a\r\n\r\n"));
  EXPECT_TRUE(rejects("0\r\nX Foo: a\r\n\r\n"));
  EXPECT_TRUE(rejects("0\r\nX-Foo: a\0\r\n\r\n"s));
  EXPECT_TRUE(rejects("0\r\nX-Foo: a\n\r\n"));
  EXPECT_TRUE(rejects("0\r\nX-Foo: a\rb\r\n\r\n"));
  EXPECT_TRUE(rejects("0\r\nX-Foo\r\n\r\n"));
}

TEST(Http1Chunked, TrailerSizeLimit) {
  std::string in = "0\r\nX: " + std::string(20, 'a') + "\r\n\r\n";
  ChunkedDecoder small(16);
  EXPECT_TRUE(decode(small, in).error);
  ChunkedDecoder trickle(16);
  EXPECT_TRUE(decode(trickle, in, 1).error);
  ChunkedDecoder enough(64);
  EXPECT_TRUE(decode(enough, in).done);
  // A trailer line that never ends is refused once it passes the limit.
  ChunkedDecoder endless(16);
  EXPECT_TRUE(decode(endless, "0\r\nX: " + std::string(100, 'a')).error);
}

TEST(Http1Chunked, ErrorIsSticky) {
  ChunkedDecoder dec;
  EXPECT_TRUE(dec.feed("z", 1).error);
  ChunkedDecoder::Step step = dec.feed("5\r\n", 3);
  EXPECT_TRUE(step.error);
  EXPECT_EQ(step.framing + step.data, 0u);
  EXPECT_FALSE(dec.done());
}

TEST(Http1Chunked, IncompleteInputNeedsMore) {
  std::string in = "5\r\nhello\r\n0\r\nX: y\r\n\r\n";
  for (size_t n = 0; n < in.size(); ++n) {
    Decoded out = decode(std::string_view(in).substr(0, n));
    EXPECT_FALSE(out.done) << n;
    EXPECT_FALSE(out.error) << n;
    EXPECT_EQ(out.consumed, n);
  }
}

}  // namespace
}  // namespace remora::http1
