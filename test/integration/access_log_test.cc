// The access_log filter writing to a file: one JSON object per request with its fields, the text
// format's status and path, requests remora answers itself (404: no route) logged as well, lines
// written out at exit, and a destination that blocks holding up nothing but its own lines.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

constexpr char kConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    filters:
      - access_log: {format: {{format}}, path: "{{path}}"}
    routes:
      - match: {prefix: /api}
        cluster: backend
clusters:
  - name: backend
    endpoints: ["{{backend}}"]
)";

// The file's complete lines (a trailing partial line is left out).
std::vector<std::string> completeLines(const std::filesystem::path& path) {
  std::string content = readFile(path);
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t eol = content.find('\n'); eol != std::string::npos; eol = content.find('\n', start)) {
    lines.push_back(content.substr(start, eol - start));
    start = eol + 1;
  }
  return lines;
}

class AccessLog : public ::testing::Test {
 protected:
  // `path`: where the log goes; access.log in remora's directory by default.
  void start(const std::string& format, const std::filesystem::path& path = {}) {
    log_path_ = path.empty() ? remora_.dir().file("access.log") : path;
    ASSERT_TRUE(remora_.start(render(
        kConfig,
        {{"format", format}, {"path", log_path_.string()}, {"backend", backend_.address()}})));
    port_ = remora_.port("edge");
  }

  // Polls until the log has `n` complete lines; returns them.
  std::vector<std::string> waitForLines(size_t n) {
    std::vector<std::string> lines;
    EXPECT_TRUE(waitUntil(
        [&] {
          lines = completeLines(log_path_);
          return lines.size() >= n;
        },
        deadlineIn(3s)))
        << "the access log has " << lines.size() << " line(s), expected " << n << ":\n"
        << readFile(log_path_);
    return lines;
  }

  ScriptedUpstream backend_{ScriptedUpstream::respondWith(200, "hello")};
  Remora remora_;
  std::filesystem::path log_path_;
  uint16_t port_ = 0;
};

TEST_F(AccessLog, JsonLinePerRequestWithItsFields) {
  start("json");
  HttpResponse first = httpGet(port_, "/api/users?id=7", {{"X-Request-Id", "req-given-42"}});
  ASSERT_EQ(first.status, 200) << first;
  HttpResponse second = httpRequest(port_, "POST", "/api/orders", {}, "payload");
  ASSERT_EQ(second.status, 200) << second;

  std::vector<std::string> lines = waitForLines(2);
  ASSERT_EQ(lines.size(), 2u) << readFile(log_path_);
  std::vector<nlohmann::json> entries;
  for (const std::string& line : lines) {
    nlohmann::json entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(entry.is_object()) << "not a JSON object: " << line;
    for (const char* key :
         {"method", "path", "status", "duration_ms", "upstream_address", "request_id"}) {
      EXPECT_TRUE(entry.contains(key)) << key << " missing in " << line;
    }
    entries.push_back(std::move(entry));
  }
  const nlohmann::json& get = entries[0];
  EXPECT_EQ(get.value("method", ""), "GET") << get;
  EXPECT_EQ(get.value("path", "").rfind("/api/users", 0), 0u) << get;
  EXPECT_TRUE(get.contains("status") && get.at("status").is_number_integer()) << get;
  EXPECT_EQ(get.value("status", 0), 200) << get;
  EXPECT_TRUE(get.contains("duration_ms") && get.at("duration_ms").is_number()) << get;
  EXPECT_GE(get.value("duration_ms", -1.0), 0.0) << get;
  EXPECT_LT(get.value("duration_ms", -1.0), 5000.0) << get;
  EXPECT_EQ(get.value("upstream_address", ""), backend_.address()) << get;
  EXPECT_EQ(get.value("request_id", ""), "req-given-42") << get;

  const nlohmann::json& post = entries[1];
  EXPECT_EQ(post.value("method", ""), "POST") << post;
  EXPECT_EQ(post.value("path", ""), "/api/orders") << post;
  EXPECT_EQ(post.value("status", 0), 200) << post;
  EXPECT_EQ(post.value("upstream_address", ""), backend_.address()) << post;
  // No id was sent: the log carries the one remora generated, which the upstream saw too.
  std::vector<HttpRequest> seen = backend_.requests();
  ASSERT_EQ(seen.size(), 2u);
  std::string generated = seen[1].headers.get("x-request-id").value_or("");
  EXPECT_FALSE(generated.empty());
  EXPECT_EQ(post.value("request_id", ""), generated) << post;
}

