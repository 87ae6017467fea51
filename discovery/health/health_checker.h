// HealthChecker: active HTTP health checks of cluster endpoints and of the local app, run on the
// main thread; each target's state follows its thresholds.
#pragma once

#include <event2/event.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "discovery/http_client.h"

namespace remora::discovery {

struct HealthTarget {
  std::string group;  // the cluster's name, or "" for the local app
  config::Address address;
  config::HealthCheck check;
};

struct TargetHealth {
  enum class State { Unknown, Healthy, Unhealthy };
  State state = State::Unknown;
  bool warning = false;     // the last answer was 429: healthy, but asking for less traffic
  std::string last_result;  // "HTTP 200", "HTTP 503", "connection refused", ...
  uint32_t successes = 0;   // in a row
  uint32_t failures = 0;    // in a row
  uint64_t passes = 0;      // checks passed in all (an outlier ejection ends at the next one)
};

class HealthChecker {
 public:
  // `on_change` runs when any target's state (or warning) changes.
  HealthChecker(HttpClient& http, std::function<void()> on_change);
  ~HealthChecker();

  // The targets to check from now on. Targets that stay keep their state and schedule; new
  // ones are checked at once (spread over a tenth of their interval).
  void setTargets(const std::vector<HealthTarget>& targets);
  // Null when the target is not checked.
  const TargetHealth* find(const std::string& group, const std::string& address) const;

 private:
  struct Checked;
  static void onTimer(evutil_socket_t, short, void* arg);
  void check(Checked& target);
  void record(Checked& target, bool success, bool warning, std::string result);

  HttpClient& http_;
  std::function<void()> on_change_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Checked>> targets_;
};

}  // namespace remora::discovery
