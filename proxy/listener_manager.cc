// Listener sockets per config: the reload diff, the hand-over to workers, the drain close.
#include "proxy/listener_manager.h"

#include <unistd.h>

#include <algorithm>

#include "proxy/listen_socket.h"
#include "proxy/log.h"

namespace remora {

ListenerManager::ListenerManager(std::vector<std::unique_ptr<Worker>>& workers)
    : workers_(workers) {}

bool ListenerManager::update(const config::Config& config, std::vector<Error>& errors) {
  std::vector<ActiveListener> next;
  std::vector<std::pair<size_t, std::vector<int>>> opened;  // index in `next`, fds per worker
  for (const auto& listener : config.listeners) {
    auto same = std::find_if(listeners_.begin(), listeners_.end(), [&](const ActiveListener& a) {
      return a.name == listener.name && a.address.text() == listener.address.text();
    });
    if (same != listeners_.end()) {
      same->shared->max_connections.store(listener.max_connections);
      next.push_back(*same);
      continue;
    }
    ActiveListener active;
    active.name = listener.name;
    active.address = listener.address;
    active.shared = std::make_shared<ListenerShared>();
    active.shared->name = listener.name;
    active.shared->max_connections.store(listener.max_connections);
    std::vector<int> fds;
    std::string error;
    if (!openListenSockets(listener.address, workers_.size(), fds, active.bound, error)) {
      errors.push_back({{config.source_path, 0, 0}, "listener '" + listener.name + "': " + error});
      continue;
    }
    opened.emplace_back(next.size(), std::move(fds));
    next.push_back(std::move(active));
  }
  if (!errors.empty()) {
    for (auto& [index, fds] : opened) {
      for (int fd : fds) close(fd);
    }
    return false;
  }
  for (const auto& old : listeners_) {
    const bool kept = std::any_of(next.begin(), next.end(),
                                  [&](const ActiveListener& a) { return a.shared == old.shared; });
    if (kept) continue;
    for (auto& worker : workers_) {
      worker->post([w = worker.get(), name = old.name] { w->removeListener(name); });
    }
  }
  for (auto& [index, fds] : opened) {
    pending_.push_back({next[index].shared, std::move(fds), next[index].bound});
  }
  listeners_ = std::move(next);
  return true;
}

void ListenerManager::activate(bool log) {
  for (auto& pending : pending_) {
    for (size_t w = 0; w < workers_.size(); ++w) {
      workers_[w]->post([worker = workers_[w].get(), shared = pending.shared, fd = pending.fds[w]] {
        worker->addListener(shared, fd);
      });
    }
    all_.push_back(pending.shared);
    if (log) {
      LOG_INFO("listener %s listening on %s", pending.shared->name.c_str(), pending.bound.c_str());
    }
  }
  pending_.clear();
}

void ListenerManager::logListening() const {
  for (const auto& listener : listeners_) {
    LOG_INFO("listener %s listening on %s", listener.name.c_str(), listener.bound.c_str());
  }
}

void ListenerManager::closeForDrain(const std::set<std::string>& keep_accepting) {
  for (auto& worker : workers_) {
    worker->post([w = worker.get(), keep_accepting] { w->beginDrain(keep_accepting); });
  }
}

size_t ListenerManager::openConnections() const {
  size_t open = 0;
  for (const auto& shared : all_) open += shared->connections.load();
  return open;
}

}  // namespace remora
