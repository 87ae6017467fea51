// Request statistics: each worker writes its own counters without locks; the admin thread sums
// every worker's at scrape time and renders Prometheus text through prometheus-cpp.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace remora::stats {

// Upper bounds, in seconds, of the request duration histograms.
inline constexpr std::array<double, 14> kDurationBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// Counters by status code and one duration histogram, for one label set.
struct RequestCells {
  std::array<std::atomic<uint64_t>, 600> by_code{};  // index = status code (0: no response)
  std::array<std::atomic<uint64_t>, kDurationBuckets.size() + 1> buckets{};  // last: +Inf
  std::atomic<uint64_t> duration_count{0};
  std::atomic<uint64_t> duration_sum_ns{0};

  void record(int code, uint64_t duration_ns);
};

// What became of a route's shadow copy, the `result` label of remora_mirror_requests_total. A
// copy chosen by the route's percent counts once as sent, overflow or unavailable, and a sent
// one once more by how it ended; with `compare`, its answer counts as match or differ too.
enum class MirrorResult : uint8_t {
  Sent,         // started towards an endpoint of the mirror cluster
  Overflow,     // dropped: the mirror's max_concurrent copies were in flight
  Unavailable,  // dropped: no healthy endpoint, or the mirror cluster's circuit breaker was open
  Completed,    // the shadow answered in full (and its answer was discarded)
  Truncated,    // cut: the request body went beyond max_body_bytes
  Slow,         // cut: the shadow did not take the body as fast as the client sent it
  Cancelled,    // cut: the primary request ended before its body did (client gone, early answer)
  Failed,       // connect failure, reset or protocol error
  Timeout,      // no full answer within the mirror's timeout
  Match,        // compare: the same status class (and body hash, when asked) as the primary
  Differ,       // compare: a different one
};
inline constexpr size_t kMirrorResults = 11;
const char* mirrorResultName(MirrorResult result);

// Per-cluster counters beside the request cells: gRPC responses by `grpc-status` (0..16;
// anything else counts as 2, UNKNOWN) and retries.
struct ClusterCells {
  std::array<std::atomic<uint64_t>, 17> by_grpc_status{};
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> retry_overflow{0};  // retries refused by the cluster's retry budget
  std::array<std::atomic<uint64_t>, kMirrorResults> mirror{};  // copies sent to this cluster
  void recordGrpc(int status);
};

// Per-listener counters beside the request cells.
struct ListenerCells {
  std::atomic<uint64_t> accept_errors{0};  // accept(2) calls that failed
  // Requests a `rate_limit` filter of the listener (or of one of its routes) refused, and those
  // it would have refused but for `shadow: true`.
  std::atomic<uint64_t> rate_limited{0};
  std::atomic<uint64_t> rate_limit_shadowed{0};
  std::atomic<uint64_t> faults_aborted{0};  // by a `fault` filter of the listener or its routes
  std::atomic<uint64_t> faults_delayed{0};
};

enum class FaultKind : uint8_t { Abort, Delay };

struct TransparentHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// One per worker. Only its worker records; the scraper reads under `mutex_`, which the worker
// takes only to add a label set it has not seen before.
class WorkerStats {
 public:
  void recordDownstream(std::string_view listener, int code, uint64_t duration_ns);
  // `key` identifies the (cluster, subset) pair: callers pass SubsetInfo::lb_key.
  void recordUpstream(std::string_view key, std::string_view cluster, std::string_view subset,
                      int code, uint64_t duration_ns);
  void recordGrpc(std::string_view cluster, int grpc_status);
  void recordRetry(std::string_view cluster);
  void recordRetryOverflow(std::string_view cluster);
  // `cluster` is the mirror's, the one the copy goes to.
  void recordMirror(std::string_view cluster, MirrorResult result);
  void recordAcceptError(std::string_view listener);
  void recordRateLimited(std::string_view listener, bool shadow);
  void recordFault(std::string_view listener, FaultKind kind);

  struct Entry {
    std::map<std::string, std::string> labels;
    std::unique_ptr<RequestCells> cells;
  };
  // Calls `visit(labels, cells)` for every label set, under the lock.
  template <class Visit>
  void forEach(bool upstream, Visit&& visit) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [key, entry] : upstream ? upstream_ : downstream_)
      visit(entry.labels, *entry.cells);
  }
  template <class Visit>
  void forEachCluster(Visit&& visit) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [cluster, cells] : clusters_) visit(cluster, *cells);
  }
  template <class Visit>
  void forEachListener(Visit&& visit) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [listener, cells] : listeners_) visit(listener, *cells);
  }

 private:
  using Table = std::unordered_map<std::string, Entry, TransparentHash, std::equal_to<>>;
  // The last key a table was asked for and its cells: most requests in a row name the same
  // listener and cluster, and comparing a key is cheaper than hashing it. The view is of the
  // table's own key, which stays put: entries are never erased.
  struct LastLookup {
    std::string_view key;
    RequestCells* cells = nullptr;
  };
  RequestCells& cells(Table& table, LastLookup& last, std::string_view key,
                      std::map<std::string, std::string> (*labels)(std::string_view,
                                                                   std::string_view),
                      std::string_view a, std::string_view b);
  ClusterCells& clusterCells(std::string_view cluster);
  ListenerCells& listenerCells(std::string_view listener);

  mutable std::mutex mutex_;
  Table downstream_;
  Table upstream_;
  LastLookup last_downstream_;  // touched by the worker's thread only, like the lookups
  LastLookup last_upstream_;
  std::unordered_map<std::string, std::unique_ptr<ClusterCells>, TransparentHash, std::equal_to<>>
      clusters_;
  std::unordered_map<std::string, std::unique_ptr<ListenerCells>, TransparentHash, std::equal_to<>>
      listeners_;
};

// Everything the process counts, owned by the main thread and read by /metrics.
class Registry {
 public:
  explicit Registry(size_t workers);
  WorkerStats& worker(size_t index) { return *workers_[index]; }
  size_t workerCount() const { return workers_.size(); }

  // Gauges the main thread sets (cluster endpoint counts, registry updates...).
  void setGauge(const std::string& name, const std::string& help,
                std::map<std::string, std::string> labels, double value);
  void clearGauge(const std::string& name);
  void incrementCounter(const std::string& name, const std::string& help,
                        std::map<std::string, std::string> labels, double by = 1);
  // A counter kept elsewhere (shared atomics), copied in before rendering.
  void setCounter(const std::string& name, const std::string& help,
                  std::map<std::string, std::string> labels, double value);

  // The Prometheus text exposition of every metric.
  std::string render() const;

 private:
  struct Series {
    std::string help;
    bool counter = false;
    std::map<std::map<std::string, std::string>, double> values;
  };
  std::vector<std::unique_ptr<WorkerStats>> workers_;
  mutable std::mutex mutex_;  // guards series_: main-thread writes vs. admin reads
  std::map<std::string, Series> series_;
};

}  // namespace remora::stats
