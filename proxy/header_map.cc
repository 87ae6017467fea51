// HeaderMap (fields as offsets into one buffer of text) and the small ASCII helpers header
// handling needs.
#include "proxy/header_map.h"

#include <algorithm>
#include <cstring>

#include "proxy/per_thread_pool.h"

namespace remora {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Bounded in number and in what each may hold: a map of many fields or much text (a big cookie)
// gives its memory back instead.
constexpr size_t kPooledFields = 32;
constexpr size_t kPooledBytes = 4096;
// Enough for a usual request or response head at the first growth.
constexpr size_t kFirstBytes = 512;

}  // namespace

// A destroyed map's storage, kept for the next map of this thread.
struct HeaderStorage {
  std::vector<HeaderMap::Span> spans;
  std::unique_ptr<char[]> bytes;
  size_t capacity = 0;
};

namespace {
struct StoragePool : KeptObjects<HeaderStorage, 64> {};
}  // namespace

HeaderMap::HeaderMap(const HeaderMap& other) { *this = other; }

HeaderMap& HeaderMap::operator=(const HeaderMap& other) {
  if (this == &other) return *this;
  clear();
  size_t bytes = 0;
  for (const Span& span : other.spans_) bytes += span.name_size + span.value_size;
  reserve(other.size(), bytes);
  for (const HeaderField field : other) add(field.name, field.value);
  return *this;
}

HeaderMap& HeaderMap::operator=(HeaderMap&& other) noexcept {
  if (this == &other) return *this;
  giveStorageBack();
  takeStorageOf(other);
  return *this;
}

HeaderMap::~HeaderMap() { giveStorageBack(); }

void HeaderMap::takeStorageOf(HeaderMap& other) noexcept {
  spans_ = std::move(other.spans_);
  bytes_ = std::move(other.bytes_);
  used_ = std::exchange(other.used_, 0);
  capacity_ = std::exchange(other.capacity_, 0);
  other.spans_.clear();
}

void HeaderMap::giveStorageBack() {
  if (!REMORA_RECYCLE_MEMORY || (spans_.capacity() == 0 && capacity_ == 0)) return;
  if (spans_.capacity() > kPooledFields || capacity_ > kPooledBytes) return;
  StoragePool* pool = PerThread<StoragePool>::get();
  if (pool == nullptr || pool->count() >= pool->limit()) return;
  spans_.clear();
  HeaderStorage storage{std::move(spans_), std::move(bytes_), capacity_};
  pool->keep(storage);
  spans_.clear();
  used_ = 0;
  capacity_ = 0;
}

void HeaderMap::adoptStorage() {
  if (spans_.capacity() != 0 || capacity_ != 0) return;
  StoragePool* pool = PerThread<StoragePool>::get();
  HeaderStorage storage;
  if (pool == nullptr || !pool->take(storage)) return;
  spans_ = std::move(storage.spans);
  bytes_ = std::move(storage.bytes);
  capacity_ = storage.capacity;
}

size_t HeaderMap::keptStorages() {
  StoragePool* pool = PerThread<StoragePool>::get();
  return pool == nullptr ? 0 : pool->count();
}

void HeaderMap::reserve(size_t fields, size_t bytes) {
  adoptStorage();
  spans_.reserve(fields);
  if (capacity_ - used_ < bytes) growBytes(bytes);
}

void HeaderMap::growBytes(size_t more) {
  // Under AddressSanitizer exactly what is needed, so that the next addition moves the bytes too.
  const size_t capacity =
      REMORA_RECYCLE_MEMORY ? std::max({used_ + more, 2 * capacity_, kFirstBytes}) : used_ + more;
  auto bytes = std::make_unique_for_overwrite<char[]>(capacity);
  if (used_ != 0) std::memcpy(bytes.get(), bytes_.get(), used_);
  bytes_ = std::move(bytes);
  capacity_ = capacity;
}

