// EtcdWatchLoop: a key range read, then watched from the next revision; resumed where it broke
// off (etcd replays what was missed), read again after a compaction or when the store went back
// to an older revision. Failures back off and keep what was read: the caller's data never
// empties because etcd went away.
#pragma once

#include <event2/event.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "discovery/backoff.h"
#include "discovery/etcd/etcd_client.h"
#include "discovery/etcd/etcd_json.h"

namespace remora::discovery::etcd {

class EtcdWatchLoop {
 public:
  // None of them may destroy the loop: they run in the middle of reading a reply.
  struct Callbacks {
    // The whole range, read (again): it replaces whatever came before.
    std::function<void(std::vector<KeyValue> kvs)> on_range;
    // One line of the watch: its changes, in order.
    std::function<void(const std::vector<WatchEvent>& events)> on_events;
    std::function<void()> on_success;
    std::function<void(const std::string& error)> on_failure;
  };

  // Watches [key, range_end), or `key` alone when `range_end` is empty. `what` names it in the
  // log ("the prefix /services/").
  EtcdWatchLoop(HttpClient& http, EtcdClient& client, std::string key, std::string range_end,
                std::string what, Callbacks callbacks);
  ~EtcdWatchLoop();
  EtcdWatchLoop(const EtcdWatchLoop&) = delete;
  EtcdWatchLoop& operator=(const EtcdWatchLoop&) = delete;

  void start() { range(); }
  bool started() const { return have_range_ || call_ != nullptr || failures_ > 0; }

 private:
  void range();
  void startWatch();
  void onWatchData(std::string_view data);
  // False when the line ends the watch (cancelled, error, garbage).
  bool onWatchLine(std::string_view line);
  void succeeded();
  void fail(const std::string& error);
  static void onRetry(evutil_socket_t, short, void* self);

  EtcdClient& client_;
  const std::string key_;
  const std::string range_end_;
  const std::string what_;
  Callbacks callbacks_;
  int64_t revision_ = 0;  // every change up to this one has been handed on
  bool have_range_ = false;
  uint32_t failures_ = 0;
  std::unique_ptr<HttpCall> call_;
  std::string partial_line_;
  Backoff backoff_{std::chrono::milliseconds(500), std::chrono::milliseconds(30000)};
  event* retry_timer_;
};

}  // namespace remora::discovery::etcd
