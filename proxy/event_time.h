// Config durations as the timevals libevent timers take.
#pragma once

#include <sys/time.h>

#include "config/config.h"

namespace remora {

inline timeval toTimeval(config::Duration d) {
  return {static_cast<time_t>(d.count() / 1000),
          static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

}  // namespace remora
