// Outlier detection on the main thread: runs of failures, failure shares per interval, ejection
// times that grow, decay and are jittered, the cap on how many are out, the return.
#include "discovery/outlier/outlier_detector.h"

#include <algorithm>
#include <random>
#include <unordered_set>

#include "config/duration.h"
#include "proxy/event_time.h"
#include "proxy/log.h"

namespace remora::outlier {

namespace {

using Clock = std::chrono::steady_clock;

// When nothing else is due, the detector still looks every second for a passed health check.
constexpr std::chrono::milliseconds kIdleTick{1000};

double jitter() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return std::uniform_real_distribution<double>(0.9, 1.0)(rng);
}

}  // namespace

OutlierDetector::OutlierDetector(event_base* base, stats::Registry& stats,
                                 const discovery::HealthChecker* health,
                                 std::function<void()> changed)
    : stats_(stats),
      health_(health),
      changed_(std::move(changed)),
      timer_(evtimer_new(base, &OutlierDetector::onTimer, this)) {}

OutlierDetector::~OutlierDetector() { event_free(timer_); }

void OutlierDetector::setEndpoints(const Snapshot& snapshot) {
  std::unordered_set<std::string_view> present;
  for (const ClusterInfo& info : snapshot.clusters) {
    const config::Cluster& config = *info.config;
    present.insert(config.name);
    auto [it, added] = clusters_.try_emplace(config.name);
    ClusterRecord& cluster = it->second;
    cluster.settings = config.outlier_detection;
    cluster.health_checked = config.health_check.has_value();
    cluster.endpoints = info.endpoints.size();
    if (added) cluster.interval_ends = Clock::now() + cluster.settings.interval;
    if (cluster.records.empty()) continue;
    std::unordered_set<std::string_view> keys;
    for (const EndpointInfo& endpoint : info.endpoints) keys.insert(endpoint.key);
    std::erase_if(cluster.records, [&](const auto& entry) {
      if (keys.contains(entry.first)) return false;
      if (entry.second.ejected) --cluster.ejected;
      return true;
    });
    if (!cluster.settings.enabled && cluster.ejected > 0) {
      // Turned off by a reload: whatever was out comes back.
      for (auto& [key, record] : cluster.records) record.ejected.reset();
      cluster.ejected = 0;
      changed_();
    }
  }
  std::erase_if(clusters_, [&](const auto& entry) { return !present.contains(entry.first); });
  updateGauges();
  arm();
}

void OutlierDetector::onBatch(const OutcomeBatch& batch) {
  for (const EndpointReport& report : batch) {
    auto cluster_it = clusters_.find(report.cluster);
    if (cluster_it == clusters_.end()) continue;
    ClusterRecord& cluster = cluster_it->second;
    if (!cluster.settings.enabled) continue;
    EndpointRecord& record = cluster.records[report.endpoint];
    record.interval.successes += report.counts.successes;
    record.interval.server_errors += report.counts.server_errors;
    record.interval.gateway += report.counts.gateway;
    record.interval.local_origin += report.counts.local_origin;
    if (record.ejected || report.crossed == 0) continue;
    const config::OutlierDetection& settings = cluster.settings;
    if ((report.crossed & kCrossedLocalOrigin) != 0) {
      eject(report.cluster, cluster, report.endpoint, record,
            std::to_string(settings.consecutive_local_origin_failure) +
                " consecutive local-origin failures (connect, reset, timeout)",
            "consecutive_local_origin_failure");
    } else if ((report.crossed & kCrossedGateway) != 0) {
      eject(report.cluster, cluster, report.endpoint, record,
            std::to_string(settings.consecutive_gateway_failure) +
                " consecutive gateway errors (502, 503, 504)",
            "consecutive_gateway_failure");
    } else {
      eject(report.cluster, cluster, report.endpoint, record,
            std::to_string(settings.consecutive_5xx) + " consecutive 5xx responses",
            "consecutive_5xx");
    }
  }
}

void OutlierDetector::eject(const std::string& cluster_name, ClusterRecord& cluster,
                            const std::string& endpoint, EndpointRecord& record,
                            const std::string& reason, const char* metric_reason) {
  const config::OutlierDetection& settings = cluster.settings;
  // At least one endpoint may be out; at most the configured share of them.
  const size_t allowed =
      settings.max_ejection_percent == 0
          ? 0
          : std::max<size_t>(1, cluster.endpoints * settings.max_ejection_percent / 100);
  if (cluster.ejected >= allowed) {
    LOG_DEBUG("outlier: cluster %s endpoint %s: %s, but %zu of %zu are out already",
              cluster_name.c_str(), endpoint.c_str(), reason.c_str(), cluster.ejected,
              cluster.endpoints);
    return;
  }
  ++record.ejections;
  const auto base = std::chrono::duration_cast<std::chrono::milliseconds>(
      settings.base_ejection_time * record.ejections);
  const auto capped = std::min(base, settings.max_ejection_time);
  const auto duration = std::chrono::milliseconds(
      static_cast<int64_t>(static_cast<double>(capped.count()) * jitter()));
  Ejection ejection;
  ejection.until = Clock::now() + duration;
  ejection.until_wall = std::chrono::system_clock::now() + duration;
  ejection.reason = reason;
  if (health_ != nullptr && cluster.health_checked) {
    const discovery::TargetHealth* health = health_->find(cluster_name, endpoint);
    record.passes_at_ejection = health != nullptr ? health->passes : 0;
  }
  LOG_WARN("outlier: cluster %s endpoint %s ejected for %lldms (ejection %u): %s",
           cluster_name.c_str(), endpoint.c_str(), static_cast<long long>(duration.count()),
           record.ejections, reason.c_str());
  ejection.reason += "; until " + config::formatUtc(ejection.until_wall);
  record.ejected = std::move(ejection);
  ++cluster.ejected;
  stats_.incrementCounter("remora_outlier_ejections_total",
                          "Endpoints ejected by outlier detection",
                          {{"cluster", cluster_name}, {"reason", metric_reason}});
  updateGauges();
  arm();
  changed_();
}

