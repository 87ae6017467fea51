// HeaderMap: an ordered list of header fields with lowercase names, as codecs and filters see them.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/http_syntax.h"

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

class HeaderMap {
 public:
  using const_iterator = std::vector<HeaderField>::const_iterator;

  // The first value of `name` (lowercase), or nullptr.
  const std::string* get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name) != nullptr; }
  // Appends a field; `name` must already be lowercase.
  void add(std::string name, std::string value);
  // Removes every field called `name`, then appends one.
  void set(std::string name, std::string value);
  // Removes every field called `name`; returns how many.
  size_t remove(std::string_view name);
  // Removes every field for which `drop(field)` is true, in one pass.
  template <class Drop>
  void removeIf(Drop&& drop) {
    size_t kept = 0;
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (drop(fields_[i])) continue;
      if (kept != i) fields_[kept] = std::move(fields_[i]);
      ++kept;
    }
    fields_.resize(kept);
  }
  // Whether the list that the fields called `name` make (RFC 9110 5.3: their values joined with
  // ", ") has `token`, case-insensitive; each value is read where it is, nothing is copied.
  bool hasToken(std::string_view name, std::string_view token) const;

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  const_iterator begin() const { return fields_.begin(); }
  const_iterator end() const { return fields_.end(); }
  void clear() { fields_.clear(); }
  void reserve(size_t n) { fields_.reserve(n); }

 private:
  std::vector<HeaderField> fields_;
};

// ASCII comparison; header names are ASCII tokens (toLower is in config/http_syntax.h).
bool equalsIgnoreCase(std::string_view a, std::string_view b);
// True when the comma-separated list `value` has `token` (case-insensitive, whitespace trimmed).
bool listHasToken(std::string_view value, std::string_view token);

}  // namespace remora
