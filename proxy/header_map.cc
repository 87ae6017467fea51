// HeaderMap (fields as offsets into one block of text) and the small ASCII helpers header
// handling needs.
#include "proxy/header_map.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "proxy/per_thread_pool.h"
#include "proxy/size_class_memory.h"

namespace remora {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

uint64_t loadWord(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, sizeof(word));
  return word;
}

void storeWord(char* p, uint64_t word) { std::memcpy(p, &word, sizeof(word)); }

// Eight bytes lowercased at once: bit 5 set in each byte from 'A' to 'Z'. The additions run on
// the low seven bits of each byte, so none carries into the next, and a byte of 0x80 or more is
// left as it is.
uint64_t lowerAsciiWord(uint64_t word) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHighBits = kOnes * 0x80;
  const uint64_t low7 = word & ~kHighBits;
  const uint64_t at_least_a = low7 + kOnes * (0x80 - 'A');
  const uint64_t above_z = low7 + kOnes * (0x80 - 'Z' - 1);
  return word | ((at_least_a & ~above_z & ~word & kHighBits) >> 2);
}

// Enough for a usual request or response head at the first growth.
constexpr size_t kFirstCapacity = 512;

void releaseBlock(char* block) {
  if (REMORA_RECYCLE_MEMORY) {
    size_class_memory::release(block);
  } else {
    std::free(block);
  }
}

char* allocateBlock(size_t capacity) {
  void* block =
      REMORA_RECYCLE_MEMORY ? size_class_memory::allocate(capacity) : std::malloc(capacity);
  // Out of memory ends the process, as a failed new would.
  if (block == nullptr) std::abort();
  return static_cast<char*>(block);
}

}  // namespace

HeaderMap::HeaderMap(const HeaderMap& other) { *this = other; }

HeaderMap& HeaderMap::operator=(const HeaderMap& other) {
  if (this == &other) return *this;
  clear();
  size_t text = 0;
  for (const HeaderField field : other) text += field.name.size() + field.value.size();
  makeRoom(text, other.count_);
  for (const HeaderField field : other) add(field.name, field.value);
  return *this;
}

HeaderMap& HeaderMap::operator=(HeaderMap&& other) noexcept {
  if (this == &other) return *this;
  freeBlock();
  takeBlockOf(other);
  return *this;
}

void HeaderMap::takeBlockOf(HeaderMap& other) noexcept {
  block_ = std::exchange(other.block_, nullptr);
  capacity_ = std::exchange(other.capacity_, 0);
  used_ = std::exchange(other.used_, 0);
  count_ = std::exchange(other.count_, 0);
  name_bits_ = std::exchange(other.name_bits_, 0);
}

void HeaderMap::freeBlock() {
  if (block_ == nullptr) return;
  releaseBlock(block_);
  block_ = nullptr;
  capacity_ = used_ = count_ = 0;
  name_bits_ = 0;
}

void HeaderMap::makeRoom(size_t text, size_t fields) {
  if (room() >= text + fields * sizeof(Span) && REMORA_RECYCLE_MEMORY) return;
  const size_t spans = (count_ + fields) * sizeof(Span);
  const size_t needed = used_ + text + spans;
  if (needed == 0) return;
  // Offsets are 32-bit; limits on heads keep a map far below this, so it is a bug if reached.
  if (needed > UINT32_MAX) std::abort();
  // A power of two is what the size-class lists hold anyway. Under AddressSanitizer exactly
  // what is needed (spans kept aligned), so that the next addition moves the block too.
  const size_t capacity = REMORA_RECYCLE_MEMORY
                              ? std::bit_ceil(std::max({needed, 2 * capacity_, kFirstCapacity}))
                              : (needed + alignof(Span) - 1) / alignof(Span) * alignof(Span);
  char* block = allocateBlock(capacity);
  if (used_ != 0) std::memcpy(block, block_, used_);
  const size_t live_spans = count_ * sizeof(Span);
  if (live_spans != 0) {
    std::memcpy(block + capacity - live_spans, block_ + capacity_ - live_spans, live_spans);
  }
  if (block_ != nullptr) releaseBlock(block_);
  block_ = block;
  capacity_ = capacity;
}

