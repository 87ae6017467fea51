// SlowStartTracker: remembers across snapshots since when each endpoint has been in rotation, so
// that an endpoint new to a cluster, or back from unhealthy or ejected, ramps its weight up
// (cluster `slow_start:`) instead of taking its full share of traffic cold.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "discovery/snapshot.h"

namespace remora::discovery {

class SlowStartTracker {
 public:
  // Sets `slow_start_since_us` of `cluster`'s endpoints (health and ejections already set) whose
  // ramp has not ended at `now_us`. Nothing ramps when no endpoint was in rotation before (a cold
  // start) or when every endpoint in rotation would: there is nobody to spare them.
  void mark(const config::Cluster& cluster, std::vector<EndpointInfo>& endpoints, int64_t now_us);
  // Forgets the clusters `config` no longer has, or whose slow start it turned off.
  void retain(const config::Config& config);

 private:
  // Endpoint key -> when it entered rotation; 0 for an endpoint at full weight. Only endpoints in
  // rotation at the last snapshot.
  std::unordered_map<std::string, std::unordered_map<std::string, int64_t>> clusters_;
};

}  // namespace remora::discovery