void HeaderMap::add(std::string_view name, std::string_view value) {
  adoptStorage();
  const size_t more = name.size() + value.size();
  if (capacity_ - used_ < more || !REMORA_RECYCLE_MEMORY) {
    // Either view may be a field of this map: read again from where its bytes moved to.
    const char* old = bytes_.get();
    auto inOld = [&](std::string_view text) {
      return old != nullptr && text.data() >= old && text.data() < old + used_;
    };
    const bool name_inside = inOld(name);
    const bool value_inside = inOld(value);
    const size_t name_at = name_inside ? static_cast<size_t>(name.data() - old) : 0;
    const size_t value_at = value_inside ? static_cast<size_t>(value.data() - old) : 0;
    growBytes(more);
    if (name_inside) name = {bytes_.get() + name_at, name.size()};
    if (value_inside) value = {bytes_.get() + value_at, value.size()};
  }
  Span span{static_cast<uint32_t>(used_), static_cast<uint32_t>(name.size()),
            static_cast<uint32_t>(used_ + name.size()), static_cast<uint32_t>(value.size())};
  char* at = bytes_.get() + used_;
  if (!name.empty()) std::memcpy(at, name.data(), name.size());
  if (!value.empty()) std::memcpy(at + name.size(), value.data(), value.size());
  used_ += more;
  spans_.push_back(span);
}

void HeaderMap::addLowercasingName(std::string_view name, std::string_view value) {
  add(name, value);
  const Span& span = spans_.back();
  lowercaseAscii(bytes_.get() + span.name_at, span.name_size);
}

void HeaderMap::assignParsed(std::string_view text, std::span<const HeaderField> fields) {
  clear();
  reserve(fields.size(), text.size());
  char* const bytes = bytes_.get();
  if (!text.empty()) std::memcpy(bytes, text.data(), text.size());
  used_ = text.size();
  for (const HeaderField& field : fields) {
    const auto name_at = static_cast<uint32_t>(field.name.data() - text.data());
    const auto value_at = static_cast<uint32_t>(field.value.data() - text.data());
    spans_.push_back({name_at, static_cast<uint32_t>(field.name.size()), value_at,
                      static_cast<uint32_t>(field.value.size())});
    lowercaseAscii(bytes + name_at, field.name.size());
  }
}

void HeaderMap::set(std::string_view name, std::string_view value) {
  // Added first, as `value` may be the text of a field about to be removed.
  add(name, value);
  const size_t last = spans_.size() - 1;
  const std::string_view added = fieldAt(last).name;
  size_t kept = 0;
  for (size_t i = 0; i < last; ++i) {
    if (fieldAt(i).name == added) continue;
    spans_[kept++] = spans_[i];
  }
  spans_[kept++] = spans_[last];
  spans_.resize(kept);
  forgetDeadBytesWhenNotRecycling();
}

size_t HeaderMap::remove(std::string_view name) {
  const size_t before = spans_.size();
  removeIf([&](const HeaderField& f) { return f.name == name; });
  return before - spans_.size();
}

void HeaderMap::compactBytes() {
  size_t live = 0;
  for (const Span& span : spans_) live += span.name_size + span.value_size;
  std::unique_ptr<char[]> bytes;
  if (live != 0) bytes = std::make_unique_for_overwrite<char[]>(live);
  size_t at = 0;
  auto move = [&](uint32_t& from, uint32_t size) {
    if (size != 0) std::memcpy(bytes.get() + at, bytes_.get() + from, size);
    from = static_cast<uint32_t>(at);
    at += size;
  };
  for (Span& span : spans_) {
    move(span.name_at, span.name_size);
    move(span.value_at, span.value_size);
  }
  bytes_ = std::move(bytes);
  used_ = live;
  capacity_ = live;
}

std::optional<std::string_view> HeaderMap::get(std::string_view name) const {
  for (const HeaderField f : *this) {
    if (f.name == name) return f.value;
  }
  return std::nullopt;
}

bool HeaderMap::hasToken(std::string_view name, std::string_view token) const {
  for (const HeaderField f : *this) {
    if (f.name == name && listHasToken(f.value, token)) return true;
  }
  return false;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
  }
  return true;
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

// Field names are tokens (ASCII), so lowercasing is a matter of setting bit 5 in 'A'..'Z'. It
// goes eight bytes at a time: names make up a third of a typical head.
void lowercaseAscii(char* text, size_t size) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  char* p = text;
  char* const end = text + size;
  for (; end - p >= 8; p += 8) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    // With every byte below 0x80 these additions never carry into the next byte.
    const uint64_t at_least_a = x + kOnes * (0x80 - 'A');
    const uint64_t above_z = x + kOnes * (0x80 - 'Z' - 1);
    x |= ((at_least_a & ~above_z) & (kOnes * 0x80)) >> 2;
    std::memcpy(p, &x, 8);
  }
  for (; p != end; ++p) {
    *p = static_cast<char>(*p + (static_cast<unsigned char>(*p - 'A') < 26) * 32);
  }
}

}  // namespace remora
