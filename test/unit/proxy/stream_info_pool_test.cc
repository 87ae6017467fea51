// Unit tests of the recycled stream records: a record from the pool is as a new one would be.
#include "proxy/stream_info_pool.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "test/unit/filters/stream_info_sample.h"

namespace remora {
namespace {

void expectDefault(const filters::StreamInfo& info) {
  const filters::StreamInfo fresh;
  EXPECT_EQ(info.start_time, fresh.start_time);
  EXPECT_EQ(info.start, fresh.start);
  EXPECT_EQ(info.duration, fresh.duration);
  EXPECT_EQ(info.listener, fresh.listener);
  EXPECT_EQ(info.downstream_address, fresh.downstream_address);
  EXPECT_EQ(info.protocol, fresh.protocol);
  EXPECT_EQ(info.method, fresh.method);
  EXPECT_EQ(info.authority, fresh.authority);
  EXPECT_EQ(info.path, fresh.path);
  EXPECT_EQ(info.request_id, fresh.request_id);
  EXPECT_EQ(info.user_agent, fresh.user_agent);
  EXPECT_EQ(info.status, fresh.status);
  EXPECT_EQ(info.grpc_status, fresh.grpc_status);
  EXPECT_EQ(info.request_body_bytes, fresh.request_body_bytes);
  EXPECT_EQ(info.response_body_bytes, fresh.response_body_bytes);
  EXPECT_EQ(info.cluster, fresh.cluster);
  EXPECT_EQ(info.upstream_address, fresh.upstream_address);
  EXPECT_EQ(info.retries, fresh.retries);
  EXPECT_EQ(info.local_reason, fresh.local_reason);
}

TEST(StreamInfoPoolTest, ResetRestoresEveryDefaultAndKeepsCapacity) {
  filters::StreamInfo info = filters::sampleStreamInfo();
  const size_t path_capacity = info.path.capacity();
  resetStreamInfo(info);
  expectDefault(info);
  EXPECT_EQ(info.path.capacity(), path_capacity);
}

TEST(StreamInfoPoolTest, RecordsFromThePoolStartAsNewOnes) {
  for (int round = 0; round < 3; ++round) {
    std::vector<std::unique_ptr<PooledStreamInfo>> records;
    for (int i = 0; i < 10; ++i) {
      records.push_back(std::make_unique<PooledStreamInfo>());
      expectDefault(**records.back());
      **records.back() = filters::sampleStreamInfo();
    }
    records.clear();  // back to the pool
  }
  PooledStreamInfo huge;
  huge->path.assign(100000, 'x');  // freed, not pooled, when it goes
}

// In a thread of its own, so that the pool starts empty. Nothing is kept under AddressSanitizer.
TEST(StreamInfoPoolTest, ThePoolKeepsAtMost256RecordsWithNoStringOver512Bytes) {
  std::thread([] {
    {
      std::vector<std::unique_ptr<PooledStreamInfo>> records;
      for (int i = 0; i < 300; ++i) records.push_back(std::make_unique<PooledStreamInfo>());
    }
    EXPECT_EQ(PooledStreamInfo::keptRecords(), REMORA_RECYCLE_MEMORY ? 256u : 0u);
  }).join();
  std::thread([] {
    {
      PooledStreamInfo long_path;
      long_path->path.assign(600, 'p');
    }
    EXPECT_EQ(PooledStreamInfo::keptRecords(), 0u);
    {
      PooledStreamInfo ordinary;
      ordinary->path.assign(500, 'p');
    }
    EXPECT_EQ(PooledStreamInfo::keptRecords(), REMORA_RECYCLE_MEMORY ? 1u : 0u);
  }).join();
}

}  // namespace
}  // namespace remora
