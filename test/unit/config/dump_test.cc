// Tests for the effective-config dump.
#include "config/dump.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"

namespace remora::config {
namespace {

TEST(DumpTest, DefaultConfigShowsEveryDefault) {
  nlohmann::json expected = {
      {"source_path", ""},
      {"admin", {{"address", "127.0.0.1:9901"}, {"probe_address", nullptr}}},
      {"workers", 0},
      {"listeners", nlohmann::json::array()},
      {"clusters", nlohmann::json::array()},
      {"registry", nlohmann::json::object()},
      {"lifecycle", {{"drain_delay", "0s"}, {"drain_timeout", "30s"}}},
      {"canaries", nlohmann::json::array()},
  };
  EXPECT_EQ(toJson(Config{}), expected);
}

TEST(DumpTest, LoadedConfigShowsDefaultsOfEveryPart) {
  Result<std::shared_ptr<const Config>> config = loadConfigString(R"(listeners:
  - name: edge
    address: 127.0.0.1:15001
    filters:
      - rate_limit: {requests_per_second: 500, burst: "100", enabled: true, note: hi}
      - cors:
    routes:
      - cluster: backend
clusters:
  - name: backend
    endpoints: ["[::1]:8080"]
)",
                                                                  "t.yaml");
  ASSERT_TRUE(config.ok()) << config.errors().at(0).text();
  nlohmann::json listener = {
      {"name", "edge"},
      {"address", "127.0.0.1:15001"},
      {"filters",
       {{{"rate_limit",
          {{"requests_per_second", 500}, {"burst", "100"}, {"enabled", true}, {"note", "hi"}}}},
        {{"cors", nullptr}}}},
      {"virtual_hosts",
       {{{"name", "edge"},
         {"domains", {"*"}},
         {"routes",
          {{{"name", ""},
            {"match",
             {{"prefix", "/"},
              {"headers", nlohmann::json::object()},
              {"methods", nlohmann::json::array()}}},
            {"cluster", "backend"},
            {"subset", nlohmann::json::object()},
            {"timeout", "15s"},
            {"request_headers",
             {{"add", nlohmann::json::object()}, {"remove", nlohmann::json::array()}}},
            {"response_headers",
             {{"add", nlohmann::json::object()}, {"remove", nlohmann::json::array()}}},
            {"filters", nlohmann::json::array()},
            {"stream_idle_timeout", "5m"}}}}}}},
      {"max_request_headers_bytes", 61440},
      {"max_request_headers_count", 100},
      {"request_header_timeout", "10s"},
      {"idle_timeout", "1m"},
      {"max_connections", 100000},
      {"protocol", "auto"},
      {"http2",
       {{"max_concurrent_streams", 100},
        {"initial_stream_window_size", 262144},
        {"initial_connection_window_size", 1048576}}},
      {"stream_idle_timeout", "5m"},
      {"trusted", true},
      {"max_buffered_body_bytes", 1048576}};
  nlohmann::json cluster = {
      {"name", "backend"},
      {"endpoints",
       {{{"address", "[::1]:8080"}, {"weight", 1}, {"meta", nlohmann::json::object()}}}},
      {"lb", "round_robin"},
      {"protocol", "http1"},
      {"connect_timeout", "5s"},
      {"idle_timeout", "1m"},
      {"max_idle_connections", 64},
      {"max_response_headers_bytes", 61440},
      {"retry_budget", {{"percent", 20}, {"min_concurrency", 3}}},
      {"circuit_breaker",
       {{"max_connections", 1024},
        {"max_pending_requests", 1024},
        {"max_requests", 1024},
        {"max_retries", 3},
        {"max_connections_per_endpoint", 0},
        {"pending_timeout", "5s"}}},
      {"outlier_detection",
       {{"consecutive_5xx", 0},
        {"consecutive_gateway_failure", 5},
        {"consecutive_local_origin_failure", 5},
        {"failure_percentage", {{"threshold", 85}, {"min_requests", 50}}},
        {"interval", "10s"},
        {"base_ejection_time", "30s"},
        {"max_ejection_time", "5m"},
        {"max_ejection_percent", 50}}},
      {"panic_threshold", 50}};
  nlohmann::json dump = toJson(**config);
  EXPECT_EQ(dump["listeners"], nlohmann::json::array({listener})) << dump["listeners"].dump(2);
  EXPECT_EQ(dump["clusters"], nlohmann::json::array({cluster})) << dump["clusters"].dump(2);
}

TEST(DumpTest, ShowsSplitsDirectResponsesAndServices) {
  Result<std::shared_ptr<const Config>> config = loadConfigString(R"(registry: {file: {path: /e}}
listeners:
  - name: edge
    address: 127.0.0.1:0
    virtual_hosts:
      - name: v
        domains: [a]
        routes:
          - match: {regex: "^/x$", methods: [get]}
            split: [{cluster: users, subset: {version: v1}, weight: 9}]
            timeout: 0s
          - match: {path: /health}
            direct_response: {status: 204}
clusters:
  - {name: users, service: users, lb: least_request}
)",
                                                                  "t.yaml");
  ASSERT_TRUE(config.ok()) << config.errors().at(0).text();
  nlohmann::json dump = toJson(**config);
  EXPECT_EQ(dump["registry"], (nlohmann::json{{"file", {{"path", "/e"}}}}));
  const nlohmann::json& routes = dump["listeners"][0]["virtual_hosts"][0]["routes"];
  EXPECT_EQ(routes[0]["match"]["regex"], "^/x$");
  EXPECT_EQ(routes[0]["match"]["methods"], nlohmann::json::array({"GET"}));
  EXPECT_EQ(routes[0]["split"],
            nlohmann::json::parse(R"([{"cluster":"users","subset":{"version":"v1"},"weight":9}])"));
  EXPECT_FALSE(routes[0].contains("cluster"));
  EXPECT_EQ(routes[0]["timeout"], "0s");
  EXPECT_EQ(routes[1]["match"]["path"], "/health");
  EXPECT_EQ(routes[1]["direct_response"], (nlohmann::json{{"status", 204}, {"body", ""}}));
  const nlohmann::json& users = dump["clusters"][0];
  EXPECT_EQ(users["service"], "users");
  EXPECT_FALSE(users.contains("endpoints"));
  EXPECT_EQ(users["lb"], "least_request");
}

