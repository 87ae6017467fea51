// Worker threads: accept, connection ownership, deferred deletion, drain.
#include "proxy/worker.h"

#include <algorithm>
#include <cerrno>
#include <unordered_set>

#include "filters/router/router_filter.h"
#include "proxy/downstream_connection.h"
#include "proxy/event_time.h"
#include "proxy/http1_server_connection.h"
#include "proxy/http2_server_connection.h"
#include "proxy/listen_socket.h"
#include "proxy/log.h"
#include "proxy/pool/connection_pools.h"
#include "proxy/protocol_detector.h"

namespace remora {

namespace {

// Accepting again after a resource shortage: the first pause, and the longest.
constexpr std::chrono::milliseconds kFirstAcceptPause{10};
constexpr std::chrono::milliseconds kLongestAcceptPause{1000};

// Accept errors that the next accept would hit again at once, since they are the process's or
// the system's, not one connection's.
bool isResourceShortage(int error) {
  return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

}  // namespace

Worker::ActiveListener::~ActiveListener() {
  if (shortage_since) shared->workers_short.fetch_sub(1, std::memory_order_relaxed);
  if (resume_timer != nullptr) event_free(resume_timer);
  if (listener != nullptr) evconnlistener_free(listener);
}

Worker::Worker(size_t index, stats::WorkerStats& stats, CircuitBreakers& breakers)
    : index_(index),
      stats_(stats),
      base_(event_base_new()),
      notifier_(std::make_unique<LoopNotifier>(base_)),
      cleanup_event_(event_new(base_, -1, 0, &Worker::onCleanup, this)),
      report_timer_(event_new(base_, -1, EV_PERSIST, &Worker::onReportTimer, this)),
      idle_sweeper_(std::make_unique<IdleSweeper>(base_)),
      breakers_(breakers),
      pool_(std::make_unique<ConnectionPools>(*this, breakers)) {}

Worker::~Worker() {
  connections_.clear();
  detached_.clear();
  pool_.reset();
  // As onCleanup: a destructor may defer more objects while the others are destroyed.
  while (!deferred_.empty()) {
    deleting_.swap(deferred_);
    deleting_.clear();
  }
  listeners_.clear();
  idle_sweeper_.reset();
  event_free(report_timer_);
  event_free(cleanup_event_);
  notifier_.reset();
  event_base_free(base_);
}

void Worker::setSnapshot(std::shared_ptr<const Snapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  if (snapshot_->config != nullptr) canary_tallies_.reconcile(*snapshot_->config);
  std::unordered_set<std::string_view> present;
  std::vector<std::string> left;
  cluster_by_index_.clear();
  for (const ClusterInfo& cluster : snapshot_->clusters) {
    present.insert(cluster.config->name);
    ClusterState& state = clusterState(cluster);
    state.reconcile(cluster, left);
    cluster_by_index_.push_back(&state);
  }
  pool_->closeIdleTo(left);
  // A cluster that left the config goes once no request to it is in flight.
  std::erase_if(clusters_, [&](const auto& entry) {
    return !present.contains(entry.first) && entry.second->budget().in_flight == 0;
  });
}

std::unique_ptr<filters::Filter> Worker::makeRouter(filters::StreamContext& context) {
  return std::make_unique<router::RouterFilter>(context, *this);
}

ClusterState& Worker::clusterState(const ClusterInfo& cluster) {
  if (snapshot_ != nullptr && cluster_by_index_.size() == snapshot_->clusters.size()) {
    const ClusterInfo* first = snapshot_->clusters.data();
    const std::less<> before;
    if (!before(&cluster, first) && before(&cluster, first + snapshot_->clusters.size())) {
      return *cluster_by_index_[static_cast<size_t>(&cluster - first)];
    }
  }
  const std::string& name = cluster.config->name;
  auto it = clusters_.find(name);
  if (it == clusters_.end()) {
    it = clusters_
             .emplace(name, std::make_unique<ClusterState>(*cluster.config,
                                                           breakers_.forCluster(name), this))
             .first;
  }
  return *it->second;
}

ConnectionPool& Worker::pool() { return *pool_; }

void Worker::reportNow(outlier::EndpointReport report) {
  if (!reporter_) return;
  outlier::OutcomeBatch batch;
  batch.push_back(std::move(report));
  reporter_(std::move(batch));
}

void Worker::onReportTimer(evutil_socket_t, short, void* self) {
  auto* worker = static_cast<Worker*>(self);
  worker->last_tick_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                           std::memory_order_relaxed);
  if (worker->canary_reporter_) {
    canary::CanaryReports reports;
    worker->canary_tallies_.collect(reports);
    if (!reports.empty()) worker->canary_reporter_(std::move(reports));
  }
  if (worker->load_reporter_) {
    LoadSamples samples;
    const int64_t now_us = steadyMicros();
    for (auto& [name, state] : worker->clusters_) state->collectLoads(samples, now_us);
    // An empty report clears the last one; after that, silence says the same.
    if (!samples.empty() || worker->reported_loads_) {
      worker->reported_loads_ = !samples.empty();
      worker->load_reporter_(std::move(samples));
    }
  }
  if (!worker->reporter_) return;
  outlier::OutcomeBatch batch;
  for (auto& [name, state] : worker->clusters_) state->collectOutcomes(batch);
  if (!batch.empty()) worker->reporter_(std::move(batch));
}

void Worker::start() {
  static constexpr timeval kReportInterval = {1, 0};
  event_add(report_timer_, &kReportInterval);
  last_tick_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                   std::memory_order_relaxed);
  thread_ = std::thread([this] { event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY); });
}

