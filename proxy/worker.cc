// Worker threads: accept, connection ownership, deferred deletion, drain.
#include "proxy/worker.h"

#include <arpa/inet.h>

#include <unordered_set>

#include "filters/router/router_filter.h"
#include "proxy/downstream_connection.h"
#include "proxy/http1_server_connection.h"
#include "proxy/http2_server_connection.h"
#include "proxy/log.h"
#include "proxy/pool/connection_pools.h"
#include "proxy/protocol_detector.h"

namespace remora {

namespace {
std::string peerText(const sockaddr* address) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
    return std::string(ip) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
    return "[" + std::string(ip) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "unknown";
}
}  // namespace

Worker::Worker(size_t index, stats::WorkerStats& stats, CircuitBreakers& breakers)
    : index_(index),
      stats_(stats),
      base_(event_base_new()),
      notifier_(std::make_unique<LoopNotifier>(base_)),
      cleanup_event_(event_new(base_, -1, 0, &Worker::onCleanup, this)),
      breakers_(breakers),
      pool_(std::make_unique<ConnectionPools>(*this, breakers)) {}

Worker::~Worker() {
  connections_.clear();
  pool_.reset();
  deferred_.clear();
  for (auto& listener : listeners_) evconnlistener_free(listener->listener);
  listeners_.clear();
  event_free(cleanup_event_);
  notifier_.reset();
  event_base_free(base_);
}

void Worker::setSnapshot(std::shared_ptr<const Snapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  std::unordered_set<std::string_view> present;
  std::vector<std::string> left;
  for (const ClusterInfo& cluster : snapshot_->clusters) {
    present.insert(cluster.config->name);
    clusterState(cluster).reconcile(cluster, left);
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
  const std::string& name = cluster.config->name;
  auto it = clusters_.find(name);
  if (it == clusters_.end()) {
    it = clusters_
             .emplace(name,
                      std::make_unique<ClusterState>(*cluster.config, breakers_.forCluster(name)))
             .first;
  }
  return *it->second;
}

ConnectionPool& Worker::pool() { return *pool_; }

void Worker::start() {
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
  // Accepted sockets arrive non-blocking already (libevent accepts with SOCK_NONBLOCK).
  active->listener = evconnlistener_new(base_, &Worker::onAccept, active.get(),
                                        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
  if (active->listener == nullptr) {
    LOG_ERROR("worker %zu: cannot listen for %s", index_, active->shared->name.c_str());
    return;
  }
  evconnlistener_set_error_cb(active->listener, [](evconnlistener*, void*) {
    // Accept errors (EMFILE and the like) are transient; libevent retries on the next event.
  });
  listeners_.push_back(std::move(active));
}

void Worker::removeListener(const std::string& name) {
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if ((*it)->shared->name == name) {
      evconnlistener_free((*it)->listener);
      it = listeners_.erase(it);
    } else {
      ++it;
    }
  }
}

void Worker::onAccept(evconnlistener*, evutil_socket_t fd, sockaddr* address, int, void* context) {
  auto* active = static_cast<ActiveListener*>(context);
  Worker* worker = active->owner;
  ListenerShared& shared = *active->shared;
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
                                                      peerText(address));
      break;
    case config::HttpProtocol::Http1:
      connection = std::make_unique<Http1ServerConnection>(*worker, std::move(transport),
                                                           active->shared, peerText(address));
      break;
    case config::HttpProtocol::Http2:
      connection = std::make_unique<Http2ServerConnection>(*worker, std::move(transport),
                                                           active->shared, peerText(address));
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
    evconnlistener_free((*it)->listener);
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
  // Destructors may defer more objects; keep going until nothing is left.
  while (!worker->deferred_.empty()) {
    std::vector<std::unique_ptr<Deferrable>> batch;
    batch.swap(worker->deferred_);
    batch.clear();
  }
}

}  // namespace remora
