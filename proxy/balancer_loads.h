// BalancerLoads: what the workers' balancers see of each endpoint (requests in flight, latency
// estimates), as the workers report it to the main thread once a second, for /clusters and
// /explain. A worker's report replaces its last one, so endpoints that left go with the next.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace remora {

// One endpoint on one worker.
struct EndpointLoadSample {
  std::string cluster;
  std::string endpoint;  // EndpointInfo::key
  uint32_t active = 0;
  double latency_ms = -1;  // peak_ewma's estimate at the report; -1: none
};
using LoadSamples = std::vector<EndpointLoadSample>;

class BalancerLoads {
 public:
  explicit BalancerLoads(size_t workers) : by_worker_(workers) {}

  // Main thread: `worker`'s samples as of now.
  void onReport(size_t worker, const LoadSamples& samples);

  struct View {
    uint32_t active = 0;             // summed over workers
    std::vector<double> latency_ms;  // per worker that has an estimate
    std::vector<double> cost_ms;     // the same x (its requests in flight + 1): what it weighs
  };
  View of(std::string_view cluster, std::string_view endpoint) const;

 private:
  struct Sample {
    uint32_t active = 0;
    double latency_ms = -1;
  };
  // Per worker: "cluster|endpoint" -> its sample.
  std::vector<std::unordered_map<std::string, Sample>> by_worker_;
};

}  // namespace remora
