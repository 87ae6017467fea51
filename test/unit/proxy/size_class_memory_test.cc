// Unit tests of the allocator remora gives libevent: malloc/realloc/free semantics, blocks
// reused by size class, big blocks straight from malloc.
#include "proxy/size_class_memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

namespace remora::size_class_memory {
namespace {

TEST(SizeClassMemoryTest, AFreedBlockServesTheNextOfItsClass) {
  void* first = allocate(1000);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % 16, 0u);
  std::memset(first, 'x', 1000);
  release(first);
  void* second = allocate(1024);  // the same class (513..1024 bytes)
  EXPECT_EQ(second, first);
  void* other = allocate(1025);  // the next class: another block
  EXPECT_NE(other, first);
  release(second);
  release(other);
}

TEST(SizeClassMemoryTest, ReallocKeepsTheBytesAcrossClassesAndIntoBigBlocks) {
  auto* p = static_cast<unsigned char*>(allocate(10));
  for (int i = 0; i < 10; ++i) p[i] = static_cast<unsigned char>(i);
  EXPECT_EQ(reallocate(p, 64), p);  // the 64-byte block already has room
  p = static_cast<unsigned char*>(reallocate(p, 3000));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p[i], i);
  std::memset(p + 10, 7, 2990);
  p = static_cast<unsigned char*>(reallocate(p, 100000));  // beyond the classes
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p[i], i);
  EXPECT_EQ(p[2999], 7);
  p[99999] = 1;
  p = static_cast<unsigned char*>(reallocate(p, 200000));
  EXPECT_EQ(p[99999], 1);
  EXPECT_EQ(reallocate(p, 0), nullptr);   // frees
  void* fresh = reallocate(nullptr, 32);  // mallocs
  ASSERT_NE(fresh, nullptr);
  release(fresh);
  release(nullptr);
}

TEST(SizeClassMemoryTest, ManyBlocksOfEveryClassComeAndGo) {
  for (int round = 0; round < 3; ++round) {
    std::vector<void*> blocks;
    for (size_t size = 0; size <= 40000; size += 97) {
      void* block = allocate(size);
      ASSERT_NE(block, nullptr);
      std::memset(block, 0xab, size);
      blocks.push_back(block);
    }
    for (void* block : blocks) release(block);
  }
}

// In a thread of its own, so that the lists start empty.
TEST(SizeClassMemoryTest, EachClassKeepsAtMost256KiBPerThread) {
  std::thread([] {
    for (size_t size : {size_t{64}, size_t{1024}, size_t{16384}}) {
      std::vector<void*> blocks;
      for (size_t bytes = 0; bytes < 2 * (size_t{256} << 10); bytes += size) {
        blocks.push_back(allocate(size));
      }
      for (void* block : blocks) release(block);
      EXPECT_EQ(keptBytes(size), size_t{256} << 10) << size;
    }
    void* big = allocate(16385);  // beyond the classes: never kept
    release(big);
    EXPECT_EQ(keptBytes(16385), 0u);
  }).join();
}

TEST(SizeClassMemoryTest, Nghttp2GetsMallocCallocReallocAndFree) {
  nghttp2_mem* memory = recycledNghttp2Memory();
  if (memory == nullptr) GTEST_SKIP() << "AddressSanitizer build: nghttp2 keeps its own";
  auto* zeroed = static_cast<unsigned char*>(memory->calloc(10, 100, memory->mem_user_data));
  ASSERT_NE(zeroed, nullptr);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(zeroed[i], 0);
  std::memset(zeroed, 7, 1000);
  memory->free(zeroed, memory->mem_user_data);
  // The same block again, from the list: calloc zeroes it anyway.
  zeroed = static_cast<unsigned char*>(memory->calloc(1000, 1, memory->mem_user_data));
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(zeroed[i], 0);
  EXPECT_EQ(memory->calloc(SIZE_MAX / 2, 4, memory->mem_user_data), nullptr);  // overflows
  auto* grown = static_cast<unsigned char*>(memory->realloc(zeroed, 5000, memory->mem_user_data));
  EXPECT_EQ(grown[999], 0);
  memory->free(grown, memory->mem_user_data);
  void* plain = memory->malloc(24, memory->mem_user_data);
  ASSERT_NE(plain, nullptr);
  memory->free(plain, memory->mem_user_data);
}

// A map's node goes back to the thread's list when erased and serves the next insertion; under
// AddressSanitizer nodes are plain new and delete.
TEST(SizeClassMemoryTest, AMapWithTheRecyclingAllocatorReusesItsNodes) {
  std::thread([] {
    using Map = std::unordered_map<int, std::unique_ptr<int>, std::hash<int>, std::equal_to<int>,
                                   RecyclingAllocator<std::pair<const int, std::unique_ptr<int>>>>;
    Map map;
    map.reserve(8);  // the bucket array, once
    map.emplace(1, std::make_unique<int>(10));
    const size_t kept_before = keptBytes(32);
    map.erase(1);
    EXPECT_EQ(keptBytes(32), kept_before + (REMORA_RECYCLE_MEMORY ? 64u : 0u));  // the 64-B class
    map.emplace(3, std::make_unique<int>(30));
    EXPECT_EQ(keptBytes(32), kept_before);
    EXPECT_EQ(*map.at(3), 30);
    EXPECT_EQ(map.count(1), 0u);
  }).join();
}

}  // namespace
}  // namespace remora::size_class_memory
