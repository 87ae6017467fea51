// The access log's exact line formats, byte for byte, as log pipelines parse them.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "filters/access_log/access_log_filter.h"

namespace remora::filters {
namespace {

StreamInfo sampleInfo() {
  StreamInfo info;
  info.start_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));
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

TEST(AccessLogFormat, TextLine) {
  EXPECT_EQ(formatAccessLogLine(sampleInfo(), false),
            "[2023-11-14T22:13:20.123Z] \"POST /v1/\\\"q\\\"?x=1 HTTP/2\" 503 10 20 12.345 "
            "\"127.0.0.1:5000\" \"api.example\" \"users\" \"10.0.0.1:80\" \"rid-7\" "
            "\"curl/8.0\\t\" \"no_healthy_upstream\"\n");
  StreamInfo empty;
  empty.start_time = sampleInfo().start_time;
  EXPECT_EQ(formatAccessLogLine(empty, false),
            "[2023-11-14T22:13:20.123Z] \"  HTTP/1.1\" 0 0 0 0.000 \"-\" \"-\" \"-\" \"-\" \"-\" "
            "\"-\" \"-\"\n");
}

TEST(AccessLogFormat, JsonLine) {
  EXPECT_EQ(formatAccessLogLine(sampleInfo(), true),
            "{\"start_time\":\"2023-11-14T22:13:20.123Z\",\"listener\":\"edge\","
            "\"method\":\"POST\",\"authority\":\"api.example\",\"path\":\"/v1/\\\"q\\\"?x=1\","
            "\"protocol\":\"HTTP/2\",\"status\":503,\"grpc_status\":\"14\","
            "\"bytes_received\":10,\"bytes_sent\":20,\"duration_ms\":12.345,"
            "\"downstream_address\":\"127.0.0.1:5000\",\"cluster\":\"users\","
            "\"upstream_address\":\"10.0.0.1:80\",\"retries\":2,\"request_id\":\"rid-7\","
            "\"user_agent\":\"curl/8.0\\t\",\"local_reason\":\"no_healthy_upstream\"}\n");
}

TEST(AccessLogFormat, AppendsAfterWhatIsThere) {
  std::string out = "previous line\n";
  appendAccessLogLine(out, sampleInfo(), true);
  EXPECT_EQ(out, "previous line\n" + formatAccessLogLine(sampleInfo(), true));
}

}  // namespace
}  // namespace remora::filters
