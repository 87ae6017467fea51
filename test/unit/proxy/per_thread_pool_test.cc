// Unit tests of the per-thread pool parts: a pool is gone, not dangling, once its thread starts
// destroying it; freed blocks and kept objects stay within their limits.
#include "proxy/per_thread_pool.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace remora {
namespace {

struct Counter {
  int value = 0;
};

// What a thread_local destroyed after the pool saw when it asked for the pool.
bool probe_saw_pool = true;

struct LateProbe {
  ~LateProbe() { probe_saw_pool = PerThread<Counter>::get() != nullptr; }
};

TEST(PerThreadTest, EachThreadHasItsOwn) {
  PerThread<Counter>::get()->value = 7;
  int theirs = -1;
  std::thread([&] { theirs = PerThread<Counter>::get()->value; }).join();
  EXPECT_EQ(theirs, 0);
  EXPECT_EQ(PerThread<Counter>::get()->value, 7);
}

TEST(PerThreadTest, IsNullForWhatIsDestroyedAfterItAtThreadExit) {
  std::thread([] {
    thread_local LateProbe probe;  // made first, so destroyed after the pool
    (void)probe;
    ASSERT_NE(PerThread<Counter>::get(), nullptr);
  }).join();
  EXPECT_FALSE(probe_saw_pool);
}

int frees = 0;
void countingFree(void* block) {
  ++frees;
  std::free(block);
}

TEST(FreeBlocksTest, KeepsUpToItsLimitLastInFirstOutAndFreesTheRestAtTheEnd) {
  frees = 0;
  {
    FreeBlocks<&countingFree> blocks;
    EXPECT_EQ(blocks.take(), nullptr);
    void* a = std::malloc(32);
    void* b = std::malloc(32);
    void* c = std::malloc(32);
    EXPECT_TRUE(blocks.keep(a, 2));
    EXPECT_TRUE(blocks.keep(b, 2));
    EXPECT_FALSE(blocks.keep(c, 2));
    std::free(c);
    EXPECT_EQ(blocks.count(), 2u);
    EXPECT_EQ(blocks.take(), b);
    EXPECT_EQ(blocks.count(), 1u);
    std::free(b);
  }
  EXPECT_EQ(frees, 1);  // `a`, still kept
}

TEST(KeptObjectsTest, KeepsUpToItsLimitAndLeavesTheRestWithTheCaller) {
  KeptObjects<std::string, 2> kept;
  std::string s;
  EXPECT_FALSE(kept.take(s));
  std::string one = "one", two = "two", three = "three";
  EXPECT_TRUE(kept.keep(one));
  EXPECT_TRUE(kept.keep(two));
  EXPECT_FALSE(kept.keep(three));
  EXPECT_EQ(three, "three");
  EXPECT_EQ(kept.count(), 2u);
  ASSERT_TRUE(kept.take(s));
  EXPECT_EQ(s, "two");
  EXPECT_EQ(kept.count(), 1u);
}

}  // namespace
}  // namespace remora
