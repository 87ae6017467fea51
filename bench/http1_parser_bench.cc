// Micro benchmarks of the HTTP/1 head parser and chunked decoder on browser-like traffic.
#include <benchmark/benchmark.h>

#include <string>

#include "proxy/http1_parser.h"

namespace remora::http1 {
namespace {

// What a desktop browser sends for a page navigation: 500 bytes, 11 fields.
constexpr std::string_view kBrowserRequest =
    "GET /articles/2024/proxy-performance?ref=home&utm_source=news HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=7f3a9c2e41b8; theme=dark\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "\r\n";

// An API call between services: 310 bytes, 7 fields.
constexpr std::string_view kApiRequest =
    "POST /api/v1/orders HTTP/1.1\r\n"
    "Host: orders.internal:8080\r\n"
    "User-Agent: okhttp/4.12.0\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 512\r\n"
    "Accept: application/json\r\n"
    "X-Request-Id: 4f1c2b8e-9a7d-4e3b-8c21-6d5f0a9e7b13\r\n"
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo\r\n"
    "\r\n";

void parseRequest(benchmark::State& state, std::string_view text) {
  Limits limits;
  RequestHead head;  // reused, as a connection does between requests
  for (auto _ : state) {
    HeadResult r = parseRequestHead(text, limits, head);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(head);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_ParseBrowserRequest(benchmark::State& state) { parseRequest(state, kBrowserRequest); }
BENCHMARK(BM_ParseBrowserRequest);

void BM_ParseApiRequest(benchmark::State& state) { parseRequest(state, kApiRequest); }
BENCHMARK(BM_ParseApiRequest);

void BM_ParseBrowserRequestFreshHead(benchmark::State& state) {
  Limits limits;
  for (auto _ : state) {
    RequestHead head;
    HeadResult r = parseRequestHead(kBrowserRequest, limits, head);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(head);
  }
}
BENCHMARK(BM_ParseBrowserRequestFreshHead);

void BM_ChunkedDecode(benchmark::State& state) {
  std::string body;
  for (int i = 0; i < 64; ++i) body += "400\r\n" + std::string(1024, 'x') + "\r\n";
  body += "0\r\n\r\n";
  for (auto _ : state) {
    ChunkedDecoder dec;
    const char* p = body.data();
    size_t len = body.size();
    while (len > 0) {
      ChunkedDecoder::Step step = dec.feed(p, len);
      if (step.done || step.error) break;
      p += step.framing + step.data;
      len -= step.framing + step.data;
    }
    benchmark::DoNotOptimize(dec);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ChunkedDecode);

}  // namespace
}  // namespace remora::http1
