// ConsulProvider: the `consul` registry: one blocking query on /v1/health/service per watched
// service, their answers merged into complete views.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "config/config.h"
#include "discovery/http_client.h"
#include "discovery/registry_provider.h"

namespace remora::discovery::consul {

// Paces one blocking-query loop: a token bucket of two refilled every 250ms, so a change after a
// quiet spell is read at once. While the service changes faster than the bucket refills, every
// wait doubles the refill time, up to a second; a query that blocked for 250ms before its answer
// (the service went quiet that long) brings it back to 250ms. Whether tokens are left cannot
// tell: at the slower refill, a service changing every 700ms never leaves one, and would stay
// paced at 1s for good. The 1s ceiling bounds both the agent's load from a flapping service (a
// query a second per remora, not one per change) and how stale a route can get while a
// service churns: a change is still routed within 1s.
class QueryPacer {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr double kBurst = 2;
  static constexpr std::chrono::milliseconds kBaseInterval{250};
  static constexpr std::chrono::milliseconds kMaxInterval{1000};

  // Takes a token for a query that would start at `now`, the previous one having been sent at
  // `sent`: how long it must wait first.
  std::chrono::milliseconds delay(Clock::time_point sent, Clock::time_point now);

 private:
  double tokens_ = kBurst;
  Clock::time_point last_{};  // tokens_ holds at this time (later than now while one waits)
  std::chrono::milliseconds interval_ = kBaseInterval;  // the time one token takes to come back
};

class ConsulProvider : public RegistryProvider {
 public:
  ConsulProvider(HttpClient& http, const config::ConsulRegistry& config,
                 ProviderCallbacks callbacks);
  ~ConsulProvider() override;

  void watch(const std::set<std::string>& services) override;
  const RegistryStatus& status() const override { return status_; }

 private:
  class ServiceWatch;

  void onSucceeded();
  // `first_answer`: the watch had not answered before, so the view waited for it.
  void onFailed(const std::string& error, bool first_answer);
  // Passes on the view, once every watch has answered (read or failed) at least once.
  void publish();

  HttpClient& http_;
  const config::ConsulRegistry config_;
  const std::string token_;
  ProviderCallbacks callbacks_;
  std::map<std::string, std::unique_ptr<ServiceWatch>> watches_;
  bool watching_ = false;  // watch() was called: even an empty set has had its view
  RegistryStatus status_;
};

}  // namespace remora::discovery::consul
