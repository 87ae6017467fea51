// HeaderMap and the small ASCII helpers header handling needs.
#include "proxy/header_map.h"

#include <algorithm>

#include "proxy/per_thread_pool.h"

namespace remora {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

namespace {

// Vectors of fields given back by destroyed maps, per thread. Bounded in number and in what each
// may keep: a map of many or long fields (a big cookie) gives its memory back instead.
constexpr size_t kPooledFieldsPerVector = 32;
constexpr size_t kPooledStringCapacity = 256;

struct FieldVectorPool : KeptObjects<std::vector<HeaderField>, 64> {};

void giveBack(std::vector<HeaderField>& fields) {
  if (!REMORA_RECYCLE_MEMORY || fields.capacity() == 0) return;
  if (fields.size() > kPooledFieldsPerVector) return;
  FieldVectorPool* pool = PerThread<FieldVectorPool>::get();
  if (pool == nullptr || pool->count() >= pool->limit()) return;
  for (HeaderField& field : fields) {
    if (field.name.capacity() > kPooledStringCapacity) std::string().swap(field.name);
    if (field.value.capacity() > kPooledStringCapacity) std::string().swap(field.value);
  }
  pool->keep(fields);
}

}  // namespace

HeaderMap::HeaderMap(const HeaderMap& other) { *this = other; }

HeaderMap& HeaderMap::operator=(const HeaderMap& other) {
  if (this == &other) return *this;
  size_ = 0;
  reserve(other.size_);
  for (const HeaderField& field : other) append(field.name, field.value);
  return *this;
}

HeaderMap& HeaderMap::operator=(HeaderMap&& other) noexcept {
  if (this == &other) return *this;
  giveBack(fields_);
  fields_ = std::move(other.fields_);
  size_ = other.size_;
  other.fields_.clear();
  other.size_ = 0;
  return *this;
}

HeaderMap::~HeaderMap() { giveBack(fields_); }

void HeaderMap::adoptStorage() {
  if (!fields_.empty() || fields_.capacity() != 0) return;
  if (FieldVectorPool* pool = PerThread<FieldVectorPool>::get(); pool != nullptr) {
    pool->take(fields_);
  }
}

size_t HeaderMap::keptFieldVectors() {
  FieldVectorPool* pool = PerThread<FieldVectorPool>::get();
  return pool == nullptr ? 0 : pool->count();
}

void HeaderMap::reserve(size_t n) {
  adoptStorage();
  fields_.reserve(n);
}

HeaderField& HeaderMap::nextField() {
  adoptStorage();
  if (size_ == fields_.size()) fields_.emplace_back();
  return fields_[size_++];
}

const std::string* HeaderMap::get(std::string_view name) const {
  for (const auto& f : *this) {
    if (f.name == name) return &f.value;
  }
  return nullptr;
}

void HeaderMap::add(std::string name, std::string value) {
  HeaderField& field = nextField();
  field.name = std::move(name);
  field.value = std::move(value);
}

HeaderField& HeaderMap::append(std::string_view name, std::string_view value) {
  HeaderField& field = nextField();
  field.name.assign(name);
  field.value.assign(value);
  return field;
}

void HeaderMap::set(std::string name, std::string value) {
  remove(name);
  add(std::move(name), std::move(value));
}

size_t HeaderMap::remove(std::string_view name) {
  const size_t before = size_;
  removeIf([&](const HeaderField& f) { return f.name == name; });
  return before - size_;
}

bool HeaderMap::hasToken(std::string_view name, std::string_view token) const {
  for (const auto& f : *this) {
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

}  // namespace remora