void HeaderMap::add(std::string_view name, std::string_view value) {
  const size_t more = name.size() + value.size();
  if (room() < more + sizeof(Span) || !REMORA_RECYCLE_MEMORY) {
    // Either view may be a field of this map: read again from where its text moved to.
    const char* old = block_;
    auto inOld = [&](std::string_view text) {
      return old != nullptr && text.data() >= old && text.data() < old + used_;
    };
    const bool name_inside = inOld(name);
    const bool value_inside = inOld(value);
    const size_t name_at = name_inside ? static_cast<size_t>(name.data() - old) : 0;
    const size_t value_at = value_inside ? static_cast<size_t>(value.data() - old) : 0;
    makeRoom(more, 1);
    if (name_inside) name = {block_ + name_at, name.size()};
    if (value_inside) value = {block_ + value_at, value.size()};
  }
  char* at = block_ + used_;
  if (!name.empty()) std::memcpy(at, name.data(), name.size());
  if (!value.empty()) std::memcpy(at + name.size(), value.data(), value.size());
  spanAt(count_) = {static_cast<uint32_t>(used_), static_cast<uint32_t>(name.size()),
                    static_cast<uint32_t>(used_ + name.size()),
                    static_cast<uint32_t>(value.size())};
  used_ += more;
  ++count_;
  name_bits_ |= nameBit(name);
}

void HeaderMap::addLowercasingName(std::string_view name, std::string_view value) {
  add(name, value);
  const Span& span = spanAt(count_ - 1);
  lowercaseAscii(block_ + span.name_at, span.name_size);
  name_bits_ |= nameBit({block_ + span.name_at, span.name_size});
}

void HeaderMap::assignParsed(std::string_view text, std::span<const HeaderField> fields) {
  clear();
  makeRoom(text.size(), fields.size());
  if (!text.empty()) std::memcpy(block_, text.data(), text.size());
  used_ = text.size();
  for (const HeaderField& field : fields) {
    const auto name_at = static_cast<uint32_t>(field.name.data() - text.data());
    const auto value_at = static_cast<uint32_t>(field.value.data() - text.data());
    spanAt(count_++) = {name_at, static_cast<uint32_t>(field.name.size()), value_at,
                        static_cast<uint32_t>(field.value.size())};
    lowercaseAscii(block_ + name_at, field.name.size());
    name_bits_ |= nameBit({block_ + name_at, field.name.size()});
  }
}

void HeaderMap::set(std::string_view name, std::string_view value) {
  // Added first, as `value` may be the text of a field about to be removed.
  add(name, value);
  const size_t last = count_ - 1;
  const std::string_view added = fieldAt(last).name;
  size_t kept = 0;
  for (size_t i = 0; i < last; ++i) {
    if (fieldAt(i).name == added) continue;
    spanAt(kept++) = spanAt(i);
  }
  spanAt(kept++) = spanAt(last);
  count_ = kept;
  forgetDeadTextWhenNotRecycling();
}

size_t HeaderMap::remove(std::string_view name) {
  const size_t before = count_;
  removeIf([&](const HeaderField& f) { return f.name == name; });
  return before - count_;
}

void HeaderMap::compact() {
  // Not through the copy assignment, whose clear() comes back here.
  HeaderMap live;
  size_t text = 0;
  for (const HeaderField field : *this) text += field.name.size() + field.value.size();
  live.makeRoom(text, count_);
  for (const HeaderField field : *this) live.add(field.name, field.value);
  freeBlock();
  takeBlockOf(live);
}

std::optional<std::string_view> HeaderMap::find(std::string_view name) const {
  for (const HeaderField f : *this) {
    if (f.name == name) return f.value;
  }
  return std::nullopt;
}

bool HeaderMap::hasToken(std::string_view name, std::string_view token) const {
  if ((name_bits_ & nameBit(name)) == 0) return false;
  for (const HeaderField f : *this) {
    if (f.name == name && listHasToken(f.value, token)) return true;
  }
  return false;
}

bool equalsIgnoreCaseSameSize(const char* a, const char* b, size_t size) {
  if (size < 8) {
    for (size_t i = 0; i < size; ++i) {
      if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
    }
    return true;
  }
  // As lowercaseAscii: whole words, the last one overlapping.
  for (size_t i = 0; i + 8 < size; i += 8) {
    if (lowerAsciiWord(loadWord(a + i)) != lowerAsciiWord(loadWord(b + i))) return false;
  }
  return lowerAsciiWord(loadWord(a + size - 8)) == lowerAsciiWord(loadWord(b + size - 8));
}

bool listHasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = trim(value.substr(0, comma));
    if (equalsIgnoreCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

void lowercaseAscii(char* text, size_t size) {
  if (size < 8) {
    for (size_t i = 0; i < size; ++i) text[i] = lowerAscii(text[i]);
    return;
  }
  // Eight bytes at a time (names make up a third of a typical head); the last eight overlap
  // what was lowercased already, which lowercasing again leaves as it is.
  for (size_t i = 0; i + 8 < size; i += 8) storeWord(text + i, lowerAsciiWord(loadWord(text + i)));
  storeWord(text + size - 8, lowerAsciiWord(loadWord(text + size - 8)));
}

}  // namespace remora
