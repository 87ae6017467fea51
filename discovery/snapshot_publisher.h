// SnapshotPublisher: builds the snapshot from the config, the registry's view, active health
// and resolved static hosts, hands it to every worker, and keeps `remora_cluster_endpoints`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "discovery/dns/static_hosts.h"
#include "discovery/health/health_checker.h"
#include "discovery/registry_view.h"
#include "discovery/snapshot.h"
#include "proxy/stats.h"

namespace remora::discovery {

class SnapshotPublisher {
 public:
  // Hands a new snapshot to the workers (main thread; the workers swap it in on their loops).
  using Deliver = std::function<void(const std::shared_ptr<const Snapshot>&)>;

  SnapshotPublisher(stats::Registry& stats, Deliver deliver);

  // What snapshots are built from. `health` and `hosts` (null in tests) outlive the publisher.
  void setSources(const HealthChecker* health, const dns::StaticHosts* hosts);
  void setConfig(std::shared_ptr<const LoadedConfig> loaded) { loaded_ = std::move(loaded); }
  void setRegistry(RegistryView view) { registry_ = std::move(view); }
  const RegistryView& registry() const { return registry_; }

  // Builds a snapshot of the sources as they are now and hands it to the workers.
  void publish();

  const std::shared_ptr<const Snapshot>& snapshot() const { return snapshot_; }
  uint64_t version() const { return version_; }

 private:
  void updateEndpointGauges();

  stats::Registry& stats_;
  Deliver deliver_;
  const HealthChecker* health_ = nullptr;
  const dns::StaticHosts* hosts_ = nullptr;
  std::shared_ptr<const LoadedConfig> loaded_;
  RegistryView registry_;
  std::shared_ptr<const Snapshot> snapshot_;
  uint64_t version_ = 0;
};

}  // namespace remora::discovery
