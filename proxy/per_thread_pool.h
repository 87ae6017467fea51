// Per-thread pools: the lifetime rule every pool shares, and the two kinds of pool (freed blocks
// of one size, objects kept with their capacity).
#pragma once

#include <cstddef>
#include <new>
#include <utility>
#include <vector>

// Under AddressSanitizer no pool keeps anything, so that a use after free is still caught.
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

namespace remora {

// This thread's `T`, made on first use. At thread exit it is destroyed among the other
// thread_locals, and objects destroyed after it (a connection a thread_local held) still give
// their memory back: get() returns nullptr from the moment its destruction starts, and they free
// straight to the allocator instead of into a pool that is gone.
template <typename T>
class PerThread {
 public:
  static T* get() {
    if (gone_) return nullptr;
    thread_local Holder holder;
    return &holder.value;
  }

 private:
  struct Holder {
    T value;
    ~Holder() { gone_ = true; }  // runs before `value` is destroyed
  };
  // Trivially destructible, so it can still be read after the holder is gone.
  static inline thread_local bool gone_ = false;
};

// Freed blocks of one size, linked through their own first bytes: taking and keeping one costs
// a pointer swap. What the list holds goes back through `kFree` when it is destroyed.
template <void (*kFree)(void*)>
class FreeBlocks {
 public:
  FreeBlocks() = default;
  FreeBlocks(const FreeBlocks&) = delete;
  FreeBlocks& operator=(const FreeBlocks&) = delete;
  ~FreeBlocks() {
    while (head_ != nullptr) kFree(take());
  }

  // A kept block, or nullptr when there is none.
  void* take() {
    Block* block = head_;
    if (block == nullptr) return nullptr;
    head_ = block->next;
    --count_;
    return block;
  }

  // Keeps `block` (at least pointer-sized) unless `limit` blocks are kept already.
  bool keep(void* block, size_t limit) {
    if (count_ >= limit) return false;
    head_ = new (block) Block{head_};
    ++count_;
    return true;
  }

  size_t count() const { return count_; }

 private:
  struct Block {
    Block* next;
  };
  Block* head_ = nullptr;
  size_t count_ = 0;
};

// Up to `kMax` objects given back for reuse (vectors and records that keep their strings'
// capacity); the last kept is the first taken, as it is the likeliest to be in cache.
template <typename T, size_t kMax>
class KeptObjects {
 public:
  // Moves a kept object into `into`; false when there is none.
  bool take(T& into) {
    if (kept_.empty()) return false;
    into = std::move(kept_.back());
    kept_.pop_back();
    return true;
  }

  // Keeps `object` unless `kMax` are kept already; then it is left as it was.
  bool keep(T& object) {
    if (kept_.size() >= kMax) return false;
    kept_.push_back(std::move(object));
    return true;
  }

  size_t count() const { return kept_.size(); }
  static constexpr size_t limit() { return kMax; }

 private:
  std::vector<T> kept_;
};

}  // namespace remora
