// The size-class free lists behind libevent's and nghttp2's malloc, realloc and free.
#include "proxy/size_class_memory.h"

#include <event2/event.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "proxy/per_thread_pool.h"

namespace remora {
namespace {

// Blocks of 64 B .. 16 KiB (powers of two) are kept; bigger ones (a large body's chains) go
// straight back to malloc. Each class keeps at most this many bytes per thread.
constexpr int kMinShift = 6;
constexpr int kMaxShift = 14;
constexpr int kClasses = kMaxShift - kMinShift + 1;
constexpr size_t kKeptBytesPerClass = size_t{256} << 10;
constexpr uint32_t kUnpooled = UINT32_MAX;

// Before every block: its class and how many bytes it has room for. 16 bytes, so that the
// block keeps malloc's alignment.
struct Header {
  uint32_t size_class;
  uint32_t unused;
  uint64_t capacity;
};
static_assert(sizeof(Header) == 16);

void freeBlock(void* block) { std::free(static_cast<Header*>(block) - 1); }

struct FreeLists {
  std::array<FreeBlocks<&freeBlock>, kClasses> classes;
};

// The class whose blocks hold `size` bytes, or -1 when none does.
int classOf(size_t size) {
  if (size > (size_t{1} << kMaxShift)) return -1;
  const int shift = std::max(kMinShift, static_cast<int>(std::bit_width(size - 1)));
  return size == 0 ? 0 : shift - kMinShift;
}

Header* headerOf(void* memory) { return static_cast<Header*>(memory) - 1; }

}  // namespace

namespace size_class_memory {

namespace {
void* fromMalloc(size_t capacity, uint32_t size_class) {
  auto* header = static_cast<Header*>(std::malloc(sizeof(Header) + capacity));
  if (header == nullptr) return nullptr;
  header->size_class = size_class;
  header->capacity = capacity;
  return header + 1;
}
}  // namespace

void* allocate(size_t size) {
  const int size_class = classOf(size);
  if (size_class < 0) return fromMalloc(size, kUnpooled);
  if (FreeLists* lists = PerThread<FreeLists>::get(); lists != nullptr) {
    if (void* block = lists->classes[size_class].take(); block != nullptr) return block;
  }
  return fromMalloc(size_t{1} << (size_class + kMinShift), static_cast<uint32_t>(size_class));
}

void release(void* memory) {
  if (memory == nullptr) return;
  Header* header = headerOf(memory);
  if (header->size_class != kUnpooled) {
    FreeLists* lists = PerThread<FreeLists>::get();
    if (lists != nullptr &&
        lists->classes[header->size_class].keep(memory, kKeptBytesPerClass / header->capacity)) {
      return;
    }
  }
  std::free(header);
}

void* reallocate(void* memory, size_t size) {
  if (memory == nullptr) return allocate(size);
  if (size == 0) {
    release(memory);
    return nullptr;
  }
  Header* header = headerOf(memory);
  if (size <= header->capacity) return memory;
  if (header->size_class == kUnpooled) {
    auto* grown = static_cast<Header*>(std::realloc(header, sizeof(Header) + size));
    if (grown == nullptr) return nullptr;
    grown->capacity = size;
    return grown + 1;
  }
  void* moved = allocate(size);
  if (moved == nullptr) return nullptr;
  std::memcpy(moved, memory, header->capacity);
  release(memory);
  return moved;
}

size_t keptBytes(size_t size) {
  const int size_class = classOf(size);
  FreeLists* lists = PerThread<FreeLists>::get();
  if (size_class < 0 || lists == nullptr) return 0;
  return lists->classes[size_class].count() << (size_class + kMinShift);
}

}  // namespace size_class_memory

namespace {
std::atomic<bool> installed{false};
}  // namespace

void useRecycledLibeventMemory() {
  if (!REMORA_RECYCLE_MEMORY) return;
  event_set_mem_functions(&size_class_memory::allocate, &size_class_memory::reallocate,
                          &size_class_memory::release);
  installed.store(true, std::memory_order_relaxed);
}

nghttp2_mem* recycledNghttp2Memory() {
  if (!REMORA_RECYCLE_MEMORY) return nullptr;
  static nghttp2_mem memory{
      nullptr,
      [](size_t size, void*) { return size_class_memory::allocate(size); },
      [](void* block, void*) { size_class_memory::release(block); },
      [](size_t count, size_t size, void*) -> void* {
        if (size != 0 && count > SIZE_MAX / size) return nullptr;
        void* block = size_class_memory::allocate(count * size);
        if (block != nullptr) std::memset(block, 0, count * size);
        return block;
      },
      [](void* block, size_t size, void*) { return size_class_memory::reallocate(block, size); },
  };
  return &memory;
}

void freeLibeventMemory(void* memory) {
  if (installed.load(std::memory_order_relaxed)) {
    size_class_memory::release(memory);
  } else {
    std::free(memory);
  }
}

}  // namespace remora
