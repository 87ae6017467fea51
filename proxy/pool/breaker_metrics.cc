// Breaker metrics, read from the shared counts at scrape time.
#include "proxy/pool/breaker_metrics.h"

namespace remora {

void publishBreakerMetrics(CircuitBreakers& breakers, const Snapshot& snapshot,
                           stats::Registry& registry) {
  static constexpr char kOverflowHelp[] =
      "Requests, retries and connections refused because a circuit breaker was open";
  static constexpr char kOpenHelp[] = "1 while a cluster's circuit breaker is open for a resource";
  registry.clearGauge("remora_circuit_breaker_open");
  breakers.forEachCluster([&](const std::string& name, const BreakerCounts& counts) {
    const ClusterInfo* cluster = snapshot.findCluster(name);
    const BreakerLimits limits =
        cluster != nullptr ? breakerLimits(*cluster->config) : BreakerLimits{};
    for (size_t r = 0; r < kBreakerResources; ++r) {
      const auto resource = static_cast<BreakerResource>(r);
      std::map<std::string, std::string> labels = {{"cluster", name},
                                                   {"resource", breakerResourceName(resource)}};
      registry.setCounter("remora_upstream_overflow_total", kOverflowHelp, labels,
                          static_cast<double>(counts.overflows(resource)));
      if (cluster == nullptr) continue;
      const bool open = counts.current(resource) >= limits.of(resource);
      registry.setGauge("remora_circuit_breaker_open", kOpenHelp, std::move(labels), open ? 1 : 0);
    }
  });
}

}  // namespace remora
