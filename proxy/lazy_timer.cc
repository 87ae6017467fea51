// The lazily re-armed timeout: deadlines kept here, libevent's event added only when needed.
#include "proxy/lazy_timer.h"

#include <sys/time.h>

#include <algorithm>
#include <cstdint>

namespace remora {

LazyTimer::LazyTimer(event_base* base, Callback fire, void* context)
    : event_(evtimer_new(base, &LazyTimer::onEvent, this)), fire_(fire), context_(context) {}

LazyTimer::~LazyTimer() { event_free(event_); }

void LazyTimer::arm(config::Duration after) {
  const Clock::time_point now = Clock::now();
  deadline_ = now + after;
  armed_ = true;
  // A pending event that fires by the deadline will find it and wait the rest; one due later
  // (an earlier, longer timeout) is moved up.
  if (!scheduled_ || scheduled_at_ > deadline_) schedule(deadline_, now);
}

void LazyTimer::schedule(Clock::time_point at, Clock::time_point now) {
  const auto wait = std::chrono::duration_cast<std::chrono::microseconds>(at - now);
  const auto micros = std::max<int64_t>(wait.count(), 0);
  timeval tv{static_cast<time_t>(micros / 1000000), static_cast<suseconds_t>(micros % 1000000)};
  evtimer_add(event_, &tv);
  scheduled_ = true;
  scheduled_at_ = at;
}

void LazyTimer::onEvent(evutil_socket_t, short, void* self) {
  auto* timer = static_cast<LazyTimer*>(self);
  timer->scheduled_ = false;
  if (!timer->armed_) return;
  const Clock::time_point now = Clock::now();
  if (now < timer->deadline_) {
    timer->schedule(timer->deadline_, now);
    return;
  }
  timer->armed_ = false;
  timer->fire_(timer->context_);  // may destroy the timer's owner, and the timer
}

}  // namespace remora