void OutlierDetector::tick() {
  const auto now = Clock::now();
  bool changed = false;
  for (auto& [name, cluster] : clusters_) {
    for (auto& [endpoint, record] : cluster.records) {
      if (!record.ejected) continue;
      bool ends = now >= record.ejected->until;
      const char* why = "its ejection time passed";
      if (!ends && health_ != nullptr && cluster.health_checked) {
        const discovery::TargetHealth* health = health_->find(name, endpoint);
        if (health != nullptr && health->passes > record.passes_at_ejection) {
          ends = true;
          why = "an active health check passed";
        }
      }
      if (!ends) continue;
      LOG_INFO("outlier: cluster %s endpoint %s back in rotation: %s", name.c_str(),
               endpoint.c_str(), why);
      record.ejected.reset();
      --cluster.ejected;
      changed = true;
    }
    if (now >= cluster.interval_ends) endInterval(cluster, name);
  }
  if (changed) {
    updateGauges();
    changed_();
  }
  arm();
}

void OutlierDetector::endInterval(ClusterRecord& cluster, const std::string& name) {
  cluster.interval_ends = Clock::now() + cluster.settings.interval;
  const auto& percentage = cluster.settings.failure_percentage;
  for (auto& [endpoint, record] : cluster.records) {
    const OutcomeCounts counts = record.interval;
    record.interval = {};
    if (record.ejected) continue;
    // A quiet interval lets an endpoint's next ejection be shorter again.
    if (record.ejections > 0 && counts.local_origin + counts.gateway == 0) --record.ejections;
    if (!cluster.settings.enabled || !percentage.enabled) continue;
    const uint32_t total = counts.total();
    if (total == 0 || total < percentage.min_requests) continue;
    // What counts as failing is what the consecutive detectors judge: gateway errors and
    // local-origin failures, and other 5xx when consecutive_5xx is on.
    uint32_t failed = counts.gateway + counts.local_origin;
    if (cluster.settings.consecutive_5xx > 0) failed += counts.server_errors;
    if (uint64_t{failed} * 100 < uint64_t{percentage.threshold} * total) continue;
    eject(name, cluster, endpoint, record,
          std::to_string(failed) + " of " + std::to_string(total) +
              " requests failed in the last interval (threshold " +
              std::to_string(percentage.threshold) + "%)",
          "failure_percentage");
  }
  // Records with nothing to remember go.
  std::erase_if(cluster.records, [](const auto& entry) {
    return !entry.second.ejected && entry.second.ejections == 0 && entry.second.interval.empty();
  });
}

const Ejection* OutlierDetector::ejection(std::string_view cluster,
                                          std::string_view endpoint) const {
  auto cluster_it = clusters_.find(cluster);
  if (cluster_it == clusters_.end() || cluster_it->second.ejected == 0) return nullptr;
  auto it = cluster_it->second.records.find(endpoint);
  if (it == cluster_it->second.records.end() || !it->second.ejected) return nullptr;
  return &*it->second.ejected;
}

size_t OutlierDetector::ejectedCount(std::string_view cluster) const {
  auto it = clusters_.find(cluster);
  return it == clusters_.end() ? 0 : it->second.ejected;
}

void OutlierDetector::updateGauges() {
  stats_.clearGauge("remora_outlier_ejected");
  for (const auto& [name, cluster] : clusters_) {
    stats_.setGauge("remora_outlier_ejected", "Endpoints out of rotation by outlier detection",
                    {{"cluster", name}}, static_cast<double>(cluster.ejected));
  }
}

void OutlierDetector::arm() {
  auto next = Clock::now() + kIdleTick;
  for (const auto& [name, cluster] : clusters_) {
    next = std::min(next, cluster.interval_ends);
    if (cluster.ejected == 0) continue;
    for (const auto& [endpoint, record] : cluster.records) {
      if (record.ejected) next = std::min(next, record.ejected->until);
    }
  }
  const auto wait = std::max(std::chrono::milliseconds(1),
                             std::chrono::duration_cast<std::chrono::milliseconds>(
                                 next - Clock::now() + std::chrono::milliseconds(1)));
  const timeval tv = toTimeval(wait);
  evtimer_add(timer_, &tv);
}

void OutlierDetector::onTimer(evutil_socket_t, short, void* self) {
  static_cast<OutlierDetector*>(self)->tick();
}

}  // namespace remora::outlier
