// Libevent's, nghttp2's and header maps' memory from per-thread free lists by size class: an
// evbuffer that fills and drains once per request, an HTTP/2 stream's state or a head's fields
// take their block from the list instead of calling malloc.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>

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

}  // namespace remora
