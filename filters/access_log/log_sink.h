// LogSink: one access log destination (stdout or a file) and the one thread that writes to it,
// so that a slow or stuck destination never holds up a worker. Each worker appends whole lines
// to a ring of its own, without a lock; the writer drains every ring every 100 ms, and at exit.
// A line that finds its ring full is dropped and counted.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "filters/access_log/byte_ring.h"

namespace remora::filters {

class LogSink {
 public:
  // Bytes each worker may have waiting for the writer.
  static constexpr size_t kRingBytes = 1 << 20;

  // The sink for `path` ("", "-" or "/dev/stdout": stdout), shared by every access_log filter
  // naming it and kept for the life of the process. A file is opened (O_APPEND) on every call and
  // the writer moves to the new descriptor, so a reload reopens a rotated log. Null and `error`
  // set when the file cannot be opened.
  static std::shared_ptr<LogSink> open(const std::string& path, std::string& error);

  // Lines every sink has dropped: rings found full, and lines lost to a failing destination or
  // still waiting when a destination stayed blocked through the exit.
  static uint64_t droppedTotal();

  // Writes out what is waiting (for up to 2 s when the destination blocks) and stops the writer;
  // lines appended afterwards are not written. Called for every sink at exit.
  void stop();

  // `fd` is written to (and closed at the end when `owns_fd`); each thread's ring holds
  // `ring_bytes`.
  LogSink(std::string name, int fd, bool owns_fd, size_t ring_bytes = kRingBytes);
  ~LogSink();
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;

  // The request path: one whole line (newline included), or a drop when this thread's ring is
  // full. The first line of a thread registers its ring, under the sink's lock.
  void append(std::string_view line);
  // The lines this sink dropped so far.
  uint64_t dropped() const;

 private:
  struct Ring {
    explicit Ring(size_t bytes) : bytes(bytes) {}
    ByteRing bytes;
    std::atomic<uint64_t> dropped{0};  // written by the ring's producer only
  };

  Ring& ringOfThisThread();
  // Hands the writer a new descriptor for the same destination (a reopened file).
  void replaceFd(int fd);
  void run();
  // Writes out every ring once. Waits at most until `until` when the destination blocks;
  // returns whether everything went out.
  bool drainOnce(const std::vector<Ring*>& rings, std::chrono::steady_clock::time_point until);
  // Writes the front of `data`: the bytes written, 0 when the destination would block, -1 when
  // it failed.
  ssize_t writeSome(std::string_view data);
  // Waits until the destination takes bytes again (true) or `until` (false).
  bool waitWritable(std::chrono::steady_clock::time_point until);
  // Counts the lines in `data`, which will never be written.
  void lose(std::string_view data);

  const std::string name_;  // for log lines: the path, or "stdout"
  const uint64_t id_;       // tells sinks apart in each thread's list of rings
  const size_t ring_bytes_;
  int fd_;  // the writer's; replaced through next_fd_
  bool owns_fd_;
  bool regular_file_ = false;
  bool warned_ = false;            // a failure was logged; the next success is logged too
  size_t resume_at_ = 0;           // the ring the writer starts with (one left in mid-line)
  std::atomic<uint64_t> lost_{0};  // lines the writer could not write

  mutable std::mutex mutex_;  // guards what follows
  std::condition_variable wake_;
  std::vector<std::unique_ptr<Ring>> rings_;  // only ever grows
  int next_fd_ = -1;
  bool stopping_ = false;
  std::thread writer_;  // started with the first ring
};

}  // namespace remora::filters
