// The per-thread pool of stream records, and their reset.
#include "proxy/stream_info_pool.h"

#include <memory>
#include <vector>

#include "proxy/per_thread_pool.h"

namespace remora {
namespace {

// A record whose strings grew past this (a huge path or user agent) is freed, not kept.
constexpr size_t kPooledStringCapacity = 512;

struct RecordPool : KeptObjects<std::unique_ptr<filters::StreamInfo>, 256> {};

bool small(const filters::StreamInfo& info) {
  for (const std::string* s :
       {&info.listener, &info.downstream_address, &info.protocol, &info.method, &info.authority,
        &info.path, &info.request_id, &info.user_agent, &info.grpc_status, &info.cluster,
        &info.upstream_address, &info.local_reason}) {
    if (s->capacity() > kPooledStringCapacity) return false;
  }
  return true;
}

}  // namespace

void resetStreamInfo(filters::StreamInfo& info) {
  // Every field, once: a field added to StreamInfo must be reset here too, or a request would
  // show the one before it. The size check makes adding one without this fail to compile: three
  // clock values, twelve strings, two byte counts, and status and retries (each padded to 8).
  static_assert(sizeof(filters::StreamInfo) == 3 * sizeof(int64_t) + 12 * sizeof(std::string) +
                                                   2 * sizeof(uint64_t) + 2 * sizeof(int64_t),
                "StreamInfo changed: reset the new field in resetStreamInfo");
  const filters::StreamInfo defaults;
  info.start_time = defaults.start_time;
  info.start = defaults.start;
  info.duration = defaults.duration;
  info.listener.clear();
  info.downstream_address.clear();
  info.protocol.assign(defaults.protocol);
  info.method.clear();
  info.authority.clear();
  info.path.clear();
  info.request_id.clear();
  info.user_agent.clear();
  info.status = defaults.status;
  info.grpc_status.clear();
  info.request_body_bytes = defaults.request_body_bytes;
  info.response_body_bytes = defaults.response_body_bytes;
  info.cluster.clear();
  info.upstream_address.clear();
  info.retries = defaults.retries;
  info.local_reason.clear();
}

PooledStreamInfo::PooledStreamInfo() {
  std::unique_ptr<filters::StreamInfo> kept;
  if (RecordPool* pool = PerThread<RecordPool>::get(); pool != nullptr && pool->take(kept)) {
    resetStreamInfo(*kept);
    info_ = kept.release();
  } else {
    info_ = new filters::StreamInfo();
  }
}

PooledStreamInfo::~PooledStreamInfo() {
  std::unique_ptr<filters::StreamInfo> info(info_);
  if (!REMORA_RECYCLE_MEMORY || !small(*info)) return;
  if (RecordPool* pool = PerThread<RecordPool>::get(); pool != nullptr) pool->keep(info);
}

size_t PooledStreamInfo::keptRecords() {
  RecordPool* pool = PerThread<RecordPool>::get();
  return pool == nullptr ? 0 : pool->count();
}

}  // namespace remora
