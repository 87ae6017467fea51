// Snapshot publishing: build from the current sources, deliver to the workers, count endpoints.
#include "discovery/snapshot_publisher.h"

#include "discovery/snapshot_builder.h"

namespace remora::discovery {

SnapshotPublisher::SnapshotPublisher(stats::Registry& stats, Deliver deliver)
    : stats_(stats), deliver_(std::move(deliver)) {}

void SnapshotPublisher::setSources(const HealthChecker* health, const dns::StaticHosts* hosts) {
  health_ = health;
  hosts_ = hosts;
}

void SnapshotPublisher::publish() {
  snapshot_ = buildSnapshot(loaded_, registry_, health_, hosts_, ++version_);
  deliver_(snapshot_);
  updateEndpointGauges();
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

}  // namespace remora::discovery
