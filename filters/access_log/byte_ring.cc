// The single-producer, single-consumer byte ring of the access log.
#include "filters/access_log/byte_ring.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace remora::filters {

ByteRing::ByteRing(size_t capacity)
    : data_(std::make_unique<char[]>(std::bit_ceil(std::max<size_t>(capacity, 1)))),
      mask_(std::bit_ceil(std::max<size_t>(capacity, 1)) - 1) {}

bool ByteRing::tryAppend(std::string_view bytes) {
  const uint64_t head = head_.load(std::memory_order_relaxed);
  const uint64_t tail = tail_.load(std::memory_order_acquire);
  if (capacity() - (head - tail) < bytes.size()) return false;
  const size_t at = static_cast<size_t>(head) & mask_;
  const size_t before_end = std::min(bytes.size(), capacity() - at);
  std::memcpy(data_.get() + at, bytes.data(), before_end);
  std::memcpy(data_.get(), bytes.data() + before_end, bytes.size() - before_end);
  head_.store(head + bytes.size(), std::memory_order_release);
  return true;
}

ByteRing::Readable ByteRing::readable() const {
  const uint64_t tail = tail_.load(std::memory_order_relaxed);
  const uint64_t head = head_.load(std::memory_order_acquire);
  const size_t size = static_cast<size_t>(head - tail);
  const size_t at = static_cast<size_t>(tail) & mask_;
  const size_t before_end = std::min(size, capacity() - at);
  return {std::string_view(data_.get() + at, before_end),
          std::string_view(data_.get(), size - before_end)};
}

void ByteRing::consume(size_t n) {
  tail_.store(tail_.load(std::memory_order_relaxed) + n, std::memory_order_release);
}

}  // namespace remora::filters
