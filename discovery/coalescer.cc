// Coalesced runs: a zero-delay or interval timer, and the interval from the last run's duration.
#include "discovery/coalescer.h"

#include <algorithm>

namespace remora::discovery {

Coalescer::Coalescer(event_base* base, std::function<void()> run,
                     std::chrono::milliseconds min_interval)
    : run_(std::move(run)),
      min_interval_(min_interval),
      timer_(evtimer_new(base, &Coalescer::onTimer, this)) {}

Coalescer::~Coalescer() { event_free(timer_); }

void Coalescer::request() {
  if (pending_) return;
  pending_ = true;
  const auto wait = next_allowed_ - std::chrono::steady_clock::now();
  timeval delay = {0, 0};
  if (wait.count() > 0) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(wait).count();
    delay = {static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
  }
  // Even a zero delay runs in the next loop iteration, after the events active in this one.
  evtimer_add(timer_, &delay);
}

void Coalescer::onTimer(evutil_socket_t, short, void* self) {
  static_cast<Coalescer*>(self)->runNow();
}

void Coalescer::runNow() {
  pending_ = false;
  evtimer_del(timer_);
  const auto start = std::chrono::steady_clock::now();
  run_();
  const auto end = std::chrono::steady_clock::now();
  next_allowed_ = end + std::max<std::chrono::steady_clock::duration>(
                            min_interval_, kIntervalPerRunTime * (end - start));
}

}  // namespace remora::discovery
