// Access log destinations: per-thread rings on the request path, one writer thread per sink.
#include "filters/access_log/log_sink.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "proxy/log.h"

namespace remora::filters {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr auto kFlushInterval = std::chrono::milliseconds(100);
// How long the exit waits for a destination that does not take the last lines.
constexpr auto kExitFlushTime = std::chrono::seconds(2);

std::atomic<uint64_t> g_next_sink_id{1};

// Every sink opened by a config, by destination. Its destruction at exit (after the workers have
// stopped) writes out what they left in their rings.
class SinkRegistry {
 public:
  ~SinkRegistry() {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto& [name, sink] : sinks) sink->stop();
  }
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<LogSink>> sinks;
};

SinkRegistry& registry() {
  static SinkRegistry sinks;
  return sinks;
}

bool isRegularFile(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

int msUntil(SteadyClock::time_point until) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - SteadyClock::now());
  return static_cast<int>(std::max<int64_t>(left.count(), 0));
}

}  // namespace

std::shared_ptr<LogSink> LogSink::open(const std::string& path, std::string& error) {
  const bool to_stdout = path.empty() || path == "-" || path == "/dev/stdout";
  const std::string name = to_stdout ? "stdout" : path;
  int fd = STDOUT_FILENO;
  if (!to_stdout) {
    // Non-blocking, so that the writer waits on a destination that stopped reading (a FIFO, a
    // full pipe) only as long as it chooses to. stdout is left as it is: its file description
    // is shared with whoever started remora.
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0644);
    if (fd < 0) {
      error = errno == ENXIO ? "a FIFO that nobody reads" : std::strerror(errno);
      return nullptr;
    }
  }
  SinkRegistry& sinks = registry();
  std::lock_guard<std::mutex> lock(sinks.mutex);
  std::shared_ptr<LogSink>& sink = sinks.sinks[name];
  if (sink == nullptr) {
    sink = std::make_shared<LogSink>(name, fd, !to_stdout);
  } else if (!to_stdout) {
    sink->replaceFd(fd);
  }
  return sink;
}

uint64_t LogSink::droppedTotal() {
  SinkRegistry& sinks = registry();
  std::lock_guard<std::mutex> lock(sinks.mutex);
  uint64_t total = 0;
  for (const auto& [name, sink] : sinks.sinks) total += sink->dropped();
  return total;
}

LogSink::LogSink(std::string name, int fd, bool owns_fd, size_t ring_bytes)
    : name_(std::move(name)),
      id_(g_next_sink_id.fetch_add(1, std::memory_order_relaxed)),
      ring_bytes_(ring_bytes),
      fd_(fd),
      owns_fd_(owns_fd),
      regular_file_(isRegularFile(fd)) {}

LogSink::~LogSink() {
  stop();
  if (owns_fd_) close(fd_);
  if (next_fd_ >= 0) close(next_fd_);
}

void LogSink::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  // No writer starts once stopping_ is set, so writer_ no longer changes.
  if (writer_.joinable()) writer_.join();
}

void LogSink::replaceFd(int fd) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (next_fd_ >= 0) close(next_fd_);
  next_fd_ = fd;
}

