// LoopNotifier: runs closures posted from other threads on one event loop (an eventfd wakes it).
#pragma once

#include <event2/event.h>

#include <deque>
#include <functional>
#include <mutex>

namespace remora {

class LoopNotifier {
 public:
  explicit LoopNotifier(event_base* base);
  ~LoopNotifier();
  LoopNotifier(const LoopNotifier&) = delete;
  LoopNotifier& operator=(const LoopNotifier&) = delete;

  // Thread-safe. Control messages only (snapshots, drain): never per request.
  void post(std::function<void()> task);

 private:
  static void onWake(evutil_socket_t fd, short, void* self);
  int fd_;
  event* event_;
  std::mutex mutex_;
  std::deque<std::function<void()>> tasks_;
};

}  // namespace remora
