// CanaryTallies: a worker's counts of each canary arm's tries (requests, errors, durations)
// between two reports to the main thread.
#pragma once

#include <cstdint>
#include <vector>

#include "config/config.h"
#include "discovery/canary/canary_report.h"

namespace remora {

class CanaryTallies {
 public:
  // Sized for `config`'s canaries; counts kept while the config is the same one.
  void reconcile(const config::Config& config);
  // One try of the canary at `index` (Config::canaries) on one arm; `error`: a 5xx or no
  // response at all.
  void record(int32_t index, bool canary_arm, bool error, uint64_t micros);
  // The canaries with anything counted since the last call, then zeroed.
  void collect(canary::CanaryReports& out);

 private:
  const config::Config* config_ = nullptr;
  std::vector<canary::CanaryReport> counts_;
};

}  // namespace remora
