// A worker's canary arm counts, and handing them over.
#include "proxy/canary_tallies.h"

namespace remora {

void CanaryTallies::reconcile(const config::Config& config) {
  if (config_ == &config) return;
  config_ = &config;
  counts_.assign(config.canaries.size(), {});
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i].canary = config.canaries[i].name;
}

void CanaryTallies::record(int32_t index, bool canary_arm, bool error, uint64_t micros) {
  if (index < 0 || static_cast<size_t>(index) >= counts_.size()) return;
  canary::CanaryReport& report = counts_[static_cast<size_t>(index)];
  canary::ArmTotals& arm = canary_arm ? report.canary_arm : report.baseline;
  ++arm.requests;
  arm.errors += error ? 1 : 0;
  arm.latency.record(micros);
}

void CanaryTallies::collect(canary::CanaryReports& out) {
  for (canary::CanaryReport& report : counts_) {
    if (report.baseline.requests == 0 && report.canary_arm.requests == 0) continue;
    out.push_back(report);
    report.baseline = {};
    report.canary_arm = {};
  }
}

}  // namespace remora