TEST_F(AccessLog, TextLineHasStatusAndPath) {
  start("text");
  HttpResponse r = httpGet(port_, "/api/text-format-path");
  ASSERT_EQ(r.status, 200) << r;

  std::vector<std::string> lines = waitForLines(1);
  ASSERT_EQ(lines.size(), 1u) << readFile(log_path_);
  const std::string& line = lines[0];
  EXPECT_NE(line.find("/api/text-format-path"), std::string::npos) << line;
  EXPECT_NE(line.find(" 200 "), std::string::npos) << line;
  EXPECT_NE(line.find("GET"), std::string::npos) << line;
  EXPECT_TRUE(nlohmann::json::parse(line, nullptr, false).is_discarded())
      << "text format wrote JSON: " << line;
}

TEST_F(AccessLog, RequestWithNoRouteIsLoggedToo) {
  start("json");
  HttpResponse r = httpGet(port_, "/nowhere");
  ASSERT_EQ(r.status, 404) << r;
  HttpResponse ok = httpGet(port_, "/api/after");
  ASSERT_EQ(ok.status, 200) << ok;

  std::vector<std::string> lines = waitForLines(2);
  ASSERT_EQ(lines.size(), 2u) << readFile(log_path_);
  nlohmann::json entry = nlohmann::json::parse(lines[0], nullptr, false);
  ASSERT_TRUE(entry.is_object()) << lines[0];
  EXPECT_EQ(entry.value("method", ""), "GET") << entry;
  EXPECT_EQ(entry.value("path", ""), "/nowhere") << entry;
  EXPECT_EQ(entry.value("status", 0), 404) << entry;
  EXPECT_FALSE(entry.value("request_id", "").empty()) << entry;
  nlohmann::json after = nlohmann::json::parse(lines[1], nullptr, false);
  EXPECT_EQ(after.value("path", ""), "/api/after") << after;
}

TEST_F(AccessLog, TextFormatLogsTheNoRoute404) {
  start("text");
  HttpResponse r = httpGet(port_, "/nowhere-text");
  ASSERT_EQ(r.status, 404) << r;
  std::vector<std::string> lines = waitForLines(1);
  ASSERT_EQ(lines.size(), 1u) << readFile(log_path_);
  EXPECT_NE(lines[0].find("/nowhere-text"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(" 404 "), std::string::npos) << lines[0];
}

// Lines are written by a thread of their own, at least every 100 ms: those of requests answered
// just before a SIGTERM are written out before remora exits.
TEST_F(AccessLog, LinesOfAnsweredRequestsSurviveSigterm) {
  start("text");
  HttpClient client(port_);
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = client.request("GET", "/api/" + std::to_string(i));
    ASSERT_EQ(r.status, 200) << r;
  }
  client.close();
  ASSERT_TRUE(remora_.signal(SIGTERM));
  EXPECT_EQ(remora_.waitExit(deadlineIn(5s)), 0);
  std::vector<std::string> lines = completeLines(log_path_);
  ASSERT_EQ(lines.size(), 20u) << readFile(log_path_);
  EXPECT_NE(lines[19].find("/api/19"), std::string::npos) << lines[19];
}

// A FIFO whose reader never reads: writes to it would block. Requests are answered as fast as
// ever, and the lines that find the worker's buffer full are dropped and counted.
TEST_F(AccessLog, DestinationThatBlocksDoesNotHoldUpRequests) {
  const std::filesystem::path fifo = remora_.dir().file("access.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  const int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0) << std::strerror(errno);
  start("json", fifo);

  // Lines of some 30 KB: the FIFO (64 KiB) and the worker's 1 MiB buffer fill within 40.
  const HeaderList big_agent = {{"User-Agent", std::string(30000, 'a')}};
  HttpClient client(port_);
  const auto begin = Clock::now();
  for (int i = 0; i < 100; ++i) {
    HttpResponse r =
        client.request("GET", "/api/" + std::to_string(i), big_agent, {}, deadlineIn(2s));
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << r;
  }
  EXPECT_LT(Clock::now() - begin, 10s);
  HttpResponse metrics = remora_.adminGet("/metrics");
  EXPECT_GT(metricValue(metrics.body, "remora_access_log_dropped_total"), 0) << metrics.body;
  EXPECT_EQ(httpGet(port_, "/api/after").status, 200);
  close(reader);
}

}  // namespace
}  // namespace remora::harness
