// StreamHost: what a Stream needs of the worker it runs on (a test gives a fake one).
#pragma once

#include <event2/event.h>

#include <memory>

#include "filters/filter.h"
#include "proxy/deferrable.h"
#include "proxy/idle_sweeper.h"
#include "proxy/stats.h"

namespace remora {

class StreamHost {
 public:
  virtual ~StreamHost() = default;
  virtual event_base* base() = 0;
  // Destroys `object` once the current callback has returned.
  virtual void deferDelete(std::unique_ptr<Deferrable> object) = 0;
  virtual stats::WorkerStats& stats() = 0;
  // Checks streams' idle timeouts.
  virtual IdleSweeper& idleSweeper() = 0;
  // The terminal filter of every chain: the router, which sends the request upstream.
  virtual std::unique_ptr<filters::Filter> makeRouter(filters::StreamContext& context) = 0;
};

}  // namespace remora
