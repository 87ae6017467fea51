// FlushBatch: the transports written to while one socket event's callback runs, flushed together
// when it returns instead of each through an event of its own.
#pragma once

#include <vector>

namespace remora {

class Transport;

// A read callback typically writes twice (a request upstream, a response downstream, or both
// for a pipelined pair); each flushSoon() used to activate the transport's flush event, which
// costs an activation and a dispatch through libevent. While a batch is open on this thread,
// flushSoon() queues the transport here instead, and the batch flushes what is queued when the
// scope that opened it ends: still one send per transport per callback, and sooner.
class FlushBatch {
 public:
  // Opens this thread's batch unless one is open already (then this scope leaves it alone).
  FlushBatch();
  ~FlushBatch();
  FlushBatch(const FlushBatch&) = delete;
  FlushBatch& operator=(const FlushBatch&) = delete;

  // Queues `transport` when a batch is open on this thread; false when none is.
  static bool queue(Transport* transport);
  // Takes a queued transport that is being destroyed out of the batch.
  static void forget(Transport* transport);

 private:
  bool opened_ = false;
};

}  // namespace remora