TEST(DumpTest, ShowsTheDefencesAndRouteOptions) {
  Result<std::shared_ptr<const Config>> config = loadConfigString(R"(listeners:
  - name: edge
    address: 0.0.0.0:15001
    stream_idle_timeout: 1m
    max_buffered_body_bytes: 4KiB
    routes:
      - name: api
        match: {prefix: /api}
        cluster: a
        filters: [{fault: {abort: {status: 503, percent: 1}}}]
        stream_idle_timeout: 0s
      - cluster: b
clusters:
  - name: a
    endpoints: [127.0.0.1:1]
    connect_timeout: 250ms
    circuit_breaker: {max_requests: 9}
    outlier_detection: {consecutive_5xx: 3, failure_percentage: off}
    panic_threshold: 0
  - name: b
    endpoints: [127.0.0.1:2]
    circuit_breaker: off
    outlier_detection: off
)",
                                                                  "t.yaml");
  ASSERT_TRUE(config.ok()) << config.errors().at(0).text();
  nlohmann::json dump = toJson(**config);
  const nlohmann::json& listener = dump["listeners"][0];
  EXPECT_EQ(listener["stream_idle_timeout"], "1m");
  EXPECT_EQ(listener["trusted"], false);
  EXPECT_EQ(listener["max_buffered_body_bytes"], 4096);
  const nlohmann::json& routes = listener["virtual_hosts"][0]["routes"];
  EXPECT_EQ(routes[0]["name"], "api");
  EXPECT_EQ(routes[0]["filters"],
            nlohmann::json::parse(R"([{"fault":{"abort":{"status":503,"percent":1}}}])"));
  EXPECT_EQ(routes[0]["stream_idle_timeout"], "0s");
  // A route without its own shows the listener's, the one in effect.
  EXPECT_EQ(routes[1]["stream_idle_timeout"], "1m");
  const nlohmann::json& a = dump["clusters"][0];
  EXPECT_EQ(a["circuit_breaker"]["max_requests"], 9);
  EXPECT_EQ(a["circuit_breaker"]["pending_timeout"], "250ms");
  EXPECT_EQ(a["outlier_detection"]["consecutive_5xx"], 3);
  EXPECT_EQ(a["outlier_detection"]["failure_percentage"], "off");
  EXPECT_EQ(a["panic_threshold"], 0);
  const nlohmann::json& b = dump["clusters"][1];
  EXPECT_EQ(b["circuit_breaker"], "off");
  EXPECT_EQ(b["outlier_detection"], "off");
}

}  // namespace
}  // namespace remora::config
