// DownstreamConnection: what a worker asks of every client connection it owns, whatever its codec.
#pragma once

#include "proxy/worker.h"

namespace remora {

class DownstreamConnection : public Deferrable {
 public:
  // Draining began while the listener still accepts (see Worker::noticeDrain). A connection
  // whose protocol is not known yet has nothing to say; its codec asks the worker when it starts.
  virtual void onDrainNotice() {}
  // Drain: finish the exchanges in progress (HTTP/1: the current one, and a next request the
  // client already sent; HTTP/2: GOAWAY, then the open streams), then close. An idle connection
  // closes now.
  virtual void closeWhenIdle() = 0;
  // Closes now, abandoning every exchange in progress.
  virtual void closeNow() = 0;
};

}  // namespace remora
