// Remora: start the binary, learn its ephemeral ports from its log, reload, admin calls; and the
// config templating and metrics parsing the tests share.
#include <signal.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <iostream>
#include <regex>

#include "integration/harness/remora.h"
#include "integration/harness/socket.h"

namespace remora::harness {
namespace {

// How many listeners the config declares: start() waits for that many "listening" lines.
size_t listenerCount(std::string_view yaml) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (root.IsMap() && root["listeners"] && root["listeners"].IsSequence()) {
      return root["listeners"].size();
    }
  } catch (const YAML::Exception&) {
    // Invalid YAML: remora will say so and exit; start() reports that.
  }
  return 0;
}

std::string lastBytes(const std::string& text, size_t n) {
  return text.size() <= n ? text : "...\n" + text.substr(text.size() - n);
}

}  // namespace

const std::string& remoraBinary() {
  static const std::string binary = [] {
    const char* chosen = std::getenv("REMORA_BINARY");
    return std::string(chosen && *chosen ? chosen : REMORA_BINARY);
  }();
  return binary;
}

std::string render(std::string_view text, const std::map<std::string, std::string>& vars) {
  std::string out;
  while (true) {
    size_t open = text.find("{{");
    size_t close = open == std::string_view::npos ? open : text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    auto var = vars.find(std::string(text.substr(open + 2, close - open - 2)));
    out += text.substr(0, open);
    out += var == vars.end() ? std::string(text.substr(open, close + 2 - open)) : var->second;
    text.remove_prefix(close + 2);
  }
  out += text;
  return out;
}

void Remora::endAndCheckForRaces() {
  if (!process_) return;
  process_->signal(SIGKILL);
  process_->waitExit(deadlineIn(std::chrono::seconds(5)));
  const std::string err = process_->err();
  const size_t report = err.find("ThreadSanitizer:");
  if (report == std::string::npos) return;
  const size_t line_start = err.rfind('\n', report);
  ADD_FAILURE() << "ThreadSanitizer reported in remora:\n"
                << err.substr(line_start == std::string::npos ? 0 : line_start + 1, 16384);
}

Remora::~Remora() {
  endAndCheckForRaces();
  if (process_ && !logs_shown_ && ::testing::Test::HasFailure()) {
    std::cerr << "---- remora logs (" << dir_.path().string() << ") ----\n"
              << lastBytes(logs(), 8192) << "---- end of remora logs ----\n";
  }
}

::testing::AssertionResult Remora::start(std::string_view yaml, Clock::duration timeout) {
  endAndCheckForRaces();  // a restart truncates the log that would show them
  writeFile(configPath(), yaml);
  ports_.clear();
  admin_port_ = 0;
  probe_port_ = 0;
  process_ = std::make_unique<Process>(
      std::vector<std::string>{binary_, "-c", configPath().string()}, dir_.path(), "remora");
  size_t wanted = listenerCount(yaml);
  static const std::regex kListener(R"(listener (\S+) listening on (\S+):(\d+))");
  static const std::regex kAdmin(R"(admin listening on (\S+):(\d+))");
  // Logged before the admin's line, so it is there once that one is.
  static const std::regex kProbe(R"(admin probe listening on (\S+):(\d+))");
  auto ready = [&] {
    std::string log = process_->err() + process_->out();
    for (auto it = std::sregex_iterator(log.begin(), log.end(), kListener);
         it != std::sregex_iterator(); ++it) {
      ports_[(*it)[1]] = static_cast<uint16_t>(std::stoi((*it)[3]));
    }
    std::smatch admin;
    if (std::regex_search(log, admin, kAdmin)) {
      admin_port_ = static_cast<uint16_t>(std::stoi(admin[2]));
    }
    std::smatch probe;
    if (std::regex_search(log, probe, kProbe)) {
      probe_port_ = static_cast<uint16_t>(std::stoi(probe[2]));
    }
    return (admin_port_ != 0 && ports_.size() >= wanted) || !process_->running();
  };
  waitUntil(ready, deadlineIn(timeout), std::chrono::milliseconds(10));
  if (!process_->running()) {
    std::optional<int> code = process_->waitExit(deadlineIn(std::chrono::seconds(1)));
    logs_shown_ = true;
    return ::testing::AssertionFailure()
           << "remora exited early with status " << code.value_or(-1) << "\n"
           << lastBytes(logs(), 8192);
  }
  if (admin_port_ == 0 || ports_.size() < wanted) {
    logs_shown_ = true;
    return ::testing::AssertionFailure()
           << "remora did not log every listener (" << ports_.size() << " of " << wanted
           << ") and the admin listener within the start timeout\n"
           << lastBytes(logs(), 8192);
  }
  return ::testing::AssertionSuccess();
}

