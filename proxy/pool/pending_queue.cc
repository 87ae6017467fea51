// The pending queue: FIFO with a timeout per entry and the cluster's pending count.
#include "proxy/pool/pending_queue.h"

#include <algorithm>

#include "proxy/event_time.h"

namespace remora {

PendingQueue::~PendingQueue() {
  while (!entries_.empty()) remove(entries_.front().get(), nullptr);
}

PendingStream* PendingQueue::push(PoolCallbacks& callbacks, uint32_t max_pending,
                                  config::Duration timeout) {
  if (!breaker_->tryAcquire(BreakerResource::PendingRequests, max_pending)) return nullptr;
  auto entry = std::make_unique<Entry>(*this, callbacks);
  evtimer_assign(&entry->timer, base_, &PendingQueue::onTimeout, entry.get());
  const timeval tv = toTimeval(timeout);
  evtimer_add(&entry->timer, &tv);
  entries_.push_back(std::move(entry));
  return entries_.back().get();
}

PoolCallbacks* PendingQueue::pop() {
  if (entries_.empty()) return nullptr;
  std::unique_ptr<Entry> entry = std::move(entries_.front());
  entries_.pop_front();
  breaker_->release(BreakerResource::PendingRequests);
  return &entry->callbacks;
}

void PendingQueue::onTimeout(evutil_socket_t, short, void* self) {
  auto* entry = static_cast<Entry*>(self);
  if (entry->queue.connecting_()) return;
  const PoolFailure failure = PoolFailure::PendingTimeout;
  entry->queue.remove(entry, &failure);
}

void PendingQueue::remove(Entry* entry, const PoolFailure* failure) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const auto& candidate) { return candidate.get() == entry; });
  if (it == entries_.end()) return;
  std::unique_ptr<Entry> taken = std::move(*it);
  entries_.erase(it);
  breaker_->release(BreakerResource::PendingRequests);
  if (failure != nullptr) taken->callbacks.onPoolFailure(*failure);
}

}  // namespace remora
