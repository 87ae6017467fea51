// Remora: the real remora binary under test, started from a YAML string with ephemeral ports,
// plus the config templating and admin helpers the tests share.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "integration/harness/http.h"
#include "integration/harness/process.h"
#include "integration/harness/temp_dir.h"
#include "integration/harness/wait.h"

namespace remora::harness {

// Replaces every `{{name}}` in `text` with vars[name]; an unknown name is left as it is. (Not
// `${...}`: remora itself expands that from the environment.)
std::string render(std::string_view text, const std::map<std::string, std::string>& vars);

// The remora binary the tests run: the environment's REMORA_BINARY when set (test/run points the
// tests labelled tsan at a ThreadSanitizer build's binary, so that build need not compile the
// tests), else the binary built beside the tests.
const std::string& remoraBinary();

class Remora {
 public:
  // `binary` is for the harness's own self-test; tests use the real one.
  explicit Remora(std::string binary = remoraBinary()) : binary_(std::move(binary)) {}
  // Kills the process; fails the current test when ThreadSanitizer reported in remora's stderr
  // (test/run's build with REMORA_SANITIZE=thread); prints the logs when the test has failed.
  ~Remora();

  // Writes `yaml` to config.yaml in dir(), runs `remora -c` on it and waits until every listener
  // of the config and the admin listener have logged `... listening on host:port`. On failure
  // (early exit, timeout) the result carries the exit status and the logs.
  ::testing::AssertionResult start(std::string_view yaml,
                                   Clock::duration timeout = std::chrono::seconds(10));
  // Rewrites the config file atomically and sends SIGHUP.
  void reload(std::string_view yaml);

  uint16_t port(const std::string& listener) const;  // 0 (and a test failure) when unknown
  uint16_t adminPort() const { return admin_port_; }
  // The read-only probe listener's (admin.probe_address); 0 when the config has none.
  uint16_t probePort() const { return probe_port_; }
  HttpResponse adminGet(std::string_view path) const;
  HttpResponse adminPost(std::string_view path) const;
  // From /clusters: the endpoint `address` of `cluster` (null when absent), and the cluster.
  nlohmann::json endpoint(std::string_view cluster, std::string_view address) const;
  nlohmann::json cluster(std::string_view name) const;
  // From /canaries: the canary `name` (null when absent or the admin did not answer).
  nlohmann::json canary(std::string_view name) const;

  std::string logs() const;  // stderr then stdout, so far
  bool signal(int sig) { return process_ && process_->signal(sig); }
  std::optional<int> waitExit(Deadline deadline);
  bool running() { return process_ && process_->running(); }
  pid_t pid() const { return process_ ? process_->pid() : -1; }  // -1 before start()
  const TempDir& dir() const { return dir_; }
  std::filesystem::path configPath() const { return dir_.file("config.yaml"); }

 private:
  // Kills the process if it still runs, then fails the current test with any ThreadSanitizer
  // report in its stderr: a report can come after the test's last look at remora, and a
  // process killed at teardown has no exit status to show it.
  void endAndCheckForRaces();

  std::string binary_;
  TempDir dir_;
  std::unique_ptr<Process> process_;
  std::map<std::string, uint16_t> ports_;
  uint16_t admin_port_ = 0;
  uint16_t probe_port_ = 0;
  bool logs_shown_ = false;  // start() already put them in its failure message
};

// The sum of every sample of metric `name` (e.g. "remora_downstream_requests_total" or
// "..._count") whose labels include all of `labels`, in Prometheus text format; 0 when none.
double metricValue(std::string_view exposition, std::string_view name,
                   const std::map<std::string, std::string>& labels = {});

}  // namespace remora::harness