void Remora::reload(std::string_view yaml) {
  writeFile(configPath(), yaml);
  EXPECT_TRUE(signal(SIGHUP)) << "remora is not running";
}

uint16_t Remora::port(const std::string& listener) const {
  auto it = ports_.find(listener);
  if (it == ports_.end()) {
    ADD_FAILURE() << "remora logged no port for listener " << listener;
    return 0;
  }
  return it->second;
}

HttpResponse Remora::adminGet(std::string_view path) const { return httpGet(admin_port_, path); }

nlohmann::json Remora::cluster(std::string_view name) const {
  const HttpResponse response = adminGet("/clusters");
  if (response.status != 200) return nullptr;
  const nlohmann::json clusters = nlohmann::json::parse(response.body);
  for (const auto& cluster : clusters["clusters"]) {
    if (cluster["name"] == std::string(name)) return cluster;
  }
  return nullptr;
}

nlohmann::json Remora::canary(std::string_view name) const {
  const HttpResponse response = adminGet("/canaries");
  if (response.status != 200) return nullptr;
  const nlohmann::json canaries = nlohmann::json::parse(response.body, nullptr, false);
  if (canaries.is_discarded()) return nullptr;
  for (const auto& canary : canaries["canaries"]) {
    if (canary["name"] == std::string(name)) return canary;
  }
  return nullptr;
}

nlohmann::json Remora::endpoint(std::string_view cluster_name, std::string_view address) const {
  const nlohmann::json found = cluster(cluster_name);
  if (found.is_null()) return nullptr;
  for (const auto& endpoint : found["endpoints"]) {
    if (endpoint["address"] == std::string(address)) return endpoint;
  }
  return nullptr;
}

HttpResponse Remora::adminPost(std::string_view path) const {
  return httpRequest(admin_port_, "POST", path, {{"Content-Length", "0"}});
}

std::string Remora::logs() const {
  if (!process_) return {};
  return process_->err() + process_->out();
}

std::optional<int> Remora::waitExit(Deadline deadline) {
  if (!process_) return std::nullopt;
  return process_->waitExit(deadline);
}

double metricValue(std::string_view exposition, std::string_view name,
                   const std::map<std::string, std::string>& labels) {
  double sum = 0;
  while (!exposition.empty()) {
    size_t eol = exposition.find('\n');
    std::string_view line = exposition.substr(0, eol);
    exposition.remove_prefix(eol == std::string_view::npos ? exposition.size() : eol + 1);
    if (line.empty() || line.front() == '#') continue;
    size_t name_end = line.find_first_of("{ ");
    if (name_end == std::string_view::npos || line.substr(0, name_end) != name) continue;
    std::map<std::string, std::string> found;
    std::string_view rest = line.substr(name_end);
    if (rest.front() == '{') {
      // name="value" pairs; values may hold escaped quotes and backslashes.
      size_t i = 1;
      while (i < rest.size() && rest[i] != '}') {
        size_t eq = rest.find('=', i);
        if (eq == std::string_view::npos || eq + 1 >= rest.size()) break;
        std::string key(rest.substr(i, eq - i));
        std::string value;
        size_t j = eq + 2;  // past ="
        for (; j < rest.size() && rest[j] != '"'; ++j) {
          if (rest[j] == '\\' && j + 1 < rest.size()) {
            ++j;
            value += rest[j] == 'n' ? '\n' : rest[j];
          } else {
            value += rest[j];
          }
        }
        found[key] = value;
        i = j + 1;
        if (i < rest.size() && rest[i] == ',') ++i;
      }
      rest.remove_prefix(std::min(rest.size(), i + 1));  // past the '}'
    }
    bool matches = true;
    for (const auto& [key, value] : labels) {
      auto it = found.find(key);
      if (it == found.end() || it->second != value) matches = false;
    }
    if (!matches) continue;
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    std::string value(rest.substr(0, rest.find(' ')));
    sum += std::strtod(value.c_str(), nullptr);
  }
  return sum;
}

}  // namespace remora::harness
