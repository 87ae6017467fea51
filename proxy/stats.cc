// Lock-free per-worker request statistics and their Prometheus rendering.
#include "proxy/stats.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <sstream>

#include "filters/access_log/log_sink.h"

namespace remora::stats {

namespace {

std::map<std::string, std::string> listenerLabels(std::string_view listener, std::string_view) {
  return {{"listener", std::string(listener)}};
}

std::map<std::string, std::string> clusterLabels(std::string_view cluster,
                                                 std::string_view subset) {
  return {{"cluster", std::string(cluster)}, {"subset", std::string(subset)}};
}

std::vector<prometheus::ClientMetric::Label> toLabels(const std::map<std::string, std::string>& m) {
  std::vector<prometheus::ClientMetric::Label> labels;
  for (const auto& [name, value] : m) labels.push_back({name, value});
  return labels;
}

// Sums the same label set across workers.
struct Totals {
  std::array<uint64_t, 600> by_code{};
  std::array<uint64_t, kDurationBuckets.size() + 1> buckets{};
  uint64_t count = 0;
  uint64_t sum_ns = 0;
  void add(const RequestCells& cells) {
    for (size_t i = 0; i < by_code.size(); ++i)
      by_code[i] += cells.by_code[i].load(std::memory_order_relaxed);
    for (size_t i = 0; i < buckets.size(); ++i)
      buckets[i] += cells.buckets[i].load(std::memory_order_relaxed);
    count += cells.duration_count.load(std::memory_order_relaxed);
    sum_ns += cells.duration_sum_ns.load(std::memory_order_relaxed);
  }
};

void addRequestFamilies(const std::map<std::map<std::string, std::string>, Totals>& totals,
                        const std::string& prefix, const std::string& what,
                        std::vector<prometheus::MetricFamily>& out) {
  prometheus::MetricFamily requests{prefix + "_requests_total",
                                    what + " requests by status code",
                                    prometheus::MetricType::Counter,
                                    {}};
  prometheus::MetricFamily durations{prefix + "_request_duration_seconds",
                                     what + " request duration",
                                     prometheus::MetricType::Histogram,
                                     {}};
  for (const auto& [labels, total] : totals) {
    for (size_t code = 0; code < total.by_code.size(); ++code) {
      if (total.by_code[code] == 0) continue;
      prometheus::ClientMetric metric;
      metric.label = toLabels(labels);
      metric.label.push_back({"code", std::to_string(code)});
      metric.counter.value = static_cast<double>(total.by_code[code]);
      requests.metric.push_back(std::move(metric));
    }
    prometheus::ClientMetric histogram;
    histogram.label = toLabels(labels);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < total.buckets.size(); ++i) {
      cumulative += total.buckets[i];
      double bound = i < kDurationBuckets.size() ? kDurationBuckets[i]
                                                 : std::numeric_limits<double>::infinity();
      histogram.histogram.bucket.push_back({cumulative, bound});
    }
    histogram.histogram.sample_count = total.count;
    histogram.histogram.sample_sum = static_cast<double>(total.sum_ns) / 1e9;
    durations.metric.push_back(std::move(histogram));
  }
  out.push_back(std::move(requests));
  out.push_back(std::move(durations));
}

// One counter family with one label (cluster, listener); nothing when none has counted yet.
void addCounterByLabel(const std::map<std::string, uint64_t>& totals, const char* label,
                       const char* name, const char* help,
                       std::vector<prometheus::MetricFamily>& out) {
  if (totals.empty()) return;
  prometheus::MetricFamily family{name, help, prometheus::MetricType::Counter, {}};
  for (const auto& [value, total] : totals) {
    prometheus::ClientMetric metric;
    metric.label = {{label, value}};
    metric.counter.value = static_cast<double>(total);
    family.metric.push_back(std::move(metric));
  }
  out.push_back(std::move(family));
}

// Per listener, two counts told apart by `label` (`values` names them, in the pair's order);
// zeros are left out.
void addCounterByTwoLabels(const std::map<std::string, std::pair<uint64_t, uint64_t>>& totals,
                           const char* label, std::pair<const char*, const char*> values,
                           const char* name, const char* help,
                           std::vector<prometheus::MetricFamily>& out) {
  prometheus::MetricFamily family{name, help, prometheus::MetricType::Counter, {}};
  for (const auto& [listener, counts] : totals) {
    for (const auto& [value, count] :
         {std::pair{values.first, counts.first}, {values.second, counts.second}}) {
      if (count == 0) continue;
      prometheus::ClientMetric metric;
      metric.label = {{"listener", listener}, {label, value}};
      metric.counter.value = static_cast<double>(count);
      family.metric.push_back(std::move(metric));
    }
  }
  if (!family.metric.empty()) out.push_back(std::move(family));
}

// Single writer: a relaxed load and store is enough and cheaper than fetch_add.
void bump(std::atomic<uint64_t>& cell, uint64_t by) {
  cell.store(cell.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

}  // namespace

void RequestCells::record(int code, uint64_t duration_ns) {
  if (code < 0 || code >= static_cast<int>(by_code.size())) code = 0;
  bump(by_code[code], 1);
  const double seconds = static_cast<double>(duration_ns) / 1e9;
  size_t bucket = 0;
  while (bucket < kDurationBuckets.size() && seconds > kDurationBuckets[bucket]) ++bucket;
  bump(buckets[bucket], 1);
  bump(duration_count, 1);
  bump(duration_sum_ns, duration_ns);
}

void ClusterCells::recordGrpc(int status) {
  if (status < 0 || status >= static_cast<int>(by_grpc_status.size())) status = 2;  // UNKNOWN
  bump(by_grpc_status[static_cast<size_t>(status)], 1);
}

ClusterCells& WorkerStats::clusterCells(std::string_view cluster) {
  auto it = clusters_.find(cluster);
  if (it == clusters_.end()) {
    std::lock_guard<std::mutex> lock(mutex_);
    it = clusters_.emplace(std::string(cluster), std::make_unique<ClusterCells>()).first;
  }
  return *it->second;
}

void WorkerStats::recordGrpc(std::string_view cluster, int grpc_status) {
  clusterCells(cluster).recordGrpc(grpc_status);
}

void WorkerStats::recordRetry(std::string_view cluster) { bump(clusterCells(cluster).retries, 1); }

void WorkerStats::recordRetryOverflow(std::string_view cluster) {
  bump(clusterCells(cluster).retry_overflow, 1);
}

const char* mirrorResultName(MirrorResult result) {
  switch (result) {
    case MirrorResult::Sent:
      return "sent";
    case MirrorResult::Overflow:
      return "overflow";
    case MirrorResult::Unavailable:
      return "unavailable";
    case MirrorResult::Completed:
      return "completed";
    case MirrorResult::Truncated:
      return "truncated";
    case MirrorResult::Slow:
      return "slow";
    case MirrorResult::Cancelled:
      return "cancelled";
    case MirrorResult::Failed:
      return "failed";
    case MirrorResult::Timeout:
      return "timeout";
    case MirrorResult::Match:
      return "match";
    case MirrorResult::Differ:
      return "differ";
  }
  return "unknown";
}

void WorkerStats::recordMirror(std::string_view cluster, MirrorResult result) {
  bump(clusterCells(cluster).mirror[static_cast<size_t>(result)], 1);
}

ListenerCells& WorkerStats::listenerCells(std::string_view listener) {
  auto it = listeners_.find(listener);
  if (it == listeners_.end()) {
    std::lock_guard<std::mutex> lock(mutex_);
    it = listeners_.emplace(std::string(listener), std::make_unique<ListenerCells>()).first;
  }
  return *it->second;
}

void WorkerStats::recordAcceptError(std::string_view listener) {
  bump(listenerCells(listener).accept_errors, 1);
}

void WorkerStats::recordFault(std::string_view listener, FaultKind kind) {
  ListenerCells& cells = listenerCells(listener);
  bump(kind == FaultKind::Abort ? cells.faults_aborted : cells.faults_delayed, 1);
}

void WorkerStats::recordRateLimited(std::string_view listener, bool shadow) {
  ListenerCells& cells = listenerCells(listener);
  bump(shadow ? cells.rate_limit_shadowed : cells.rate_limited, 1);
}

RequestCells& WorkerStats::cells(Table& table, LastLookup& last, std::string_view key,
                                 std::map<std::string, std::string> (*labels)(std::string_view,
                                                                              std::string_view),
                                 std::string_view a, std::string_view b) {
  if (last.cells != nullptr && last.key == key) return *last.cells;
  auto it = table.find(key);
  if (it == table.end()) {
    std::lock_guard<std::mutex> lock(mutex_);
    it = table.emplace(std::string(key), Entry{labels(a, b), std::make_unique<RequestCells>()})
             .first;
  }
  last = {it->first, it->second.cells.get()};
  return *last.cells;
}

void WorkerStats::recordDownstream(std::string_view listener, int code, uint64_t duration_ns) {
  cells(downstream_, last_downstream_, listener, &listenerLabels, listener, {})
      .record(code, duration_ns);
}

void WorkerStats::recordUpstream(std::string_view key, std::string_view cluster,
                                 std::string_view subset, int code, uint64_t duration_ns) {
  cells(upstream_, last_upstream_, key, &clusterLabels, cluster, subset).record(code, duration_ns);
}

Registry::Registry(size_t workers) {
  for (size_t i = 0; i < workers; ++i) workers_.push_back(std::make_unique<WorkerStats>());
}

void Registry::setGauge(const std::string& name, const std::string& help,
                        std::map<std::string, std::string> labels, double value) {
  std::lock_guard<std::mutex> lock(mutex_);
  Series& series = series_[name];
  series.help = help;
  series.values[std::move(labels)] = value;
}

void Registry::clearGauge(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  series_.erase(name);
}

void Registry::incrementCounter(const std::string& name, const std::string& help,
                                std::map<std::string, std::string> labels, double by) {
  std::lock_guard<std::mutex> lock(mutex_);
  Series& series = series_[name];
  series.help = help;
  series.counter = true;
  series.values[std::move(labels)] += by;
}

void Registry::setCounter(const std::string& name, const std::string& help,
                          std::map<std::string, std::string> labels, double value) {
  std::lock_guard<std::mutex> lock(mutex_);
  Series& series = series_[name];
  series.help = help;
  series.counter = true;
  series.values[std::move(labels)] = value;
}

std::string Registry::render() const {
  std::map<std::map<std::string, std::string>, Totals> downstream;
  std::map<std::map<std::string, std::string>, Totals> upstream;
  for (const auto& worker : workers_) {
    worker->forEach(false,
                    [&](const auto& labels, const RequestCells& c) { downstream[labels].add(c); });
    worker->forEach(true,
                    [&](const auto& labels, const RequestCells& c) { upstream[labels].add(c); });
  }
  std::vector<prometheus::MetricFamily> families;
  addRequestFamilies(downstream, "remora_downstream", "Downstream", families);
  addRequestFamilies(upstream, "remora_upstream", "Upstream", families);
  std::map<std::string, std::array<uint64_t, 17>> grpc;
  std::map<std::string, uint64_t> retries;
  std::map<std::string, uint64_t> overflow;
  std::map<std::string, std::array<uint64_t, kMirrorResults>> mirror;
  for (const auto& worker : workers_) {
    worker->forEachCluster([&](const std::string& cluster, const ClusterCells& cells) {
      auto& total = grpc[cluster];
      for (size_t i = 0; i < total.size(); ++i) {
        total[i] += cells.by_grpc_status[i].load(std::memory_order_relaxed);
      }
      retries[cluster] += cells.retries.load(std::memory_order_relaxed);
      overflow[cluster] += cells.retry_overflow.load(std::memory_order_relaxed);
      auto& results = mirror[cluster];
      for (size_t i = 0; i < kMirrorResults; ++i) {
        results[i] += cells.mirror[i].load(std::memory_order_relaxed);
      }
    });
  }
  addCounterByLabel(retries, "cluster", "remora_upstream_retries_total",
                    "Upstream requests sent again by a route's retry policy", families);
  addCounterByLabel(overflow, "cluster", "remora_upstream_retry_overflow_total",
                    "Retries not made because the cluster's retry budget was spent", families);
  std::map<std::string, uint64_t> accept_errors;
  std::map<std::string, std::pair<uint64_t, uint64_t>> rate_limited;  // enforced, shadow
  std::map<std::string, std::pair<uint64_t, uint64_t>> faults;        // aborted, delayed
  for (const auto& worker : workers_) {
    worker->forEachListener([&](const std::string& listener, const ListenerCells& cells) {
      accept_errors[listener] += cells.accept_errors.load(std::memory_order_relaxed);
      auto& [enforced, shadow] = rate_limited[listener];
      enforced += cells.rate_limited.load(std::memory_order_relaxed);
      shadow += cells.rate_limit_shadowed.load(std::memory_order_relaxed);
      auto& [aborted, delayed] = faults[listener];
      aborted += cells.faults_aborted.load(std::memory_order_relaxed);
      delayed += cells.faults_delayed.load(std::memory_order_relaxed);
    });
  }
  std::erase_if(accept_errors, [](const auto& item) { return item.second == 0; });
  addCounterByLabel(accept_errors, "listener", "remora_downstream_accept_errors_total",
                    "Failed accepts of client connections (out of file descriptors, ...)",
                    families);
  addCounterByTwoLabels(rate_limited, "mode", {"enforced", "shadow"}, "remora_rate_limited_total",
                        "Requests a rate_limit filter refused (mode enforced: answered 429) or "
                        "would have (mode shadow)",
                        families);
  addCounterByTwoLabels(faults, "kind", {"abort", "delay"}, "remora_faults_injected_total",
                        "Requests a fault filter aborted or delayed", families);
  {
    // Counted by the access log's own rings and writers, off the workers' stats.
    prometheus::MetricFamily family{"remora_access_log_dropped_total",
                                    "Access log lines dropped: a worker's buffer was full, or "
                                    "the destination failed",
                                    prometheus::MetricType::Counter,
                                    {}};
    prometheus::ClientMetric metric;
    metric.counter.value = static_cast<double>(filters::LogSink::droppedTotal());
    family.metric.push_back(std::move(metric));
    families.push_back(std::move(family));
  }
  {
    prometheus::MetricFamily family{"remora_mirror_requests_total",
                                    "Shadow copies of route requests by what became of them",
                                    prometheus::MetricType::Counter,
                                    {}};
    for (const auto& [cluster, results] : mirror) {
      for (size_t i = 0; i < kMirrorResults; ++i) {
        if (results[i] == 0) continue;
        prometheus::ClientMetric metric;
        metric.label = {{"cluster", cluster},
                        {"result", mirrorResultName(static_cast<MirrorResult>(i))}};
        metric.counter.value = static_cast<double>(results[i]);
        family.metric.push_back(std::move(metric));
      }
    }
    if (!family.metric.empty()) families.push_back(std::move(family));
  }
  {
    prometheus::MetricFamily family{"remora_upstream_grpc_responses_total",
                                    "gRPC responses from upstreams by grpc-status",
                                    prometheus::MetricType::Counter,
                                    {}};
    for (const auto& [cluster, total] : grpc) {
      for (size_t status = 0; status < total.size(); ++status) {
        if (total[status] == 0) continue;
        prometheus::ClientMetric metric;
        metric.label = {{"cluster", cluster}, {"grpc_status", std::to_string(status)}};
        metric.counter.value = static_cast<double>(total[status]);
        family.metric.push_back(std::move(metric));
      }
    }
    if (!family.metric.empty()) families.push_back(std::move(family));
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [name, series] : series_) {
      prometheus::MetricFamily family{
          name,
          series.help,
          series.counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge,
          {}};
      for (const auto& [labels, value] : series.values) {
        prometheus::ClientMetric metric;
        metric.label = toLabels(labels);
        if (series.counter) {
          metric.counter.value = value;
        } else {
          metric.gauge.value = value;
        }
        family.metric.push_back(std::move(metric));
      }
      families.push_back(std::move(family));
    }
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace remora::stats
