// Recycled<T>: per-thread reuse of the memory of objects made and destroyed once per request.
#pragma once

#include <cstddef>
#include <new>

#include "proxy/per_thread_pool.h"

namespace remora {

// A class T deriving from Recycled<T> gets an operator new/delete that keeps up to `kKeep` freed
// blocks per thread and hands them out again, so that a worker's steady request flow allocates
// no new memory for its streams and routers (DESIGN.md: no per-request allocation where a pool
// serves). A block freed on another thread than the one that made it simply joins that thread's
// list. Deleting through a base pointer works: a virtual destructor calls the most-derived
// class's operator delete. A class derived from T, being bigger, goes to the global allocator.
// Under AddressSanitizer nothing is kept (proxy/per_thread_pool.h).
template <typename T, size_t kKeep = 256>
class Recycled {
 public:
  static void* operator new(size_t size) {
    static_assert(sizeof(T) >= sizeof(void*), "a freed block holds the free list's next pointer");
    if (size == sizeof(T)) {
      if (FreeList* list = PerThread<FreeList>::get(); list != nullptr) {
        if (void* block = list->take(); block != nullptr) return block;
      }
    }
    return ::operator new(size);
  }

  static void operator delete(void* memory, size_t size) noexcept {
    if (REMORA_RECYCLE_MEMORY && size == sizeof(T)) {
      if (FreeList* list = PerThread<FreeList>::get(); list != nullptr) {
        if (list->keep(memory, kKeep)) return;
      }
    }
    ::operator delete(memory);
  }

  // How many freed blocks this thread keeps for T (for tests).
  static size_t keptBlocks() {
    FreeList* list = PerThread<FreeList>::get();
    return list == nullptr ? 0 : list->count();
  }

 private:
  static void freeBlock(void* block) { ::operator delete(block); }
  // Its own type per T, so that each class has its own per-thread list.
  struct FreeList : FreeBlocks<&Recycled::freeBlock> {};
};

}  // namespace remora
