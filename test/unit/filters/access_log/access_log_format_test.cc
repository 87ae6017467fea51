// The access log's exact line formats, byte for byte, as log pipelines parse them.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "filters/access_log/access_log_filter.h"
#include "test/unit/filters/stream_info_sample.h"

namespace remora::filters {
namespace {

TEST(AccessLogFormat, TextLine) {
  EXPECT_EQ(formatAccessLogLine(sampleStreamInfo(), false),
            "[2023-11-14T22:13:20.123Z] \"POST /v1/\\\"q\\\"?x=1 HTTP/2\" 503 10 20 12.345 "
            "\"127.0.0.1:5000\" \"api.example\" \"users\" \"10.0.0.1:80\" \"rid-7\" "
            "\"curl/8.0\\t\" \"no_healthy_upstream\"\n");
  StreamInfo empty;
  empty.start_time = sampleStreamInfo().start_time;
  EXPECT_EQ(formatAccessLogLine(empty, false),
            "[2023-11-14T22:13:20.123Z] \"  HTTP/1.1\" 0 0 0 0.000 \"-\" \"-\" \"-\" \"-\" \"-\" "
            "\"-\" \"-\"\n");
}

TEST(AccessLogFormat, JsonLine) {
  EXPECT_EQ(formatAccessLogLine(sampleStreamInfo(), true),
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
  appendAccessLogLine(out, sampleStreamInfo(), true);
  EXPECT_EQ(out, "previous line\n" + formatAccessLogLine(sampleStreamInfo(), true));
}

}  // namespace
}  // namespace remora::filters
