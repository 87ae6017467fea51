// The per-thread buffers assignRecycled takes and keepForRecycling keeps.
#include "proxy/recycled_strings.h"

#include "proxy/per_thread_pool.h"

namespace remora {

namespace {
// Bounded in number and size: a long URL's buffer is freed rather than held by the thread.
constexpr size_t kKeptCapacity = 512;
struct StringPool : KeptObjects<std::string, 64> {};
// What a string holds without a heap buffer (libstdc++: 15 bytes).
const size_t kInlineCapacity = std::string().capacity();
}  // namespace

void assignRecycled(std::string& to, std::string_view text) {
  // No kept buffer is over kKeptCapacity: a longer text would only free the one taken.
  if (to.capacity() < text.size() && text.size() <= kKeptCapacity) {
    if (StringPool* pool = PerThread<StringPool>::get(); pool != nullptr) pool->take(to);
  }
  to.assign(text);
}

void keepForRecycling(std::string& string) {
  if (!REMORA_RECYCLE_MEMORY) return;
  const size_t capacity = string.capacity();
  if (capacity <= kInlineCapacity || capacity > kKeptCapacity) return;
  StringPool* pool = PerThread<StringPool>::get();
  if (pool == nullptr) return;
  string.clear();
  pool->keep(string);
}

size_t keptStrings() {
  StringPool* pool = PerThread<StringPool>::get();
  return pool == nullptr ? 0 : pool->count();
}

}  // namespace remora
