// Worker: one thread, one event loop, its own listening sockets, connections, pools and balancers.
#pragma once

#include <event2/event.h>
#include <event2/listener.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "discovery/canary/canary_report.h"
#include "discovery/snapshot.h"
#include "proxy/balancer_loads.h"
#include "proxy/canary_tallies.h"
#include "proxy/cluster_state.h"
#include "proxy/deferrable.h"
#include "proxy/loop_notifier.h"
#include "proxy/pool/circuit_breaker.h"
#include "proxy/stats.h"
#include "proxy/stream_host.h"
#include "proxy/upstreams.h"

namespace remora {

class DownstreamConnection;
class ConnectionPools;

// What the workers of one listener share: its name and the connection limit across workers.
struct ListenerShared {
  std::string name;
  std::atomic<uint32_t> max_connections{0};
  std::atomic<uint32_t> connections{0};
  // Workers whose accepting is paused by a shortage of descriptors or memory: the first logs
  // the shortage, the last to recover logs its end.
  std::atomic<uint32_t> workers_short{0};
};

class Worker : public StreamHost, public Upstreams, public OutcomeSink {
 public:
  Worker(size_t index, stats::WorkerStats& stats, CircuitBreakers& breakers);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Where outcome reports go (posted to the main thread); set before start().
  using OutcomeReporter = std::function<void(outlier::OutcomeBatch)>;
  void setOutcomeReporter(OutcomeReporter reporter) { reporter_ = std::move(reporter); }
  // Canary arms' counts, sent on the same once-a-second timer.
  using CanaryReporter = std::function<void(canary::CanaryReports)>;
  void setCanaryReporter(CanaryReporter reporter) { canary_reporter_ = std::move(reporter); }
  // What the balancers see of each endpoint, on the same timer, for the admin.
  using LoadReporter = std::function<void(LoadSamples)>;
  void setLoadReporter(LoadReporter reporter) { load_reporter_ = std::move(reporter); }
  void start();
  // Posts a closure to run on this worker's thread (control messages only).
  void post(std::function<void()> task) { notifier_->post(std::move(task)); }
  // Closes every connection, ends the loop and joins the thread.
  void stopAndJoin();
  // When the loop last ran its once-a-second timer (any thread may ask): /healthz's evidence
  // that the loop still turns.
  std::chrono::steady_clock::time_point lastTick() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(last_tick_.load(std::memory_order_relaxed)));
  }

  // --- Everything below runs on the worker's own thread. ---
  size_t index() const { return index_; }
  event_base* base() override { return base_; }
  const std::shared_ptr<const Snapshot>& snapshot() const { return snapshot_; }
  // Swaps in a new snapshot and aligns each cluster's state with it.
  void setSnapshot(std::shared_ptr<const Snapshot> snapshot);
  void addListener(std::shared_ptr<ListenerShared> shared, int fd);
  void removeListener(const std::string& name);
  // Draining began (SIGTERM, POST /drain) while the listeners still accept: from now on HTTP/1.1
  // responses say `Connection: close` and HTTP/2 connections get GOAWAY (a shutdown notice
  // first), so that keep-alive clients move to new connections before the listeners close.
  void noticeDrain();
  bool drainNoticed() const { return drain_noticed_; }
  // Stops accepting (except on the listeners named in `keep_accepting`), asks keep-alive
  // connections to close after their current response, and closes idle ones (those whose next
  // request has not arrived). In-flight requests continue.
  void beginDrain(const std::set<std::string>& keep_accepting);
  // Closes every connection at once (the drain timeout passed, or a second SIGTERM).
  void closeAll();
  bool draining() const { return draining_; }
  size_t connectionCount() const { return connections_.size(); }

  ConnectionPools& pools() { return *pool_; }
  // The state of clusters that left the config, kept while requests to them are in flight.
  size_t clusterStates() const { return clusters_.size(); }

  // --- StreamHost and Upstreams. ---
  stats::WorkerStats& stats() override { return stats_; }
  CanaryTallies& canaryTallies() override { return canary_tallies_; }
  IdleSweeper& idleSweeper() override { return *idle_sweeper_; }
  void deferDelete(std::unique_ptr<Deferrable> object) override;
  DetachedSet& detached() override { return detached_; }
  std::unique_ptr<filters::Filter> makeRouter(filters::StreamContext& context) override;
  ClusterState& clusterState(const ClusterInfo& cluster) override;
  ConnectionPool& pool() override;
  void reportNow(outlier::EndpointReport report) override;

  void onConnectionClosed(DownstreamConnection* connection);
  // A connection whose protocol became known hands over to the codec that speaks it.
  void replaceConnection(DownstreamConnection* old, std::unique_ptr<DownstreamConnection> next);

 private:
  struct ActiveListener {
    ActiveListener() = default;
    ActiveListener(const ActiveListener&) = delete;
    ActiveListener& operator=(const ActiveListener&) = delete;
    ~ActiveListener();  // frees the listener (closing its socket) and the timer

    Worker* owner = nullptr;
    std::shared_ptr<ListenerShared> shared;
    evconnlistener* listener = nullptr;
    // Out of file descriptors or memory, accepting pauses (see onAcceptError). The timer ends a
    // pause, and after a successful accept, or one more pause, tells whether the shortage is over.
    event* resume_timer = nullptr;
    std::chrono::milliseconds backoff{0};  // the last pause; 0 once an accept succeeded
    bool paused = false;
    // When the shortage began (its one warning); nullopt when accepting works.
    std::optional<std::chrono::steady_clock::time_point> shortage_since;
  };
  static void onAccept(evconnlistener*, evutil_socket_t fd, sockaddr* address, int length,
                       void* context);
  static void onAcceptError(evconnlistener* listener, void* context);
  static void onResumeTimer(evutil_socket_t, short, void* context);
  static void onCleanup(evutil_socket_t, short, void* self);
  static void onReportTimer(evutil_socket_t, short, void* self);

  size_t index_;
  stats::WorkerStats& stats_;
  event_base* base_;
  std::unique_ptr<LoopNotifier> notifier_;
  event* cleanup_event_;
  event* report_timer_;                                       // outcome batches, once a second
  std::atomic<std::chrono::steady_clock::rep> last_tick_{0};  // see lastTick()
  std::unique_ptr<IdleSweeper> idle_sweeper_;
  OutcomeReporter reporter_;
  CanaryReporter canary_reporter_;
  LoadReporter load_reporter_;
  bool reported_loads_ = false;  // the last load report was not empty
  CanaryTallies canary_tallies_;
  std::thread thread_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::vector<std::unique_ptr<ActiveListener>> listeners_;
  std::unordered_map<DownstreamConnection*, std::unique_ptr<DownstreamConnection>> connections_;
  std::vector<std::unique_ptr<Deferrable>> deferred_;
  std::vector<std::unique_ptr<Deferrable>> deleting_;  // onCleanup's batch, kept for its capacity
  DetachedSet detached_;  // holds upstream requests: cleared before the pools go
  CircuitBreakers& breakers_;
  std::unique_ptr<ConnectionPools> pool_;
  std::unordered_map<std::string, std::unique_ptr<ClusterState>, stats::TransparentHash,
                     std::equal_to<>>
      clusters_;
  // By cluster index of the current snapshot: what most requests look up, without a hash.
  std::vector<ClusterState*> cluster_by_index_;
  bool draining_ = false;
  bool drain_noticed_ = false;
};

}  // namespace remora
