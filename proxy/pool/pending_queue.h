// PendingQueue: the streams waiting for a connection to one endpoint, oldest first, each bounded
// by the cluster's pending timeout and counted against its `max_pending_requests`.
#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>

#include <deque>
#include <functional>
#include <memory>

#include "config/config.h"
#include "proxy/pool/circuit_breaker.h"
#include "proxy/pool/connection_pool.h"

namespace remora {

class PendingQueue {
 public:
  // `connecting` tells whether as many connections are being opened as streams wait: a stream
  // whose timeout passes then waits for its connect to end (the connect timeout bounds it).
  PendingQueue(event_base* base, std::shared_ptr<BreakerCounts> breaker,
               std::function<bool()> connecting)
      : base_(base), breaker_(std::move(breaker)), connecting_(std::move(connecting)) {}
  // Only at shutdown may streams still wait (their routers are gone): their counts are released.
  ~PendingQueue();
  PendingQueue(const PendingQueue&) = delete;
  PendingQueue& operator=(const PendingQueue&) = delete;

  // Queues `callbacks`; null when the cluster already has `max_pending` waiting (the caller
  // answers the overflow).
  PendingStream* push(PoolCallbacks& callbacks, uint32_t max_pending, config::Duration timeout);
  // The oldest waiting stream's callbacks, taken off the queue; null when none waits.
  PoolCallbacks* pop();
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  class Entry final : public PendingStream {
   public:
    Entry(PendingQueue& queue, PoolCallbacks& callbacks) : queue(queue), callbacks(callbacks) {}
    ~Entry() { event_del(&timer); }
    void cancel() override { queue.remove(this, nullptr); }

    PendingQueue& queue;
    PoolCallbacks& callbacks;
    event timer;
  };
  static void onTimeout(evutil_socket_t, short, void* entry);
  // Takes `entry` off the queue; tells its callbacks `failure` if given.
  void remove(Entry* entry, const PoolFailure* failure);

  event_base* base_;
  std::shared_ptr<BreakerCounts> breaker_;
  std::function<bool()> connecting_;
  std::deque<std::unique_ptr<Entry>> entries_;
};

}  // namespace remora
