// HeaderMap: an ordered list of header fields with lowercase names, as codecs and filters see them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/http_syntax.h"
#include "proxy/per_thread_pool.h"

namespace remora {

struct HeaderField {
  HeaderField() = default;
  // Built in place by HeaderMap::add (emplace_back): one move of each string, not two.
  template <class Name, class Value>
  HeaderField(Name&& field_name, Value&& field_value)
      : name(std::forward<Name>(field_name)), value(std::forward<Value>(field_value)) {}

  std::string name;  // lowercase
  std::string value;
};

// The fields live in [0, size_) of a vector whose later elements are fields removed or cleared
// earlier, kept for their strings' capacity: a field added there reuses it. A map's vector goes
// to a per-thread pool when the map is destroyed and comes back for the next map, so a worker
// parsing one head after another allocates nothing for fields no longer than those before
// (DESIGN.md: no per-request allocation where a pool serves).
class HeaderMap {
 public:
  using const_iterator = std::vector<HeaderField>::const_iterator;

  HeaderMap() = default;
  HeaderMap(const HeaderMap& other);
  HeaderMap(HeaderMap&& other) noexcept : fields_(std::move(other.fields_)), size_(other.size_) {
    other.fields_.clear();
    other.size_ = 0;
  }
  HeaderMap& operator=(const HeaderMap& other);
  HeaderMap& operator=(HeaderMap&& other) noexcept;
  ~HeaderMap();

  // The first value of `name` (lowercase), or nullptr.
  const std::string* get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name) != nullptr; }
  // Appends a field; `name` must already be lowercase.
  void add(std::string name, std::string value);
  // Appends a field whose name and value are copied into a recycled field's strings; returns
  // it (a codec lowercases the name in place). Neither view may point into this map.
  HeaderField& append(std::string_view name, std::string_view value);
  // Removes every field called `name`, then appends one.
  void set(std::string name, std::string value);
  // Removes every field called `name`; returns how many.
  size_t remove(std::string_view name);
  // Removes every field for which `drop(field)` is true, in one pass; the order of the others
  // is kept.
  template <class Drop>
  void removeIf(Drop&& drop) {
    size_t kept = 0;
    for (size_t i = 0; i < size_; ++i) {
      if (drop(std::as_const(fields_[i]))) continue;
      if (kept != i) std::swap(fields_[kept], fields_[i]);  // the dropped one's storage stays
      ++kept;
    }
    size_ = kept;
    forgetDeadFieldsWhenNotRecycling();
  }
  // Whether the list that the fields called `name` make (RFC 9110 5.3: their values joined with
  // ", ") has `token`, case-insensitive; each value is read where it is, nothing is copied.
  bool hasToken(std::string_view name, std::string_view token) const;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const_iterator begin() const { return fields_.begin(); }
  const_iterator end() const { return fields_.begin() + static_cast<std::ptrdiff_t>(size_); }
  void clear() {
    size_ = 0;
    forgetDeadFieldsWhenNotRecycling();
  }
  void reserve(size_t n);

  // How many vectors this thread keeps for the next maps (for tests): at most 64, none of more
  // than 32 fields, and no string in them longer than 256 bytes.
  static size_t keptFieldVectors();

 private:
  // The field after the last: a recycled one (its strings hold old text) or a new one.
  HeaderField& nextField();
  // Takes a vector from the thread's pool if this map has none yet.
  void adoptStorage();
  // Under AddressSanitizer (nothing recycled, proxy/per_thread_pool.h) removed fields are destroyed
  // at once, so that a pointer kept into one is reported when used, not silently read.
  void forgetDeadFieldsWhenNotRecycling() {
    if (!REMORA_RECYCLE_MEMORY) fields_.resize(size_);
  }

  std::vector<HeaderField> fields_;
  size_t size_ = 0;
};

// ASCII comparison; header names are ASCII tokens (toLower is in config/http_syntax.h).
bool equalsIgnoreCase(std::string_view a, std::string_view b);
// True when the comma-separated list `value` has `token` (case-insensitive, whitespace trimmed).
bool listHasToken(std::string_view value, std::string_view token);

}  // namespace remora
