// SnapshotPublisher: builds the snapshot from the config, the registry's view, active health
// and resolved static hosts, hands it to every worker, and keeps `remora_cluster_endpoints`.
// Registry and health changes are coalesced: a burst of them is one rebuild.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "discovery/coalescer.h"
#include "discovery/dns/static_hosts.h"
#include "discovery/endpoint_interner.h"
#include "discovery/health/health_checker.h"
#include "discovery/outlier/outlier_detector.h"
#include "discovery/registry_view.h"
#include "discovery/snapshot.h"
#include "discovery/snapshot_builder.h"
#include "proxy/stats.h"

namespace remora::discovery {

class SnapshotPublisher {
 public:
  // Hands a new snapshot to the workers (main thread; the workers swap it in on their loops).
  using Deliver = std::function<void(const std::shared_ptr<const Snapshot>&)>;
  // While changes keep coming, a rebuild waits a multiple of the last one's build time, and at
  // least `min_interval` (see Coalescer).
  SnapshotPublisher(event_base* base, stats::Registry& stats, Deliver deliver,
                    std::chrono::milliseconds min_interval = {});
  ~SnapshotPublisher();
  SnapshotPublisher(const SnapshotPublisher&) = delete;
  SnapshotPublisher& operator=(const SnapshotPublisher&) = delete;

  // What snapshots are built from. `health` and `hosts` (null in tests) outlive the publisher.
  void setSources(const HealthChecker* health, const dns::StaticHosts* hosts);
  // Its ejections go into every snapshot, and it learns each snapshot's endpoints.
  void setOutliers(outlier::OutlierDetector* outliers) { outliers_ = outliers; }
  // The canaries' weights (kept by their controller) go into every snapshot.
  void setCanaryWeights(const CanaryWeights* weights) { canary_weights_ = weights; }
  void setConfig(std::shared_ptr<const LoadedConfig> loaded) { loaded_ = std::move(loaded); }
  void setRegistry(RegistryView view) {
    registry_ = std::make_shared<const RegistryView>(std::move(view));
  }
  const RegistryView& registry() const { return *registry_; }

  // A source changed: a rebuild follows in the next loop iteration, so that every change made in
  // this one is in it, or once the minimum interval since the last rebuild has passed.
  void requestPublish() { rebuild_.request(); }
  // Builds and hands over a snapshot of the sources as they are now (startup, config reload),
  // which also serves a pending request.
  void publish() { rebuild_.runNow(); }

  const std::shared_ptr<const Snapshot>& snapshot() const { return snapshot_; }
  uint64_t version() const { return version_; }

 private:
  void rebuild();
  void updateEndpointGauges();
  // remora_cluster_panic, and a log line when a cluster's panic starts or ends.
  void updatePanic();
  static void onTrim(evutil_socket_t, short, void* self);

  stats::Registry& stats_;
  Deliver deliver_;
  Coalescer rebuild_;
  event* trim_timer_;
  const HealthChecker* health_ = nullptr;
  const dns::StaticHosts* hosts_ = nullptr;
  outlier::OutlierDetector* outliers_ = nullptr;
  const CanaryWeights* canary_weights_ = nullptr;
  std::map<std::string, bool> panic_;  // by cluster, as the last snapshot had it
  std::shared_ptr<const LoadedConfig> loaded_;
  std::shared_ptr<const RegistryView> registry_ = std::make_shared<const RegistryView>();
  BuildMemory memory_;
  std::shared_ptr<const Snapshot> snapshot_;
  uint64_t version_ = 0;
};

}  // namespace remora::discovery
