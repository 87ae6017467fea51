// What workers report of canary arms to the main thread, once a second with endpoint outcomes.
#pragma once

#include <string>
#include <vector>

#include "discovery/canary/canary_run.h"

namespace remora::canary {

struct CanaryReport {
  std::string canary;  // its name
  ArmTotals baseline;  // since the worker's last report
  ArmTotals canary_arm;
};

using CanaryReports = std::vector<CanaryReport>;

}  // namespace remora::canary
