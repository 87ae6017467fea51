// Reading optional keys straight into typed fields, and the checks several blocks share.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace remora::config {

// Header limits on both sides share one range; beyond 1 GiB is a typo, not a limit.
inline constexpr uint64_t kMaxHeadersBytes = uint64_t{1} << 30;
inline constexpr uint64_t kMaxUint32 = 0xFFFFFFFFu;

// Each leaves `out` as it was when `key` is absent or bad (the bad value is reported).
void readDuration(YamlReader& reader, const Fields& fields, std::string_view key, Duration& out);
// As readDuration, and 0 is an error too. False when the key is written but bad.
bool readPositiveDuration(YamlReader& reader, const Fields& fields, std::string_view key,
                          Duration& out);
void readSize(YamlReader& reader, const Fields& fields, std::string_view key, uint64_t min,
              uint64_t max, uint64_t& out);

template <class T>
void readInteger(YamlReader& reader, const Fields& fields, std::string_view key, uint64_t min,
                 uint64_t max, T& out) {
  if (const Field* f = fields.find(key)) {
    if (auto value = reader.integer(f->value, key, min, max)) out = static_cast<T>(*value);
  }
}

// http:// or https:// followed by something.
bool isHttpUrl(std::string_view url);

// A block that is on by default: a mapping of `known` keys, or the string `off`, which sets
// `enabled` to false. nullopt when it is off or not readable (then reported).
std::optional<Fields> mappingOrOff(YamlReader& reader, const Located& at, std::string_view what,
                                   std::initializer_list<std::string_view> known, bool& enabled);

// `auto`, `http1` or `http2`.
void readProtocol(YamlReader& reader, const Located& at, HttpProtocol& out);

// Remembers the names of one kind of thing and reports any second use.
class UniqueNames {
 public:
  explicit UniqueNames(std::string kind) : kind_(std::move(kind)) {}

  void add(YamlReader& reader, const std::string& name, const SourceLocation& where);

 private:
  std::string kind_;
  std::map<std::string, SourceLocation> seen_;
};

}  // namespace remora::config
