// ListenerManager: the listening sockets across workers: opened per config (all or none),
// handed to the workers, retired when a reload removes them, and closed for the drain.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/result.h"
#include "proxy/worker.h"

namespace remora {

class ListenerManager {
 public:
  // `workers` outlive the manager; each gets one socket per listener (SO_REUSEPORT).
  explicit ListenerManager(std::vector<std::unique_ptr<Worker>>& workers);

  // Opens the sockets of listeners new in `config` (all or none: on an error nothing changes
  // and `errors` says why) and retires those it no longer has. Kept listeners take the new
  // connection limit.
  bool update(const config::Config& config, std::vector<Error>& errors);
  // Hands the sockets opened by update() to the workers. Call it after the workers have the
  // snapshot that names them. `log` says each new one's address (a reload's new listeners).
  void activate(bool log);
  // Logs where every listener listens.
  void logListening() const;

  // Stops accepting, except on the listeners named in `keep_accepting` (see Worker::beginDrain).
  void closeForDrain(const std::set<std::string>& keep_accepting);
  // Open client connections across workers and listeners, retired ones included.
  size_t openConnections() const;

 private:
  struct ActiveListener {
    std::string name;
    config::Address address;
    std::string bound;
    std::shared_ptr<ListenerShared> shared;
  };
  struct PendingListener {
    std::shared_ptr<ListenerShared> shared;
    std::vector<int> fds;  // one per worker
    std::string bound;
  };

  std::vector<std::unique_ptr<Worker>>& workers_;
  std::vector<ActiveListener> listeners_;
  std::vector<PendingListener> pending_;
  std::vector<std::shared_ptr<ListenerShared>> all_;  // for the drain count
};

}  // namespace remora