void Worker::stopAndJoin() {
  if (!thread_.joinable()) return;
  post([this] {
    closeAll();
    event_base_loopbreak(base_);
  });
  thread_.join();
}

void Worker::addListener(std::shared_ptr<ListenerShared> shared, int fd) {
  auto active = std::make_unique<ActiveListener>();
  active->owner = this;
  active->shared = std::move(shared);
  // Accepted sockets arrive non-blocking already (libevent accepts with SOCK_NONBLOCK). Backlog
  // 0: the socket listens already, with its own backlog; -1 would listen again with 128.
  active->listener = evconnlistener_new(base_, &Worker::onAccept, active.get(),
                                        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
  if (active->listener == nullptr) {
    LOG_ERROR("worker %zu: cannot listen for %s", index_, active->shared->name.c_str());
    return;
  }
  evconnlistener_set_error_cb(active->listener, &Worker::onAcceptError);
  active->resume_timer = evtimer_new(base_, &Worker::onResumeTimer, active.get());
  listeners_.push_back(std::move(active));
}

void Worker::removeListener(const std::string& name) {
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if ((*it)->shared->name == name) {
      it = listeners_.erase(it);
    } else {
      ++it;
    }
  }
}

void Worker::onAcceptError(evconnlistener* listener, void* context) {
  const int error = EVUTIL_SOCKET_ERROR();
  auto* active = static_cast<ActiveListener*>(context);
  active->owner->stats_.recordAcceptError(active->shared->name);
  if (!isResourceShortage(error)) {
    // One connection's failure (the network errors accept(2) passes on): the next goes on.
    LOG_DEBUG("listener %s: accept: %s", active->shared->name.c_str(),
              evutil_socket_error_to_string(error));
    return;
  }
  // The listening socket stays readable while the backlog holds connections, so accepting on
  // would fail again at once, forever: it pauses instead, a little longer each time.
  if (!active->shortage_since) {
    active->shortage_since = std::chrono::steady_clock::now();
    // Workers share the process's descriptors: they run short together, and say so once.
    if (active->shared->workers_short.fetch_add(1, std::memory_order_relaxed) == 0) {
      LOG_WARN(
          "listener %s: cannot accept connections: %s; accepting pauses (%lld ms, doubling "
          "up to %lld ms) until it works again",
          active->shared->name.c_str(), evutil_socket_error_to_string(error),
          static_cast<long long>(kFirstAcceptPause.count()),
          static_cast<long long>(kLongestAcceptPause.count()));
    }
  }
  active->backoff = active->backoff.count() == 0
                        ? kFirstAcceptPause
                        : std::min(active->backoff * 2, kLongestAcceptPause);
  active->paused = true;
  evconnlistener_disable(listener);
  const timeval pause = toTimeval(active->backoff);
  evtimer_add(active->resume_timer, &pause);
}

void Worker::onResumeTimer(evutil_socket_t, short, void* context) {
  auto* active = static_cast<ActiveListener*>(context);
  if (active->paused) {
    active->paused = false;
    evconnlistener_enable(active->listener);
    // The failed accept may have found the backlog empty (another worker, or this one's last
    // accept, took the last descriptor): then no accept comes to end the shortage, so one more
    // pause without a failure ends it too (the timer again; a failure re-arms it first).
    const timeval pause = toTimeval(active->backoff);
    evtimer_add(active->resume_timer, &pause);
    return;
  }
  // An accept succeeded, or a pause went by with accepting on, and no shortage followed: it is
  // over.
  if (!active->shortage_since) return;
  const auto paused_for = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - *active->shortage_since);
  active->shortage_since.reset();
  if (active->shared->workers_short.fetch_sub(1, std::memory_order_relaxed) == 1) {
    LOG_INFO("listener %s: accepting connections again, after %lld ms",
             active->shared->name.c_str(), static_cast<long long>(paused_for.count()));
  }
}