void LogSink::append(std::string_view line) {
  Ring& ring = ringOfThisThread();
  if (!ring.bytes.tryAppend(line)) {
    // Only this thread writes the count: a plain load and store is enough.
    ring.dropped.store(ring.dropped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
}

uint64_t LogSink::dropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t total = lost_.load(std::memory_order_relaxed);
  for (const auto& ring : rings_) total += ring->dropped.load(std::memory_order_relaxed);
  return total;
}

LogSink::Ring& LogSink::ringOfThisThread() {
  // By id, not address: a sink destroyed (in tests) and another made at its address must not
  // find the old one's ring.
  thread_local std::vector<std::pair<uint64_t, Ring*>> rings;
  for (const auto& [id, ring] : rings) {
    if (id == id_) return *ring;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  rings_.push_back(std::make_unique<Ring>(ring_bytes_));
  rings.emplace_back(id_, rings_.back().get());
  if (!writer_.joinable() && !stopping_) writer_ = std::thread([this] { run(); });
  return *rings_.back();
}

void LogSink::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait_for(lock, kFlushInterval, [this] { return stopping_; });
    const bool stopping = stopping_;
    if (next_fd_ >= 0) {
      if (owns_fd_) close(fd_);
      fd_ = next_fd_;
      owns_fd_ = true;
      next_fd_ = -1;
      regular_file_ = isRegularFile(fd_);
    }
    std::vector<Ring*> rings;
    for (const auto& ring : rings_) rings.push_back(ring.get());
    lock.unlock();
    if (!stopping) {
      // A stuck destination holds the writer one interval at most; the rings fill meanwhile.
      drainOnce(rings, SteadyClock::now() + kFlushInterval);
      lock.lock();
      continue;
    }
    const auto until = SteadyClock::now() + kExitFlushTime;
    while (!drainOnce(rings, until) && SteadyClock::now() < until) {
    }
    for (Ring* ring : rings) {
      const ByteRing::Readable left = ring->bytes.readable();
      lose(left.first);
      lose(left.second);
      ring->bytes.consume(left.size());
    }
    return;
  }
}

bool LogSink::drainOnce(const std::vector<Ring*>& rings, SteadyClock::time_point until) {
  for (size_t done = 0; done < rings.size(); ++done) {
    Ring* ring = rings[(resume_at_ + done) % rings.size()];
    const ByteRing::Readable waiting = ring->bytes.readable();
    for (std::string_view part : {waiting.first, waiting.second}) {
      while (!part.empty()) {
        ssize_t written = writeSome(part);
        if (written == 0) {
          if (waitWritable(until)) continue;
          // This ring may have stopped in the middle of a line: it goes on first next time,
          // so that no other ring's line lands inside it.
          resume_at_ = (resume_at_ + done) % rings.size();
          return false;
        }
        if (written < 0) {
          lose(part);
          written = static_cast<ssize_t>(part.size());
        }
        ring->bytes.consume(static_cast<size_t>(written));
        part.remove_prefix(static_cast<size_t>(written));
      }
    }
  }
  return true;
}

ssize_t LogSink::writeSome(std::string_view data) {
  size_t length = data.size();
  if (!regular_file_) {
    // At most PIPE_BUF bytes, ending at a line end when one is within reach: such a write
    // reaches a pipe whole, never mixed with another writer's (stderr sent to the same pipe).
    if (length > PIPE_BUF) {
      const size_t line_end = data.substr(0, PIPE_BUF).rfind('\n');
      length = line_end == std::string_view::npos ? PIPE_BUF : line_end + 1;
    }
    // stdout may be blocking: only write when there is room (for a pipe, at least PIPE_BUF).
    pollfd writable{fd_, POLLOUT, 0};
    if (poll(&writable, 1, 0) == 0) return 0;
  }
  const ssize_t written = ::write(fd_, data.data(), length);
  if (written < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  if (written < 0) {
    if (!warned_) {
      LOG_WARN("access log %s: %s; lines are dropped until it works again", name_.c_str(),
               std::strerror(errno));
    }
    warned_ = true;
    return -1;
  }
  if (warned_) LOG_INFO("access log %s: writing again", name_.c_str());
  warned_ = false;
  return written;
}

bool LogSink::waitWritable(SteadyClock::time_point until) {
  while (true) {
    pollfd writable{fd_, POLLOUT, 0};
    const int ready = poll(&writable, 1, msUntil(until));
    if (ready > 0) return true;
    if (ready == 0 || errno != EINTR) return false;
  }
}

void LogSink::lose(std::string_view data) {
  const auto lines = static_cast<uint64_t>(std::count(data.begin(), data.end(), '\n'));
  lost_.fetch_add(lines, std::memory_order_relaxed);
}

}  // namespace remora::filters
