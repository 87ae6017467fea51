// HeaderMap: an ordered list of header fields with lowercase names, as codecs and filters see them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>

#include "config/http_syntax.h"
#include "proxy/per_thread_pool.h"

namespace remora {

// One field as the map shows it: views into the map's bytes, valid until the map next changes.
struct HeaderField {
  std::string_view name;  // lowercase
  std::string_view value;
};

// The text of every field and the list of where each is live in one block per map: text from
// the front, the list (16 bytes a field) from the back, so a map is one pointer and three counts
// and moving it moves nothing else. A field's name and value are copied in once; a removed
// field's text stays until the map is cleared. Blocks come from the per-thread size-class lists
// (proxy/size_class_memory.h), so a worker parsing one head after another allocates nothing
// (DESIGN.md: no per-request allocation where a pool serves).
//
// Adding a field may move the block: a HeaderField or a get() result is not kept across a
// change to the map. Under AddressSanitizer every change moves it, so one that is gets reported.
class HeaderMap {
  struct Span {
    uint32_t name_at;
    uint32_t name_size;
    uint32_t value_at;
    uint32_t value_size;
  };

 public:
  // Walks the list from the block's end down: the first field's span is the last in the block.
  class const_iterator {
   public:
    using iterator_concept = std::forward_iterator_tag;
    using iterator_category = std::input_iterator_tag;  // fields are made, not referred to
    using value_type = HeaderField;
    using reference = HeaderField;
    using difference_type = std::ptrdiff_t;

    const_iterator() = default;
    HeaderField operator*() const {
      const Span& span = span_[-1];
      return {{text_ + span.name_at, span.name_size}, {text_ + span.value_at, span.value_size}};
    }
    const_iterator& operator++() {
      --span_;
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator before = *this;
      --span_;
      return before;
    }
    difference_type operator-(const const_iterator& other) const { return other.span_ - span_; }
    bool operator==(const const_iterator& other) const { return span_ == other.span_; }

   private:
    friend class HeaderMap;
    // `span` is one past the field's span (a map without a block has none: both are null).
    const_iterator(const char* text, const Span* span) : text_(text), span_(span) {}
    const char* text_ = nullptr;
    const Span* span_ = nullptr;
  };

  HeaderMap() = default;
  HeaderMap(const HeaderMap& other);
  HeaderMap(HeaderMap&& other) noexcept { takeBlockOf(other); }
  HeaderMap& operator=(const HeaderMap& other);
  HeaderMap& operator=(HeaderMap&& other) noexcept;
  ~HeaderMap() { freeBlock(); }

  // The first value of `name` (lowercase), or nothing.
  std::optional<std::string_view> get(std::string_view name) const {
    if ((name_bits_ & nameBit(name)) == 0) return std::nullopt;
    return find(name);
  }
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
    for (size_t i = 0; i < count_; ++i) {
      if (drop(fieldAt(i))) continue;
      spanAt(kept++) = spanAt(i);
    }
    count_ = kept;
    forgetDeadTextWhenNotRecycling();
  }
  // Whether the list that the fields called `name` make (RFC 9110 5.3: their values joined with
  // ", ") has `token`, case-insensitive; each value is read where it is, nothing is copied.
  bool hasToken(std::string_view name, std::string_view token) const;

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  const_iterator begin() const { return {block_, spanEnd()}; }
  const_iterator end() const { return {block_, spanEnd() - count_}; }
  void clear() {
    count_ = 0;
    used_ = 0;
    name_bits_ = 0;
    forgetDeadTextWhenNotRecycling();
  }

 private:
  // A name's bit in name_bits_: its length and first and last bytes, which set apart the names
  // a proxy looks up (host, connection, upgrade, expect, te, x-forwarded-*...) well enough.
  static uint64_t nameBit(std::string_view name) {
    if (name.empty()) return 1;
    const auto first = static_cast<unsigned char>(name.front());
    const auto last = static_cast<unsigned char>(name.back());
    return uint64_t{1} << ((name.size() + first * 3 + last * 5) & 63);
  }
  std::optional<std::string_view> find(std::string_view name) const;
  Span* spanEnd() const {
    return block_ == nullptr ? nullptr : reinterpret_cast<Span*>(block_ + capacity_);
  }
  Span& spanAt(size_t i) const { return spanEnd()[-static_cast<std::ptrdiff_t>(i) - 1]; }
  HeaderField fieldAt(size_t i) const { return *const_iterator(block_, spanEnd() - i); }
  size_t room() const { return capacity_ - used_ - count_ * sizeof(Span); }
  // Room for `text` more bytes of text and `fields` more fields.
  void makeRoom(size_t text, size_t fields);
  void takeBlockOf(HeaderMap& other) noexcept;
  void freeBlock();
  // Under AddressSanitizer (nothing recycled, proxy/per_thread_pool.h) the text of removed
  // fields is freed at once, so that a view kept into one is reported when used.
  void forgetDeadTextWhenNotRecycling() {
    if (!REMORA_RECYCLE_MEMORY) compact();
  }
  void compact();

  char* block_ = nullptr;  // capacity_ bytes, from size_class_memory (malloc under ASan)
  size_t capacity_ = 0;
  size_t used_ = 0;   // bytes of text at the block's front
  size_t count_ = 0;  // fields, their spans at the block's back
  // The bits of the names added since the map was last cleared (removal leaves them): a lookup
  // whose bit is clear ends at once, and most lookups are of fields a message lacks.
  uint64_t name_bits_ = 0;
};

// ASCII comparison of `size` bytes at `a` and `b`.
bool equalsIgnoreCaseSameSize(const char* a, const char* b, size_t size);
// ASCII comparison; header names are ASCII tokens (toLower is in config/http_syntax.h). Inline
// because most calls compare strings of different lengths, which the sizes settle.
inline bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && equalsIgnoreCaseSameSize(a.data(), b.data(), a.size());
}
// True when the comma-separated list `value` has `token` (case-insensitive, whitespace trimmed).
bool listHasToken(std::string_view value, std::string_view token);
// Lowercases the letters of `size` bytes of ASCII (a field name: a token) at `text` in place.
void lowercaseAscii(char* text, size_t size);

}  // namespace remora
