// Snapshot publishing: coalesced rebuilds, delivery to the workers, the endpoint gauges.
#include "discovery/snapshot_publisher.h"

#include <malloc.h>

#include "discovery/snapshot_builder.h"
#include "proxy/log.h"

namespace remora::discovery {

SnapshotPublisher::SnapshotPublisher(event_base* base, stats::Registry& stats, Deliver deliver,
                                     std::chrono::milliseconds min_interval)
    : stats_(stats),
      deliver_(std::move(deliver)),
      rebuild_(
          base, [this] { rebuild(); }, min_interval),
      trim_timer_(evtimer_new(base, &SnapshotPublisher::onTrim, this)) {}

SnapshotPublisher::~SnapshotPublisher() { event_free(trim_timer_); }

void SnapshotPublisher::setSources(const HealthChecker* health, const dns::StaticHosts* hosts) {
  health_ = health;
  hosts_ = hosts;
}

void SnapshotPublisher::rebuild() {
  snapshot_ = buildSnapshot(loaded_, registry_, health_, hosts_, ++version_, &memory_, outliers_,
                            canary_weights_);
  deliver_(snapshot_);
  if (outliers_ != nullptr) outliers_->setEndpoints(*snapshot_);
  updateEndpointGauges();
  updatePanic();
  memory_.interner.sweep();
  static constexpr timeval kTrimAfter = {1, 0};
  evtimer_add(trim_timer_, &kTrimAfter);
}

void SnapshotPublisher::onTrim(evutil_socket_t, short, void*) {
  // A sidecar runs beside every instance: once the changes stop and the workers have let go of
  // the snapshots and views before the last, what they held goes back to the system, not only
  // to the allocator's free lists.
  malloc_trim(0);
}

void SnapshotPublisher::updateEndpointGauges() {
  stats_.clearGauge("remora_cluster_endpoints");
  for (const auto& cluster : snapshot_->clusters) {
    size_t healthy = 0;
    for (const auto& endpoint : cluster.endpoints) healthy += endpoint.healthy ? 1 : 0;
    const std::string& name = cluster.config->name;
    stats_.setGauge("remora_cluster_endpoints", "Endpoints per cluster by health",
                    {{"cluster", name}, {"health", "healthy"}}, static_cast<double>(healthy));
    stats_.setGauge("remora_cluster_endpoints", "Endpoints per cluster by health",
                    {{"cluster", name}, {"health", "unhealthy"}},
                    static_cast<double>(cluster.endpoints.size() - healthy));
  }
}

void SnapshotPublisher::updatePanic() {
  std::map<std::string, bool> now;
  stats_.clearGauge("remora_cluster_panic");
  for (const ClusterInfo& cluster : snapshot_->clusters) {
    const std::string& name = cluster.config->name;
    const bool panic = !cluster.subsets.empty() && cluster.subsets[0].panic;
    now[name] = panic;
    stats_.setGauge("remora_cluster_panic",
                    "1 while fewer than panic_threshold percent of a cluster's endpoints are "
                    "healthy and it balances over all of them",
                    {{"cluster", name}}, panic ? 1 : 0);
    auto before = panic_.find(name);
    const bool was = before != panic_.end() && before->second;
    if (panic == was) continue;
    size_t healthy = 0;
    for (const EndpointInfo& endpoint : cluster.endpoints) {
      healthy += endpoint.healthy && !endpoint.ejected ? 1 : 0;
    }
    if (panic) {
      LOG_WARN(
          "cluster %s: panic: %zu of %zu endpoint(s) healthy, under panic_threshold %u%%: "
          "balancing over every endpoint the registry has in",
          name.c_str(), healthy, cluster.endpoints.size(), cluster.config->panic_threshold);
    } else {
      LOG_INFO("cluster %s: panic over: %zu of %zu endpoint(s) healthy", name.c_str(), healthy,
               cluster.endpoints.size());
    }
  }
  panic_ = std::move(now);
}

}  // namespace remora::discovery
