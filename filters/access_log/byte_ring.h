// ByteRing: a bounded single-producer, single-consumer byte queue. A worker appends whole access
// log lines to its own ring without a lock or a system call; the log's writer thread takes them.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace remora::filters {

class ByteRing {
 public:
  // `capacity` is rounded up to a power of two.
  explicit ByteRing(size_t capacity);
  ByteRing(const ByteRing&) = delete;
  ByteRing& operator=(const ByteRing&) = delete;

  size_t capacity() const { return mask_ + 1; }

  // --- The producer's thread. ---
  // Appends all of `bytes`, or nothing when they do not fit (false).
  bool tryAppend(std::string_view bytes);

  // --- The consumer's thread. ---
  // What is waiting, oldest first: `second` is non-empty when the bytes wrap around the end.
  struct Readable {
    std::string_view first;
    std::string_view second;
    size_t size() const { return first.size() + second.size(); }
  };
  Readable readable() const;
  // Frees the oldest `n` bytes of what readable() returned.
  void consume(size_t n);

 private:
  std::unique_ptr<char[]> data_;
  const size_t mask_;
  // Bytes ever appended (written by the producer) and ever consumed (by the consumer); each side
  // publishes its own with release and reads the other's with acquire.
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
};

}  // namespace remora::filters
