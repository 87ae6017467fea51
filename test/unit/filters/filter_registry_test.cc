// Unit tests of filter config parsing through the name -> factory table.
#include <gtest/gtest.h>

#include "config/loader.h"
#include "filters/access_log/access_log_filter.h"
#include "filters/registry.h"

namespace remora::filters {
namespace {

config::FilterConfig filterFrom(const std::string& yaml) {
  const std::string text =
      "listeners:\n"
      "  - name: l\n"
      "    address: 127.0.0.1:0\n"
      "    filters:\n" +
      yaml +
      "    routes:\n"
      "      - match: {prefix: /}\n"
      "        direct_response: {status: 200}\n";
  auto config = config::loadConfigString(text, "f.yaml");
  EXPECT_TRUE(config.ok()) << (config.ok() ? "" : config.errors()[0].text());
  return (*config)->listeners[0].filters[0];
}

std::string firstError(const config::FilterConfig& filter) {
  auto factory = createFilterFactory(filter);
  return factory.ok() ? "" : factory.errors()[0].text();
}

TEST(FilterRegistryTest, BuildsKnownFilters) {
  EXPECT_EQ(firstError(filterFrom("      - access_log: {format: json}\n")), "");
  EXPECT_EQ(firstError(filterFrom("      - access_log:\n")), "");
  EXPECT_EQ(firstError(filterFrom("      - headers: {request: {add: {x-a: b}, remove: [x-c]}}\n")),
            "");
  EXPECT_EQ(firstError(filterFrom("      - rate_limit: {requests_per_second: 100}\n")), "");
  EXPECT_EQ(firstError(filterFrom("      - rate_limit: {requests_per_second: 0.5, burst: 5, key: "
                                  "{header: X-Api-Key}, max_keys: 100, shadow: true}\n")),
            "");
  EXPECT_EQ(firstError(filterFrom("      - rate_limit: {requests_per_second: 10, key: "
                                  "{source_ip: true}}\n")),
            "");
}

TEST(FilterRegistryTest, FaultsAreReadAndBadOnesLocated) {
  EXPECT_EQ(firstError(filterFrom("      - fault: {abort: {status: 503, percent: 10}, delay: "
                                  "{duration: 1s, percent: 5}, max_active: 10}\n")),
            "");
  EXPECT_EQ(firstError(filterFrom("      - fault: {abort: {grpc_status: 14}}\n")), "");
  EXPECT_EQ(firstError(filterFrom("      - fault: {headers: true}\n")), "");
  EXPECT_EQ(firstError(filterFrom("      - fault: {}\n")),
            "f.yaml:5:9: fault filter needs abort, delay, or headers: true");
  EXPECT_EQ(firstError(filterFrom("      - fault: {abort: {status: 503, grpc_status: 2}}\n")),
            "f.yaml:5:24: abort takes exactly one of status or grpc_status");
  EXPECT_EQ(firstError(filterFrom("      - fault: {abort: {status: 99}}\n")),
            "f.yaml:5:33: status must be in 200..599, not 99");
  EXPECT_EQ(firstError(filterFrom("      - fault: {delay: {percent: 5}}\n")),
            "f.yaml:5:24: delay is missing required key 'duration'");
  EXPECT_EQ(firstError(filterFrom("      - fault: {abort: {status: 500, percent: 101}}\n")),
            "f.yaml:5:47: percent must be in 0..100, not 101");
}

TEST(FilterRegistryTest, BadRateLimitsAreLocated) {
  EXPECT_EQ(firstError(filterFrom("      - rate_limit: {burst: 5}\n")),
            "f.yaml:5:9: rate_limit filter is missing required key 'requests_per_second'");
  EXPECT_EQ(firstError(filterFrom("      - rate_limit: {requests_per_second: 0}\n")),
            "f.yaml:5:43: requests_per_second must be in 0.001..1e+06, not 0");
  EXPECT_EQ(firstError(filterFrom("      - rate_limit: {requests_per_second: 1, burst: 0}\n")),
            "f.yaml:5:53: burst must be in 1..1000000000, not 0");
  EXPECT_EQ(
      firstError(filterFrom(
          "      - rate_limit: {requests_per_second: 1, key: {header: a, source_ip: true}}\n")),
      "f.yaml:5:51: key takes exactly one of header or source_ip");
}

TEST(FilterRegistryTest, UnknownFilterNamesTheKnownOnes) {
  EXPECT_EQ(
      firstError(filterFrom("      - rate_limitt: {}\n")),
      "f.yaml:5:9: unknown filter 'rate_limitt' (known: access_log, fault, headers, rate_limit)");
}

TEST(FilterRegistryTest, BadFilterConfigIsLocated) {
  EXPECT_EQ(firstError(filterFrom("      - access_log: {format: xml}\n")),
            "f.yaml:5:30: access_log format must be text or json");
  const std::string unknown = firstError(filterFrom("      - headers: {requst: {}}\n"));
  EXPECT_EQ(unknown.rfind("f.yaml:5:19: ", 0), 0u) << unknown;
  EXPECT_NE(unknown.find("requst"), std::string::npos) << unknown;
  const std::string bad_name =
      firstError(filterFrom("      - headers: {request: {add: {\"bad name\": x}}}\n"));
  EXPECT_NE(bad_name.find("not a valid header name"), std::string::npos) << bad_name;
}

TEST(AccessLogFormatTest, TextAndJsonLines) {
  StreamInfo info;
  info.method = "GET";
  info.path = "/a\"b";
  info.status = 200;
  info.request_id = "id-1";
  const std::string json = formatAccessLogLine(info, true);
  EXPECT_NE(json.find("\"path\":\"/a\\\"b\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"status\":200"), std::string::npos) << json;
  EXPECT_EQ(json.back(), '\n');
  const std::string text = formatAccessLogLine(info, false);
  EXPECT_NE(text.find("\"GET /a\\\"b HTTP/1.1\" 200"), std::string::npos) << text;
}

}  // namespace
}  // namespace remora::filters