void Worker::onAccept(evconnlistener*, evutil_socket_t fd, sockaddr* address, int, void* context) {
  auto* active = static_cast<ActiveListener*>(context);
  Worker* worker = active->owner;
  ListenerShared& shared = *active->shared;
  if (active->shortage_since) {
    // Checked once this round of accepts is over: a shortage right after this accept goes on.
    active->backoff = std::chrono::milliseconds(0);
    const timeval now{0, 0};
    evtimer_add(active->resume_timer, &now);
  }
  if (shared.connections.fetch_add(1, std::memory_order_relaxed) >=
      shared.max_connections.load(std::memory_order_relaxed)) {
    shared.connections.fetch_sub(1, std::memory_order_relaxed);
    evutil_closesocket(fd);
    return;
  }
  auto transport = std::make_unique<Transport>(worker->base());
  const Snapshot* snapshot = worker->snapshot().get();
  const ListenerInfo* info = snapshot != nullptr ? snapshot->findListener(shared.name) : nullptr;
  if (info != nullptr && info->tls != nullptr) {
    // The header timeout also bounds a client that never finishes its handshake.
    if (!transport->attachTls(fd, info->tls->get(), info->config->request_header_timeout)) {
      LOG_WARN("listener %s: %s", shared.name.c_str(), transport->tlsError().c_str());
      shared.connections.fetch_sub(1, std::memory_order_relaxed);
      return;  // the transport closes the socket
    }
  } else {
    transport->attach(fd);
  }
  const config::HttpProtocol protocol =
      info != nullptr ? info->config->protocol : config::HttpProtocol::Auto;
  std::unique_ptr<DownstreamConnection> connection;
  switch (protocol) {
    case config::HttpProtocol::Auto:
      // Plaintext: the first bytes tell; TLS: ALPN does.
      connection = std::make_unique<ProtocolDetector>(*worker, std::move(transport), active->shared,
                                                      socketAddressText(address));
      break;
    case config::HttpProtocol::Http1:
      connection = std::make_unique<Http1ServerConnection>(
          *worker, std::move(transport), active->shared, socketAddressText(address));
      break;
    case config::HttpProtocol::Http2:
      connection = std::make_unique<Http2ServerConnection>(
          *worker, std::move(transport), active->shared, socketAddressText(address));
      break;
  }
  DownstreamConnection* raw = connection.get();
  worker->connections_.emplace(raw, std::move(connection));
}

void Worker::noticeDrain() {
  drain_noticed_ = true;
  std::vector<DownstreamConnection*> open;
  for (auto& [raw, connection] : connections_) open.push_back(raw);
  for (auto* connection : open) connection->onDrainNotice();
}

void Worker::beginDrain(const std::set<std::string>& keep_accepting) {
  draining_ = true;
  drain_noticed_ = true;
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (keep_accepting.contains((*it)->shared->name)) {
      ++it;
      continue;
    }
    it = listeners_.erase(it);
  }
  pool_->closeIdle();
  std::vector<DownstreamConnection*> open;
  for (auto& [raw, connection] : connections_) open.push_back(raw);
  for (auto* connection : open) connection->closeWhenIdle();
}

void Worker::closeAll() {
  std::vector<DownstreamConnection*> open;
  for (auto& [raw, connection] : connections_) open.push_back(raw);
  for (auto* connection : open) connection->closeNow();
  pool_->closeIdle();
}

void Worker::deferDelete(std::unique_ptr<Deferrable> object) {
  if (object == nullptr) return;
  deferred_.push_back(std::move(object));
  event_active(cleanup_event_, 0, 0);
}

void Worker::onConnectionClosed(DownstreamConnection* connection) {
  auto it = connections_.find(connection);
  if (it == connections_.end()) return;
  deferDelete(std::move(it->second));
  connections_.erase(it);
}

void Worker::replaceConnection(DownstreamConnection* old,
                               std::unique_ptr<DownstreamConnection> next) {
  onConnectionClosed(old);
  DownstreamConnection* raw = next.get();
  connections_.emplace(raw, std::move(next));
}

void Worker::onCleanup(evutil_socket_t, short, void* self) {
  auto* worker = static_cast<Worker*>(self);
  // Destructors may defer more objects (into deferred_, while the batch is being destroyed);
  // keep going until nothing is left. Both vectors keep their capacity: no allocation per
  // request for the list.
  while (!worker->deferred_.empty()) {
    worker->deleting_.swap(worker->deferred_);
    worker->deleting_.clear();
  }
}

}  // namespace remora
