// Parsing HTTP/1 heads in tests: a request head's status (0 accepted, -1 incomplete), a response
// head's, and a request with one extra field line.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "proxy/http1_parser.h"

namespace remora::http1::testing {

inline HeadResult parseRequest(std::string_view in, RequestHead& head, const Limits& limits = {}) {
  return parseRequestHead(in, limits, head);
}

// The status a request head is rejected with, 0 if accepted, -1 if incomplete.
inline int requestStatus(std::string_view in, const Limits& limits = {}) {
  RequestHead head;
  HeadResult r = parseRequest(in, head, limits);
  if (r.status == HeadStatus::Complete) return 0;
  if (r.status == HeadStatus::NeedMore) return -1;
  EXPECT_FALSE(r.error.reason.empty());
  return r.error.status;
}

inline int responseStatus(std::string_view in, const Limits& limits = {}) {
  ResponseHead head;
  HeadResult r = parseResponseHead(in, limits, head);
  if (r.status == HeadStatus::Complete) return 0;
  if (r.status == HeadStatus::NeedMore) return -1;
  return r.error.status;
}

// A request with one extra field line, ending the head.
inline std::string withField(std::string_view line) {
  return "GET / HTTP/1.1\r\nHost: a\r\n" + std::string(line) + "\r\n\r\n";
}

}  // namespace remora::http1::testing
