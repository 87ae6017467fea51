// Jittered exponential backoff for registry retries.
#include "discovery/backoff.h"

#include <algorithm>
#include <random>

namespace remora::discovery {

std::chrono::milliseconds Backoff::next() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  const uint32_t doublings = std::min<uint32_t>(failures_, 20);
  ++failures_;
  const int64_t cap = std::min<int64_t>(max_.count(), base_.count() << doublings);
  std::uniform_int_distribution<int64_t> pick(cap / 2, std::max<int64_t>(cap, 1));
  return std::chrono::milliseconds(pick(random));
}

}  // namespace remora::discovery
