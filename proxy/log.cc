// Logging: formats a whole line first so lines from different threads never interleave.
#include "proxy/log.h"

#include <event2/event.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>

namespace remora::log {

namespace {
std::atomic<int> g_level{static_cast<int>(Level::Info)};
const char* levelName(Level level) {
  switch (level) {
    case Level::Debug:
      return "debug";
    case Level::Info:
      return "info";
    case Level::Warn:
      return "warn";
    case Level::Error:
      return "error";
  }
  return "?";
}
}  // namespace

void setLevel(Level level) { g_level.store(static_cast<int>(level)); }
bool enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void write(Level level, const char* format, ...) {
  char line[2048];
  timeval now;
  gettimeofday(&now, nullptr);
  tm utc;
  gmtime_r(&now.tv_sec, &utc);
  int n = static_cast<int>(strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &utc));
  n += snprintf(line + n, sizeof(line) - n, ".%03dZ %s ", static_cast<int>(now.tv_usec / 1000),
                levelName(level));
  va_list args;
  va_start(args, format);
  int body = vsnprintf(line + n, sizeof(line) - n - 1, format, args);
  va_end(args);
  n = body < 0 ? n : std::min<int>(n + body, sizeof(line) - 2);
  line[n++] = '\n';
  // One write per line: stderr lines stay whole even with several workers logging.
  ssize_t ignored = ::write(STDERR_FILENO, line, n);
  (void)ignored;
}

void captureLibeventMessages() {
  event_set_log_callback([](int severity, const char* message) {
    const Level level = severity >= EVENT_LOG_ERR ? Level::Error : Level::Debug;
    if (enabled(level)) write(level, "libevent: %s", message);
  });
}

}  // namespace remora::log
