// libFuzzer target for the HTTP/1 parser: heads, framing and chunked decoding on arbitrary bytes,
// aborting when an invariant breaks (bounds, prefix consistency, split independence).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/http1_parser.h"

namespace remora::http1 {
namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Small limits so the fuzzer reaches the 431 paths with short inputs.
Limits fuzzLimits() {
  Limits limits;
  limits.max_head_bytes = 2048;
  limits.max_headers = 16;
  return limits;
}

bool isLowercaseName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!isTokenChar(static_cast<unsigned char>(c)) || (c >= 'A' && c <= 'Z')) return false;
  }
  return true;
}

template <typename Head>
void checkHeadResult(const HeadResult& r, std::string_view in, const Limits& limits,
                     const Head& head) {
  check(r.consumed <= in.size());
  switch (r.status) {
    case HeadStatus::Complete:
      check(r.consumed > 0 && r.consumed <= limits.max_head_bytes);
      check(head.headers.size() <= limits.max_headers);
      check(head.minor_version == 0 || head.minor_version == 1);
      for (const HeaderField& f : head.headers) check(isLowercaseName(f.name));
      break;
    case HeadStatus::NeedMore:
      check(r.consumed == 0 && in.size() <= limits.max_head_bytes);
      break;
    case HeadStatus::Error:
      check(r.error.status == 400 || r.error.status == 431 || r.error.status == 505);
      check(!r.error.reason.empty());
      break;
  }
}

// A head seen in part must never be judged differently from the whole: a complete prefix means
// the whole is the same head, and before its end the answer is NeedMore.
void checkPrefix(const HeadResult& whole, const HeadResult& prefix, size_t prefix_len) {
  if (prefix.status == HeadStatus::Complete) {
    check(whole.status == HeadStatus::Complete && whole.consumed == prefix.consumed);
  }
  if (whole.status == HeadStatus::Complete && prefix_len < whole.consumed) {
    check(prefix.status == HeadStatus::NeedMore);
  }
  if (whole.status == HeadStatus::NeedMore) check(prefix.status == HeadStatus::NeedMore);
}

void fuzzRequest(std::string_view in, size_t split) {
  Limits limits = fuzzLimits();
  RequestHead head;
  HeadResult whole = parseRequestHead(in, limits, head);
  checkHeadResult(whole, in, limits, head);
  if (whole.status == HeadStatus::Complete) {
    check(!head.method.empty() && !head.target.empty());
    BodyFraming framing;
    ParseError error;
    if (requestBodyFraming(head, framing, error)) {
      check(framing.kind != BodyKind::UntilClose);
      check(framing.kind == BodyKind::ContentLength || framing.length == 0);
      check(framing.length <= static_cast<uint64_t>(INT64_MAX));
    } else {
      check(error.status == 400 || error.status == 501);
    }
  }
  RequestHead prefix_head;
  checkPrefix(whole, parseRequestHead(in.substr(0, split), limits, prefix_head), split);
}

void fuzzResponse(std::string_view in, size_t split) {
  Limits limits = fuzzLimits();
  ResponseHead head;
  HeadResult whole = parseResponseHead(in, limits, head);
  checkHeadResult(whole, in, limits, head);
  if (whole.status == HeadStatus::Complete) {
    check(head.status >= 100 && head.status <= 999);
    for (std::string_view method : {"GET", "HEAD", "CONNECT"}) {
      BodyFraming framing;
      ParseError error;
      if (responseBodyFraming(head, method, framing, error)) {
        check(method != "HEAD" || framing.kind == BodyKind::None);
      } else {
        check(error.status == 400);
      }
    }
  }
  ResponseHead prefix_head;
  checkPrefix(whole, parseResponseHead(in.substr(0, split), limits, prefix_head), split);
}

struct Decoded {
  std::string body;
  size_t consumed = 0;
  bool done = false;
  bool error = false;
};

// Feeds one piece of input, looping over it as a caller does, until it is used up.
void feedPiece(ChunkedDecoder& dec, std::string_view piece, Decoded& out) {
  while (!piece.empty() && !out.done && !out.error) {
    ChunkedDecoder::Step step = dec.feed(piece.data(), piece.size());
    check(step.framing + step.data <= piece.size());
    check(!(step.done && step.error));
    check(step.done == dec.done());
    out.body.append(piece.substr(step.framing, step.data));
    out.consumed += step.framing + step.data;
    out.done = step.done;
    out.error = step.error;
    if (!out.done && !out.error) check(step.framing + step.data > 0);
    piece.remove_prefix(step.framing + step.data);
  }
}

Decoded decodeSplit(std::string_view in, size_t split, size_t max_trailer_bytes) {
  ChunkedDecoder dec(max_trailer_bytes);
  Decoded out;
  feedPiece(dec, in.substr(0, split), out);
  feedPiece(dec, in.substr(split), out);
  if (out.done) {
    for (const HeaderField& f : dec.trailers()) check(isLowercaseName(f.name));
  }
  return out;
}

void fuzzChunked(std::string_view in, size_t split) {
  constexpr size_t kMaxTrailerBytes = 256;
  Decoded whole = decodeSplit(in, in.size(), kMaxTrailerBytes);
  Decoded halves = decodeSplit(in, split, kMaxTrailerBytes);
  // How the input is cut must not change what is decoded.
  check(whole.done == halves.done && whole.error == halves.error);
  check(whole.body == halves.body);
  if (whole.done) check(whole.consumed == halves.consumed);
  if (!whole.done && !whole.error) check(whole.consumed == in.size());

  ChunkedDecoder dec(kMaxTrailerBytes);
  Decoded bytes;
  for (size_t i = 0; i < in.size() && !bytes.done && !bytes.error; ++i) {
    feedPiece(dec, in.substr(i, 1), bytes);
  }
  check(whole.done == bytes.done && whole.error == bytes.error && whole.body == bytes.body);
}

}  // namespace
}  // namespace remora::http1

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The split point comes from the input so the fuzzer can steer it.
  size_t split = size == 0 ? 0 : data[size - 1] * size / 256;
  remora::http1::fuzzRequest(in, split);
  remora::http1::fuzzResponse(in, split);
  remora::http1::fuzzChunked(in, split);
  return 0;
}
