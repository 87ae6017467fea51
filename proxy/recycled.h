// Recycled<T>: per-thread reuse of the memory of objects made and destroyed once per request.
#pragma once

#include <cstddef>
#include <new>

namespace remora {

#if defined(__SANITIZE_ADDRESS__)
#define REMORA_RECYCLE_MEMORY 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REMORA_RECYCLE_MEMORY 0
#endif
#endif
#ifndef REMORA_RECYCLE_MEMORY
#define REMORA_RECYCLE_MEMORY 1
#endif

// A class T deriving from Recycled<T> gets an operator new/delete that keeps up to `kKeep` freed
// blocks per thread and hands them out again, so that a worker's steady request flow allocates
// no new memory for its streams and routers (DESIGN.md: no per-request allocation where a pool
// serves). A block freed on another thread than the one that made it simply joins that thread's
// list. Deleting through a base pointer works: a virtual destructor calls the most-derived
// class's operator delete. A class derived from T, being bigger, goes to the global allocator.
// Under AddressSanitizer nothing is kept, so that a use after free is still caught.
template <typename T, size_t kKeep = 256>
class Recycled {
 public:
  static void* operator new(size_t size) {
    FreeList& list = freeList();
    if (size == sizeof(T) && list.head != nullptr) {
      Block* block = list.head;
      list.head = block->next;
      --list.count;
      return block;
    }
    return ::operator new(size);
  }

  static void operator delete(void* memory, size_t size) noexcept {
    FreeList& list = freeList();
    if (REMORA_RECYCLE_MEMORY && size == sizeof(T) && list.count < kKeep && !list.closed) {
      auto* block = static_cast<Block*>(memory);
      block->next = list.head;
      list.head = block;
      ++list.count;
      return;
    }
    ::operator delete(memory);
  }

 private:
  struct Block {
    Block* next;
  };
  static_assert(sizeof(Block) <= sizeof(Block*));

  struct FreeList {
    Block* head = nullptr;
    size_t count = 0;
    bool closed = false;  // the thread is ending: what is freed from now on goes back at once
    ~FreeList() {
      closed = true;
      while (head != nullptr) {
        Block* next = head->next;
        ::operator delete(head);
        head = next;
      }
    }
  };

  static FreeList& freeList() {
    thread_local FreeList list;
    return list;
  }
};

}  // namespace remora
