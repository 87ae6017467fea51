// Coalescer: runs a callback once for a burst of requests for it, on the main loop: in the next
// loop iteration after a request, so that every request made in this one shares the run, and,
// while requests keep coming, only once the last run is far enough behind (a multiple of how
// long it took, and at least `min_interval`), so that costly runs never take most of the loop
// while cheap ones still follow every change at once.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <functional>

namespace remora::discovery {

class Coalescer {
 public:
  // Runs under sustained requests take at most about a fifth of the loop.
  static constexpr int kIntervalPerRunTime = 4;

  Coalescer(event_base* base, std::function<void()> run,
            std::chrono::milliseconds min_interval = {});
  ~Coalescer();
  Coalescer(const Coalescer&) = delete;
  Coalescer& operator=(const Coalescer&) = delete;

  // Asks for a run; one is already due when a request is pending.
  void request();
  // Runs now, which serves a pending request.
  void runNow();
  bool pending() const { return pending_; }

 private:
  static void onTimer(evutil_socket_t, short, void* self);

  std::function<void()> run_;
  std::chrono::milliseconds min_interval_;
  event* timer_;
  bool pending_ = false;
  std::chrono::steady_clock::time_point next_allowed_{};
};

}  // namespace remora::discovery
