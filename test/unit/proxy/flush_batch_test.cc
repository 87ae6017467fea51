// Unit tests of FlushBatch: what is queued while a batch is open goes out when it closes, a
// transport destroyed meanwhile is skipped, and without a batch flushSoon() waits for the loop.
#include "proxy/flush_batch.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "proxy/transport.h"

namespace remora {
namespace {

class FlushBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = event_base_new();
    for (int* pair : {first_, second_}) {
      ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair), 0);
    }
  }
  void TearDown() override {
    close(first_[1]);
    close(second_[1]);
    event_base_free(base_);
  }
  // What the peer of `pair` has received so far, without waiting.
  static std::string received(int* pair) {
    char data[256];
    const ssize_t n = recv(pair[1], data, sizeof(data), MSG_DONTWAIT);
    return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
  }
  static void write(Transport& transport, const std::string& text) {
    evbuffer_add(transport.output(), text.data(), text.size());
    transport.flushSoon();
  }

  event_base* base_ = nullptr;
  int first_[2] = {-1, -1};
  int second_[2] = {-1, -1};
};

TEST_F(FlushBatchTest, QueuedTransportsAreFlushedWhenTheBatchCloses) {
  Transport a(base_);
  Transport b(base_);
  a.attach(first_[0]);
  b.attach(second_[0]);
  {
    FlushBatch batch;
    write(a, "one");
    write(b, "two");
    write(a, " more");  // queued once, sent in one go
    {
      FlushBatch nested;  // an inner scope leaves the open batch alone
    }
    EXPECT_EQ(received(first_), "");
    EXPECT_EQ(received(second_), "");
  }
  EXPECT_EQ(received(first_), "one more");
  EXPECT_EQ(received(second_), "two");
}

TEST_F(FlushBatchTest, ATransportDestroyedWhileQueuedIsSkipped) {
  auto gone = std::make_unique<Transport>(base_);
  Transport kept(base_);
  gone->attach(first_[0]);
  kept.attach(second_[0]);
  {
    FlushBatch batch;
    write(*gone, "never");
    write(kept, "sent");
    gone.reset();
  }
  EXPECT_EQ(received(second_), "sent");
}

TEST_F(FlushBatchTest, WithoutABatchTheLoopFlushes) {
  Transport a(base_);
  a.attach(first_[0]);
  write(a, "later");
  EXPECT_EQ(received(first_), "");
  event_base_loop(base_, EVLOOP_NONBLOCK);
  EXPECT_EQ(received(first_), "later");
}

}  // namespace
}  // namespace remora
