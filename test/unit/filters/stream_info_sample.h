// A stream record with every field away from its default, for the tests of what reads or resets
// records (access log lines, the record pool).
#pragma once

#include <chrono>

#include "filters/filter.h"

namespace remora::filters {

inline StreamInfo sampleStreamInfo() {
  StreamInfo info;
  info.start_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));
  info.start = std::chrono::steady_clock::time_point(std::chrono::seconds(42));
  info.duration = std::chrono::microseconds(12345);
  info.listener = "edge";
  info.downstream_address = "127.0.0.1:5000";
  info.protocol = "HTTP/2";
  info.method = "POST";
  info.authority = "api.example";
  info.path = "/v1/\"q\"?x=1";
  info.request_id = "rid-7";
  info.user_agent = "curl/8.0\t";
  info.status = 503;
  info.grpc_status = "14";
  info.request_body_bytes = 10;
  info.response_body_bytes = 20;
  info.cluster = "users";
  info.upstream_address = "10.0.0.1:80";
  info.retries = 2;
  info.local_reason = "no_healthy_upstream";
  return info;
}

}  // namespace remora::filters
