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

#include "discovery/snapshot.h"
#include "filters/retry/retry_budget.h"
#include "proxy/load_balancer.h"
#include "proxy/loop_notifier.h"
#include "proxy/stats.h"

namespace remora {

class DownstreamConnection;
class UpstreamPool;

// Anything whose destruction must wait until the current callback has returned.
class Deferrable {
 public:
  virtual ~Deferrable() = default;
};

// What the workers of one listener share: its name and the connection limit across workers.
struct ListenerShared {
  std::string name;
  std::atomic<uint32_t> max_connections{0};
  std::atomic<uint32_t> connections{0};
  // Workers whose accepting is paused by a shortage of descriptors or memory: the first logs
  // the shortage, the last to recover logs its end.
  std::atomic<uint32_t> workers_short{0};
};

class Worker {
 public:
  Worker(size_t index, stats::WorkerStats& stats);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // Posts a closure to run on this worker's thread (control messages only).
  void post(std::function<void()> task) { notifier_->post(std::move(task)); }
  // Closes every connection, ends the loop and joins the thread.
  void stopAndJoin();

  // --- Everything below runs on the worker's own thread. ---
  size_t index() const { return index_; }
  event_base* base() { return base_; }
  const std::shared_ptr<const Snapshot>& snapshot() const { return snapshot_; }
  void setSnapshot(std::shared_ptr<const Snapshot> snapshot) { snapshot_ = std::move(snapshot); }
  void addListener(std::shared_ptr<ListenerShared> shared, int fd);
  void removeListener(const std::string& name);
  // Stops accepting (except on the listeners named in `keep_accepting`), asks keep-alive
  // connections to close after their current response, and closes idle ones. In-flight requests
  // continue.
  void beginDrain(const std::set<std::string>& keep_accepting);
  // Closes every connection at once (the drain timeout passed, or a second SIGTERM).
  void closeAll();
  bool draining() const { return draining_; }
  size_t connectionCount() const { return connections_.size(); }

  LoadBalancer& loadBalancer() { return load_balancer_; }
  retry::RetryBudgets& retryBudgets() { return retry_budgets_; }
  UpstreamPool& pool() { return *pool_; }
  stats::WorkerStats& stats() { return stats_; }

  void deferDelete(std::unique_ptr<Deferrable> object);
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
    // pause, and after a successful accept tells whether the shortage is over.
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

  size_t index_;
  stats::WorkerStats& stats_;
  event_base* base_;
  std::unique_ptr<LoopNotifier> notifier_;
  event* cleanup_event_;
  std::thread thread_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::vector<std::unique_ptr<ActiveListener>> listeners_;
  std::unordered_map<DownstreamConnection*, std::unique_ptr<DownstreamConnection>> connections_;
  std::vector<std::unique_ptr<Deferrable>> deferred_;
  std::unique_ptr<UpstreamPool> pool_;
  LoadBalancer load_balancer_;
  retry::RetryBudgets retry_budgets_;
  bool draining_ = false;
};

}  // namespace remora
