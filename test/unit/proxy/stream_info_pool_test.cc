// Unit tests of the recycled stream records: a record from the pool is as a new one would be.
#include "proxy/stream_info_pool.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace remora {
namespace {

// Every field away from its default.
void dirty(filters::StreamInfo& info) {
  info.start_time = std::chrono::system_clock::now();
  info.start = std::chrono::steady_clock::now();
  info.duration = std::chrono::seconds(3);
  info.listener = "edge";
  info.downstream_address = "[2001:db8::1]:54321";
  info.protocol = "HTTP/2";
  info.method = "DELETE";
  info.authority = "api.example.com:8443";
  info.path = "/a/rather/long/path/to/some/resource?with=query";
  info.request_id = "5f0c7a2e-3a51-4cf1-9a4d-2b1f3c7f9e10";
  info.user_agent = "Mozilla/5.0 (X11; Linux x86_64) something";
  info.status = 503;
  info.grpc_status = "14";
  info.request_body_bytes = 10;
  info.response_body_bytes = 20;
  info.cluster = "users";
  info.upstream_address = "10.0.0.1:8080";
  info.retries = 2;
  info.local_reason = "upstream_timeout";
}

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
  filters::StreamInfo info;
  dirty(info);
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
      dirty(**records.back());
    }
    records.clear();  // back to the pool
  }
  PooledStreamInfo huge;
  huge->path.assign(100000, 'x');  // freed, not pooled, when it goes
}

}  // namespace
}  // namespace remora
