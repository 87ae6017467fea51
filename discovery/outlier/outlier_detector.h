// OutlierDetector: the main thread's judgement of endpoints from the outcomes workers report.
// An endpoint whose failures in a row reach a threshold, or whose share of failures in an
// interval does, is ejected: out of rotation (except in panic) for base_ejection_time times the
// number of its recent ejections, at most max_ejection_time, a little less at random so that a
// fleet does not bring it back at one instant. At most max_ejection_percent of a cluster's
// endpoints (at least one) are out at once. A passing active health check ends an ejection.
// Ejections go into the next snapshot.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "discovery/health/health_checker.h"
#include "discovery/outlier/outcomes.h"
#include "discovery/snapshot.h"
#include "proxy/stats.h"

namespace remora::outlier {

struct Ejection {
  std::chrono::steady_clock::time_point until;
  std::chrono::system_clock::time_point until_wall;  // the same, for people
  std::string reason;                                // "5 consecutive local-origin failures"
};

class OutlierDetector {
 public:
  // `changed` runs when an ejection starts or ends: the next snapshot must carry it. `health`
  // (null in tests) is asked whether an ejected endpoint passed a check since.
  OutlierDetector(event_base* base, stats::Registry& stats, const discovery::HealthChecker* health,
                  std::function<void()> changed);
  ~OutlierDetector();
  OutlierDetector(const OutlierDetector&) = delete;
  OutlierDetector& operator=(const OutlierDetector&) = delete;

  // The endpoints each cluster has now, and the clusters' settings: what left is forgotten.
  void setEndpoints(const Snapshot& snapshot);
  void onBatch(const OutcomeBatch& batch);
  // Null while the endpoint is not ejected.
  const Ejection* ejection(std::string_view cluster, std::string_view endpoint) const;
  size_t ejectedCount(std::string_view cluster) const;

  // For tests: runs the periodic work as if its time had come.
  void tickForTest() { tick(); }

 private:
  struct EndpointRecord {
    uint32_t ejections = 0;  // recent ones: what the ejection time is multiplied by
    std::optional<Ejection> ejected;
    uint64_t passes_at_ejection = 0;
    OutcomeCounts interval;  // this interval's outcomes, for failure_percentage
  };
  struct ClusterRecord {
    config::OutlierDetection settings;
    bool health_checked = false;
    size_t endpoints = 0;  // in the cluster now
    size_t ejected = 0;
    std::chrono::steady_clock::time_point interval_ends;
    std::map<std::string, EndpointRecord, std::less<>> records;
  };

  void eject(const std::string& cluster_name, ClusterRecord& cluster, const std::string& endpoint,
             EndpointRecord& record, const std::string& reason, const char* metric_reason);
  void tick();
  void endInterval(ClusterRecord& cluster, const std::string& name);
  void updateGauges();
  void arm();
  static void onTimer(evutil_socket_t, short, void* self);

  stats::Registry& stats_;
  const discovery::HealthChecker* health_;
  std::function<void()> changed_;
  event* timer_;
  std::map<std::string, ClusterRecord, std::less<>> clusters_;
};

}  // namespace remora::outlier
