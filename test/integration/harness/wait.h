// Deadlines, polling and one-shot events: how the integration tests wait without blind sleeps.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace remora::harness {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

inline Deadline deadlineIn(Clock::duration d) { return Clock::now() + d; }

// Milliseconds left until `deadline`, rounded up, 0 once it has passed: a poll(2) timeout.
int msLeft(Deadline deadline);

// Calls `done` until it returns true (then true) or the deadline passes (then false). `done` is
// always called at least once, and once more at the deadline.
bool waitUntil(const std::function<bool()>& done, Deadline deadline,
               std::chrono::milliseconds interval = std::chrono::milliseconds(5));

// A flag one thread sets and others wait for: how a test and a ScriptedUpstream handler take
// turns ("the request arrived", "now answer").
class Event {
 public:
  void set();
  bool isSet() const;
  bool wait(Deadline deadline);  // true when set before the deadline

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool set_ = false;
};

}  // namespace remora::harness
