// LazyTimer: a timeout moved on every request without touching libevent's timer heap each time.
#pragma once

#include <event2/event.h>

#include <chrono>

#include "config/config.h"

namespace remora {

// An idle timeout is armed after each response and cancelled by the next request: with a plain
// libevent timer that is a heap removal and insertion per request. Here arming only moves the
// deadline and cancelling only clears a flag; the event in libevent's heap is added when none is
// pending, and when it fires before the deadline it is added again for the time left. So a
// connection busy for a minute with a 60 s idle timeout touches the heap about once, not once
// per request. Fires on time: never before the deadline, and about when it comes.
class LazyTimer {
 public:
  using Callback = void (*)(void* context);
  LazyTimer(event_base* base, Callback fire, void* context);
  ~LazyTimer();
  LazyTimer(const LazyTimer&) = delete;
  LazyTimer& operator=(const LazyTimer&) = delete;

  // `fire` runs `after` from now, unless disarmed or armed again before then.
  void arm(config::Duration after);
  void disarm() { armed_ = false; }
  bool armed() const { return armed_; }

 private:
  using Clock = std::chrono::steady_clock;
  static void onEvent(evutil_socket_t, short, void* self);
  void schedule(Clock::time_point at, Clock::time_point now);

  event* event_;
  Callback fire_;
  void* context_;
  Clock::time_point deadline_{};
  Clock::time_point scheduled_at_{};  // when the pending event fires, if `scheduled_`
  bool armed_ = false;
  bool scheduled_ = false;
};

}  // namespace remora
