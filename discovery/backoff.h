// Backoff: full-jitter exponential delays for retrying a registry after a failure.
#pragma once

#include <chrono>
#include <cstdint>

namespace remora::discovery {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds base, std::chrono::milliseconds max) : base_(base), max_(max) {}
  // The wait before the next try: uniform in [cap/2, cap], the cap doubling from `base` to `max`
  // with each failure in a row. The lower half keeps a flapping registry from being hammered.
  std::chrono::milliseconds next();
  void reset() { failures_ = 0; }
  uint32_t failures() const { return failures_; }

 private:
  std::chrono::milliseconds base_;
  std::chrono::milliseconds max_;
  uint32_t failures_ = 0;
};

}  // namespace remora::discovery
