// HeaderMap: an ordered list of header fields with lowercase names, as codecs and filters see them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "config/http_syntax.h"
#include "proxy/per_thread_pool.h"

namespace remora {

// One field as the map shows it: views into the map's bytes, valid until the map next changes.
struct HeaderField {
  std::string_view name;  // lowercase
  std::string_view value;
};

// The text of every field lives in one buffer per map (an arena: a field's name and value are
// copied in once, and a removed field's bytes stay until the map is cleared); the list is of
// offsets into it. A map's storage goes to a per-thread pool when the map is destroyed and comes
// back for the next map, so a worker parsing one head after another allocates nothing for heads
// no bigger than those before (DESIGN.md: no per-request allocation where a pool serves).
//
// Adding a field may move the buffer: a HeaderField or a get() result is not kept across a
// change to the map. Under AddressSanitizer every change moves it, so one that is gets reported.
class HeaderMap {
  struct Span {
    uint32_t name_at;
    uint32_t name_size;
    uint32_t value_at;
    uint32_t value_size;
  };

 public:
  class const_iterator {
   public:
    using iterator_concept = std::forward_iterator_tag;
    using iterator_category = std::input_iterator_tag;  // fields are made, not referred to
    using value_type = HeaderField;
    using reference = HeaderField;
    using difference_type = std::ptrdiff_t;

    const_iterator() = default;
    HeaderField operator*() const {
      return {{bytes_ + span_->name_at, span_->name_size},
              {bytes_ + span_->value_at, span_->value_size}};
    }
    const_iterator& operator++() {
      ++span_;
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator before = *this;
      ++span_;
      return before;
    }
    difference_type operator-(const const_iterator& other) const { return span_ - other.span_; }
    bool operator==(const const_iterator& other) const { return span_ == other.span_; }

   private:
    friend class HeaderMap;
    const_iterator(const char* bytes, const Span* span) : bytes_(bytes), span_(span) {}
    const char* bytes_ = nullptr;
    const Span* span_ = nullptr;
  };

  HeaderMap() = default;
  HeaderMap(const HeaderMap& other);
  HeaderMap(HeaderMap&& other) noexcept { takeStorageOf(other); }
  HeaderMap& operator=(const HeaderMap& other);
  HeaderMap& operator=(HeaderMap&& other) noexcept;
  ~HeaderMap();

  // The first value of `name` (lowercase), or nothing.
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  // Appends a field; `name` must already be lowercase. Either view may point into this map.
  void add(std::string_view name, std::string_view value);
  // Appends a field whose name is lowercased as it is copied (a codec's field as received).
  void addLowercasingName(std::string_view name, std::string_view value);
  // Replaces the fields with `fields`, views into `text` (a parsed head's field lines), names
  // lowercased: `text` is copied in one go, not field by field.
  void assignParsed(std::string_view text, std::span<const HeaderField> fields);
  // Removes every field called `name`, then appends one.
  void set(std::string_view name, std::string_view value);
  // Removes every field called `name`; returns how many.
  size_t remove(std::string_view name);
  // Removes every field for which `drop(field)` is true, in one pass; the order of the others
  // is kept.
  template <class Drop>
  void removeIf(Drop&& drop) {
    size_t kept = 0;
    for (size_t i = 0; i < spans_.size(); ++i) {
      if (drop(fieldAt(i))) continue;
      spans_[kept++] = spans_[i];
    }
    spans_.resize(kept);
    forgetDeadBytesWhenNotRecycling();
  }
  // Whether the list that the fields called `name` make (RFC 9110 5.3: their values joined with
  // ", ") has `token`, case-insensitive; each value is read where it is, nothing is copied.
  bool hasToken(std::string_view name, std::string_view token) const;

  size_t size() const { return spans_.size(); }
  bool empty() const { return spans_.empty(); }
  const_iterator begin() const { return {bytes_.get(), spans_.data()}; }
  const_iterator end() const { return {bytes_.get(), spans_.data() + spans_.size()}; }
  void clear() {
    spans_.clear();
    used_ = 0;
    forgetDeadBytesWhenNotRecycling();
  }
  // Room for `fields` fields of `bytes` bytes of text in all, so that adding them moves nothing.
  void reserve(size_t fields, size_t bytes = 0);

  // How many storages this thread keeps for the next maps (for tests): at most 64, none with
  // room for more than 32 fields or 4 KiB of text.
  static size_t keptStorages();

 private:
  friend struct HeaderStorage;
  HeaderField fieldAt(size_t i) const { return *const_iterator(bytes_.get(), &spans_[i]); }
  // Copies `text` to the end of the bytes (it may point into them); returns where it went.
  uint32_t copyIn(std::string_view text);
  // Makes room for `more` bytes after the used ones.
  void growBytes(size_t more);
  // Takes a storage from the thread's pool if this map has none yet.
  void adoptStorage();
  void takeStorageOf(HeaderMap& other) noexcept;
  void giveStorageBack();
  // Under AddressSanitizer (nothing recycled, proxy/per_thread_pool.h) the bytes of removed
  // fields are freed at once, so that a view kept into one is reported when used.
  void forgetDeadBytesWhenNotRecycling() {
    if (!REMORA_RECYCLE_MEMORY) compactBytes();
  }
  void compactBytes();

  std::vector<Span> spans_;
  std::unique_ptr<char[]> bytes_;
  size_t used_ = 0;
  size_t capacity_ = 0;
};

// ASCII comparison; header names are ASCII tokens (toLower is in config/http_syntax.h).
bool equalsIgnoreCase(std::string_view a, std::string_view b);
// True when the comma-separated list `value` has `token` (case-insensitive, whitespace trimmed).
bool listHasToken(std::string_view value, std::string_view token);
// Lowercases the letters of `size` bytes of ASCII (a field name: a token) at `text` in place.
void lowercaseAscii(char* text, size_t size);

}  // namespace remora
