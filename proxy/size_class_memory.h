// Libevent's, nghttp2's and header maps' memory from per-thread free lists by size class: an
// evbuffer that fills and drains once per request, an HTTP/2 stream's state or a head's fields
// take their block from the list instead of calling malloc.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "proxy/per_thread_pool.h"

namespace remora {

// Installs the allocator for libevent; the first thing main() does, before any libevent call
// (libevent frees with the functions it allocated with). Not under AddressSanitizer
// (proxy/per_thread_pool.h), where every block must be a malloc of its own.
void useRecycledLibeventMemory();

// Frees memory libevent gives its caller to free (evhttp_uridecode's result), with the allocator
// libevent used for it.
void freeLibeventMemory(void* memory);

// The allocator for an nghttp2 session (nghttp2_session_*_new3), or nullptr for nghttp2's own
// (under AddressSanitizer). Blocks freed on another thread join that thread's lists.
nghttp2_mem* recycledNghttp2Memory();

// The functions given to libevent and nghttp2, and HeaderMap's blocks: malloc, realloc and free
// semantics.
namespace size_class_memory {
void* allocate(size_t size);
void* reallocate(void* memory, size_t size);
void release(void* memory);
// The bytes this thread keeps in the class of blocks holding `size` (at most 256 KiB per class).
size_t keptBytes(size_t size);
}  // namespace size_class_memory

// A standard allocator over the same lists, for the node-based containers a request touches (an
// HTTP/2 connection's streams by id): a node per stream without a malloc per stream. Plain
// std::allocator under AddressSanitizer. Out of memory ends the process, as HeaderMap's does.
template <class T>
struct RecyclingAllocator {
  using value_type = T;
  RecyclingAllocator() = default;
  template <class U>
  RecyclingAllocator(const RecyclingAllocator<U>&) noexcept {
  }  // containers rebind it to their nodes
  // Blocks keep malloc's 16-byte alignment (proxy/size_class_memory.cc).
  static_assert(alignof(T) <= 16);
  T* allocate(size_t n) {
    if constexpr (!REMORA_RECYCLE_MEMORY) return std::allocator<T>().allocate(n);
    if (n > SIZE_MAX / sizeof(T)) std::abort();
    void* memory = size_class_memory::allocate(n * sizeof(T));
    if (memory == nullptr) std::abort();
    return static_cast<T*>(memory);
  }
  void deallocate(T* memory, size_t n) {
    if constexpr (!REMORA_RECYCLE_MEMORY) return std::allocator<T>().deallocate(memory, n);
    size_class_memory::release(memory);
  }
  template <class U>
  bool operator==(const RecyclingAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace remora
