// PooledStreamInfo: a stream's record (filters::StreamInfo), recycled per thread so that its
// strings keep their capacity from one request to the next.
#pragma once

#include "filters/filter.h"

namespace remora {

// Copying a request's method, authority, path, user agent and id into the record would
// allocate for each longer than a short string; a record taken from the thread's pool already
// has the room (DESIGN.md: no per-request allocation where a pool serves). Under
// AddressSanitizer nothing is kept (proxy/per_thread_pool.h).
class PooledStreamInfo {
 public:
  // A record as a new StreamInfo{} would be: from the pool, reset, or a new one.
  PooledStreamInfo();
  // Gives the record back to this thread's pool (bounded), or frees it.
  ~PooledStreamInfo();
  PooledStreamInfo(const PooledStreamInfo&) = delete;
  PooledStreamInfo& operator=(const PooledStreamInfo&) = delete;

  // How many records this thread keeps (for tests): at most 256, none whose strings grew past
  // 512 bytes.
  static size_t keptRecords();

  filters::StreamInfo& operator*() const { return *info_; }
  filters::StreamInfo* operator->() const { return info_; }

 private:
  filters::StreamInfo* info_;
};

// Sets every field of `info` to its default, keeping the strings' capacity.
void resetStreamInfo(filters::StreamInfo& info);

}  // namespace remora
