// Process-wide logging to stderr: one line per call, with time, level and the worker it came from.
#pragma once

#include <cstdarg>

namespace remora::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void setLevel(Level level);
bool enabled(Level level);
void write(Level level, const char* format, ...) __attribute__((format(printf, 2, 3)));
// libevent's own messages (evhttp's warning on every failed connect, say) go through this log,
// as debug lines (errors as errors), instead of raw to stderr: remora reports those failures
// itself, in its own words.
void captureLibeventMessages();

}  // namespace remora::log

#define REMORA_LOG(level, ...)                                        \
  do {                                                                \
    if (::remora::log::enabled(::remora::log::Level::level))          \
      ::remora::log::write(::remora::log::Level::level, __VA_ARGS__); \
  } while (0)
#define LOG_DEBUG(...) REMORA_LOG(Debug, __VA_ARGS__)
#define LOG_INFO(...) REMORA_LOG(Info, __VA_ARGS__)
#define LOG_WARN(...) REMORA_LOG(Warn, __VA_ARGS__)
#define LOG_ERROR(...) REMORA_LOG(Error, __VA_ARGS__)
