// FlushBatch: transports queued during a socket event's callback, flushed when it returns.
#include "proxy/flush_batch.h"

#include <algorithm>
#include <utility>

#include "proxy/transport.h"

namespace remora {

namespace {
struct Batch {
  bool open = false;
  // Flushed in the order queued; a destroyed transport's entry becomes nullptr.
  std::vector<Transport*> queued;
};
thread_local Batch batch;
}  // namespace

FlushBatch::FlushBatch() {
  if (batch.open) return;
  batch.open = true;
  opened_ = true;
}

FlushBatch::~FlushBatch() {
  if (!opened_) return;
  // A flush may queue more (a drained buffer lets a connection write again): they are flushed
  // in this same pass, as the batch stays open until the last is done.
  for (size_t i = 0; i < batch.queued.size(); ++i) {
    Transport* transport = std::exchange(batch.queued[i], nullptr);
    if (transport == nullptr) continue;
    transport->in_flush_batch_ = false;
    transport->flushQueued();
  }
  batch.queued.clear();
  batch.open = false;
}

bool FlushBatch::queue(Transport* transport) {
  if (!batch.open) return false;
  batch.queued.push_back(transport);
  transport->in_flush_batch_ = true;
  return true;
}

void FlushBatch::forget(Transport* transport) {
  std::replace(batch.queued.begin(), batch.queued.end(), transport,
               static_cast<Transport*>(nullptr));
}

}  // namespace remora
